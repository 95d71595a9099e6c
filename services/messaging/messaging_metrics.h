// The messaging service's Prometheus metrics. Labels carry trial, campaign, channel, arm and
// status only: never a participant id or anything personal.
#ifndef FIELDWORK_SERVICES_MESSAGING_MESSAGING_METRICS_H_
#define FIELDWORK_SERVICES_MESSAGING_MESSAGING_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

#include "absl/strings/string_view.h"

namespace fieldwork::messaging {

class MessagingMetrics {
 public:
  explicit MessagingMetrics(prometheus::Registry& registry);

  // status: sent, failed (will retry), dead, skipped. "dead" also counts in
  // fieldwork_messaging_dead_letters_total{trial,campaign,channel}.
  void CountSend(absl::string_view trial, absl::string_view campaign, absl::string_view channel,
                 absl::string_view status);
  // From the send's due time to the provider's acceptance.
  void ObserveLatency(absl::string_view channel, double seconds);
  void SetQueue(absl::string_view trial, double waiting, double in_stream,
                double oldest_due_age_seconds);
  // kind: opened or clicked.
  void CountEngagement(absl::string_view trial, absl::string_view campaign, absl::string_view arm,
                       absl::string_view kind);

 private:
  prometheus::Family<prometheus::Counter>& sends_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Gauge>& depth_;
  prometheus::Family<prometheus::Gauge>& oldest_age_;
  prometheus::Family<prometheus::Counter>& engagement_;
  prometheus::Family<prometheus::Counter>& dead_letters_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_MESSAGING_METRICS_H_

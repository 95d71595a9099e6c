// Puts what an HTTP listener admitted, refused and cut (HttpServerStats) on the process's
// /metrics page, so an operator sees a slowloris or a flood of oversized requests as it happens
// instead of only as failing health probes. The counts are read from the server's own counters
// at each scrape: nothing is counted twice.
//
//   fieldwork_http_connections_total{listener}        counter: connections admitted
//   fieldwork_http_refused_total{listener,reason}     counter: connections refused or cut;
//       reason: too_many_connections, too_many_from_address, header_deadline, body_deadline,
//               body_too_large, headers_too_large
//   fieldwork_http_connections_open{listener}         gauge
#ifndef FIELDWORK_SERVICES_HTTP_HTTP_METRICS_H_
#define FIELDWORK_SERVICES_HTTP_HTTP_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/http/server_stats.h"

namespace fieldwork::http {

// Register it with MetricsServer::AddCollectable (or ServiceRuntime::ExportCollectable).
class HttpStatsCollector : public prometheus::Collectable {
 public:
  // `listener` names the endpoint in the labels ("tracking", "survey_form"); `read` returns
  // the server's stats and is called from the /metrics thread.
  HttpStatsCollector(std::string listener, std::function<HttpServerStats()> read);

  // Stops reading the server: call it before the server is destroyed, since a scrape may be
  // running on another thread. Later scrapes export nothing for this listener.
  void Detach();

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string listener_;
  mutable absl::Mutex mu_;
  std::function<HttpServerStats()> read_ ABSL_GUARDED_BY(mu_);
};

// The metric families for one listener's stats (what Collect exports); pure, for tests.
std::vector<prometheus::MetricFamily> HttpStatsFamilies(const std::string& listener,
                                                        const HttpServerStats& stats);

}  // namespace fieldwork::http

#endif  // FIELDWORK_SERVICES_HTTP_HTTP_METRICS_H_

#include "services/messaging/messaging_metrics.h"

namespace fieldwork::messaging {

MessagingMetrics::MessagingMetrics(prometheus::Registry& registry)
    : sends_(prometheus::BuildCounter()
                 .Name("fieldwork_messaging_sends_total")
                 .Help("Send attempts by outcome (sent, failed, dead, skipped).")
                 .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("fieldwork_messaging_delivery_latency_seconds")
                   .Help("From a send's due time to its hand-over to the provider that accepted it.")
                   .Register(registry)),
      depth_(prometheus::BuildGauge()
                 .Name("fieldwork_messaging_queue_depth")
                 .Help("Sends waiting: state=scheduled (not yet due) or stream (due, unacked).")
                 .Register(registry)),
      oldest_age_(prometheus::BuildGauge()
                      .Name("fieldwork_messaging_oldest_due_age_seconds")
                      .Help("How overdue the oldest waiting send is (0 when none is overdue).")
                      .Register(registry)),
      engagement_(prometheus::BuildCounter()
                      .Name("fieldwork_messaging_engagement_total")
                      .Help("First opens and clicks per message, by arm.")
                      .Register(registry)),
      dead_letters_(prometheus::BuildCounter()
                        .Name("fieldwork_messaging_dead_letters_total")
                        .Help("Sends moved to the dead-letter stream (failed permanently or out "
                              "of retries).")
                        .Register(registry)) {}

void MessagingMetrics::CountSend(absl::string_view trial, absl::string_view campaign,
                                 absl::string_view channel, absl::string_view status) {
  sends_
      .Add({{"trial", std::string(trial)},
            {"campaign", std::string(campaign)},
            {"channel", std::string(channel)},
            {"status", std::string(status)}})
      .Increment();
  // Created at 0 with the first send of its label set, so that the dead-letter alert's
  // increase() sees the first dead letter as a rise from 0.
  prometheus::Counter& dead = dead_letters_.Add({{"trial", std::string(trial)},
                                                 {"campaign", std::string(campaign)},
                                                 {"channel", std::string(channel)}});
  if (status == "dead") dead.Increment();
}

void MessagingMetrics::ObserveLatency(absl::string_view channel, double seconds) {
  static const prometheus::Histogram::BucketBoundaries kBounds = {0.01, 0.05, 0.1, 0.5, 1,   5,
                                                                  15,   60,   300, 900, 3600};
  latency_.Add({{"channel", std::string(channel)}}, kBounds).Observe(seconds);
}

void MessagingMetrics::SetQueue(absl::string_view trial, double waiting, double in_stream,
                                double oldest_due_age_seconds) {
  depth_.Add({{"trial", std::string(trial)}, {"state", "scheduled"}}).Set(waiting);
  depth_.Add({{"trial", std::string(trial)}, {"state", "stream"}}).Set(in_stream);
  oldest_age_.Add({{"trial", std::string(trial)}}).Set(oldest_due_age_seconds);
}

void MessagingMetrics::CountEngagement(absl::string_view trial, absl::string_view campaign,
                                       absl::string_view arm, absl::string_view kind) {
  engagement_
      .Add({{"trial", std::string(trial)},
            {"campaign", std::string(campaign)},
            {"arm", std::string(arm)},
            {"kind", std::string(kind)}})
      .Increment();
}

}  // namespace fieldwork::messaging

#include "services/http/http_metrics.h"

#include <cstdint>
#include <utility>

namespace fieldwork::http {
namespace {

prometheus::ClientMetric Sample(const std::string& listener, const std::string& reason,
                                double value, prometheus::MetricType type) {
  prometheus::ClientMetric m;
  m.label.push_back({"listener", listener});
  if (!reason.empty()) m.label.push_back({"reason", reason});
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

double AsDouble(int64_t n) { return static_cast<double>(n); }

}  // namespace

HttpStatsCollector::HttpStatsCollector(std::string listener,
                                       std::function<HttpServerStats()> read)
    : listener_(std::move(listener)), read_(std::move(read)) {}

void HttpStatsCollector::Detach() {
  absl::MutexLock lock(&mu_);
  read_ = nullptr;
}

std::vector<prometheus::MetricFamily> HttpStatsCollector::Collect() const {
  absl::MutexLock lock(&mu_);  // held while reading, so Detach waits for a running scrape
  if (!read_) return {};
  return HttpStatsFamilies(listener_, read_());
}

std::vector<prometheus::MetricFamily> HttpStatsFamilies(const std::string& listener,
                                                        const HttpServerStats& stats) {
  using prometheus::MetricType;
  prometheus::MetricFamily admitted{"fieldwork_http_connections_total",
                                    "HTTP connections admitted by the listener.",
                                    MetricType::Counter,
                                    {Sample(listener, "", AsDouble(stats.connections_admitted),
                                            MetricType::Counter)}};
  prometheus::MetricFamily refused{
      "fieldwork_http_refused_total",
      "HTTP connections refused (connection caps) or cut (slow or oversized requests).",
      MetricType::Counter,
      {}};
  const std::pair<const char*, int64_t> reasons[] = {
      {"too_many_connections", stats.refused_too_many_in_all},
      {"too_many_from_address", stats.refused_too_many_from_address},
      {"header_deadline", stats.header_deadlines},
      {"body_deadline", stats.body_deadlines},
      {"body_too_large", stats.bodies_too_large},
      {"headers_too_large", stats.headers_too_large},
  };
  for (const auto& [reason, count] : reasons) {
    refused.metric.push_back(Sample(listener, reason, AsDouble(count), MetricType::Counter));
  }
  prometheus::MetricFamily open{"fieldwork_http_connections_open",
                                "HTTP connections the listener is serving now.",
                                MetricType::Gauge,
                                {Sample(listener, "", stats.connections_open, MetricType::Gauge)}};
  return {std::move(admitted), std::move(refused), std::move(open)};
}

}  // namespace fieldwork::http

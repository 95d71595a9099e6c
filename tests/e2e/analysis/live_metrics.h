// Reading what a live run exports: a service's /metrics page as (name, labels) -> value, and
// instant queries and alerts from the Prometheus HTTP API.
#ifndef FIELDWORK_TESTS_E2E_ANALYSIS_LIVE_METRICS_H_
#define FIELDWORK_TESTS_E2E_ANALYSIS_LIVE_METRICS_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace fieldwork::testing {

using Labels = std::map<std::string, std::string>;
using SeriesKey = std::pair<std::string, Labels>;  // metric name, labels

// The samples of a Prometheus text exposition page (comments skipped). INVALID_ARGUMENT naming
// the line when a sample line cannot be read.
absl::StatusOr<std::map<SeriesKey, double>> ParseMetricsPage(const std::string& text);

// "name{a="1",b="2"}", for messages.
std::string FormatSeries(const SeriesKey& series);

// GET `url` (loopback, 5 s timeout): the body of a 200 answer, else UNAVAILABLE.
absl::StatusOr<std::string> HttpGet(const std::string& url);

// GET `url` without following redirects: the HTTP status.
absl::StatusOr<int> HttpStatus(const std::string& url);

// The `result` array of an instant query (`/api/v1/query`) at Prometheus `base_url`.
absl::StatusOr<nlohmann::json> PrometheusQuery(const std::string& base_url,
                                               const std::string& promql);

// The alerts Prometheus reports (`/api/v1/alerts`): each with its labels and state.
struct ActiveAlert {
  Labels labels;
  std::string state;  // pending | firing
};
absl::StatusOr<std::vector<ActiveAlert>> PrometheusAlerts(const std::string& base_url);

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_E2E_ANALYSIS_LIVE_METRICS_H_

#include "tests/e2e/analysis/live_metrics.h"

#include <curl/curl.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fieldwork::testing {
namespace {

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// Reads `name="value",...` up to the closing brace; false on a malformed list.
bool ParseLabels(absl::string_view text, Labels& labels) {
  while (!text.empty()) {
    const size_t equals = text.find('=');
    if (equals == absl::string_view::npos || equals + 1 >= text.size() || text[equals + 1] != '"')
      return false;
    const std::string name(absl::StripAsciiWhitespace(text.substr(0, equals)));
    std::string value;
    size_t i = equals + 2;
    for (; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        ++i;
        value.push_back(text[i] == 'n' ? '\n' : text[i]);
      } else {
        value.push_back(text[i]);
      }
    }
    if (i >= text.size()) return false;  // no closing quote
    labels[name] = value;
    text.remove_prefix(i + 1);
    absl::ConsumePrefix(&text, ",");
    text = absl::StripLeadingAsciiWhitespace(text);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::map<SeriesKey, double>> ParseMetricsPage(const std::string& text) {
  std::map<SeriesKey, double> samples;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    SeriesKey key;
    absl::string_view rest;
    if (const size_t brace = line.find('{'); brace != absl::string_view::npos) {
      const size_t close = line.rfind('}');
      if (close == absl::string_view::npos || close < brace ||
          !ParseLabels(line.substr(brace + 1, close - brace - 1), key.second)) {
        return absl::InvalidArgumentError(
            absl::StrCat("metrics page line ", line_number, ": bad labels: ", line));
      }
      key.first = std::string(line.substr(0, brace));
      rest = line.substr(close + 1);
    } else {
      const size_t space = line.find(' ');
      if (space == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("metrics page line ", line_number, ": no value: ", line));
      }
      key.first = std::string(line.substr(0, space));
      rest = line.substr(space);
    }
    // The value, optionally followed by a timestamp.
    std::vector<absl::string_view> fields =
        absl::StrSplit(absl::StripAsciiWhitespace(rest), ' ', absl::SkipEmpty());
    double value = 0;
    if (fields.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics page line ", line_number, ": no value: ", line));
    }
    if (fields[0] == "NaN") {
      value = std::numeric_limits<double>::quiet_NaN();
    } else if (fields[0] == "+Inf" || fields[0] == "-Inf") {
      value = fields[0][0] == '+' ? std::numeric_limits<double>::infinity()
                                  : -std::numeric_limits<double>::infinity();
    } else if (!absl::SimpleAtod(fields[0], &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics page line ", line_number, ": value is not a number: ", line));
    }
    samples[std::move(key)] = value;
  }
  return samples;
}

std::string FormatSeries(const SeriesKey& series) {
  std::vector<std::string> labels;
  for (const auto& [name, value] : series.second)
    labels.push_back(absl::StrCat(name, "=\"", value, "\""));
  return absl::StrCat(series.first, "{", absl::StrJoin(labels, ","), "}");
}

absl::StatusOr<std::string> HttpGet(const std::string& url) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 5000L);
  const CURLcode rc = curl_easy_perform(curl.get());
  long status = 0;  // NOLINT(runtime/int): curl's type
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK)
    return absl::UnavailableError(absl::StrCat(url, ": ", curl_easy_strerror(rc)));
  if (status != 200) {
    return absl::UnavailableError(absl::StrCat(url, ": HTTP ", status, ": ", body));
  }
  return body;
}

absl::StatusOr<int> HttpStatus(const std::string& url) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 5000L);
  const CURLcode rc = curl_easy_perform(curl.get());
  long status = 0;  // NOLINT(runtime/int): curl's type
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK)
    return absl::UnavailableError(absl::StrCat(url, ": ", curl_easy_strerror(rc)));
  return static_cast<int>(status);
}

namespace {

absl::StatusOr<nlohmann::json> ApiGet(const std::string& url) {
  absl::StatusOr<std::string> body = HttpGet(url);
  if (!body.ok()) return body.status();
  nlohmann::json answer = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("status") ||
      answer["status"] != "success" || !answer.contains("data")) {
    return absl::InternalError(absl::StrCat(url, " answered: ", *body));
  }
  return answer["data"];
}

}  // namespace

absl::StatusOr<nlohmann::json> PrometheusQuery(const std::string& base_url,
                                               const std::string& promql) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  char* escaped = curl_easy_escape(curl.get(), promql.c_str(), static_cast<int>(promql.size()));
  const std::string url = absl::StrCat(base_url, "/api/v1/query?query=", escaped);
  curl_free(escaped);
  absl::StatusOr<nlohmann::json> data = ApiGet(url);
  if (!data.ok()) return data.status();
  if (!data->contains("result")) return absl::InternalError("no result for " + promql);
  return (*data)["result"];
}

absl::StatusOr<std::vector<ActiveAlert>> PrometheusAlerts(const std::string& base_url) {
  absl::StatusOr<nlohmann::json> data = ApiGet(base_url + "/api/v1/alerts");
  if (!data.ok()) return data.status();
  std::vector<ActiveAlert> alerts;
  const nlohmann::json listed = data->value("alerts", nlohmann::json::array());
  for (const nlohmann::json& alert : listed) {
    ActiveAlert& a = alerts.emplace_back();
    a.state = alert.value("state", "");
    const nlohmann::json labels = alert.value("labels", nlohmann::json::object());
    for (const auto& [name, value] : labels.items()) {
      a.labels[name] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  return alerts;
}

}  // namespace fieldwork::testing

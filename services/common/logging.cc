#include "services/common/logging.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fieldwork::logging {
namespace {

struct LoggerState {
  std::mutex mutex;
  std::string service = "fieldwork";
  std::shared_ptr<spdlog::logger> logger;
};

LoggerState& State() {
  static LoggerState* state = [] {
    auto* s = new LoggerState;
    // The sink writes the message verbatim: the JSON line is built by FormatLine.
    s->logger = std::make_shared<spdlog::logger>(
        "fieldwork", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    s->logger->set_pattern("%v");
    s->logger->set_level(spdlog::level::debug);
    s->logger->flush_on(spdlog::level::debug);
    return s;
  }();
  return *state;
}

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kDebug:
      return "DEBUG";
    case Severity::kInfo:
      return "INFO";
    case Severity::kWarning:
      return "WARNING";
    case Severity::kError:
      return "ERROR";
  }
  return "INFO";
}

spdlog::level::level_enum SpdlogLevel(Severity severity) {
  switch (severity) {
    case Severity::kDebug:
      return spdlog::level::debug;
    case Severity::kInfo:
      return spdlog::level::info;
    case Severity::kWarning:
      return spdlog::level::warn;
    case Severity::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void Init(absl::string_view service_name) {
  LoggerState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.service = std::string(service_name);
}

std::string FormatLine(Severity severity, absl::string_view service, absl::string_view message,
                       const nlohmann::json& fields) {
  nlohmann::json line = nlohmann::json::object();
  // Log lines carry wall-clock time even under a simulated clock: they are read by operators
  // correlating with other systems, not by the trial logic.
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  line["severity"] = SeverityName(severity);
  line["service"] = service;
  line["message"] = message;
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      if (!line.contains(key)) line[key] = value;
    }
  }
  // Replace invalid UTF-8 rather than throw: a log line must never take the process down.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Log(Severity severity, absl::string_view message, const nlohmann::json& fields) {
  LoggerState& state = State();
  std::string service;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    service = state.service;
  }
  state.logger->log(SpdlogLevel(severity), "{}", FormatLine(severity, service, message, fields));
}

}  // namespace fieldwork::logging

// Structured logging: one JSON object per line on stderr, through spdlog.
#ifndef FIELDWORK_SERVICES_COMMON_LOGGING_H_
#define FIELDWORK_SERVICES_COMMON_LOGGING_H_

#include "absl/strings/string_view.h"

#include <nlohmann/json.hpp>

namespace fieldwork::logging {

enum class Severity { kDebug, kInfo, kWarning, kError };

// Names the process in every line ("service" field). Safe to call once at start; without it
// lines carry service "fieldwork".
void Init(absl::string_view service_name);

// Writes {"time":..., "severity":..., "service":..., "message":..., <fields>} on one line.
// `fields` must be a JSON object (or null). Never put personal data in a message or field.
void Log(Severity severity, absl::string_view message, const nlohmann::json& fields = nullptr);

inline void Debug(absl::string_view message, const nlohmann::json& fields = nullptr) {
  Log(Severity::kDebug, message, fields);
}
inline void Info(absl::string_view message, const nlohmann::json& fields = nullptr) {
  Log(Severity::kInfo, message, fields);
}
inline void Warning(absl::string_view message, const nlohmann::json& fields = nullptr) {
  Log(Severity::kWarning, message, fields);
}
inline void Error(absl::string_view message, const nlohmann::json& fields = nullptr) {
  Log(Severity::kError, message, fields);
}

// Renders the line Log() would write, without writing it (for tests).
std::string FormatLine(Severity severity, absl::string_view service, absl::string_view message,
                       const nlohmann::json& fields);

}  // namespace fieldwork::logging

#endif  // FIELDWORK_SERVICES_COMMON_LOGGING_H_

#include "services/http/http_limits.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace fieldwork::http {
namespace {

absl::Status Bad(const std::string& flag, const std::string& reason) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", reason));
}

// Deadlines are applied in whole milliseconds: anything shorter would disconnect everyone.
bool AtLeastOneMillisecond(absl::Duration d) { return d >= absl::Milliseconds(1); }

}  // namespace

absl::Status ValidateHttpLimits(const HttpLimits& limits) {
  if (limits.max_header_bytes < 256) {
    return Bad("http_max_header_bytes", "must be at least 256 (a request line and a Host)");
  }
  if (!AtLeastOneMillisecond(limits.header_timeout)) {
    return Bad("http_header_timeout", "must be at least 1ms");
  }
  if (!AtLeastOneMillisecond(limits.body_timeout)) {
    return Bad("http_body_timeout", "must be at least 1ms");
  }
  if (!AtLeastOneMillisecond(limits.write_timeout)) {
    return Bad("http_write_timeout", "must be at least 1ms");
  }
  if (limits.max_connections < 1) return Bad("http_max_connections", "must be at least 1");
  if (limits.max_connections_per_address < 0) {
    return Bad("http_max_connections_per_address", "must be 0 (no cap) or more");
  }
  if (limits.keep_alive_max_requests < 1) {
    return Bad("http_keep_alive_max_requests", "must be at least 1");
  }
  if (!AtLeastOneMillisecond(limits.keep_alive_timeout)) {
    return Bad("http_keep_alive_timeout", "must be at least 1ms");
  }
  return absl::OkStatus();
}

}  // namespace fieldwork::http

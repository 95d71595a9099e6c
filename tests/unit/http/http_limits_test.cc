#include "services/http/http_limits.h"

#include <gtest/gtest.h>

namespace fieldwork::http {
namespace {

TEST(HttpLimitsTest, DefaultsAreValid) { EXPECT_TRUE(ValidateHttpLimits(HttpLimits{}).ok()); }

TEST(HttpLimitsTest, BadLimitsNameTheFlagAndReason) {
  HttpLimits limits;
  limits.header_timeout = absl::ZeroDuration();
  absl::Status s = ValidateHttpLimits(limits);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "http_header_timeout: must be at least 1ms");

  limits = HttpLimits{};
  limits.max_connections = 0;
  EXPECT_EQ(ValidateHttpLimits(limits).message(), "http_max_connections: must be at least 1");

  limits = HttpLimits{};
  limits.max_connections_per_address = -1;
  EXPECT_EQ(ValidateHttpLimits(limits).message(),
            "http_max_connections_per_address: must be 0 (no cap) or more");

  limits = HttpLimits{};
  limits.keep_alive_max_requests = 0;
  EXPECT_EQ(ValidateHttpLimits(limits).message(),
            "http_keep_alive_max_requests: must be at least 1");

  limits = HttpLimits{};
  limits.max_header_bytes = 10;
  EXPECT_EQ(ValidateHttpLimits(limits).message(),
            "http_max_header_bytes: must be at least 256 (a request line and a Host)");
}

}  // namespace
}  // namespace fieldwork::http

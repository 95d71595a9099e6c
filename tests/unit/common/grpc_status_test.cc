#include "services/common/grpc_status.h"

#include <gtest/gtest.h>

namespace fieldwork {
namespace {

TEST(GrpcStatusTest, MapsEveryCodeBothWays) {
  for (int code = 0; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    const grpc::Status wire = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(FromGrpcStatus(wire), status);
  }
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("row 3, field site: unknown")).error_message(),
            "row 3, field site: unknown");
}

}  // namespace
}  // namespace fieldwork

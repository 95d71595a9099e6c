#include "bench/common/bench_util.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "services/common/grpc_auth.h"

namespace fieldwork::bench {

void Check(const grpc::Status& status, absl::string_view what) {
  if (!status.ok()) {
    absl::FPrintF(stderr, "%s failed: %s\n", what, status.error_message());
    std::exit(1);
  }
}

std::unique_ptr<grpc::ClientContext> ContextWithToken(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  AttachBearerToken(*context, token);
  return context;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace fieldwork::bench

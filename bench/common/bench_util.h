// Helpers the end-to-end benchmarks share: exiting on a failed call, a call's context with a
// bearer token, and elapsed wall time.
#ifndef FIELDWORK_BENCH_COMMON_BENCH_UTIL_H_
#define FIELDWORK_BENCH_COMMON_BENCH_UTIL_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace fieldwork::bench {

// Unless `status` is OK, prints "<what> failed: <message>" on stderr and exits the process with
// 1: a benchmark has nothing to measure once a call it depends on has failed.
void Check(const grpc::Status& status, absl::string_view what);

// A context for one call, carrying `token` as its bearer token.
std::unique_ptr<grpc::ClientContext> ContextWithToken(const std::string& token);

// Wall seconds since `start`.
double Seconds(std::chrono::steady_clock::time_point start);

}  // namespace fieldwork::bench

#endif  // FIELDWORK_BENCH_COMMON_BENCH_UTIL_H_

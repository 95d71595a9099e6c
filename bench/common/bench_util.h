// Helpers the end-to-end benchmarks share: exiting on a failed call, a call's context with a
// bearer token, elapsed wall time, where the repository and the build's binaries are, and CPU
// time: of the store, of this process and of the whole machine.
#ifndef FIELDWORK_BENCH_COMMON_BENCH_UTIL_H_
#define FIELDWORK_BENCH_COMMON_BENCH_UTIL_H_

#include <grpcpp/client_context.h>
#include <sys/types.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "services/common/redis_client.h"

namespace fieldwork::bench {

// Unless `status` is OK, prints "<what> failed: <message>" on stderr and exits the process with
// 1: a benchmark has nothing to measure once a call it depends on has failed.
void Check(const grpc::Status& status, absl::string_view what);

// A context for one call, carrying `token` as its bearer token.
std::unique_ptr<grpc::ClientContext> ContextWithToken(const std::string& token);

// Wall seconds since `start`.
double Seconds(std::chrono::steady_clock::time_point start);

// The repository: $FIELDWORK_SOURCE_DIR when set, else `compiled_in` (the build's source
// directory, which the benchmark's target passes as FIELDWORK_DEFAULT_SOURCE_DIR).
std::filesystem::path SourceDir(const char* compiled_in);

// The directory of the running binary: a build's bin/, beside the services and the CLI.
std::filesystem::path BinDir();

// CPU seconds (user + system) the store's masters have used (INFO cpu; 0 when unreadable).
double StoreCpuSeconds(RedisClient& redis);

// CPU seconds (user + system) this process has used, all its threads.
double ProcessCpuSeconds();
// CPU seconds (user + system) the calling thread has used.
double ThreadCpuSeconds();
// CPU seconds (user + system) another process has used, all its threads (/proc/<pid>/stat; -1
// when unreadable).
double ProcessCpuSeconds(pid_t pid);

// The whole machine's CPU time so far (/proc/stat's first line, in clock ticks): every process,
// the kernel and its threads included. Two readings tell how busy all cores were in between,
// which the processes' own counts do not (an AOF rewrite child, disk writes, page faults).
struct MachineCpu {
  int64_t busy = 0;
  int64_t total = 0;
};
MachineCpu ReadMachineCpu();
// The share of all cores' time that was busy between two readings (0 when unreadable).
double BusyShare(const MachineCpu& before, const MachineCpu& after);

}  // namespace fieldwork::bench

#endif  // FIELDWORK_BENCH_COMMON_BENCH_UTIL_H_

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

std::filesystem::path SourceDir(const char* compiled_in) {
  if (const char* s = std::getenv("FIELDWORK_SOURCE_DIR"); s != nullptr && *s != '\0') return s;
  return compiled_in;
}

std::filesystem::path BinDir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

}  // namespace fieldwork::bench

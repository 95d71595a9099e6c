#include "bench/common/bench_util.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

double StoreCpuSeconds(RedisClient& redis) {
  absl::StatusOr<std::vector<RedisClient::ServerReply>> replies =
      redis.CommandOnEveryMaster({"INFO", "cpu"});
  if (!replies.ok()) return 0;
  double seconds = 0;
  for (const auto& server : *replies) {
    for (absl::string_view line : absl::StrSplit(server.reply.str(), "\r\n")) {
      for (absl::string_view key : {"used_cpu_sys:", "used_cpu_user:"}) {
        double value = 0;
        if (absl::ConsumePrefix(&line, key) && absl::SimpleAtod(line, &value)) seconds += value;
      }
    }
  }
  return seconds;
}

namespace {

double CpuSeconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

double ProcessCpuSeconds() { return CpuSeconds(RUSAGE_SELF); }

double ThreadCpuSeconds() { return CpuSeconds(RUSAGE_THREAD); }

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields from the ')' that closes it.
  // utime and stime are fields 14 and 15, the 12th and 13th after it.
  const size_t end = stat.rfind(')');
  if (end == std::string::npos) return -1;
  std::istringstream fields(stat.substr(end + 1));
  std::string field;
  for (int i = 0; i < 11; ++i) fields >> field;
  int64_t user = 0, system = 0;
  if (!(fields >> user >> system)) return -1;
  return static_cast<double>(user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

MachineCpu ReadMachineCpu() {
  std::ifstream stat("/proc/stat");
  std::string label;
  stat >> label;
  if (label != "cpu") return {};
  // user nice system idle iowait irq softirq steal: idle and iowait are the idle part.
  int64_t fields[8] = {};
  for (int64_t& field : fields) stat >> field;
  MachineCpu cpu;
  for (int64_t field : fields) cpu.total += field;
  cpu.busy = cpu.total - fields[3] - fields[4];
  return cpu;
}

double BusyShare(const MachineCpu& before, const MachineCpu& after) {
  const int64_t total = after.total - before.total;
  return total <= 0 ? 0.0
                    : static_cast<double>(after.busy - before.busy) / static_cast<double>(total);
}

}  // namespace fieldwork::bench

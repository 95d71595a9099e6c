#include "tests/testing/run_sh_stack.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/process.h"

namespace fieldwork::testing {

namespace fs = std::filesystem;

CommandRun RunCommand(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
                      const std::string& log, bool must_succeed) {
  const std::string name = argv[0];
  const auto start = std::chrono::steady_clock::now();
  ChildProcess process(std::move(argv), env, log);
  const std::optional<int> code = process.WaitForExit(absl::Hours(1));
  CommandRun run{code.value_or(-1),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
  if (must_succeed && run.exit_code != 0) {
    std::fprintf(stderr, "%s exited %d; its output (%s):\n%s\n", name.c_str(), run.exit_code,
                 log.c_str(), process.ReadLog().c_str());
    std::exit(1);
  }
  return run;
}

RunShStack::RunShStack(const fs::path& source_dir, const fs::path& bin_dir, const fs::path& dir,
                       const std::vector<std::string>& args)
    : run_sh_(source_dir / "scripts/run.sh"), dir_(dir), run_dir_(dir / "run") {
  std::vector<std::string> argv = {"bash", run_sh_.string(), "start", "--dir", run_dir_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunCommand(argv, {{"FIELDWORK_BIN_DIR", bin_dir.string()}}, (dir_ / "run-start.log").string());
  std::ifstream in(run_dir_ / "env");
  for (std::string line; std::getline(in, line);) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (!kv.first.empty()) env_[kv.first] = kv.second;
  }
}

RunShStack::~RunShStack() {
  if (keep_) {
    std::printf("stack left running: scripts/run.sh stop --dir %s\n", run_dir_.c_str());
    return;
  }
  RunCommand({"bash", run_sh_.string(), "stop", "--dir", run_dir_.string()}, {},
             (dir_ / "run-stop.log").string(), false);
}

pid_t RunShStack::Pid(const std::string& service) const {
  std::ifstream in(run_dir_ / "pids" / (service + ".pid"));
  pid_t pid = -1;
  in >> pid;
  return pid;
}

void RunShStack::Restart(const std::string& service) {
  const pid_t pid = Pid(service);
  if (pid > 0 && kill(pid, SIGTERM) == 0) {
    // Not our child: wait until the pid is gone.
    while (kill(pid, 0) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  RunCommand({"bash", run_sh_.string(), "start-service", service, "--dir", run_dir_.string()}, {},
             (dir_ / absl::StrCat("restart-", service, ".log")).string());
}

}  // namespace fieldwork::testing

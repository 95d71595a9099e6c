// The whole suite as scripts/run.sh starts it (durable Redis, auth on: the default stack), for
// benchmarks and tests that drive the real binaries from outside: started under a directory,
// its DIR/env (addresses, tokens, metrics ports) and process ids, one service restarted, and
// stopped at the end.
#ifndef FIELDWORK_TESTS_TESTING_RUN_SH_STACK_H_
#define FIELDWORK_TESTS_TESTING_RUN_SH_STACK_H_

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fieldwork::testing {

// A command run to its end: its exit code and wall time.
struct CommandRun {
  int exit_code = -1;
  double seconds = 0;
};

// Runs `argv` to its end with `env` added to ours, its output to `log`. When it fails and
// `must_succeed`, prints its output and exits the process (for benchmarks, which cannot go on).
CommandRun RunCommand(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
                      const std::string& log, bool must_succeed = true);

class RunShStack {
 public:
  // `scripts/run.sh start --dir <dir>/run <args>` with the binaries in `bin_dir`; exits the
  // process when it fails. `source_dir` is the repository (for scripts/run.sh).
  RunShStack(const std::filesystem::path& source_dir, const std::filesystem::path& bin_dir,
             const std::filesystem::path& dir, const std::vector<std::string>& args = {});
  // Stops the stack unless KeepRunning() was called.
  ~RunShStack();
  RunShStack(const RunShStack&) = delete;
  RunShStack& operator=(const RunShStack&) = delete;

  // DIR/env: FIELDWORK_*_ADDRESS, FIELDWORK_TOKEN (admin), FIELDWORK_*_METRICS_PORT, ...
  const std::map<std::string, std::string>& env() const { return env_; }
  // The process id of `service` (randomisation, survey-ingest, messaging, analysis, redis).
  pid_t Pid(const std::string& service) const;
  // Stops `service` (SIGTERM, waiting for it to exit) and starts it again with the same
  // command line (`run.sh start-service`).
  void Restart(const std::string& service);
  void KeepRunning() { keep_ = true; }
  const std::filesystem::path& run_dir() const { return run_dir_; }

 private:
  std::filesystem::path run_sh_;
  std::filesystem::path dir_;
  std::filesystem::path run_dir_;
  std::map<std::string, std::string> env_;
  bool keep_ = false;
};

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_RUN_SH_STACK_H_

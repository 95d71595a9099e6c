// Child processes for tests: service binaries, redis-server, the SMTP sink.
#ifndef FIELDWORK_TESTS_TESTING_PROCESS_H_
#define FIELDWORK_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace fieldwork::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` (a path, or a name looked up on PATH) with `argv` and the current
  // environment plus `extra_env`. stdout and stderr go to `log_path` (or /dev/null if empty).
  // Throws std::runtime_error if it cannot be started.
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> extra_env = {},
               std::string log_path = "");
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills the process (SIGKILL) if it is still running.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  void Signal(int signal);
  // Waits up to `timeout` for the process to exit; its exit code (128 + signal when it was
  // killed by a signal), or nullopt if it is still running.
  std::optional<int> WaitForExit(absl::Duration timeout);
  bool running();
  const std::string& log_path() const { return log_path_; }
  // The log so far (empty without a log file).
  std::string ReadLog() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// The directory CTest runs tests from has the binaries under FIELDWORK_BINARY_DIR; returns
// the path of a binary built by this project (e.g. "fieldwork-test-server").
std::string BinaryPath(const std::string& name);
// A path under the source tree this project was configured from.
std::string SourcePath(const std::string& relative);

// A fresh temporary directory, removed when the object goes.
// Writes `content` to `path` (a tokens file, a key) for a process a test starts.
void WriteFile(const std::string& path, const std::string& content);

// A line "<field>: <n> kB" of /proc/<pid>/status (e.g. "VmHWM", the peak resident memory), in
// kB; -1 when absent.
int64_t ProcStatusKb(pid_t pid, const std::string& field);

// Whether a process's resident memory says what the code keeps: not under AddressSanitizer,
// whose shadow memory and quarantine of freed blocks dominate it. Memory-bound tests check
// their bound only when true.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kResidentMemoryIsMeaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kResidentMemoryIsMeaningful = false;
#else
inline constexpr bool kResidentMemoryIsMeaningful = true;
#endif
#else
inline constexpr bool kResidentMemoryIsMeaningful = true;
#endif

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_PROCESS_H_

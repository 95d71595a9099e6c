// The whole suite running for an end-to-end test, started and stopped by scripts/run.sh
// (--simulated-clock --prometheus): redis-server, the four service binaries of this build on
// the simulated clock, the local SMTP sink, and a real Prometheus (scripts/prometheus.sh, fast
// mode) scraping them with the Fieldwork rules loaded. Everything listens on free loopback
// ports and keeps its state and logs under one directory.
#ifndef FIELDWORK_TESTS_E2E_ANALYSIS_LIVE_STACK_H_
#define FIELDWORK_TESTS_E2E_ANALYSIS_LIVE_STACK_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fieldwork::testing {

struct LiveStackOptions {
  std::string dir;                                     // state and logs (DIR of run.sh)
  absl::Time clock_start;                              // the simulated clock's first time
  absl::Duration monitor_interval = absl::Seconds(1);  // the analysis service's
};

class LiveStack {
 public:
  // `scripts/run.sh start`; then sets the simulated clock. Throws std::runtime_error with
  // run.sh's output when something did not start.
  explicit LiveStack(LiveStackOptions options);
  // `scripts/run.sh stop` (also after a failed test).
  ~LiveStack();
  LiveStack(const LiveStack&) = delete;
  LiveStack& operator=(const LiveStack&) = delete;

  // What run.sh wrote to DIR/env.
  const std::string& Env(const std::string& key) const;
  const std::string& token() const { return Env("FIELDWORK_TOKEN"); }  // admin
  const std::string& randomisation_address() const {
    return Env("FIELDWORK_RANDOMISATION_ADDRESS");
  }
  const std::string& survey_ingest_address() const {
    return Env("FIELDWORK_SURVEY_INGEST_ADDRESS");
  }
  const std::string& messaging_address() const { return Env("FIELDWORK_MESSAGING_ADDRESS"); }
  const std::string& analysis_address() const { return Env("FIELDWORK_ANALYSIS_ADDRESS"); }
  int MetricsPort(const std::string& service) const;  // "RANDOMISATION", "SURVEY_INGEST", ...
  const std::string& prometheus_url() const { return Env("FIELDWORK_PROMETHEUS_URL"); }
  // Messaging's HTTP base for tracked links.
  const std::string& tracking_url() const { return Env("FIELDWORK_TRACKING_URL"); }
  // The mails the SMTP sink received so far, in arrival order, each as received.
  std::vector<std::string> DeliveredMails() const;

  // Moves the simulated clock with the fieldwork-simclock binary; the new time.
  absl::StatusOr<absl::Time> AdvanceClock(absl::Duration by);

 private:
  absl::StatusOr<absl::Time> Simclock(const std::vector<std::string>& arguments);

  LiveStackOptions options_;
  std::string run_dir_;
  std::map<std::string, std::string> env_;
  bool started_ = false;
  int commands_ = 0;
};

// Runs `argv` to completion (bounded by `timeout`) with the current environment plus `env`;
// its exit code and output (stdout and stderr together, also left in `log_path`), or an error
// when it did not finish.
struct CommandResult {
  int exit_code = 0;
  std::string output;
};
absl::StatusOr<CommandResult> RunCommand(std::vector<std::string> argv,
                                         std::map<std::string, std::string> env,
                                         const std::string& log_path,
                                         absl::Duration timeout = absl::Seconds(120));

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_E2E_ANALYSIS_LIVE_STACK_H_

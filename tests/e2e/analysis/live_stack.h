// The whole suite running for an end-to-end test: redis-server, the four service binaries on
// the simulated clock, and a real Prometheus (scripts/prometheus.sh --fast) scraping them with
// the Fieldwork rules loaded. Everything listens on free loopback ports and keeps its state and
// logs under one directory.
#ifndef FIELDWORK_TESTS_E2E_ANALYSIS_LIVE_STACK_H_
#define FIELDWORK_TESTS_E2E_ANALYSIS_LIVE_STACK_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork::testing {

struct LiveStackOptions {
  std::string dir;         // state and logs
  absl::Time clock_start;  // the simulated clock's first time
  absl::Duration monitor_interval = absl::Seconds(1);
};

class LiveStack {
 public:
  // The bearer token with the researcher and analyst roles on every trial.
  static constexpr char kResearcherToken[] = "e2e-researcher-token";

  // Starts everything and waits until every service answers health and Prometheus is ready;
  // throws std::runtime_error naming what did not start (with its log).
  explicit LiveStack(LiveStackOptions options);
  // Stops Prometheus (scripts/prometheus.sh stop), then the services and Redis.
  ~LiveStack();
  LiveStack(const LiveStack&) = delete;
  LiveStack& operator=(const LiveStack&) = delete;

  const std::string& randomisation_address() const { return randomisation_->address(); }
  const std::string& survey_ingest_address() const { return survey_ingest_->address(); }
  const std::string& messaging_address() const { return messaging_->address(); }
  const std::string& analysis_address() const { return analysis_->address(); }
  int randomisation_metrics_port() const { return randomisation_metrics_port_; }
  int survey_ingest_metrics_port() const { return survey_ingest_metrics_port_; }
  int messaging_metrics_port() const { return messaging_metrics_port_; }
  int analysis_metrics_port() const { return analysis_metrics_port_; }
  // Messaging's HTTP endpoint (tracked links) and the file its e-mail channel writes, one
  // delivered message a line.
  int messaging_http_port() const { return messaging_http_port_; }
  std::string delivered_messages_path() const { return options_.dir + "/messages.jsonl"; }
  const std::string& prometheus_url() const { return prometheus_url_; }
  const std::string& dir() const { return options_.dir; }

  // Moves the simulated clock with the fieldwork-simclock binary; the new time.
  absl::StatusOr<absl::Time> AdvanceClock(absl::Duration by);

 private:
  // Runs scripts/prometheus.sh with `command`; its output (stdout and stderr) or an error.
  absl::StatusOr<std::string> RunPrometheusScript(const std::string& command);

  LiveStackOptions options_;
  std::unique_ptr<RedisServer> redis_;
  int randomisation_metrics_port_ = 0;
  int survey_ingest_metrics_port_ = 0;
  int messaging_metrics_port_ = 0;
  int analysis_metrics_port_ = 0;
  int messaging_http_port_ = 0;
  std::unique_ptr<ServiceProcess> randomisation_;
  std::unique_ptr<ServiceProcess> survey_ingest_;
  std::unique_ptr<ServiceProcess> messaging_;
  std::unique_ptr<ServiceProcess> analysis_;
  std::string prometheus_url_;
  int advances_ = 0;
};

// Runs `argv` to completion (bounded by `timeout`); its exit code and output (stdout and
// stderr together), or an error when it did not finish.
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

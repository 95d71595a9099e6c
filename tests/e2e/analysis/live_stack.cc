#include "tests/e2e/analysis/live_stack.h"

#include <fstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/auth.h"
#include "tests/testing/ports.h"

namespace fieldwork::testing {
namespace {

constexpr char kServiceToken[] = "e2e-service-token";  // what the services call each other with

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string Loopback(int port) { return absl::StrCat("127.0.0.1:", port); }

}  // namespace

absl::StatusOr<CommandResult> RunCommand(std::vector<std::string> argv,
                                         std::map<std::string, std::string> env,
                                         const std::string& log_path, absl::Duration timeout) {
  const std::string name = argv.empty() ? "" : argv[0];
  ChildProcess process(std::move(argv), std::move(env), log_path);
  std::optional<int> exit_code = process.WaitForExit(timeout);
  if (!exit_code.has_value()) {
    return absl::DeadlineExceededError(absl::StrCat(name, " did not finish within ",
                                                    absl::FormatDuration(timeout), "; output:\n",
                                                    process.ReadLog()));
  }
  return CommandResult{*exit_code, process.ReadLog()};
}

LiveStack::LiveStack(LiveStackOptions options) : options_(std::move(options)) {
  const std::string& dir = options_.dir;
  redis_ = std::make_unique<RedisServer>();
  // The simulated clock is set before any service reads it.
  absl::StatusOr<CommandResult> set =
      RunCommand({BinaryPath("fieldwork-simclock"), "--redis_url=" + redis_->url(), "set",
                  absl::FormatTime(absl::RFC3339_sec, options_.clock_start, absl::UTCTimeZone())},
                 {}, dir + "/simclock-set.log");
  if (!set.ok() || set->exit_code != 0) {
    throw std::runtime_error("fieldwork-simclock set failed: " +
                             (set.ok() ? set->output : set.status().ToString()));
  }

  WriteFile(
      dir + "/tokens.yaml",
      absl::StrCat("tokens:\n  - name: e2e-researcher\n    sha256: ", HashToken(kResearcherToken),
                   "\n    roles: [researcher, analyst]\n    trials: [\"*\"]\n",
                   "  - name: e2e-services\n    sha256: ", HashToken(kServiceToken),
                   "\n    roles: [analyst]\n    trials: [\"*\"]\n"));
  WriteFile(dir + "/service.token", absl::StrCat(kServiceToken, "\n"));
  WriteFile(dir + "/contact.key", std::string(64, 'a') + "\n");
  WriteFile(dir + "/link.key", std::string(64, 'b') + "\n");

  // Flags every service takes.
  auto common = [&](int metrics_port, const std::string& address) {
    return std::vector<std::string>{"--listen_address=" + address,
                                    absl::StrCat("--metrics_port=", metrics_port),
                                    "--metrics_bind_address=127.0.0.1",
                                    "--redis_url=" + redis_->url(),
                                    "--tokens_file=" + dir + "/tokens.yaml",
                                    "--simulated_clock",
                                    "--drain_delay=0s"};
  };
  auto with = [](std::vector<std::string> args, std::initializer_list<std::string> more) {
    args.insert(args.end(), more);
    return args;
  };

  randomisation_metrics_port_ = PickFreePort();
  const std::string randomisation = Loopback(PickFreePort());
  randomisation_ = std::make_unique<ServiceProcess>(
      "fieldwork-randomisation", common(randomisation_metrics_port_, randomisation), randomisation,
      dir);

  survey_ingest_metrics_port_ = PickFreePort();
  const std::string survey_ingest = Loopback(PickFreePort());
  survey_ingest_ = std::make_unique<ServiceProcess>(
      "fieldwork-survey-ingest",
      with(common(survey_ingest_metrics_port_, survey_ingest),
           {"--randomisation_address=" + randomisation,
            "--service_token_file=" + dir + "/service.token", "--roster_cache_ttl=1s"}),
      survey_ingest, dir);

  messaging_metrics_port_ = PickFreePort();
  const std::string messaging = Loopback(PickFreePort());
  messaging_http_port_ = PickFreePort();
  const int http_port = messaging_http_port_;
  messaging_ = std::make_unique<ServiceProcess>(
      "fieldwork-messaging",
      with(common(messaging_metrics_port_, messaging),
           {"--randomisation_address=" + randomisation, "--survey_ingest_address=" + survey_ingest,
            "--service_token_file=" + dir + "/service.token",
            "--contact_key_file=" + dir + "/contact.key", "--link_key_file=" + dir + "/link.key",
            "--file_channel_path=" + dir + "/messages.jsonl",
            absl::StrCat("--http_port=", http_port), "--http_bind_address=127.0.0.1",
            absl::StrCat("--link_base_url=http://127.0.0.1:", http_port), "--worker_threads=1"}),
      messaging, dir);

  analysis_metrics_port_ = PickFreePort();
  const std::string analysis = Loopback(PickFreePort());
  analysis_ = std::make_unique<ServiceProcess>(
      "fieldwork-analysis",
      with(common(analysis_metrics_port_, analysis),
           {"--randomisation_address=" + randomisation, "--survey_ingest_address=" + survey_ingest,
            "--messaging_address=" + messaging, "--service_token_file=" + dir + "/service.token",
            "--monitor_interval=" + absl::FormatDuration(options_.monitor_interval)}),
      analysis, dir);

  absl::StatusOr<std::string> started = RunPrometheusScript("start");
  if (!started.ok()) throw std::runtime_error(started.status().ToString());
  // The script prints the URL as its last line.
  std::vector<std::string> lines =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(*started), '\n');
  prometheus_url_ = lines.empty() ? "" : lines.back();
  if (!absl::StartsWith(prometheus_url_, "http://127.0.0.1:")) {
    throw std::runtime_error("scripts/prometheus.sh start printed no URL:\n" + *started);
  }
}

LiveStack::~LiveStack() {
  if (!prometheus_url_.empty()) {
    absl::StatusOr<std::string> stopped = RunPrometheusScript("stop");
    if (!stopped.ok()) std::fprintf(stderr, "%s\n", stopped.status().ToString().c_str());
  }
  // The services and Redis stop in their destructors (analysis first: it reads the others).
  analysis_.reset();
  messaging_.reset();
  survey_ingest_.reset();
  randomisation_.reset();
  redis_.reset();
}

absl::StatusOr<absl::Time> LiveStack::AdvanceClock(absl::Duration by) {
  absl::StatusOr<CommandResult> result =
      RunCommand({BinaryPath("fieldwork-simclock"), "--redis_url=" + redis_->url(), "advance",
                  absl::FormatDuration(by)},
                 {}, absl::StrCat(options_.dir, "/simclock-advance-", ++advances_, ".log"));
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError("fieldwork-simclock advance failed: " + result->output);
  }
  absl::Time now;
  std::string error;
  const std::string printed(absl::StripAsciiWhitespace(result->output));
  if (!absl::ParseTime(absl::RFC3339_full, printed, &now, &error)) {
    return absl::InternalError("fieldwork-simclock printed \"" + printed + "\": " + error);
  }
  return now;
}

absl::StatusOr<std::string> LiveStack::RunPrometheusScript(const std::string& command) {
  std::vector<std::string> argv = {"bash", SourcePath("scripts/prometheus.sh"), command};
  if (command == "start") argv.push_back("--fast");
  absl::StatusOr<CommandResult> result = RunCommand(
      argv,
      {{"FIELDWORK_PROMETHEUS_DIR", options_.dir + "/prometheus"},
       {"FIELDWORK_RANDOMISATION_METRICS_PORT", absl::StrCat(randomisation_metrics_port_)},
       {"FIELDWORK_MESSAGING_METRICS_PORT", absl::StrCat(messaging_metrics_port_)},
       {"FIELDWORK_SURVEY_INGEST_METRICS_PORT", absl::StrCat(survey_ingest_metrics_port_)},
       {"FIELDWORK_ANALYSIS_METRICS_PORT", absl::StrCat(analysis_metrics_port_)}},
      options_.dir + "/prometheus-" + command + ".log");
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat("scripts/prometheus.sh ", command, " exited ",
                                            result->exit_code, ":\n", result->output));
  }
  return result->output;
}

}  // namespace fieldwork::testing

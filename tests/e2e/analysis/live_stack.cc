#include "tests/e2e/analysis/live_stack.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/testing/process.h"

namespace fieldwork::testing {

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

namespace {

absl::StatusOr<CommandResult> RunScript(const std::string& run_dir, const std::string& command,
                                        std::map<std::string, std::string> env,
                                        const std::string& log_path) {
  std::vector<std::string> argv = {"bash", SourcePath("scripts/run.sh"), command, "--dir", run_dir};
  if (command == "start") {
    argv.push_back("--simulated-clock");
    argv.push_back("--prometheus");
  }
  return RunCommand(argv, std::move(env), log_path, absl::Seconds(180));
}

}  // namespace

LiveStack::LiveStack(LiveStackOptions options)
    : options_(std::move(options)), run_dir_(options_.dir + "/run") {
  // This build's binaries; the analysis service takes its monitor interval from the
  // environment (run.sh passes its environment on and sets no --monitor_interval).
  const std::string bin_dir =
      std::filesystem::path(BinaryPath("fieldwork-analysis")).parent_path().string();
  absl::StatusOr<CommandResult> started =
      RunScript(run_dir_, "start",
                {{"FIELDWORK_BIN_DIR", bin_dir},
                 {"FIELDWORK_MONITOR_INTERVAL", absl::FormatDuration(options_.monitor_interval)}},
                options_.dir + "/run-start.log");
  started_ = true;  // stop whatever part of it came up, even on failure
  if (!started.ok()) throw std::runtime_error(started.status().ToString());
  if (started->exit_code != 0) {
    throw std::runtime_error(
        absl::StrCat("scripts/run.sh start exited ", started->exit_code, ":\n", started->output));
  }
  std::ifstream in(run_dir_ + "/env");
  for (std::string line; std::getline(in, line);) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (!kv.first.empty()) env_[kv.first] = kv.second;
  }
  for (const char* key :
       {"FIELDWORK_RANDOMISATION_ADDRESS", "FIELDWORK_SURVEY_INGEST_ADDRESS",
        "FIELDWORK_MESSAGING_ADDRESS", "FIELDWORK_ANALYSIS_ADDRESS", "FIELDWORK_TOKEN",
        "FIELDWORK_REDIS_ADDRESS", "FIELDWORK_PROMETHEUS_URL", "FIELDWORK_TRACKING_URL",
        "FIELDWORK_MAIL_DIR", "FIELDWORK_RANDOMISATION_METRICS_PORT",
        "FIELDWORK_SURVEY_INGEST_METRICS_PORT", "FIELDWORK_MESSAGING_METRICS_PORT",
        "FIELDWORK_ANALYSIS_METRICS_PORT"}) {
    if (env_.count(key) == 0) {
      throw std::runtime_error(
          absl::StrCat(run_dir_, "/env has no ", key, "; run.sh said:\n", started->output));
    }
  }
  // The services are up on a clock that started at the real time: move it to the trial's start
  // before anything is created.
  absl::StatusOr<absl::Time> now = Simclock(
      {"set", absl::FormatTime(absl::RFC3339_sec, options_.clock_start, absl::UTCTimeZone())});
  if (!now.ok()) throw std::runtime_error(now.status().ToString());
}

LiveStack::~LiveStack() {
  if (!started_) return;
  absl::StatusOr<CommandResult> stopped =
      RunScript(run_dir_, "stop", {}, options_.dir + "/run-stop.log");
  if (!stopped.ok() || stopped->exit_code != 0) {
    std::fprintf(stderr, "scripts/run.sh stop failed: %s\n",
                 stopped.ok() ? stopped->output.c_str() : stopped.status().ToString().c_str());
  }
}

const std::string& LiveStack::Env(const std::string& key) const {
  auto it = env_.find(key);
  if (it == env_.end()) throw std::runtime_error("no " + key + " in " + run_dir_ + "/env");
  return it->second;
}

int LiveStack::MetricsPort(const std::string& service) const {
  int port = 0;
  const std::string& value = Env(absl::StrCat("FIELDWORK_", service, "_METRICS_PORT"));
  if (!absl::SimpleAtoi(value, &port)) throw std::runtime_error("bad metrics port " + value);
  return port;
}

std::vector<std::string> LiveStack::DeliveredMails() const {
  // The sink names each mail NNNNNNNN.eml once it is complete (hidden temporary names before).
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(Env("FIELDWORK_MAIL_DIR"))) {
    if (entry.path().extension() == ".eml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> mails;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    mails.push_back(text.str());
  }
  return mails;
}

absl::StatusOr<absl::Time> LiveStack::AdvanceClock(absl::Duration by) {
  return Simclock({"advance", absl::FormatDuration(by)});
}

absl::StatusOr<absl::Time> LiveStack::Simclock(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv = {BinaryPath("fieldwork-simclock"),
                                   "--redis_url=redis://" + Env("FIELDWORK_REDIS_ADDRESS")};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  absl::StatusOr<CommandResult> result =
      RunCommand(argv, {}, absl::StrCat(options_.dir, "/simclock-", ++commands_, ".log"));
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError("fieldwork-simclock failed: " + result->output);
  }
  absl::Time now;
  std::string error;
  const std::string printed(absl::StripAsciiWhitespace(result->output));
  if (!absl::ParseTime(absl::RFC3339_full, printed, &now, &error)) {
    return absl::InternalError("fieldwork-simclock printed \"" + printed + "\": " + error);
  }
  return now;
}

}  // namespace fieldwork::testing

// The live monitor through the real services (issue 18): `trials` active trials (default 100) of
// `participants` each (default 10,000) on the stack of scripts/run.sh (durable Redis, auth on,
// the monitor at its default 30 s interval), each loaded as a researcher would with the real CLI
// (apply with a locked plan, enrol, randomise, `responses import` of an endline answered by 60%),
// then the analysis service restarted so that its first pass reads every trial cold. Printed,
// for each pass, from analysis's own /metrics: its time (the run_seconds histogram's sum moving)
// and how many trials it read again (fieldwork_analysis_monitor_trials_read):
//   1. the cold pass: every trial read over gRPC, joined and its gauges computed;
//   2. the next pass, nothing changed: each trial's versions asked, nothing read;
//   3. after a leaver recorded in `changed` trials (default 5): only those read.
// Beside them the interval (30 s) they must fit in, and analysis's peak resident memory.
// Printed, never asserted.
//
// Usage: analysis_monitor_stack_bench [trials=100] [participants=10000] [changed=5] [keep_dir]
// Run a Release build: build/release/bin/analysis_monitor_stack_bench
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/common/bench_util.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/process.h"
#include "tests/testing/run_sh_stack.h"

namespace {

namespace fs = std::filesystem;
using fieldwork::testing::CommandRun;
using fieldwork::testing::RunCommand;

constexpr double kIntervalSeconds = 30;

using ::fieldwork::bench::BinDir;

fs::path SourceDir() { return ::fieldwork::bench::SourceDir(FIELDWORK_DEFAULT_SOURCE_DIR); }

// Two sites, 1:1 within site, one endline wave of ONS4, and a locked plan with power
// assumptions (so the monitor has every gauge: planned and achieved MDES, expected rate).
std::string Protocol(const std::string& trial, int participants) {
  const fs::path instrument = SourceDir() / "examples/instruments/ons4.yaml";
  return absl::StrCat(R"(trial:
  id: )",
                      trial, R"(
  title: Monitor at scale (bench/analysis)
  sites: [north, south]
  factors:
    - name: letter
      method: complete_within_strata
      strata: [site]
      arms:
        - {name: treatment, weight: 1}
        - {name: control, weight: 1}
instruments:
  - )",
                      instrument.string(), R"(
waves:
  - {id: endline, instrument: ons4, opens: 2021-05-03T00:00:00Z, closes: 2021-05-31T00:00:00Z}
lock_design: true
analysis:
  factor: letter
  control_arm: control
  outcomes:
    - {name: life_satisfaction, primary: true, wave: endline, scale: life_satisfaction}
  power: {n: )",
                      participants, R"(, treated_share: 0.5, power: 0.8, response_rate: 0.6}
lock_plan: true
)");
}

// One sample (no labels) of analysis's /metrics, or -1 when absent.
double Sample(const std::string& metrics, const std::string& name) {
  const std::string line_start = name + " ";
  for (size_t at = metrics.find(line_start); at != std::string::npos;
       at = metrics.find(line_start, at + 1)) {
    if (at != 0 && metrics[at - 1] != '\n') continue;
    const size_t from = at + line_start.size();
    double value = -1;
    if (absl::SimpleAtod(metrics.substr(from, metrics.find('\n', from) - from), &value)) {
      return value;
    }
  }
  return -1;
}

struct Pass {
  double seconds = 0;
  double trials_read = 0;
  double trials = 0;
};

// Waits for the monitor's pass number `count` (the run_seconds histogram's count) to end.
Pass WaitForPass(int metrics_port, int count, double& sum_before) {
  for (;;) {
    absl::StatusOr<std::string> metrics = fieldwork::testing::FetchMetrics(metrics_port);
    if (metrics.ok() && Sample(*metrics, "fieldwork_analysis_monitor_run_seconds_count") >= count) {
      const double sum = Sample(*metrics, "fieldwork_analysis_monitor_run_seconds_sum");
      Pass pass{sum - sum_before, Sample(*metrics, "fieldwork_analysis_monitor_trials_read"),
                Sample(*metrics, "fieldwork_analysis_monitor_trials")};
      sum_before = sum;
      return pass;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 100;
  int participants = 10000;
  int changed = 5;
  if ((argc > 1 && !absl::SimpleAtoi(argv[1], &trials)) ||
      (argc > 2 && !absl::SimpleAtoi(argv[2], &participants)) ||
      (argc > 3 && !absl::SimpleAtoi(argv[3], &changed)) || trials < 1 || participants < 10) {
    std::fprintf(stderr, "usage: %s [trials=100] [participants=10000] [changed=5] [keep_dir]\n",
                 argv[0]);
    return 2;
  }
  changed = std::min(changed, trials);
  std::optional<fieldwork::testing::TempDir> temp;
  fs::path dir;
  if (argc > 4) {
    dir = fs::absolute(argv[4]);
    fs::create_directories(dir);
  } else {
    temp.emplace();
    dir = temp->path();
  }
  const std::string fieldwork = (BinDir() / "fieldwork").string();
  std::printf("analysis_monitor_stack_bench: %d trials x %d participants, binaries %s, state %s\n",
              trials, participants, BinDir().c_str(), dir.c_str());
  fieldwork::testing::RunShStack stack(SourceDir(), BinDir(), dir);
  if (argc > 4) stack.KeepRunning();
  const std::map<std::string, std::string>& env = stack.env();
  const fs::path data = dir / "data";
  fs::create_directories(data);
  auto trial_id = [](int t) { return absl::StrCat("monitor-", t); };
  auto protocol_file = [&](int t) {
    const fs::path file = data / (trial_id(t) + ".yaml");
    std::ofstream(file) << Protocol(trial_id(t), participants);
    return file.string();
  };
  auto log = [&](const std::string& what, int t) {
    return (dir / absl::StrCat(what, "-", t, ".log")).string();
  };

  // Trial 0 through the whole path; its roster and answers serve every trial (participant ids
  // are per trial).
  const auto setup_started = std::chrono::steady_clock::now();
  const std::string first = protocol_file(0);
  RunCommand({fieldwork, "apply", first}, env, log("apply", 0));
  RunCommand({fieldwork, "simulate", "roster", first, absl::StrCat("--n=", participants),
              "--out=" + data.string()},
             env, log("roster", 0));
  const std::string roster = (data / "roster.csv").string();
  RunCommand({fieldwork, "enrol", trial_id(0), roster}, env, log("enrol", 0));
  RunCommand({fieldwork, "randomise", trial_id(0)}, env, log("randomise", 0));
  const std::string allocations = (data / "allocations.csv").string();
  RunCommand({fieldwork, "export", trial_id(0)}, env, allocations);
  const std::string endline = (data / "endline.csv").string();
  RunCommand({fieldwork, "simulate", "responses", first, allocations, "--wave=endline",
              "--response_rate=0.6", "--out=" + endline},
             env, log("simulate-responses", 0));
  RunCommand({fieldwork, "responses", "import", trial_id(0), "endline", endline}, env,
             log("import", 0));
  // The others, four at a time (the CLI waits on the services, not the other way round).
  std::atomic<int> next{1};
  std::vector<std::thread> loaders;
  for (int w = 0; w < 4; ++w) {
    loaders.emplace_back([&] {
      for (int t = next++; t < trials; t = next++) {
        RunCommand({fieldwork, "apply", protocol_file(t)}, env, log("apply", t));
        RunCommand({fieldwork, "enrol", trial_id(t), roster}, env, log("enrol", t));
        RunCommand({fieldwork, "randomise", trial_id(t)}, env, log("randomise", t));
        RunCommand({fieldwork, "responses", "import", trial_id(t), "endline", endline}, env,
                   log("import", t));
      }
    });
  }
  for (std::thread& loader : loaders) loader.join();
  std::printf(
      "  setup: %d trials loaded through the CLI in %.0f s\n", trials,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_started).count());

  // A fresh analysis process: its first pass has nothing kept.
  stack.Restart("analysis");
  const pid_t analysis = stack.Pid("analysis");
  int metrics_port = 0;
  if (!absl::SimpleAtoi(env.at("FIELDWORK_ANALYSIS_METRICS_PORT"), &metrics_port)) {
    std::fprintf(stderr, "no FIELDWORK_ANALYSIS_METRICS_PORT in %s/env\n", stack.run_dir().c_str());
    return 1;
  }
  double sum = 0;
  std::printf("\nmonitor passes (interval %.0f s; a pass must end well within it)\n",
              kIntervalSeconds);
  std::printf("%-44s %8s %8s %12s\n", "pass", "seconds", "read", "of trials");
  auto print = [&](const char* what, const Pass& pass) {
    std::printf("%-44s %8.2f %8.0f %12.0f%s\n", what, pass.seconds, pass.trials_read, pass.trials,
                pass.seconds <= kIntervalSeconds ? "" : "  (over the interval)");
  };
  print("1. cold: every trial read", WaitForPass(metrics_port, 1, sum));
  print("2. nothing changed", WaitForPass(metrics_port, 2, sum));

  // A leaver in each of the first `changed` trials (a new audit head at randomisation), recorded
  // right after pass 3 began would be read at pass 4: wait for pass 3 to end first.
  WaitForPass(metrics_port, 3, sum);
  std::string participant;
  {
    std::ifstream in(roster);
    std::string header, row;
    std::getline(in, header);
    std::getline(in, row);
    participant = row.substr(0, row.find(','));
  }
  const fs::path leavers = data / "leavers.csv";
  std::ofstream(leavers) << "participant_id,left_on\n" << participant << ",2021-05-10\n";
  for (int t = 0; t < changed; ++t) {
    RunCommand({fieldwork, "leavers", "import", trial_id(t), leavers.string()}, env,
               log("leavers", t));
  }
  const std::string third = absl::StrCat("3. a leaver recorded in ", changed, " trials");
  print(third.c_str(), WaitForPass(metrics_port, 4, sum));
  std::printf("analysis resident memory: %.0f MB now, peak %.0f MB (since its restart)\n",
              static_cast<double>(fieldwork::testing::ProcStatusKb(analysis, "VmRSS")) / 1024,
              static_cast<double>(fieldwork::testing::ProcStatusKb(analysis, "VmHWM")) / 1024);
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) == 3)
    std::printf("load average: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
  return 0;
}

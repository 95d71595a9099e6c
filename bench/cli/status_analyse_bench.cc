// `fieldwork status` and `fieldwork analyse` on a large trial (issue 18), through the real
// binaries: the stack of scripts/run.sh (durable Redis: AOF, appendfsync always; auth on; the
// analysis monitor at its default 30 s), a trial of N participants (default 100,000) applied,
// enrolled, randomised and answered with the real CLI (simulate roster, enrol = EnrolStream,
// randomise, export, simulate responses, responses import = ImportCsv: one counted endline
// response each), its plan locked by `apply`; then `fieldwork status` and `fieldwork analyse`
// three times each, printing each call's wall time and every service's resident memory (VmRSS)
// before and after it, with the peak during it (VmHWM, reset before the call), beside the
// targets, and the CPU seconds each service used during each call. Printed, never asserted.
//
// Usage: cli_status_analyse_bench [participants=100000] [keep_dir]
//   keep_dir: the stack's directory, kept (and the stack left running, for perf or a second
//   look) when given; a fresh temporary directory, stopped and removed, when not.
// Run it from a release build: build/release/bin/cli_status_analyse_bench.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/common/bench_util.h"
#include "tests/testing/process.h"
#include "tests/testing/run_sh_stack.h"

namespace {

namespace fs = std::filesystem;
using ::fieldwork::bench::BinDir;
using fieldwork::testing::CommandRun;
using fieldwork::testing::RunCommand;

fs::path SourceDir() { return ::fieldwork::bench::SourceDir(FIELDWORK_DEFAULT_SOURCE_DIR); }

constexpr double kStatusTargetSeconds = 2;
constexpr double kAnalyseTargetSeconds = 5;
constexpr int64_t kAnalysisRssTargetKb = 1024 * 1024;
const std::vector<std::string> kServices = {"randomisation", "survey-ingest", "messaging",
                                            "analysis", "redis"};

// VmHWM back to the current RSS (Linux: "5" to clear_refs), so that the next reading is the
// peak of one call.
void ResetPeak(pid_t pid) {
  std::ofstream out(absl::StrCat("/proc/", pid, "/clear_refs"));
  out << "5";
}

std::string Mb(int64_t kb) { return absl::StrFormat("%6.0f", static_cast<double>(kb) / 1024); }

// The protocol: a Beneficiaries-like trial (7 sites, 1:1 within site) with one endline wave of
// ONS4 and a locked plan over two of its scales with covariates, site fixed effects, a
// subgroup and power assumptions. The simulated answers are dated within the wave (as
// Beneficiaries' endline), so none is late.
std::string Protocol(int participants) {
  const fs::path instrument = SourceDir() / "examples/instruments/ons4.yaml";
  return absl::StrCat(R"(trial:
  id: scale
  title: Status and analysis at scale (bench/cli)
  sites: [la1, la2, la3, la4, la5, la6, la7]
  covariates:
    - {name: years_in_role, kind: numeric}
    - {name: role, kind: categorical, levels: [social_worker, manager, support, other]}
  factors:
    - name: video
      method: complete_within_strata
      strata: [site]
      arms:
        - {name: treatment, weight: 1}
        - {name: waitlist, weight: 1}
instruments:
  - )",
                      instrument.string(), R"(
waves:
  - {id: endline, instrument: ons4, opens: 2021-05-03T00:00:00Z, closes: 2021-05-31T00:00:00Z}
lock_design: true
analysis:
  factor: video
  control_arm: waitlist
  outcomes:
    - {name: life_satisfaction, primary: true, wave: endline, scale: life_satisfaction}
    - {name: happiness, wave: endline, scale: happiness}
  covariates: [years_in_role, role]
  site_fixed_effects: true
  se_type: HC2
  correction: holm
  subgroups: [{name: role, variable: role}]
  power: {n: )",
                      participants, R"(, treated_share: 0.5, power: 0.8, r_squared: 0.3, response_rate: 0.5, covariates: 2}
lock_plan: true
)");
}

struct Memory {
  int64_t rss_kb = -1;
  int64_t hwm_kb = -1;
};

std::map<std::string, Memory> Measure(const std::map<std::string, pid_t>& pids) {
  std::map<std::string, Memory> m;
  for (const auto& [name, pid] : pids) {
    m[name] = {fieldwork::testing::ProcStatusKb(pid, "VmRSS"),
               fieldwork::testing::ProcStatusKb(pid, "VmHWM")};
  }
  return m;
}

std::map<std::string, double> MeasureCpu(const std::map<std::string, pid_t>& pids) {
  std::map<std::string, double> m;
  for (const auto& [name, pid] : pids) m[name] = ::fieldwork::bench::ProcessCpuSeconds(pid);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int participants = 100000;
  if (argc > 1 && !absl::SimpleAtoi(argv[1], &participants)) {
    std::fprintf(stderr, "usage: %s [participants=100000] [keep_dir]\n", argv[0]);
    return 2;
  }
  std::optional<fieldwork::testing::TempDir> temp;
  fs::path dir;
  if (argc > 2) {
    dir = fs::absolute(argv[2]);
    fs::create_directories(dir);
  } else {
    temp.emplace();
    dir = temp->path();
  }
  const fs::path bin = BinDir();
  const std::string fieldwork = (bin / "fieldwork").string();
  std::printf("cli_status_analyse_bench: %d participants, binaries %s, state %s\n", participants,
              bin.c_str(), dir.c_str());

  fieldwork::testing::RunShStack stack(SourceDir(), bin, dir);
  if (!temp.has_value()) stack.KeepRunning();
  const std::map<std::string, std::string>& env = stack.env();
  std::map<std::string, pid_t> pids;
  for (const std::string& s : kServices) pids[s] = stack.Pid(s);

  // The trial, through the CLI as a researcher would load it.
  {
    std::ofstream(dir / "scale.yaml") << Protocol(participants);
  }
  const std::string n = absl::StrCat(participants);
  const std::vector<std::pair<std::string, std::vector<std::string>>> setup = {
      {"apply", {fieldwork, "apply", (dir / "scale.yaml").string()}},
      {"simulate roster",
       {fieldwork, "simulate", "roster", (dir / "scale.yaml").string(), "--n=" + n,
        "--out=" + (dir / "data").string()}},
      {"enrol", {fieldwork, "enrol", "scale", (dir / "data/roster.csv").string()}},
      {"randomise", {fieldwork, "randomise", "scale"}},
  };
  for (const auto& [what, args] : setup) {
    const CommandRun r = RunCommand(args, env, (dir / (what + ".log")).string());
    std::printf("  setup: %-16s %7.1f s\n", what.c_str(), r.seconds);
  }
  CommandRun r =
      RunCommand({fieldwork, "export", "scale"}, env, (dir / "data/allocations.csv").string());
  std::printf("  setup: %-16s %7.1f s\n", "export", r.seconds);
  r = RunCommand({fieldwork, "simulate", "responses", (dir / "scale.yaml").string(),
                  (dir / "data/allocations.csv").string(), "--wave=endline", "--response_rate=1",
                  "--effect=0.2", "--outcome=life_satisfaction",
                  "--out=" + (dir / "data/endline.csv").string()},
                 env, (dir / "simulate-responses.log").string());
  std::printf("  setup: %-16s %7.1f s\n", "sim. responses", r.seconds);
  r = RunCommand({fieldwork, "responses", "import", "scale", "endline",
                  (dir / "data/endline.csv").string()},
                 env, (dir / "import.log").string());
  std::printf("  setup: %-16s %7.1f s\n", "responses import", r.seconds);

  std::printf("\nresident memory in MB: before -> after the call (peak during it)\n");
  std::printf("targets: status <= %.0f s, analyse <= %.0f s, analysis peak <= %lld MB, no growth "
              "from call to call\n",
              kStatusTargetSeconds, kAnalyseTargetSeconds,
              static_cast<long long>(kAnalysisRssTargetKb / 1024));
  std::printf("%-10s %8s", "call", "wall s");
  for (const std::string& s : kServices) std::printf("  %-24s", s.c_str());
  std::printf("\n");
  const std::map<std::string, Memory> idle = Measure(pids);
  std::printf("%-10s %8s", "(idle)", "");
  for (const std::string& s : kServices) std::printf("  %6s %-17s", Mb(idle.at(s).rss_kb).c_str(), "");
  std::printf("\n");
  // Each call's CPU seconds per service, printed after the memory table.
  std::vector<std::pair<std::string, std::map<std::string, double>>> cpu_by_call;
  for (const std::string command : {"status", "analyse"}) {
    for (int i = 1; i <= 3; ++i) {
      for (const auto& [name, pid] : pids) ResetPeak(pid);
      const std::map<std::string, Memory> before = Measure(pids);
      const std::map<std::string, double> cpu_before = MeasureCpu(pids);
      const std::string log = (dir / absl::StrCat(command, i, ".out")).string();
      const CommandRun call = RunCommand({fieldwork, command, "scale"}, env, log, false);
      const std::map<std::string, double> cpu_after = MeasureCpu(pids);
      const std::map<std::string, Memory> after = Measure(pids);
      std::map<std::string, double> used;
      for (const std::string& s : kServices) used[s] = cpu_after.at(s) - cpu_before.at(s);
      cpu_by_call.emplace_back(absl::StrCat(command, " ", i), std::move(used));
      const double target = command == "status" ? kStatusTargetSeconds : kAnalyseTargetSeconds;
      std::printf("%-8s %d %7.2f%s", command.c_str(), i, call.seconds,
                  call.seconds <= target ? " " : "!");
      for (const std::string& s : kServices) {
        std::printf("  %s->%s (%s)", Mb(before.at(s).rss_kb).c_str(), Mb(after.at(s).rss_kb).c_str(),
                    Mb(after.at(s).hwm_kb).c_str());
      }
      std::printf("%s\n", call.exit_code == 0 ? "" : absl::StrCat("  exit ", call.exit_code).c_str());
    }
  }
  std::printf("(! = over the target; each call's output in %s/{status,analyse}N.out)\n",
              dir.c_str());
  std::printf("\nCPU seconds each service used during the call (user + system)\n%-10s", "call");
  for (const std::string& s : kServices) std::printf("  %13s", s.c_str());
  std::printf("\n");
  for (const auto& [call, used] : cpu_by_call) {
    std::printf("%-10s", call.c_str());
    for (const std::string& s : kServices) std::printf("  %13.2f", used.at(s));
    std::printf("\n");
  }
  std::fflush(stdout);
  return 0;
}

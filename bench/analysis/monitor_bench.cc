// analysis_monitor_bench: one pass of the live monitor over 100 active trials of 10,000
// participants each (two waves, ~40% response, take-up events), from in-memory sources: the
// join (LoadTrial) plus the gauge computation (ComputeMonitor) plus publishing to a Prometheus
// registry. The target is one pass within the monitor's 30 s interval. Not included: the time
// the gRPC sources spend receiving the data from the other services. Printed, never asserted.
//   analysis_monitor_bench [--trials=100] [--participants=10000] (plus Google Benchmark flags)
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "services/analysis/memory_sources.h"
#include "services/analysis/monitor.h"
#include "services/analysis/monitor_loop.h"
#include "services/analysis/plan_registry.h"
#include "services/common/clock.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;

int g_trials = 100;
int g_participants = 10000;
constexpr double kTargetSeconds = 30.0;

// A small deterministic generator (splitmix64) so the data are the same on every machine.
struct SplitMix {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
};

MemorySources& Data() {
  static MemorySources* sources = [] {
    auto* s = new MemorySources();
    SplitMix random{42};
    for (int t = 0; t < g_trials; ++t) {
      const std::string id = absl::StrCat("trial-", t);
      MemoryTrialData& data = s->trials()[id];
      data.trial.set_state(v1::TRIAL_STATE_LOCKED);
      v1::TrialDesign& design = *data.trial.mutable_design();
      design.set_trial_id(id);
      v1::Factor& factor = *design.add_factors();
      factor.set_name("arm");
      for (const char* arm : {"control", "treatment"}) {
        v1::Arm& a = *factor.add_arms();
        a.set_name(arm);
        a.set_weight(1);
      }
      for (const char* wave : {"baseline", "endline"}) {
        v1::Wave& w = data.waves.emplace_back();
        w.set_trial_id(id);
        w.set_wave_id(wave);
      }
      for (int i = 0; i < g_participants; ++i) {
        const std::string pid = absl::StrCat("P", t, "-", i);
        const std::string site = absl::StrCat("LA", i % 12);
        const std::string arm = i % 2 == 0 ? "control" : "treatment";
        v1::ParticipantStatus& status = data.participants.emplace_back();
        status.mutable_participant()->set_participant_id(pid);
        status.mutable_participant()->set_site(site);
        (*status.mutable_participant()->mutable_covariates())["age"].set_number(
            25 + 30 * random.Uniform());
        status.set_allocated(true);
        if (random.Uniform() < 0.01) status.mutable_withdrawal()->set_reason("withdrew");
        if (random.Uniform() < 0.05) status.mutable_left_on()->set_year(2021);
        v1::Allocation& allocation = data.allocations.emplace_back();
        allocation.set_participant_id(pid);
        allocation.set_site(site);
        v1::Assignment& assignment = *allocation.add_assignments();
        assignment.set_factor("arm");
        assignment.set_arm(arm);
        for (const char* wave : {"baseline", "endline"}) {
          if (random.Uniform() > 0.4) continue;
          v1::Response& r = data.responses.emplace_back();
          r.set_trial_id(id);
          r.set_wave_id(wave);
          r.set_participant_id(pid);
          r.set_counted(true);
          v1::Score& score = *r.add_scales();
          score.set_id("wellbeing");
          score.set_present(true);
          score.set_value(random.Uniform());
        }
        if (arm == "treatment" && random.Uniform() < 0.3) {
          data.engagement.push_back(
              {pid, "video", EngagementEvent::Kind::kOpened, absl::UnixEpoch()});
        }
      }
    }
    return s;
  }();
  return *sources;
}

// Plans with power assumptions for every trial, so the MDES gauges are computed too.
MemoryPlanStore& Plans() {
  static MemoryPlanStore* store = [] {
    auto* s = new MemoryPlanStore();
    for (int t = 0; t < g_trials; ++t) {
      v1::PlanRecord record;
      record.set_version(1);
      v1::AnalysisPlan& plan = *record.mutable_plan();
      plan.set_trial_id(absl::StrCat("trial-", t));
      plan.set_plan_id("main");
      plan.set_factor("arm");
      plan.set_control_arm("control");
      plan.set_takeup_campaign("video");
      v1::PowerAssumptions& power = *plan.mutable_power();
      power.set_n(g_participants);
      power.set_treated_share(0.5);
      power.set_alpha(0.05);
      power.set_power(0.8);
      power.set_response_rate(0.6);
      (void)s->Put(record, 0);
    }
    return s;
  }();
  return *store;
}

void BM_MonitorPass(benchmark::State& state) {
  MemorySources& sources = Data();
  ManualClock clock;
  PlanRegistry registry(Plans(), sources, clock);
  prometheus::Registry prometheus_registry;
  MonitorMetrics metrics(prometheus_registry);
  MonitorLoop loop(sources.AsSources(), registry, metrics, clock, absl::Seconds(30));
  for (auto _ : state) {
    absl::Status status = loop.RunOnce();
    if (!status.ok()) state.SkipWithError(std::string(status.message()).c_str());
  }
  state.counters["trials"] = g_trials;
  state.counters["participants_per_trial"] = g_participants;
}
BENCHMARK(BM_MonitorPass)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// The two halves of a pass, timed separately over every trial once.
void PrintSplit() {
  MemorySources& sources = Data();
  ManualClock clock;
  PlanRegistry registry(Plans(), sources, clock);
  double join_seconds = 0, compute_seconds = 0;
  size_t samples = 0;
  for (int t = 0; t < g_trials; ++t) {
    const std::string id = absl::StrCat("trial-", t);
    const auto a = std::chrono::steady_clock::now();
    absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), id);
    const auto b = std::chrono::steady_clock::now();
    absl::StatusOr<v1::PlanRecord> plan = registry.Get(id, "main");
    samples += ComputeMonitor(*joined, plan.ok() ? &*plan : nullptr).size();
    const auto c = std::chrono::steady_clock::now();
    join_seconds += std::chrono::duration<double>(b - a).count();
    compute_seconds += std::chrono::duration<double>(c - b).count();
  }
  std::printf(
      "\nmonitor over %d trials x %d participants: load+join %.3f s, compute %.3f s, "
      "pass %.3f s (%zu gauge values); target: one pass within the %.0f s interval\n",
      g_trials, g_participants, join_seconds, compute_seconds, join_seconds + compute_seconds,
      samples, kTargetSeconds);
}

}  // namespace
}  // namespace fieldwork::analysis

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--trials=", 9) == 0)
      fieldwork::analysis::g_trials = std::atoi(argv[i] + 9);
    if (std::strncmp(argv[i], "--participants=", 15) == 0) {
      fieldwork::analysis::g_participants = std::atoi(argv[i] + 15);
    }
  }
  benchmark::Initialize(&argc, argv);
  std::printf("building %d trials x %d participants...\n", fieldwork::analysis::g_trials,
              fieldwork::analysis::g_participants);
  fieldwork::analysis::Data();
  fieldwork::analysis::Plans();
  benchmark::RunSpecifiedBenchmarks();
  fieldwork::analysis::PrintSplit();
  benchmark::Shutdown();
  return 0;
}

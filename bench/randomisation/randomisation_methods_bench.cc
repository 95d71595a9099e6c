// Benchmarks of the pure randomisation methods, with the targets in each label:
//   - complete randomisation within strata of 1,000,000 participants in 10,000 strata:
//     target <= 0.5 s for the pure algorithm (Release build);
//   - minimisation, sequential allocations per second (the pure part of AllocateNext, whose
//     target through gRPC and Redis is >= 2,000 allocations/s), with p50/p99 latency.
// Figures are printed, never asserted. Run a Release build:
//   build/h-rnd-rel/bench/randomisation/randomisation_methods_bench
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/randomisation/methods/batch.h"
#include "services/randomisation/methods/blocks.h"
#include "services/randomisation/methods/generator.h"
#include "services/randomisation/methods/minimisation.h"

namespace fieldwork::randomisation {
namespace {

const std::string kSecret = "benchmark-secret-0123456789abcdef";

Generator Gen() { return *Generator::Create(kSecret, Scope{"bench", "main", ""}); }

// n participants spread over `strata` strata, with a pseudonymous id and (for minimisation)
// three categorical factors. Built once.
const std::vector<Unit>& Roster(std::size_t n, std::size_t strata) {
  static std::vector<Unit>* units = nullptr;
  static std::size_t built_n = 0, built_strata = 0;
  if (units == nullptr || built_n != n || built_strata != strata) {
    delete units;
    units = new std::vector<Unit>();
    units->reserve(n);
    Stream s = Gen().Open(Context().Add("bench", "roster"));
    for (std::size_t i = 0; i < n; ++i) {
      Unit u;
      u.id = absl::StrCat("P", absl::Hex(s.NextWord(), absl::kZeroPad16));
      u.stratum = absl::StrCat("site-", s.Below(strata));
      u.categorical["sex"] = std::string(s.Below(2) == 0 ? "f" : "m");
      u.categorical["age"] = absl::StrCat("band", s.Below(4));
      u.categorical["site"] = absl::StrCat("site", s.Below(7));
      units->push_back(std::move(u));
    }
    built_n = n;
    built_strata = strata;
  }
  return *units;
}

void BM_CompleteWithinStrata(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto strata = static_cast<std::size_t>(state.range(1));
  const std::vector<Unit>& units = Roster(n, strata);
  const Generator gen = Gen();
  const std::vector<Arm> arms = {{"treatment", 1}, {"control", 1}};
  for (auto _ : state) {
    auto result = AllocateCompleteWithinStrata(gen, arms, units);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetLabel("target: 1,000,000 in 10,000 strata <= 0.5 s (Release)");
}
BENCHMARK(BM_CompleteWithinStrata)
    ->Args({1'000'000, 10'000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);

MinimisationDesign Design() {
  MinimisationDesign d;
  d.arms = {{"treatment", 1}, {"control", 1}};
  d.factors = {{"sex", 1.0}, {"age", 1.0}, {"site", 1.0}};
  d.p_minimising = 0.8;
  d.random_first = 10;
  return d;
}

// Sequential minimisation allocations: one MinimisationNext per iteration, the state
// carried over (as the service would after loading it).
void BM_MinimisationNext(benchmark::State& state) {
  const std::vector<Unit>& units = Roster(1'000'000, 10'000);
  const Generator gen = Gen();
  const MinimisationDesign design = Design();
  MinimisationState s;
  std::size_t i = 0;
  for (auto _ : state) {
    auto arm = MinimisationNext(gen, design, units[i], s);
    benchmark::DoNotOptimize(arm);
    if (++i == units.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("allocations/s; service target >= 2,000/s through gRPC + Redis");
}
BENCHMARK(BM_MinimisationNext)->UseRealTime()->MinTime(2.0);

// The latency distribution of single minimisation allocations (pure part).
void BM_MinimisationLatency(benchmark::State& state) {
  const std::vector<Unit>& units = Roster(1'000'000, 10'000);
  const Generator gen = Gen();
  const MinimisationDesign design = Design();
  std::vector<double> micros;
  for (auto _ : state) {
    MinimisationState s;
    micros.clear();
    for (std::size_t i = 0; i < 20'000; ++i) {
      const auto start = std::chrono::steady_clock::now();
      auto arm = MinimisationNext(gen, design, units[i], s);
      const auto end = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(arm);
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
  }
  std::sort(micros.begin(), micros.end());
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[micros.size() * 99 / 100];
  state.counters["max_us"] = micros.back();
  state.SetItemsProcessed(state.iterations() * 20'000);
  state.SetLabel("20,000 sequential allocations from an empty state");
}
BENCHMARK(BM_MinimisationLatency)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

// Permuted blocks, one arrival at a time (the other sequential method).
void BM_PermutedBlocksNext(benchmark::State& state) {
  const std::vector<Unit>& units = Roster(1'000'000, 10'000);
  const Generator gen = Gen();
  const PermutedBlocksDesign design{{{"treatment", 1}, {"control", 1}}, {4, 6, 8}};
  PermutedBlocksState s;
  std::size_t i = 0;
  for (auto _ : state) {
    auto arm = PermutedBlocksNext(gen, design, units[i], s);
    benchmark::DoNotOptimize(arm);
    if (++i == units.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PermutedBlocksNext)->UseRealTime();

// Rerandomisation of the Beneficiaries trial's size (1,969 units, 7 strata, 4 covariates),
// acceptance probability 0.1.
void BM_RerandomiseBeneficiaries(benchmark::State& state) {
  std::vector<Unit> units(Roster(1'000'000, 10'000).begin(),
                          Roster(1'000'000, 10'000).begin() + 1969);
  Stream s = Gen().Open(Context().Add("bench", "covariates"));
  for (std::size_t i = 0; i < units.size(); ++i) {
    units[i].stratum = absl::StrCat("la", i % 7);
    for (int j = 0; j < 4; ++j) units[i].covariates.push_back(s.Uniform() + j * s.Uniform());
  }
  RerandomisationOptions options;
  options.acceptance_probability = 0.1;
  options.within_strata = true;
  const std::vector<Arm> arms = {{"treatment", 1}, {"control", 1}};
  std::uint64_t draws = 0, k = 0;
  for (auto _ : state) {
    const Generator gen =
        *Generator::Create(absl::StrCat(kSecret, k++), Scope{"bench", "main", ""});
    auto r = Rerandomise(gen, arms, units, options);
    draws += r->draws_used;
    benchmark::DoNotOptimize(r);
  }
  state.counters["draws_per_run"] =
      static_cast<double>(draws) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RerandomiseBeneficiaries)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace fieldwork::randomisation

BENCHMARK_MAIN();

// Times Fieldwork's estimators on the issue's three workloads and, side by side, R's estimatr
// (and base R for randomisation inference) on identical data.
//
//   build/h-ana-rel/bin/analysis_stats_bench            # ours, then R if Rscript is found
//   build/h-ana-rel/bin/analysis_stats_bench --no_r     # ours only
//
// The data are generated here (a fixed SplitMix64 stream) and handed to R as binary files
// (little-endian doubles, column-major, preceded by the row and column counts), so both sides
// fit exactly the same numbers. R's times are the fastest of a few repetitions, as are ours
// (Google Benchmark's mean per iteration). Goal: ours <= estimatr's on each workload.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <Eigen/Dense>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "services/analysis/stats/ols.h"
#include "services/analysis/stats/randomisation_inference.h"

namespace fieldwork::analysis {
namespace {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Normal() {  // Box–Muller
    const double u1 = 1.0 - Uniform();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Unbiased integer in [0, bound) by rejection.
  std::uint64_t Below(std::uint64_t bound) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
    std::uint64_t v;
    do {
      v = Next();
    } while (v >= limit);
    return v % bound;
  }

 private:
  std::uint64_t state_;
};

struct Hc2Data {
  Eigen::MatrixXd x;  // intercept + 10 covariates
  Eigen::VectorXd y;
  std::vector<std::string> names;
};

const Hc2Data& Hc2() {
  static const Hc2Data* data = [] {
    auto* d = new Hc2Data;
    const Eigen::Index n = 1'000'000;
    const Eigen::Index k = 10;
    SplitMix64 rng(1);
    d->x.resize(n, k + 1);
    d->x.col(0).setOnes();
    d->names = {"(Intercept)"};
    for (Eigen::Index j = 1; j <= k; ++j) {
      for (Eigen::Index i = 0; i < n; ++i) d->x(i, j) = rng.Normal();
      std::string name = "x";
      name += std::to_string(j);  // not operator+: GCC 12 -O3 warns (-Wrestrict)
      d->names.push_back(name);
    }
    d->y.resize(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      double mean = 1.0;
      for (Eigen::Index j = 1; j <= k; ++j) mean += 0.1 * static_cast<double>(j) * d->x(i, j);
      // Heteroskedastic errors, so HC2 differs from classical.
      d->y(i) = mean + (1.0 + 0.5 * std::fabs(d->x(i, 1))) * rng.Normal();
    }
    return d;
  }();
  return *data;
}

struct Cr2Data {
  Eigen::MatrixXd x;  // intercept, minority, training, minority:training, 2 covariates
  Eigen::VectorXd y;
  std::vector<std::int64_t> cluster;
  std::vector<std::string> names;
};

const Cr2Data& Cr2() {
  static const Cr2Data* data = [] {
    auto* d = new Cr2Data;
    const Eigen::Index clusters = 303;
    const Eigen::Index per = 10;
    const Eigen::Index n = clusters * per;
    SplitMix64 rng(2);
    d->x.resize(n, 6);
    d->y.resize(n);
    d->names = {"(Intercept)", "minority", "training", "minority:training", "age", "baseline"};
    for (Eigen::Index g = 0; g < clusters; ++g) {
      const double training = rng.Uniform() < 0.5 ? 1.0 : 0.0;
      const double u = 0.8 * rng.Normal();
      const double age = std::round(18.0 + 50.0 * rng.Uniform());
      const double baseline = rng.Normal();
      for (Eigen::Index r = 0; r < per; ++r) {
        const Eigen::Index i = g * per + r;
        const double minority = rng.Uniform() < 0.5 ? 1.0 : 0.0;
        d->x.row(i) << 1.0, minority, training, minority * training, age, baseline;
        d->y(i) = 5.0 + u - 0.4 * minority + 0.1 * training + 0.3 * minority * training +
                  0.01 * age + 0.2 * baseline + rng.Normal();
        d->cluster.push_back(g + 1);
      }
    }
    return d;
  }();
  return *data;
}

struct RiData {
  Eigen::VectorXd y;
  std::vector<int> assignment;
};

const RiData& Ri() {
  static const RiData* data = [] {
    auto* d = new RiData;
    const Eigen::Index n = 2000;
    SplitMix64 rng(3);
    d->y.resize(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      d->assignment.push_back(i < n / 2 ? 1 : 0);
      d->y(i) = rng.Normal() + (i < n / 2 ? 0.1 : 0.0);
    }
    return d;
  }();
  return *data;
}

constexpr std::int64_t kRiDraws = 10'000;

// Complete randomisation redrawn by a Fisher–Yates shuffle seeded per draw (the shape of the
// randomisation library's callback: deterministic in the draw number).
AssignmentDraw CompleteRandomisation(const std::vector<int>& observed) {
  return [observed](std::int64_t draw, std::vector<int>& a) {
    a = observed;
    SplitMix64 rng(0x5eed0000ULL + static_cast<std::uint64_t>(draw));
    for (size_t i = a.size() - 1; i > 0; --i) {
      std::swap(a[i], a[rng.Below(i + 1)]);
    }
    return absl::OkStatus();
  };
}

void BM_LmRobustHc2_1e6x10(benchmark::State& state) {
  const Hc2Data& d = Hc2();
  for (auto _ : state) {
    absl::StatusOr<OlsFit> fit = FitOls(d.x, d.names, d.y);
    if (!fit.ok()) state.SkipWithError(std::string(fit.status().message()).c_str());
    benchmark::DoNotOptimize(fit);
  }
}

void BM_Cr2_3030rows_303clusters(benchmark::State& state) {
  const Cr2Data& d = Cr2();
  OlsOptions options;
  options.clusters = d.cluster;
  for (auto _ : state) {
    absl::StatusOr<OlsFit> fit = FitOls(d.x, d.names, d.y, options);
    if (!fit.ok()) state.SkipWithError(std::string(fit.status().message()).c_str());
    benchmark::DoNotOptimize(fit);
  }
}

void BM_RandomisationInference_10000x2000(benchmark::State& state) {
  const RiData& d = Ri();
  RandomisationInferenceOptions options;
  options.draws = kRiDraws;
  const AssignmentDraw draw = CompleteRandomisation(d.assignment);
  for (auto _ : state) {
    absl::StatusOr<RandomisationInferenceResult> r =
        RandomisationTestDifferenceInMeans(d.y, d.assignment, draw, options);
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
    benchmark::DoNotOptimize(r);
  }
}

BENCHMARK(BM_LmRobustHc2_1e6x10)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Cr2_3030rows_303clusters)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RandomisationInference_10000x2000)->Unit(benchmark::kMillisecond)->UseRealTime();

// Keeps each benchmark's real time per iteration, in seconds, as it prints it.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  CapturingReporter()
      : ConsoleReporter(isatty(fileno(stdout)) != 0 ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration && !r.error_occurred) {
        seconds[r.run_name.function_name] =
            r.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r.time_unit);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> seconds;
};

void WriteMatrix(const std::filesystem::path& path, const Eigen::MatrixXd& m) {
  std::ofstream out(path, std::ios::binary);
  const std::array<double, 2> dims = {static_cast<double>(m.rows()), static_cast<double>(m.cols())};
  out.write(reinterpret_cast<const char*>(dims.data()), sizeof(dims));
  out.write(reinterpret_cast<const char*>(m.data()),
            static_cast<std::streamsize>(sizeof(double) * static_cast<size_t>(m.size())));
}

std::filesystem::path SourceDir() {
  if (const char* s = std::getenv("FIELDWORK_SOURCE_DIR"); s != nullptr && *s != '\0') return s;
  return FIELDWORK_DEFAULT_SOURCE_DIR;
}

// Writes the data, runs the R script, returns its "name seconds" lines.
std::map<std::string, double> RunR(std::string* error) {
  std::map<std::string, double> out;
  if (std::system("command -v Rscript > /dev/null 2>&1") != 0) {
    *error = "Rscript not found (scripts/setup-r.sh installs R and estimatr)";
    return out;
  }
  const std::filesystem::path script = SourceDir() / "bench" / "analysis" / "estimatr_bench.R";
  std::string tmpl = (std::filesystem::temp_directory_path() / "fieldwork-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    *error = "cannot create a temporary folder";
    return out;
  }
  const std::filesystem::path dir(tmpl);
  {
    const Hc2Data& h = Hc2();
    Eigen::MatrixXd m(h.x.rows(), h.x.cols());
    m << h.y, h.x.rightCols(h.x.cols() - 1);
    WriteMatrix(dir / "hc2.bin", m);
  }
  {
    const Cr2Data& c = Cr2();
    Eigen::MatrixXd m(c.x.rows(), 7);
    for (Eigen::Index i = 0; i < c.x.rows(); ++i) {
      m(i, 1) = static_cast<double>(c.cluster[static_cast<size_t>(i)]);
    }
    m.col(0) = c.y;
    m.rightCols(5) = c.x.rightCols(5);
    WriteMatrix(dir / "cr2.bin", m);
  }
  {
    const RiData& r = Ri();
    Eigen::MatrixXd m(r.y.size(), 2);
    m.col(0) = r.y;
    for (Eigen::Index i = 0; i < r.y.size(); ++i) m(i, 1) = r.assignment[static_cast<size_t>(i)];
    WriteMatrix(dir / "ri.bin", m);
  }
  std::ostringstream cmd_stream;
  cmd_stream << "Rscript '" << script.string() << "' '" << dir.string() << "' 2>&1";
  const std::string cmd = cmd_stream.str();
  std::fprintf(stderr, "running %s\n", cmd.c_str());
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    *error = "cannot run Rscript";
    return out;
  }
  std::array<char, 4096> buf{};
  std::string all;
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) {
    all += buf.data();
    std::fputs(buf.data(), stderr);
  }
  const int rc = pclose(pipe);
  std::filesystem::remove_all(dir);
  if (rc != 0) {
    *error = "the R benchmark failed (see its output above)";
    return out;
  }
  std::istringstream lines(all);
  std::string name;
  double seconds = 0;
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ls(line);
    if (ls >> name >> seconds && name.rfind("time:", 0) == 0) out[name.substr(5)] = seconds;
  }
  return out;
}

}  // namespace
}  // namespace fieldwork::analysis

int main(int argc, char** argv) {
  using fieldwork::analysis::CapturingReporter;
  bool run_r = true;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--no_r") {
      run_r = false;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n_args = static_cast<int>(args.size());
  benchmark::Initialize(&n_args, args.data());
  if (benchmark::ReportUnrecognizedArguments(n_args, args.data())) return 1;
  CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  {
    // The same numbers R prints as its checks.
    const auto& h = fieldwork::analysis::Hc2();
    const auto hc2 = fieldwork::analysis::FitOls(h.x, h.names, h.y);
    const auto& c = fieldwork::analysis::Cr2();
    fieldwork::analysis::OlsOptions options;
    options.clusters = c.cluster;
    const auto cr2 = fieldwork::analysis::FitOls(c.x, c.names, c.y, options);
    if (hc2.ok() && cr2.ok()) {
      std::printf("hc2 check (ours): coef x1 %.10f se %.10f\n", hc2->coefficients[1].estimate,
                  hc2->coefficients[1].std_error);
      std::printf("cr2 check (ours): coef minority %.10f se %.10f df %.6f\n",
                  cr2->coefficients[1].estimate, cr2->coefficients[1].std_error,
                  cr2->coefficients[1].df);
    }
  }
  std::fflush(stdout);
  if (!run_r) return 0;

  std::string error;
  const std::map<std::string, double> r = fieldwork::analysis::RunR(&error);
  if (!error.empty()) {
    std::printf("\nR side not run: %s\n", error.c_str());
    return 0;
  }
  struct Row {
    const char* label;
    const char* ours;
    const char* theirs;
  };
  const Row rows[] = {
      {"lm_robust HC2, 1,000,000 x 10", "BM_LmRobustHc2_1e6x10", "hc2_lm_robust"},
      {"  (estimatr's fitting core only)", "BM_LmRobustHc2_1e6x10", "hc2_lm_robust_fit"},
      {"CR2, 3,030 rows in 303 clusters", "BM_Cr2_3030rows_303clusters", "cr2_lm_robust"},
      {"  (estimatr's fitting core only)", "BM_Cr2_3030rows_303clusters", "cr2_lm_robust_fit"},
      {"RI, 10,000 redraws of 2,000", "BM_RandomisationInference_10000x2000", "ri_base_r"},
  };
  std::printf("\n%-36s %14s %14s %12s\n", "workload", "Fieldwork (s)", "R (s)", "R / ours");
  for (const Row& row : rows) {
    const auto o = reporter.seconds.find(row.ours);
    const auto t = r.find(row.theirs);
    if (o == reporter.seconds.end() || t == r.end()) continue;
    std::printf("%-36s %14.4f %14.4f %11.1fx\n", row.label, o->second, t->second,
                t->second / o->second);
  }
  std::printf(
      "(R / ours > 1: Fieldwork is faster. RI in R: base R, since ri2 is not in Debian.)\n");
  return 0;
}

// Balance statistics of an allocation (pure): arm counts, per-covariate standardised mean
// differences and tests, a joint test, and the sample-ratio-mismatch test.
//
// Statistics that cannot be computed (too few units in an arm, no variation) are NaN.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_METHODS_BALANCE_H_
#define FIELDWORK_SERVICES_RANDOMISATION_METHODS_BALANCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/randomisation/methods/types.h"

namespace fieldwork::randomisation {

struct BalanceOptions {
  // Names of Unit::covariates by position (every unit has this many values; NaN = missing).
  std::vector<std::string> numeric;
  // Keys of Unit::categorical to compare (a unit without the key, or with "", is missing).
  std::vector<std::string> categorical;
};

struct NumericBalance {
  std::string name;
  std::vector<std::int64_t> n;  // non-missing values per arm
  std::vector<double> mean;     // per arm
  std::vector<double> sd;       // per arm, denominator n − 1
  // Per arm against arm 0 (the first arm, e.g. control): (mean_a − mean_0) / sqrt((sd_a² +
  // sd_0²) / 2); smd[0] = 0. For two arms smd[1] is *the* standardised mean difference.
  std::vector<double> smd;
  double max_abs_smd = 0;
  std::string test;  // "welch_t" (two arms with data) or "anova_f" (more)
  double statistic = 0;
  double df1 = 0;  // Welch: the Welch–Satterthwaite df; ANOVA: k − 1
  double df2 = 0;  // ANOVA: n − k; Welch: 0
  double p_value = 0;
};

struct CategoricalBalance {
  std::string name;
  std::vector<std::string> levels;                // sorted
  std::vector<std::vector<std::int64_t>> counts;  // counts[arm][level]
  // Largest |SMD| of a level's proportion against arm 0:
  // (p_a − p_0) / sqrt((p_a(1 − p_a) + p_0(1 − p_0)) / 2).
  double max_abs_smd = 0;
  double chi_square = 0;  // Pearson, arms × levels (empty rows and columns dropped)
  double df = 0;
  double p_value = 0;
};

// Omnibus test over every numeric covariate and the dummies of every categorical one (first
// level dropped), on complete cases: M = Σ_a n_a (x̄_a − x̄)' S⁺ (x̄_a − x̄) with S the
// covariance (n − 1) and S⁺ its pseudo-inverse of rank r; chi-square with r·(k − 1) df
// (the rerandomisation criterion, as a test).
struct JointBalance {
  double statistic = 0;
  double df = 0;
  double p_value = 0;
  std::int64_t n = 0;  // complete cases used
};

// Pearson chi-square of the arm counts against the design's ratios, k − 1 df.
struct SampleRatioMismatch {
  std::vector<std::int64_t> observed;
  std::vector<double> expected;
  double chi_square = 0;
  double df = 0;
  double p_value = 0;
};

struct BalanceReport {
  std::vector<std::int64_t> arm_counts;
  std::vector<NumericBalance> numeric;
  std::vector<CategoricalBalance> categorical;
  JointBalance joint;
  SampleRatioMismatch sample_ratio;
};

// arm_of[i] is the arm index of units[i].
absl::StatusOr<BalanceReport> ComputeBalance(absl::Span<const Arm> arms,
                                             absl::Span<const Unit> units,
                                             absl::Span<const int> arm_of,
                                             const BalanceOptions& options);

absl::StatusOr<SampleRatioMismatch> SampleRatioTest(absl::Span<const std::int64_t> observed,
                                                    absl::Span<const Arm> arms);

// Two-sided Welch t test and one-way ANOVA from summaries; NaN when undefined.
struct TestResult {
  double statistic;
  double df1;
  double df2;
  double p_value;
};
TestResult WelchTTest(double mean0, double sd0, double n0, double mean1, double sd1, double n1);
TestResult OneWayAnova(absl::Span<const double> means, absl::Span<const double> sds,
                       absl::Span<const double> ns);
// Upper tail of chi-square with df degrees of freedom; NaN when df <= 0 or x is NaN.
double ChiSquareUpperTail(double x, double df);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_METHODS_BALANCE_H_

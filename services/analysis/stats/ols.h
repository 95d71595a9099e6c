// Ordinary and weighted least squares with the standard errors of R's estimatr::lm_robust
// (classical, HC0–HC3, CR0, CR1 as Stata's, CR2 with Bell–McCaffrey degrees of freedom), a
// coefficient table, linear contrasts and joint Wald tests.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_OLS_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_OLS_H_

#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fieldwork::analysis {

// Standard-error types, named as estimatr names them (SeTypeName): "classical", "HC0", "HC1",
// "HC2", "HC3", "CR0", "stata" (CR1 with Stata's small-sample factor), "CR2".
enum class SeType { kClassical, kHC0, kHC1, kHC2, kHC3, kCR0, kCR1Stata, kCR2 };

const char* SeTypeName(SeType type);
// Parses estimatr's names (also "CR1" for kCR1Stata); nullopt for anything else.
std::optional<SeType> ParseSeType(std::string_view name);
bool IsClusterRobust(SeType type);

struct OlsOptions {
  // Default as estimatr: HC2 without clusters, CR2 with clusters.
  std::optional<SeType> se_type;
  // Weighted least squares (lm_robust's `weights`): empty for none, else one positive finite
  // weight per row. Only relative sizes matter.
  Eigen::VectorXd weights;
  // Cluster id per row for CR0/CR1/CR2: empty for none. At least two distinct ids.
  std::vector<std::int64_t> clusters;
  double alpha = 0.05;  // CIs are 1 - alpha
};

// One row of the coefficient table. An aliased column (collinear with earlier columns, as R's
// lm drops it) has aliased = true and NaN in every number (R's NA).
struct Coefficient {
  std::string term;
  bool aliased = false;
  double estimate = 0;
  double std_error = 0;
  double statistic = 0;  // estimate / std_error
  double df = 0;         // t degrees of freedom
  double p_value = 0;    // two-sided, t with df
  double conf_low = 0;
  double conf_high = 0;
};

// An estimate of c'beta with the same inference as a coefficient.
struct LinearCombination {
  double estimate = 0;
  double std_error = 0;
  double statistic = 0;
  double df = 0;
  double p_value = 0;
  double conf_low = 0;
  double conf_high = 0;
};

// Wald test of q restrictions L beta = 0 with the fit's (robust) covariance:
// chi_square = (L b)' (L V L')^{-1} (L b), F = chi_square / q on (q, denominator_df), as
// car::linearHypothesis(test = "F") with the robust vcov and estimatr's F-statistic.
struct WaldTest {
  double f_statistic = 0;
  int numerator_df = 0;
  double denominator_df = 0;  // n - rank; J - 1 for cluster-robust types (as estimatr)
  double p_value = 0;         // from F(numerator_df, denominator_df)
  double chi_square = 0;
  double chi_square_p_value = 0;  // asymptotic, chi-square with numerator_df
};

namespace internal {
struct Cr2State;  // what the Bell–McCaffrey df of any contrast needs (CR2 fits only)
}  // namespace internal

struct OlsFit {
  SeType se_type = SeType::kHC2;
  double alpha = 0.05;
  std::int64_t n = 0;            // rows
  int k = 0;                     // columns given
  int rank = 0;                  // columns estimated
  std::int64_t df_residual = 0;  // n - rank
  std::int64_t n_clusters = 0;   // 0 without clusters
  bool weighted = false;

  std::vector<Coefficient> coefficients;  // one per column, in input order
  std::vector<int> kept;                  // the estimated columns, ascending
  Eigen::VectorXd estimate;               // over `kept`
  Eigen::MatrixXd vcov;                   // over `kept`
  Eigen::VectorXd fitted;                 // X b, input row order
  Eigen::VectorXd residuals;              // y - X b (unweighted)
  double residual_variance = 0;           // sum w e^2 / df_residual (weights scaled to mean 1)
  double r_squared = 0;                   // NaN without an intercept column
  double adj_r_squared = 0;
  // Plain-language notes on anything unusual: aliased columns, observations or clusters with
  // leverage 1, degrees of freedom that could not be estimated.
  std::vector<std::string> warnings;

  std::shared_ptr<const internal::Cr2State> cr2;

  // The row for `term`, or nullptr.
  const Coefficient* Find(std::string_view term) const;
  // Position of `term` among the columns given, or -1.
  int ColumnIndex(std::string_view term) const;
};

// Fits y on the columns of x (include a column of ones for an intercept). `names` labels the
// columns. Errors (InvalidArgument) on empty input, mismatched sizes, non-finite values,
// non-positive weights, fewer than two clusters, or no residual degrees of freedom.
absl::StatusOr<OlsFit> FitOls(const Eigen::MatrixXd& x, const std::vector<std::string>& names,
                              const Eigen::VectorXd& y, const OlsOptions& options = {});

// c'b for c with one entry per column given (entries on aliased columns must be 0), with its
// SE sqrt(c'Vc), df (n - rank; J - 1 for CR0/CR1; the Bell–McCaffrey df of this contrast for
// CR2, as clubSandwich's linear_contrast), t-based p-value and CI.
absl::StatusOr<LinearCombination> EstimateLinearCombination(const OlsFit& fit,
                                                            const Eigen::VectorXd& c);

// Joint Wald test of L b = 0, L with one column per column given (q rows, full row rank).
absl::StatusOr<WaldTest> TestLinearRestrictions(const OlsFit& fit, const Eigen::MatrixXd& l);

// Fills a coefficient row from an estimate, SE and df (t-based p-value and CI).
LinearCombination MakeInference(double estimate, double std_error, double df, double alpha);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_OLS_H_

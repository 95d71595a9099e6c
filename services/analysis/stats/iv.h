// Two-stage least squares as R's estimatr::iv_robust (HC2 by default, CR2 with clusters), with
// the first-stage F of the excluded instruments; and the take-up (complier) effect: the effect
// of opening the intervention, with random assignment as the instrument.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_IV_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_IV_H_

#include <Eigen/Dense>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/stats/itt.h"
#include "services/analysis/stats/ols.h"

namespace fieldwork::analysis {

// The first stage of one endogenous regressor: robust Wald F of the excluded instruments in
// its regression on all instruments (iv_robust's diagnostic_first_stage_fstatistic: same SE
// type, denominator df n - rank, or J - 1 with clusters).
struct FirstStage {
  std::string endogenous;
  double f_statistic = 0;
  int numerator_df = 0;
  double denominator_df = 0;
  double p_value = 0;
};

struct IvFit {
  // The structural coefficients: estimate, SE, df, p and CI as iv_robust (the sandwich uses
  // the first-stage fitted regressors as the design and the structural residuals
  // y - X b). fit.fitted and fit.residuals are structural.
  OlsFit fit;
  std::vector<FirstStage> first_stages;
  std::vector<std::string> warnings;
};

// y on the columns of x, instrumented by the columns of z, as iv_robust(y ~ x | z): columns are
// matched by name, so a column of x whose name is also in z (the intercept, exogenous
// covariates) is its own instrument; the others are endogenous, and z's columns not in x are
// the excluded instruments. Needs at least as many excluded instruments as endogenous columns.
absl::StatusOr<IvFit> FitIv(const Eigen::MatrixXd& x, const std::vector<std::string>& x_names,
                            const Eigen::MatrixXd& z, const std::vector<std::string>& z_names,
                            const Eigen::VectorXd& y, const OlsOptions& options = {});

// The effect of take-up (e.g. opening the video) on those who take it up when offered, by 2SLS
// of the outcome on take-up instrumented by assignment (treated arm vs control), with the
// input's covariates and strata as exogenous regressors. `took_up` is 0/1 per row. The
// coefficient is named "took_up".
struct TakeUpInput {
  IttInput itt;             // outcome, arm (exactly two arms), covariates, strata, ...
  Eigen::VectorXd took_up;  // 0 or 1 per row
};
absl::StatusOr<IvFit> EstimateTakeUpEffect(const TakeUpInput& input,
                                           const IttOptions& options = {});

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_IV_H_

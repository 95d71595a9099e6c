// Runs an analysis plan over a trial's joined data with the statistics library: per outcome the
// arms' M and SE, effects with CIs, adjusted p-values and Hedges' g, MDES planned and achieved
// with the ledger, attrition and Lee bounds, subgroups, exploratory time bins, the take-up
// effect and the inverse-probability-of-response robustness analysis.
#ifndef FIELDWORK_SERVICES_ANALYSIS_ANALYSER_H_
#define FIELDWORK_SERVICES_ANALYSIS_ANALYSER_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldwork/v1/analysis.pb.h"
#include "services/analysis/join.h"
#include "services/analysis/stats/ols.h"
#include "services/analysis/stats/power.h"

namespace fieldwork::analysis {

// Who is analysed: participants allocated to the plan's factor who have not withdrawn (leavers
// stay in, as intention to treat requires); withdrawn ones are counted and reported.
// Missing covariate values are set to the mean of the model's rows (a categorical covariate's
// dummies to each level's share) with a missingness indicator per covariate in the model,
// recorded in OutcomeResult.imputations. Each effect carries Hedges' g; with non-response and
// covariates, OutcomeResult.ipw is the inverse-probability-of-response weighted robustness
// analysis. Outcomes whose data cannot be analysed (one arm without respondents, ...) get
// warnings rather than failing the whole analysis. FAILED_PRECONDITION for the long-format
// estimator (no per-decision source yet), and for plan weights that are missing, not a number or
// not > 0 for an analysed participant (each named).
absl::StatusOr<fieldwork::v1::AnalyseResponse> RunPlan(const fieldwork::v1::PlanRecord& record,
                                                       const JoinedTrial& joined, absl::Time now);

// The plan's power assumptions as the statistics library's designs.
bool IsClusterPower(const fieldwork::v1::PowerAssumptions& power);
IndividualDesign ToIndividualDesign(const fieldwork::v1::PowerAssumptions& power);
ClusterDesign ToClusterDesign(const fieldwork::v1::PowerAssumptions& power);
// Planned MDES of the assumptions (individual or cluster design).
absl::StatusOr<Mdes> PlannedMdesOf(const fieldwork::v1::PowerAssumptions& power);

// The plan's SE type for the statistics library (nullopt: estimatr's default).
std::optional<SeType> ToSeType(fieldwork::v1::SeType type);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_ANALYSER_H_

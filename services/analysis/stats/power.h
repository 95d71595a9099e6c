// Minimum detectable effect sizes and power by Bloom's formula as PowerUp! computes them
// (mdes.ira for individual random assignment, mdes.cra2r2 for two-level cluster random
// assignment; t-based multiplier), with an expected response rate; the achieved MDES of an
// estimate; and a ledger that splits planned -> achieved into the response rate and the rest.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_POWER_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_POWER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fieldwork::analysis {

struct TestSpec {
  double alpha = 0.05;
  double power = 0.80;
  bool two_tailed = true;
};

// Individual random assignment (PowerUp! mdes.ira). The effective sample is
// n * response_rate, and df = n * response_rate - covariates - 2.
struct IndividualDesign {
  double n = 0;                // participants randomised
  double treated_share = 0.5;  // p: share allocated to the arm compared with control
  double r_squared = 0;        // R^2 of the outcome on the covariates (r21)
  int covariates = 0;          // g
  double response_rate = 1.0;  // expected share of participants with an outcome
  TestSpec test;
};

// Two-level cluster random assignment (PowerUp! mdes.cra2r2). Clusters are randomised; the
// response rate thins the participants per cluster (n * response_rate), df = J - g - 2.
struct ClusterDesign {
  double clusters = 0;              // J
  double cluster_size = 0;          // n per cluster
  double icc = 0;                   // rho2
  double treated_share = 0.5;       // P
  double r_squared_individual = 0;  // r21
  double r_squared_cluster = 0;     // r22
  int covariates = 0;               // g: cluster-level covariates
  double response_rate = 1.0;
  TestSpec test;
};

struct Mdes {
  double mdes = 0;        // in SDs of the outcome
  double multiplier = 0;  // M = t_{1-alpha/2, df} + t_{power, df} (PowerUp!'s, two-tailed)
  double df = 0;
  double standard_error = 0;  // of the standardised effect: mdes / multiplier
  double effective_n = 0;     // respondents expected (n * response rate, summed over clusters)
};

// PowerUp!'s multiplier: |qt(alpha/2, df)| (|qt(alpha, df)| one-tailed) plus |qt(power, df)|,
// minus it when power < 0.5.
double PowerUpMultiplier(double df, const TestSpec& test);

absl::StatusOr<Mdes> PlannedMdes(const IndividualDesign& design);
absl::StatusOr<Mdes> PlannedMdes(const ClusterDesign& design);

// Power to detect a standardised effect `effect_size` (PowerUp!'s power.ira / power.cra2r2:
// noncentral t with noncentrality effect_size / standard_error).
absl::StatusOr<double> PowerForEffect(const IndividualDesign& design, double effect_size);
absl::StatusOr<double> PowerForEffect(const ClusterDesign& design, double effect_size);

// The achieved MDES of an estimate: PowerUpMultiplier(df) * std_error / outcome_sd, where df
// and std_error are the estimate's (e.g. the ITT effect's, with its robust SE and df) and
// outcome_sd standardises it. Fieldwork standardises by the sample SD (n - 1) of the outcome
// among the control arm's respondents (Glass), which the treatment cannot move; pass another
// SD for another convention. Also returns the MDES in the outcome's own units.
struct AchievedMdes {
  double mdes = 0;      // standardised
  double mdes_raw = 0;  // multiplier * std_error, outcome units
  double multiplier = 0;
  double df = 0;
  double outcome_sd = 0;
};
absl::StatusOr<AchievedMdes> ComputeAchievedMdes(double std_error, double df, double outcome_sd,
                                                 const TestSpec& test = {});

// Planned against achieved, with the change split in two steps:
//   planned                     the plan as registered (planned n, response rate, R^2, ...)
//   planned_at_actual_response  the same plan with the response rate actually achieved
//   achieved                    from the estimate
// due_to_response_rate = planned_at_actual_response - planned; other = achieved -
// planned_at_actual_response (realised R^2, SD, allocation, clustering, model); the shares
// divide each by the total change. The ratios split achieved / planned multiplicatively
// (ratio_total = ratio_response_rate * ratio_other), which does not depend on the order
// of the steps as the differences do.
struct MdesLedger {
  double planned = 0;
  double planned_response_rate = 0;
  double actual_response_rate = 0;
  double planned_at_actual_response = 0;
  double achieved = 0;
  double change_total = 0;
  double change_due_to_response_rate = 0;
  double change_other = 0;
  double share_due_to_response_rate = 0;  // NaN when the total change is 0
  double ratio_total = 0;
  double ratio_response_rate = 0;
  double ratio_other = 0;
  std::string summary;  // one sentence for the report
};
absl::StatusOr<MdesLedger> BuildMdesLedger(const IndividualDesign& plan,
                                           double actual_response_rate, double achieved_mdes);
absl::StatusOr<MdesLedger> BuildMdesLedger(const ClusterDesign& plan, double actual_response_rate,
                                           double achieved_mdes);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_POWER_H_

// The effect by time since the intervention (the report's attenuation analysis): the ITT
// effect within bins of response time. Response time is measured after assignment and can be
// moved by it, so each result conditions on a post-treatment variable: every output is flagged
// exploratory and post-treatment, and carries a label saying so.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_TIME_BINS_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_TIME_BINS_H_

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/stats/itt.h"

namespace fieldwork::analysis {

inline constexpr char kPostTreatmentLabel[] =
    "exploratory: conditions on response time, a post-treatment variable; not a causal "
    "estimate of how the effect changes over time";

struct TimeBinInput {
  IttInput itt;                             // respondents
  Eigen::VectorXd time_since_intervention;  // per row, e.g. days from the intervention
  std::vector<double> bin_edges;            // ascending; bins [e0, e1), ..., [e_{k-1}, e_k]
};

struct TimeBinEffect {
  double from = 0;
  double to = 0;
  std::int64_t n = 0;
  bool estimated = false;  // false when the bin has too few rows or a single arm
  IttResult itt;           // the bin's ITT fit (when estimated)
  std::vector<ArmEffect> effects;
  bool exploratory = true;
  bool post_treatment = true;
  std::string label = kPostTreatmentLabel;
  std::vector<std::string> warnings;
};

// Rows outside every bin are left out (and counted in a warning of the first bin).
absl::StatusOr<std::vector<TimeBinEffect>> EstimateEffectByResponseTime(
    const TimeBinInput& input, const IttOptions& options = {});

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_TIME_BINS_H_

// Checks an analysis plan against its trial's design before it is stored: every error names
// the field (e.g. "plan.outcomes[1].source.survey.wave_id") and the reason.
#ifndef FIELDWORK_SERVICES_ANALYSIS_PLAN_VALIDATION_H_
#define FIELDWORK_SERVICES_ANALYSIS_PLAN_VALIDATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "fieldwork/v1/analysis.pb.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::analysis {

inline constexpr char kDefaultPlanId[] = "main";

// Fills the defaults the proto documents (plan id "main", the design's first factor, alpha
// 0.05, power 0.80 and response rate 1 in the power assumptions when they are used).
void NormalisePlan(const fieldwork::v1::Trial& trial, fieldwork::v1::AnalysisPlan& plan);

// INVALID_ARGUMENT listing every problem ("; "-separated) of a normalised plan.
absl::Status ValidatePlan(const fieldwork::v1::Trial& trial,
                          const fieldwork::v1::AnalysisPlan& plan);

// True when the design's factor `name` is assigned (RANDOMISATION_METHOD_ASSIGNED), not
// randomised: its arms' comparisons are descriptive.
bool IsAssignedFactor(const fieldwork::v1::TrialDesign& design, const std::string& name);

// FAILED_PRECONDITION naming the factor when the plan asks for randomisation inference on an
// assigned factor: there is no randomisation to redraw, and redrawing the fixed assignment
// would give p = 1 for any data. Checked on registration and again by Analyse, for plans stored
// before the check existed.
absl::Status CheckRandomisationInference(const fieldwork::v1::TrialDesign& design,
                                         const fieldwork::v1::AnalysisPlan& plan);

// Why `participant` cannot be weighted by the plan's `weights` covariate ("is missing", "is -2,
// not a finite number > 0"), or nullopt when its weight can be used.
std::optional<std::string> WeightProblem(const std::string& weights,
                                         const fieldwork::v1::Participant& participant);

// Collects participants whose weight cannot be used and says which, for RegisterPlan (over the
// enrolled participants) and Analyse (over the analysed ones).
class WeightProblems {
 public:
  explicit WeightProblems(std::string weights) : weights_(std::move(weights)) {}
  // Checks one participant; returns false when its weight was refused.
  bool Check(const fieldwork::v1::Participant& participant);
  bool empty() const { return count_ == 0; }
  // "plan.weights: covariate \"w\" cannot weight 2 participant(s): participant \"p1\": w is
  // missing; participant \"p7\": w is -2, not a finite number > 0", naming the first 20 and
  // counting the rest.
  std::string Message() const;

 private:
  std::string weights_;
  std::vector<std::string> listed_;
  int64_t count_ = 0;
};

// The design's factor named `name`, or nullptr.
const fieldwork::v1::Factor* FindFactor(const fieldwork::v1::TrialDesign& design,
                                        const std::string& name);
// The design's covariate named `name`, or nullptr.
const fieldwork::v1::Covariate* FindCovariate(const fieldwork::v1::TrialDesign& design,
                                              const std::string& name);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_PLAN_VALIDATION_H_

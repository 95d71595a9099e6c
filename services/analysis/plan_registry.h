// Analysis plans: registration, locking (SHA-256 of the plan and the time) and edits after
// locking, which need a reason and are kept as deviations shown with every result.
#ifndef FIELDWORK_SERVICES_ANALYSIS_PLAN_REGISTRY_H_
#define FIELDWORK_SERVICES_ANALYSIS_PLAN_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fieldwork/v1/analysis.pb.h"
#include "services/analysis/plan_store.h"
#include "services/analysis/sources.h"
#include "services/common/clock.h"

namespace fieldwork::analysis {

// Lowercase hex SHA-256 of the plan's deterministic protobuf encoding.
std::string PlanSha256(const fieldwork::v1::AnalysisPlan& plan);

// The names of the plan's top-level fields that differ between `before` and `after`.
std::vector<std::string> ChangedFields(const fieldwork::v1::AnalysisPlan& before,
                                       const fieldwork::v1::AnalysisPlan& after);

struct RegisterResult {
  fieldwork::v1::PlanRecord record;
  bool changed = false;
};

class PlanRegistry {
 public:
  // `trials` validates plans against their trial's design (and answers NOT_FOUND for unknown
  // trials).
  PlanRegistry(PlanStore& store, AllocationSource& trials, const Clock& clock)
      : store_(store), trials_(trials), clock_(clock) {}

  // Stores a new plan or a changed one. A draft is replaced; a locked plan changes only with a
  // non-empty `deviation_reason` (FAILED_PRECONDITION otherwise), and the change is appended to
  // its deviations. An identical plan changes nothing (changed = false). INVALID_ARGUMENT for a
  // plan that does not fit its trial (see ValidatePlan), or whose `weights` column is missing,
  // not a number or not > 0 for an enrolled participant who has not withdrawn (each named).
  absl::StatusOr<RegisterResult> Register(const std::string& actor,
                                          fieldwork::v1::AnalysisPlan plan,
                                          const std::string& deviation_reason);

  // Locks the plan: records its SHA-256, the time and the actor. Idempotent.
  absl::StatusOr<fieldwork::v1::PlanRecord> Lock(const std::string& actor, const std::string& trial,
                                                 const std::string& plan_id);

  // NOT_FOUND when there is no such plan.
  absl::StatusOr<fieldwork::v1::PlanRecord> Get(const std::string& trial,
                                                const std::string& plan_id);

  // Every plan of the trial, in plan id order (none: empty).
  absl::StatusOr<std::vector<fieldwork::v1::PlanRecord>> List(const std::string& trial);

 private:
  PlanStore& store_;
  AllocationSource& trials_;
  const Clock& clock_;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_PLAN_REGISTRY_H_

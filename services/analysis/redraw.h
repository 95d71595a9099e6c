// Redraws a trial's allocation with the trial's own randomisation method (the randomisation
// service's engine and methods library) under a fresh, public key per draw, for randomisation
// inference. Batch methods are redrawn per (cohort, batch) as they were allocated; sequential
// ones (permuted blocks, minimisation) replay the arrivals in their allocation order.
#ifndef FIELDWORK_SERVICES_ANALYSIS_REDRAW_H_
#define FIELDWORK_SERVICES_ANALYSIS_REDRAW_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "services/analysis/join.h"

namespace fieldwork::analysis {

class AllocationRedrawer {
 public:
  // `units`: every participant allocated to `factor` (withdrawn ones included: they were
  // randomised with the others). INVALID_ARGUMENT for an unknown factor.
  static absl::StatusOr<AllocationRedrawer> Create(
      const fieldwork::v1::TrialDesign& design, const std::string& factor,
      const std::vector<const JoinedParticipant*>& units);

  // The arm of each unit (parallel to `units`) under draw `draw`. Deterministic in `draw`; the
  // key is SHA-256("fieldwork.analysis.redraw|<trial>|<draw>"), never the trial's secret.
  absl::StatusOr<std::vector<std::string>> Draw(int64_t draw) const;

  const std::string& method() const { return method_; }

 private:
  struct Group {
    std::string cohort;
    int64_t batch = 0;
    std::vector<fieldwork::v1::Participant> participants;  // in allocation order
    std::vector<size_t> index;                             // into units
  };
  fieldwork::v1::TrialDesign design_;
  std::string factor_;
  int factor_index_ = 0;
  bool sequential_ = false;
  std::string method_;
  size_t units_ = 0;
  std::vector<Group> groups_;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_REDRAW_H_

// Which participants of a Randomise batch can be allocated apart from the others: the same
// allocations, computed a group at a time, so that randomising a million participants never
// holds all of them (and the methods' units for all of them) at once.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_BATCH_GROUPS_H_
#define FIELDWORK_SERVICES_RANDOMISATION_BATCH_GROUPS_H_

#include <string>
#include <vector>

#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::randomisation {

// How a design's batch may be split. Each method's draws (services/randomisation/README.md,
// section 5) depend on: its own participant (simple, random order, assigned), or the members
// of its stratum (complete within strata). A group that holds whole strata of every factor
// therefore gets exactly the allocations it gets in the whole batch. Any other method (complete,
// cluster, rerandomisation, Latin square) draws over the whole batch: it is not split.
struct BatchGrouping {
  // False: the batch is allocated whole.
  bool splits = false;
  // The variables (strata variables common to every complete-within-strata factor) whose
  // values name a participant's group. Empty when splits: any split will do (every factor is
  // per participant).
  std::vector<std::string> variables;
};

BatchGrouping GroupingOf(const fieldwork::v1::TrialDesign& design);

// The participant's group under `grouping`: its values of the grouping's variables, each
// length-prefixed (so no value can forge another's key). "" when the batch is not split.
std::string BatchGroupKey(const BatchGrouping& grouping, const fieldwork::v1::Participant& participant);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_BATCH_GROUPS_H_

// Reads `fieldwork export` output (the allocations CSV) for the simulator.
#ifndef FIELDWORK_SERVICES_CLI_SIMULATE_ALLOCATIONS_H_
#define FIELDWORK_SERVICES_CLI_SIMULATE_ALLOCATIONS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fieldwork::cli::simulate {

struct SimAllocation {
  std::string participant_id;
  std::string site;
  std::string cohort;
  std::string cluster;
  std::map<std::string, std::string> arms;  // factor -> arm
  bool withdrawn = false;
  std::string left_on;  // YYYY-MM-DD or empty
};

// Columns: participant_id, site, cohort, cluster, one per factor, withdrawn, left_on. Any
// malformed row fails the whole file (INVALID_ARGUMENT naming file, line and field): a
// simulation from half a file would be silently wrong.
absl::StatusOr<std::vector<SimAllocation>> ReadAllocations(absl::string_view csv, const std::string& path);

}  // namespace fieldwork::cli::simulate

#endif  // FIELDWORK_SERVICES_CLI_SIMULATE_ALLOCATIONS_H_

// Permuted blocks with random block sizes, per stratum, for rolling enrolment.
//
// Each stratum has its own sequence of blocks: block b of stratum s is keyed by (s, b); its
// size is drawn from the design's sizes (each a multiple of the ratio sum W), and it holds
// size/W · w_a slots of each arm a, shuffled. The k-th participant to arrive in a stratum
// (k = 0, 1, ...) gets position k of the stratum's concatenated block sequence.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_METHODS_BLOCKS_H_
#define FIELDWORK_SERVICES_RANDOMISATION_METHODS_BLOCKS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/randomisation/methods/generator.h"
#include "services/randomisation/methods/types.h"

namespace fieldwork::randomisation {

struct PermutedBlocksDesign {
  std::vector<Arm> arms;
  // Allowed block sizes, each a positive multiple of the ratio sum. Used as a set: sorted
  // ascending and de-duplicated before drawing, so their order here does not matter.
  std::vector<std::int64_t> block_sizes;
};

// Where a stratum's sequence stands: the next arrival gets position `position` of block
// `block_index`. `allocated` counts the stratum's allocations so far.
struct PermutedBlocksStratumState {
  std::int64_t allocated = 0;
  std::int64_t block_index = 0;
  std::int64_t position = 0;
};

// The whole state a service persists between allocations: one entry per stratum seen.
struct PermutedBlocksState {
  std::map<std::string, PermutedBlocksStratumState> strata;
};

absl::Status ValidatePermutedBlocksDesign(const PermutedBlocksDesign& design);

// The arms of block `block_index` of `stratum`, in order.
absl::StatusOr<std::vector<int>> PermutedBlock(const Generator& gen,
                                               const PermutedBlocksDesign& design,
                                               const std::string& stratum,
                                               std::int64_t block_index);

// Allocates the next arrival of unit.stratum and advances `state`. On error `state` is
// unchanged. (The unit's id is checked but not used: positions, not people, are keyed.)
absl::StatusOr<int> PermutedBlocksNext(const Generator& gen, const PermutedBlocksDesign& design,
                                       const Unit& unit, PermutedBlocksState& state);

// Replays a whole arrival sequence from an empty state: result[i] is the arm of units[i],
// units in arrival order.
absl::StatusOr<std::vector<int>> AllocatePermutedBlocks(const Generator& gen,
                                                        const PermutedBlocksDesign& design,
                                                        absl::Span<const Unit> units);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_METHODS_BLOCKS_H_

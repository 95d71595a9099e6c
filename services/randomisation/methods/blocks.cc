#include "services/randomisation/methods/blocks.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {
namespace {

std::vector<std::int64_t> SizeSet(const std::vector<std::int64_t>& sizes) {
  std::vector<std::int64_t> set = sizes;
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
  return set;
}

// Block `b` of `stratum`: size then shuffled arms. Design already validated.
std::vector<int> MakeBlock(const Generator& gen, const std::vector<std::int64_t>& weights,
                           std::int64_t total, const std::vector<std::int64_t>& sizes,
                           const std::string& stratum, std::int64_t b) {
  Stream stream = gen.Open(Context()
                               .Add("method", "permuted_blocks")
                               .Add("stratum", std::string_view(stratum))
                               .Add("block", static_cast<std::uint64_t>(b)));
  const std::int64_t size = sizes[stream.Below(sizes.size())];
  const std::int64_t multiple = size / total;
  std::vector<int> block;
  block.reserve(static_cast<std::size_t>(size));
  for (std::size_t a = 0; a < weights.size(); ++a) {
    block.insert(block.end(), static_cast<std::size_t>(multiple * weights[a]), static_cast<int>(a));
  }
  stream.Shuffle(absl::MakeSpan(block));
  return block;
}

}  // namespace

absl::Status ValidatePermutedBlocksDesign(const PermutedBlocksDesign& design) {
  if (auto s = ValidateArms(design.arms); !s.ok()) return s;
  if (design.block_sizes.empty()) {
    return absl::InvalidArgumentError("block_sizes: at least one block size is needed");
  }
  const std::int64_t total = TotalWeight(design.arms);
  for (std::size_t i = 0; i < design.block_sizes.size(); ++i) {
    const std::int64_t size = design.block_sizes[i];
    if (size <= 0 || size % total != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block_sizes[", i, "]: ", size, " is not a positive multiple of the ratio sum ", total));
    }
    if (size > 1'000'000) {
      return absl::InvalidArgumentError(
          absl::StrCat("block_sizes[", i, "]: ", size, " is larger than 1000000"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> PermutedBlock(const Generator& gen,
                                               const PermutedBlocksDesign& design,
                                               const std::string& stratum,
                                               std::int64_t block_index) {
  if (auto s = ValidatePermutedBlocksDesign(design); !s.ok()) return s;
  if (block_index < 0) return absl::InvalidArgumentError("block_index: negative");
  return MakeBlock(gen, Weights(design.arms), TotalWeight(design.arms), SizeSet(design.block_sizes),
                   stratum, block_index);
}

absl::StatusOr<int> PermutedBlocksNext(const Generator& gen, const PermutedBlocksDesign& design,
                                       const Unit& unit, PermutedBlocksState& state) {
  if (auto s = ValidatePermutedBlocksDesign(design); !s.ok()) return s;
  if (unit.id.empty()) return absl::InvalidArgumentError("unit.id: empty participant id");
  PermutedBlocksStratumState current;
  if (auto it = state.strata.find(unit.stratum); it != state.strata.end()) current = it->second;
  if (current.block_index < 0 || current.position < 0 || current.allocated < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("state.strata[\"", unit.stratum, "\"]: negative counters"));
  }
  const std::vector<std::int64_t> weights = Weights(design.arms);
  const std::int64_t total = TotalWeight(design.arms);
  const std::vector<std::int64_t> sizes = SizeSet(design.block_sizes);
  std::vector<int> block = MakeBlock(gen, weights, total, sizes, unit.stratum, current.block_index);
  if (current.position >= static_cast<std::int64_t>(block.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "state.strata[\"", unit.stratum, "\"].position: ", current.position,
        " is past the end of block ", current.block_index, " (size ", block.size(), ")"));
  }
  const int arm = block[static_cast<std::size_t>(current.position)];
  ++current.allocated;
  if (++current.position == static_cast<std::int64_t>(block.size())) {
    ++current.block_index;
    current.position = 0;
  }
  state.strata[unit.stratum] = current;
  return arm;
}

absl::StatusOr<std::vector<int>> AllocatePermutedBlocks(const Generator& gen,
                                                        const PermutedBlocksDesign& design,
                                                        absl::Span<const Unit> units) {
  if (auto s = ValidatePermutedBlocksDesign(design); !s.ok()) return s;
  if (auto s = ValidateIds(units); !s.ok()) return s;
  const std::vector<std::int64_t> weights = Weights(design.arms);
  const std::int64_t total = TotalWeight(design.arms);
  const std::vector<std::int64_t> sizes = SizeSet(design.block_sizes);
  struct Cursor {
    std::int64_t block_index = 0;
    std::size_t position = 0;
    std::vector<int> block;
  };
  absl::flat_hash_map<std::string_view, Cursor> cursors;
  std::vector<int> out(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) {
    Cursor& c = cursors[units[i].stratum];
    if (c.block.empty()) {
      c.block = MakeBlock(gen, weights, total, sizes, units[i].stratum, c.block_index);
    }
    out[i] = c.block[c.position];
    if (++c.position == c.block.size()) {
      ++c.block_index;
      c.position = 0;
      c.block.clear();
    }
  }
  return out;
}

}  // namespace fieldwork::randomisation

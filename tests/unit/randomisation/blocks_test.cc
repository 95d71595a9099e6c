// Permuted blocks with random block sizes for rolling enrolment.
#include "services/randomisation/methods/blocks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/randomisation/test_util.h"

namespace fieldwork::randomisation {
namespace {

using ::testing::HasSubstr;
using testing::MakeUnits;
using testing::TestGenerator;

struct BlockCase {
  std::vector<std::int64_t> weights;
  std::vector<std::int64_t> sizes;
};

class PermutedBlocksBalance : public ::testing::TestWithParam<BlockCase> {};

// At every point of enrolment, the imbalance within a stratum never exceeds half the largest
// block, and at every block boundary the stratum is exactly in the design ratio.
TEST_P(PermutedBlocksBalance, ImbalanceNeverExceedsHalfTheLargestBlock) {
  PermutedBlocksDesign design;
  for (std::size_t a = 0; a < GetParam().weights.size(); ++a) {
    design.arms.push_back(Arm{absl::StrCat("arm", a), GetParam().weights[a]});
  }
  design.block_sizes = GetParam().sizes;
  const std::size_t k = design.arms.size();
  const auto total = static_cast<double>(TotalWeight(design.arms));
  const double half_largest =
      static_cast<double>(*std::max_element(design.block_sizes.begin(), design.block_sizes.end())) /
      2;
  std::set<std::size_t> sizes_seen;
  for (std::uint64_t secret = 0; secret < 10; ++secret) {
    const Generator gen = TestGenerator(secret);
    PermutedBlocksState state;
    std::map<std::string, std::vector<std::int64_t>> counts;
    // 600 arrivals interleaved over 5 strata.
    const std::vector<Unit> arrivals = MakeUnits(600, 5);
    for (const Unit& unit : arrivals) {
      const auto arm = PermutedBlocksNext(gen, design, unit, state);
      ASSERT_TRUE(arm.ok()) << arm.status();
      auto& c = counts[unit.stratum];
      c.resize(k, 0);
      ++c[static_cast<std::size_t>(*arm)];
      const auto n = static_cast<double>(state.strata[unit.stratum].allocated);
      double worst = 0;
      for (std::size_t a = 0; a < k; ++a) {
        worst = std::max(worst, std::fabs(static_cast<double>(c[a]) -
                                          n * static_cast<double>(design.arms[a].weight) / total));
        for (std::size_t b = 0; b < k; ++b) {
          if (design.arms[a].weight == design.arms[b].weight) {
            worst = std::max(worst, std::fabs(static_cast<double>(c[a] - c[b])));
          }
        }
      }
      ASSERT_LE(worst, half_largest) << unit.stratum << " after " << n << " arrivals";
      if (state.strata[unit.stratum].position == 0) {  // a block just completed
        for (std::size_t a = 0; a < k; ++a) {
          EXPECT_DOUBLE_EQ(static_cast<double>(c[a]),
                           n * static_cast<double>(design.arms[a].weight) / total);
        }
      }
    }
    for (std::int64_t b = 0; b < 20; ++b) {
      sizes_seen.insert(PermutedBlock(gen, design, "s0", b)->size());
    }
  }
  // Block sizes are random, from the configured set only.
  std::set<std::size_t> configured(design.block_sizes.begin(), design.block_sizes.end());
  EXPECT_EQ(sizes_seen, configured);
}

INSTANTIATE_TEST_SUITE_P(Designs, PermutedBlocksBalance,
                         ::testing::Values(BlockCase{{1, 1}, {2, 4, 6}}, BlockCase{{2, 1}, {3, 6}},
                                           BlockCase{{1, 1, 1}, {3, 6, 9}},
                                           BlockCase{{1, 1}, {8, 4}}));

TEST(PermutedBlocks, SequentialMatchesReplayAndStrataAreIndependent) {
  const PermutedBlocksDesign design{{{"t", 1}, {"c", 1}}, {4, 6}};
  const Generator gen = TestGenerator(3);
  const std::vector<Unit> arrivals = MakeUnits(200, 4);
  const auto replay = AllocatePermutedBlocks(gen, design, arrivals);
  ASSERT_TRUE(replay.ok());
  PermutedBlocksState state;
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    EXPECT_EQ(*PermutedBlocksNext(gen, design, arrivals[i], state), (*replay)[i]);
  }
  // A stratum's sequence depends only on its own arrivals, not on other strata's.
  std::vector<Unit> s1_only;
  std::vector<int> s1_arms;
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    if (arrivals[i].stratum == "s1") {
      s1_only.push_back(arrivals[i]);
      s1_arms.push_back((*replay)[i]);
    }
  }
  EXPECT_EQ(*AllocatePermutedBlocks(gen, design, s1_only), s1_arms);
  // The concatenated blocks are the sequence.
  std::vector<int> blocks;
  for (std::int64_t b = 0; blocks.size() < s1_arms.size(); ++b) {
    const auto block = PermutedBlock(gen, design, "s1", b);
    blocks.insert(blocks.end(), block->begin(), block->end());
  }
  blocks.resize(s1_arms.size());
  EXPECT_EQ(blocks, s1_arms);
  // The size set is a set: order and repeats do not matter.
  const PermutedBlocksDesign reordered{{{"t", 1}, {"c", 1}}, {6, 4, 6}};
  EXPECT_EQ(*AllocatePermutedBlocks(gen, reordered, arrivals), *replay);
}

TEST(PermutedBlocks, BadInput) {
  const Generator gen = TestGenerator();
  PermutedBlocksState state;
  Unit unit = MakeUnits(1)[0];
  auto expect_invalid = [&](const PermutedBlocksDesign& d, const std::string& text) {
    const auto r = PermutedBlocksNext(gen, d, unit, state);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(text));
  };
  expect_invalid({{{"t", 2}, {"c", 1}}, {4}},
                 "block_sizes[0]: 4 is not a positive multiple of the ratio sum 3");
  expect_invalid({{{"t", 1}, {"c", 1}}, {}}, "block_sizes: at least one");
  expect_invalid({{{"t", 1}, {"c", 0}}, {2}}, "arms[1].weight");
  expect_invalid({{{"t", 1}, {"c", 1}}, {4, -2}}, "block_sizes[1]");
  EXPECT_TRUE(state.strata.empty());  // errors leave the state alone
  unit.id.clear();
  expect_invalid({{{"t", 1}, {"c", 1}}, {4}}, "unit.id");
  unit.id = std::string("x");
  state.strata["s0"] = PermutedBlocksStratumState{1, 0, 99};
  expect_invalid({{{"t", 1}, {"c", 1}}, {4}}, "position: 99 is past the end");
}

}  // namespace
}  // namespace fieldwork::randomisation

// Counterbalanced orders: Williams squares and random orders.
#include "services/randomisation/methods/orders.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/randomisation/test_util.h"

namespace fieldwork::randomisation {
namespace {

using testing::ById;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeUnits;
using testing::Permuted;
using testing::TestGenerator;

// Every item in every position equally often, and every ordered pair of distinct items
// adjacent (first immediately before second) equally often, over the rows of `square`.
void ExpectBalanced(const OrderSquare& square, int k) {
  const auto rows = static_cast<int>(square.size());
  EXPECT_EQ(rows, k % 2 == 0 ? k : 2 * k);
  std::map<std::pair<int, int>, int> position, adjacent;
  for (const auto& row : square) {
    ASSERT_EQ(static_cast<int>(row.size()), k);
    EXPECT_EQ(std::set<int>(row.begin(), row.end()).size(), static_cast<std::size_t>(k));
    for (int j = 0; j < k; ++j) {
      ++position[{row[static_cast<std::size_t>(j)], j}];
      if (j + 1 < k)
        ++adjacent[{row[static_cast<std::size_t>(j)], row[static_cast<std::size_t>(j) + 1]}];
    }
  }
  for (int item = 0; item < k; ++item) {
    for (int j = 0; j < k; ++j) {
      EXPECT_EQ(position[std::make_pair(item, j)], rows / k)
          << "item " << item << " position " << j;
    }
  }
  if (k > 1) {
    EXPECT_EQ(adjacent.size(), static_cast<std::size_t>(k * (k - 1)));
    for (const auto& [pair, n] : adjacent)
      EXPECT_EQ(n, rows / k) << pair.first << "→" << pair.second;
  }
}

TEST(LatinSquare, WilliamsDesignIsBalanced) {
  EXPECT_THAT((*WilliamsDesign(4))[0], ElementsAre(0, 1, 3, 2));
  for (int k = 1; k <= 12; ++k) {
    SCOPED_TRACE(k);
    ExpectBalanced(*WilliamsDesign(k), k);
  }
}

// The 10 CVs of the online experiment: over a full square of participants, each CV appears
// in each position equally often (and the randomised square keeps the carry-over balance).
TEST(LatinSquare, EachCvInEachPositionEquallyOftenOverAFullSquare) {
  for (const int k : {10, 3, 5}) {
    SCOPED_TRACE(k);
    for (std::uint64_t secret = 0; secret < 5; ++secret) {
      const auto square = RandomisedWilliamsSquare(TestGenerator(secret), k);
      ASSERT_TRUE(square.ok());
      ExpectBalanced(*square, k);
      // Participants 0..rows−1 (a full square) through OrderForParticipant.
      OrderSquare participants;
      for (std::uint64_t i = 0; i < square->size(); ++i)
        participants.push_back(OrderForParticipant(*square, i));
      ExpectBalanced(participants, k);
      EXPECT_EQ(OrderForParticipant(*square, square->size() + 3), (*square)[3]);
    }
  }
  // Different secrets permute the square differently.
  EXPECT_NE(*RandomisedWilliamsSquare(TestGenerator(0), 10),
            *RandomisedWilliamsSquare(TestGenerator(1), 10));
}

TEST(LatinSquare, BatchRowsAreBalancedAndOrderIndependent) {
  const std::vector<Unit> units = MakeUnits(303);  // the online experiments' N
  const Generator gen = TestGenerator(4);
  const auto rows = AssignSquareRows(gen, 10, units);
  ASSERT_TRUE(rows.ok());
  std::map<int, int> per_row;
  for (const int r : *rows) ++per_row[r];
  EXPECT_EQ(per_row.size(), 10U);
  for (const auto& [row, n] : per_row) EXPECT_TRUE(n == 30 || n == 31) << row;
  const std::vector<Unit> shuffled = Permuted(units, 1);
  EXPECT_EQ(ById(shuffled, *AssignSquareRows(gen, 10, shuffled)), ById(units, *rows));
}

TEST(RandomOrder, EachOrderOfTwoExperimentsAboutHalfTheTime) {
  const std::vector<Unit> units = MakeUnits(4000);
  const auto orders = RandomOrders(TestGenerator(), 2, units);
  ASSERT_TRUE(orders.ok());
  int first = 0;
  for (const auto& o : *orders) {
    ASSERT_EQ(std::set<int>(o.begin(), o.end()), (std::set<int>{0, 1}));
    first += o[0] == 0 ? 1 : 0;
  }
  EXPECT_NEAR(first / 4000.0, 0.5, 4 * std::sqrt(0.25 / 4000));
  // Keyed by participant: the same participant gets the same order in any batch.
  const std::vector<Unit> some(units.begin() + 10, units.begin() + 20);
  const auto again = RandomOrders(TestGenerator(), 2, some);
  for (std::size_t i = 0; i < some.size(); ++i) EXPECT_EQ((*again)[i], (*orders)[i + 10]);
}

TEST(Orders, BadInput) {
  EXPECT_THAT(WilliamsDesign(0).status().message(), HasSubstr("items: 0"));
  EXPECT_FALSE(RandomisedWilliamsSquare(TestGenerator(), kMaxOrderItems + 1).ok());
  std::vector<Unit> units = MakeUnits(3);
  units[2].id = units[0].id;
  const auto r = RandomOrders(TestGenerator(), 2, units);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("units[2].id: duplicate"));
  EXPECT_FALSE(AssignSquareRows(TestGenerator(), 4, units).ok());
}

}  // namespace
}  // namespace fieldwork::randomisation

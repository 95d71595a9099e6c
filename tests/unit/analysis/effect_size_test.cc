// HedgesG worked by hand, and its refusals (too few respondents, no spread).
#include "services/analysis/stats/effect_size.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fieldwork::analysis {
namespace {

// Arms of 3 (SD 2) and 3 (SD 1): pooled SD sqrt((2 * 4 + 2 * 1) / 4) = sqrt(2.5), J = 1 - 3/15
// = 0.8; everything of the effect is scaled by 0.8 / sqrt(2.5).
TEST(HedgesGTest, PooledSdCorrectionAndScaledInterval) {
  LinearCombination effect;
  effect.estimate = 1.0;
  effect.std_error = 0.5;
  effect.conf_low = -0.2;
  effect.conf_high = 2.2;
  absl::StatusOr<StandardisedEffect> g = HedgesG(effect, {3, 2.0}, {3, 1.0});
  ASSERT_TRUE(g.ok()) << g.status();
  const double scale = 0.8 / std::sqrt(2.5);
  EXPECT_DOUBLE_EQ(g->pooled_sd, std::sqrt(2.5));
  EXPECT_DOUBLE_EQ(g->correction, 0.8);
  EXPECT_DOUBLE_EQ(g->g, scale);
  EXPECT_DOUBLE_EQ(g->std_error, 0.5 * scale);
  EXPECT_DOUBLE_EQ(g->conf_low, -0.2 * scale);
  EXPECT_DOUBLE_EQ(g->conf_high, 2.2 * scale);
}

TEST(HedgesGTest, RefusesTooFewRespondentsAndNoSpread) {
  LinearCombination effect;
  effect.estimate = 1.0;
  EXPECT_EQ(HedgesG(effect, {2, 1.0}, {1, 0.0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HedgesG(effect, {0, 0.0}, {5, 1.0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HedgesG(effect, {4, 0.0}, {4, 0.0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // An arm of one has no SD (NaN) and contributes no spread: the other arm's alone.
  absl::StatusOr<StandardisedEffect> g = HedgesG(effect, {1, std::nan("")}, {4, 3.0});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_DOUBLE_EQ(g->pooled_sd, std::sqrt(3.0 * 9.0 / 3.0));
}

}  // namespace
}  // namespace fieldwork::analysis

#include "services/analysis/stats/interaction.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/analysis/fixtures.h"

namespace fieldwork::analysis {
namespace {

using fixtures::Csv;
using fixtures::Expected;
using fixtures::ExpectTableMatches;
using fixtures::Near;
using fixtures::Num;
using fixtures::Nums;

InteractionInput CvExperiment() {
  const Csv d = Csv::Read("cv_long.csv");
  InteractionInput in;
  in.outcome = d.Numbers("rating");
  in.a = {"ethnicity", d.Strings("ethnicity"), "majority"};
  in.b = {"condition", d.Strings("condition"), "control"};
  in.clusters = d.Integers("participant");
  return in;
}

TEST(InteractionTest, CvExperimentCr2ByParticipant) {
  absl::StatusOr<InteractionResult> r = FitInteraction(CvExperiment());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->fit.n, 3000);
  EXPECT_EQ(r->fit.n_clusters, 300);
  EXPECT_EQ(r->fit.se_type, SeType::kCR2);
  EXPECT_EQ(r->fit.coefficients[3].term, "ethnicityminority:conditiontraining");
  ExpectTableMatches(r->fit, Expected("cv_long_CR2"));
  // clubSandwich agrees on the SEs and the Satterthwaite df.
  const auto& club = Expected("cv_long_club");
  for (size_t j = 0; j < 4; ++j) {
    EXPECT_TRUE(Near(r->fit.coefficients[j].std_error, Nums(club["std_error"])[j], 1e-8));
    EXPECT_TRUE(Near(r->fit.coefficients[j].df, Nums(club["df"])[j], 1e-6));
  }
  // The ethnicity gap among participants in training: clubSandwich's linear_contrast.
  ASSERT_EQ(r->simple_effects.size(), 2u);
  const SimpleEffect& in_training = r->simple_effects[1];
  EXPECT_EQ(in_training.b_level, "training");
  const auto& e = Expected("cv_long_minority_in_training");
  EXPECT_TRUE(Near(in_training.effect.estimate, Num(e["estimate"]), 1e-8));
  EXPECT_TRUE(Near(in_training.effect.std_error, Num(e["std_error"]), 1e-8));
  EXPECT_TRUE(Near(in_training.effect.df, Num(e["df"]), 1e-6));
  // In the control condition the simple effect is the main-effect coefficient.
  EXPECT_EQ(r->simple_effects[0].b_level, "control");
  EXPECT_DOUBLE_EQ(r->simple_effects[0].effect.std_error, r->fit.coefficients[1].std_error);
  // One interaction term: its Wald F is t^2, on (1, J - 1).
  EXPECT_TRUE(Near(r->interaction_test.f_statistic,
                   r->fit.coefficients[3].statistic * r->fit.coefficients[3].statistic, 1e-10));
  EXPECT_EQ(r->interaction_test.denominator_df, 299.0);
}

TEST(InteractionTest, JointTestMatchesEstimatrFStatistic) {
  absl::StatusOr<InteractionResult> r = FitInteraction(CvExperiment());
  ASSERT_TRUE(r.ok()) << r.status();
  Eigen::MatrixXd l = Eigen::MatrixXd::Zero(3, 4);
  l.rightCols(3).setIdentity();
  absl::StatusOr<WaldTest> w = TestLinearRestrictions(r->fit, l);
  ASSERT_TRUE(w.ok()) << w.status();
  const auto& e = Expected("cv_long_CR2_fstat");
  EXPECT_TRUE(Near(w->f_statistic, Num(e["f"]), 1e-8));
  EXPECT_EQ(w->numerator_df, 3);
  EXPECT_EQ(w->denominator_df, Num(e["df2"]));
}

TEST(InteractionTest, StataCr1) {
  InteractionOptions options;
  options.se_type = SeType::kCR1Stata;
  absl::StatusOr<InteractionResult> r = FitInteraction(CvExperiment(), options);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectTableMatches(r->fit, Expected("cv_long_stata"));
}

TEST(InteractionTest, Errors) {
  InteractionInput in = CvExperiment();
  in.a.reference = "nobody";
  EXPECT_FALSE(FitInteraction(in).ok());
  InteractionInput empty;
  EXPECT_FALSE(FitInteraction(empty).ok());
}

}  // namespace
}  // namespace fieldwork::analysis

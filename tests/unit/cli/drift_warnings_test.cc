// The drift warnings of status and the report, at and around their thresholds.
#include "services/cli/drift_warnings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fieldwork::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

fieldwork::v1::AnalyseResponse Analysis(double planned, double achieved, double planned_rate,
                                        double actual_rate, double differential, double p) {
  fieldwork::v1::AnalyseResponse analysis;
  auto* outcome = analysis.add_outcomes();
  outcome->set_outcome("wellbeing");
  outcome->mutable_mdes()->set_planned(planned);
  outcome->mutable_mdes()->set_achieved(achieved);
  outcome->mutable_mdes()->set_planned_response_rate(planned_rate);
  outcome->mutable_mdes()->set_actual_response_rate(actual_rate);
  outcome->mutable_attrition()->set_differential_points(differential);
  outcome->mutable_attrition()->set_p_value(p);
  return analysis;
}

TEST(DriftWarningsTest, QuietWhileTheTrialHoldsItsAssumptions) {
  EXPECT_THAT(AnalysisWarnings(Analysis(0.2, 0.25, 0.8, 0.8, 4.9, 0.001)), IsEmpty());
  EXPECT_THAT(AnalysisWarnings(Analysis(0.2, 0.24, 0.8, 0.85, -12, 0.05)), IsEmpty());
  EXPECT_THAT(AnalysisWarnings(Analysis(0, 0.5, 0, 0.5, 0, 1)), IsEmpty());  // no power plan
}

TEST(DriftWarningsTest, EachThresholdCrossed) {
  EXPECT_THAT(AnalysisWarnings(Analysis(0.2, 0.2501, 0.8, 0.8, 0, 1)),
              ElementsAre("wellbeing: achieved MDES 0.250 is above 1.25 x the planned 0.200"));
  EXPECT_THAT(AnalysisWarnings(Analysis(0.2, 0.2, 0.8, 0.79, 0, 1)),
              ElementsAre("wellbeing: response rate 79.0% is below the planned 80.0%"));
  EXPECT_THAT(AnalysisWarnings(Analysis(0.2, 0.2, 0.8, 0.8, -5, 0.049)),
              ElementsAre("wellbeing: differential attrition of -5.0 points (p = 0.049)"));
}

TEST(DriftWarningsTest, SampleRatioMismatch) {
  fieldwork::v1::BalanceResponse balance;
  auto* factor = balance.add_factors();
  factor->set_factor("messages");
  (*factor->mutable_count_by_arm())["control"] = 10;
  factor->set_srm_p_value(0.0009);
  EXPECT_THAT(SrmWarnings(balance, 10),
              ElementsAre("sample ratio mismatch in messages (p = <0.001)"));
  EXPECT_THAT(SrmWarnings(balance, 0), IsEmpty());
  factor->set_srm_p_value(0.001);
  EXPECT_THAT(SrmWarnings(balance, 10), IsEmpty());
}

}  // namespace
}  // namespace fieldwork::cli

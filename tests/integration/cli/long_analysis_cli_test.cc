// The long-format interaction through the product, against R: the CV experiment of the
// committed fixtures (tests/fixtures/analysis/cv_long.csv, 300 participants x 10 ratings) is
// pre-registered in a protocol, enrolled, imported with `fieldwork responses import --long` and
// analysed by the real analysis service; what Analyse returns is compared with estimatr's
// lm_robust(rating ~ ethnicity * condition, clusters = participant) and clubSandwich's CR2
// linear contrasts (make_fixtures.R) to 1e-8 (estimates, SEs) and 1e-6 (df, p). The same run's
// `fieldwork analyse` and a second, per-participant plan of the same protocol show that several
// pre-registered analyses of one trial are each analysed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/integration/cli/cli_services.h"
#include "tests/unit/analysis/fixtures.h"

namespace fieldwork {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::analysis::fixtures::Csv;
using ::fieldwork::analysis::fixtures::Expected;
using ::fieldwork::analysis::fixtures::Near;
using ::fieldwork::analysis::fixtures::Num;
using ::fieldwork::analysis::fixtures::Nums;
using ::fieldwork::testing::CliRun;
using ::testing::HasSubstr;

// Ten ratings from 0 to 10 as one decision block; the stimuli declare the candidate's ethnicity
// (the fixture's levels), which each imported row then gives.
std::string Instrument() {
  std::string items;
  std::string ids;
  std::string stimuli;
  for (int i = 1; i <= 10; ++i) {
    absl::StrAppend(&items, absl::StrFormat("  - {id: rate_cv%02d, label: Rating, type: numeric, min: 0, max: 10, required: true}\n", i));
    absl::StrAppend(&ids, i == 1 ? "" : ", ", absl::StrFormat("rate_cv%02d", i));
    absl::StrAppend(&stimuli, absl::StrFormat("      - {id: name%02d, text: Candidate %d, attributes: {ethnicity: %s}}\n", i, i,
                                              i <= 5 ? "majority" : "minority"));
  }
  return absl::StrCat("id: cv\nversion: 1\ntitle: CV ratings\nitems:\n", items,
                      "decisions:\n  - id: cv\n    items: [", ids, "]\n    stimuli_factor: names\n    stimuli:\n", stimuli,
                      "pages:\n  - {title: Ratings, decisions: cv}\n");
}

// The condition is assigned (the fixture's own column), so the data are exactly R's.
constexpr char kProtocol[] = R"(trial:
  id: cvlong
  title: The CV experiment in long format
  sites: [online]
  covariates: [{name: condition, kind: categorical, levels: [control, training]}]
  factors:
    - {name: condition, method: assigned, arms: [control, training]}
    - {name: names, method: latin_square, order_items: [name01, name02, name03, name04, name05, name06, name07, name08, name09, name10]}
instruments: [cv.yaml]
waves:
  - {id: experiment, instrument: cv, opens: 2020-01-01T00:00:00Z, closes: 2099-01-01T00:00:00Z}
lock_design: true
analyses:
  - plan_id: cv
    factor: condition
    control_arm: control
    estimator: long_interaction
    interaction: {attribute: ethnicity, reference_level: majority}
    outcomes:
      - {name: rating, primary: true, wave: experiment, decisions: cv}
  - plan_id: per_participant
    factor: condition
    control_arm: control
    outcomes:
      - {name: ratings, wave: experiment, scale: ratings}
lock_plan: true
)";

void ExpectInference(const v1::Inference& got, const nlohmann::json& want) {
  EXPECT_TRUE(Near(got.estimate(), Num(want["estimate"]), 1e-8));
  EXPECT_TRUE(Near(got.std_error(), Num(want["std_error"]), 1e-8));
  EXPECT_TRUE(Near(got.df(), Num(want["df"]), 1e-6));
}

TEST(LongAnalysisCliTest, DecisionsImportedInLongFormatAreAnalysedAsEstimatrAndClubSandwich) {
  fieldwork::testing::CliServices services;
  const std::string dir = services.dir();
  // The per-participant plan's outcome: the mean of the ten ratings.
  std::string instrument = Instrument();
  instrument.replace(instrument.find("decisions:\n"), 0,
                     "scales:\n  - {id: ratings, label: Mean rating, items: [rate_cv01, rate_cv02, rate_cv03, rate_cv04, "
                     "rate_cv05, rate_cv06, rate_cv07, rate_cv08, rate_cv09, rate_cv10], method: mean, min_answered: 1}\n");
  fieldwork::testing::WriteText(dir + "/cv.yaml", instrument);
  fieldwork::testing::WriteText(dir + "/cvlong.yaml", kProtocol);
  CliRun applied = services.Fieldwork({"apply", dir + "/cvlong.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_THAT(applied.output, HasSubstr("locked the analysis plan cv"));
  EXPECT_THAT(applied.output, HasSubstr("locked the analysis plan per_participant"));

  const Csv csv = Csv::Read("cv_long.csv");
  const std::vector<std::int64_t> participant = csv.Integers("participant");
  const std::vector<std::string>& condition = csv.Strings("condition");
  const std::vector<std::string>& ethnicity = csv.Strings("ethnicity");
  const Eigen::VectorXd rating = csv.Numbers("rating");
  std::string roster = "participant_id,site,condition\n";
  std::string decisions = "participant_id,block,decision,value,ethnicity\n";
  int index = 0;
  for (size_t i = 0; i < csv.rows(); ++i) {
    const std::string id = absl::StrFormat("p%03d", participant[i]);
    if (i == 0 || participant[i] != participant[i - 1]) {
      absl::StrAppend(&roster, id, ",online,", condition[i], "\n");
      index = 0;
    }
    absl::StrAppend(&decisions, id, ",cv,", ++index, ",", absl::StrFormat("%.4f", rating[static_cast<Eigen::Index>(i)]),
                    ",", ethnicity[i], "\n");
  }
  fieldwork::testing::WriteText(dir + "/roster.csv", roster);
  fieldwork::testing::WriteText(dir + "/decisions.csv", decisions);
  CliRun enrolled = services.Fieldwork({"enrol", "cvlong", dir + "/roster.csv"});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  CliRun randomised = services.Fieldwork({"randomise", "cvlong"});
  ASSERT_EQ(randomised.exit_code, 0) << randomised.output;
  CliRun imported = services.Fieldwork({"responses", "import", "cvlong", "experiment", dir + "/decisions.csv", "--long"});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_THAT(imported.output, HasSubstr("accepted 300, duplicate 0, rejected 0"));

  v1::AnalyseRequest request;
  request.set_trial_id("cvlong");
  request.set_plan_id("cv");
  v1::AnalyseResponse analysis;
  const grpc::Status s = services.Analysis()->Analyse(services.Researcher().get(), request, &analysis);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(analysis.descriptive());  // an assigned factor: the comparison is labelled so
  ASSERT_EQ(analysis.outcomes_size(), 1);
  const v1::LongInteractionResult& x = analysis.outcomes(0).interaction();
  EXPECT_EQ(x.decisions(), 3000);
  EXPECT_EQ(x.clusters(), 300);
  EXPECT_EQ(x.se_type(), "CR2");
  const nlohmann::json& table = Expected("cv_long_CR2");
  ASSERT_EQ(x.terms_size(), 4);
  for (int j = 0; j < 4; ++j) {
    const auto k = static_cast<size_t>(j);
    SCOPED_TRACE(x.terms(j));
    EXPECT_EQ(x.terms(j), table["term"][k].get<std::string>());
    EXPECT_TRUE(Near(x.coefficients(j).estimate(), Nums(table["estimate"])[k], 1e-8));
    EXPECT_TRUE(Near(x.coefficients(j).std_error(), Nums(table["std_error"])[k], 1e-8));
    EXPECT_TRUE(Near(x.coefficients(j).df(), Nums(table["df"])[k], 1e-6));
    EXPECT_TRUE(Near(x.coefficients(j).p_value(), Nums(table["p_value"])[k], 1e-6));
  }
  const nlohmann::json& contrasts = Expected("cv_long_contrasts");
  ASSERT_EQ(x.arm_effects_size(), 2);
  ExpectInference(x.arm_effects(0).inference(), contrasts["training_among_majority"]);
  ExpectInference(x.arm_effects(1).inference(), contrasts["training_among_minority"]);
  ASSERT_EQ(x.level_effects_size(), 2);
  ExpectInference(x.level_effects(1).inference(), contrasts["minority_in_training"]);
  ASSERT_EQ(x.cells_size(), 4);
  ExpectInference(x.cells(3).inference(), contrasts["cell_minority_training"]);
  EXPECT_EQ(x.interaction_df2(), Num(Expected("cv_long_CR2_fstat")["df2"]));

  // `fieldwork analyse` without --plan analyses both pre-registered plans.
  CliRun analysed = services.Fieldwork({"analyse", "cvlong"});
  ASSERT_EQ(analysed.exit_code, 0) << analysed.output;
  EXPECT_THAT(analysed.output, HasSubstr("analysis of cvlong under plan cv (locked"));
  EXPECT_THAT(analysed.output, HasSubstr("3000 decisions from 300 participants, SEs CR2"));
  EXPECT_THAT(analysed.output, HasSubstr("analysis of cvlong under plan per_participant (locked"));
  EXPECT_THAT(analysed.output, HasSubstr("ratings: n = 300, SEs HC2"));
}

}  // namespace
}  // namespace fieldwork

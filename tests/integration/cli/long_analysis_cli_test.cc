// The R fixtures through the product. The long-format interaction: the CV experiment of the
// committed fixtures (tests/fixtures/analysis/cv_long.csv, 300 participants x 10 ratings) is
// pre-registered in a protocol, enrolled, imported with `fieldwork responses import --long` and
// analysed by the real analysis service; what Analyse returns is compared with estimatr's
// lm_robust(rating ~ ethnicity * condition, clusters = participant) and clubSandwich's CR2
// linear contrasts (make_fixtures.R) to 1e-8 (estimates, SEs) and 1e-6 (df, p). The same run's
// `fieldwork analyse` and `fieldwork report` and a second, per-participant plan of the same
// protocol show that several pre-registered analyses of one trial are each analysed and shown (and
// `fieldwork status` shows each plan's ledger). Then two per-participant cases the
// same way (roster and responses through the CLI, the plan from the protocol): the three-arm
// trial's effects and joint Wald F with its df (itt_three_arm.csv, car::linearHypothesis), and
// the weighted HC2 effect (weights_trial.csv, lm_robust(weights = w)).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <regex>
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
  covariates: [{name: condition, kind: categorical, levels: [control, training], required: true}]
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

  // `fieldwork status` shows every plan as well: this trial has no plan "main".
  CliRun status = services.Fieldwork({"status", "cvlong"});
  std::cout << status.output;  // for the test log
  EXPECT_EQ(status.exit_code, 3) << status.output;  // messaging is not running here
  EXPECT_THAT(status.output, HasSubstr("analysis plan cv (locked)"));
  EXPECT_THAT(status.output, HasSubstr("analysis plan per_participant (locked)"));
  EXPECT_TRUE(std::regex_search(status.output, std::regex(R"(\n\s+ratings\s+response 100\.0%)")))
      << status.output;
  EXPECT_THAT(status.output, ::testing::Not(HasSubstr("not run")));
  EXPECT_THAT(status.output, HasSubstr("response rate by arm and wave (condition)"));

  // The report shows both plans, each outcome labelled with its plan, the interaction's tables
  // and the progression figure drawn from the model's cells.
  const std::string html = dir + "/report.html";
  CliRun reported = services.Fieldwork({"report", "cvlong", "--html", html});
  ASSERT_EQ(reported.exit_code, 0) << reported.output;
  const std::string page = fieldwork::testing::ReadText(html);
  EXPECT_THAT(page, HasSubstr("cv: rating (primary)"));
  EXPECT_THAT(page, HasSubstr("per_participant: ratings"));
  EXPECT_THAT(page, HasSubstr("<table class=\"interaction-arm-effects\""));
  EXPECT_THAT(page, HasSubstr("model means; CIs clustered by participant, CR2"));
  EXPECT_THAT(page, HasSubstr("<svg class=\"figure figure-progression\""));
}


// A trial whose arms are the fixture's own (an assigned factor: the roster's `arm`), covariates
// as given, one numeric item y scored as the scale "y" in wave endline, and `analysis` as its
// plan; applied, enrolled and answered through the CLI, then analysed over gRPC.
v1::AnalyseResponse AnalyseThroughTheCli(fieldwork::testing::CliServices& services, const std::string& trial,
                                         const std::string& design, const std::string& analysis,
                                         const std::string& roster, const std::string& responses) {
  const std::string dir = services.dir();
  fieldwork::testing::WriteText(dir + "/y.yaml", R"(id: ywave
version: 1
title: One number
items:
  - {id: y, label: The outcome, type: numeric, min: -1000, max: 1000, required: true}
scales:
  - {id: y, label: The outcome, items: [y], method: mean, min_answered: 1}
)");
  fieldwork::testing::WriteText(dir + "/" + trial + ".yaml",
                                absl::StrCat("trial:\n  id: ", trial, "\n", design, "instruments: [y.yaml]\n",
                                             "waves:\n  - {id: endline, instrument: ywave, opens: 2020-01-01T00:00:00Z, "
                                             "closes: 2099-01-01T00:00:00Z}\nlock_design: true\n", analysis,
                                             "lock_plan: true\n"));
  fieldwork::testing::WriteText(dir + "/" + trial + "-roster.csv", roster);
  fieldwork::testing::WriteText(dir + "/" + trial + "-endline.csv", responses);
  for (const std::vector<std::string>& step :
       {std::vector<std::string>{"apply", dir + "/" + trial + ".yaml"},
        {"enrol", trial, dir + "/" + trial + "-roster.csv"},
        {"randomise", trial},
        {"responses", "import", trial, "endline", dir + "/" + trial + "-endline.csv"}}) {
    CliRun run = services.Fieldwork(step);
    if (run.exit_code != 0) {
      ADD_FAILURE() << step[0] << " exited " << run.exit_code << ": " << run.output;
      return {};
    }
  }
  v1::AnalyseRequest request;
  request.set_trial_id(trial);
  v1::AnalyseResponse analysed;
  const grpc::Status s = services.Analysis()->Analyse(services.Researcher().get(), request, &analysed);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return analysed;
}

// The arm's effect against an estimatr table's term `term`.
void ExpectTerm(const v1::Inference& e, const nlohmann::json& table, size_t term) {
  EXPECT_TRUE(Near(e.estimate(), Nums(table["estimate"])[term], 1e-8));
  EXPECT_TRUE(Near(e.std_error(), Nums(table["std_error"])[term], 1e-8));
  EXPECT_TRUE(Near(e.df(), Nums(table["df"])[term], 1e-6));
  EXPECT_TRUE(Near(e.p_value(), Nums(table["p_value"])[term], 1e-6));
}

TEST(LongAnalysisCliTest, ThreeArmWaldTestAndWeightedEffectThroughTheProductMatchR) {
  fieldwork::testing::CliServices services;
  {
    // lm_robust(y ~ arm + x1 + site) and the joint test of both arms (itt3_standard[_wald]).
    const Csv csv = Csv::Read("itt_three_arm.csv");
    const std::vector<std::string>& arm = csv.Strings("arm");
    const std::vector<std::string>& site = csv.Strings("site");
    const Eigen::VectorXd x1 = csv.Numbers("x1");
    const Eigen::VectorXd y = csv.Numbers("y");
    std::set<std::string> sites(site.begin(), site.end());
    std::string roster = "participant_id,site,arm,x1\n";
    std::string responses = "ResponseId,ExternalReference,EndDate,Finished,y\n";
    for (size_t i = 0; i < csv.rows(); ++i) {
      const auto k = static_cast<Eigen::Index>(i);
      absl::StrAppend(&roster, absl::StrFormat("p%04d,%s,%s,%.5f\n", i, site[i], arm[i], x1[k]));
      absl::StrAppend(&responses, absl::StrFormat("R_%04d,p%04d,2021-03-02T10:00:00Z,1,%.5f\n", i, i, y[k]));
    }
    std::string site_list;
    for (const std::string& s : sites) absl::StrAppend(&site_list, site_list.empty() ? "" : ", ", s);
    const v1::AnalyseResponse a = AnalyseThroughTheCli(
        services, "itt3",
        absl::StrCat("  sites: [", site_list, "]\n",
                     "  covariates: [{name: arm, kind: categorical, levels: [control, letter, video], required: true}, "
                     "{name: x1, kind: numeric}]\n",
                     "  factors: [{name: arm, method: assigned, arms: [control, letter, video]}]\n"),
        "analysis:\n  control_arm: control\n  covariates: [x1]\n  site_fixed_effects: true\n"
        "  outcomes: [{name: y, wave: endline, scale: y}]\n",
        roster, responses);
    ASSERT_EQ(a.outcomes_size(), 1);
    const v1::OutcomeResult& o = a.outcomes(0);
    EXPECT_EQ(o.n(), 600);
    const nlohmann::json& table = Expected("itt3_standard");
    ASSERT_EQ(o.effects_size(), 2);
    ExpectTerm(o.effects(0).effect(), table, 1);
    ExpectTerm(o.effects(1).effect(), table, 2);
    const nlohmann::json& wald = Expected("itt3_standard_wald");
    EXPECT_TRUE(Near(o.joint_f(), Num(wald["f"]), 1e-8));
    EXPECT_EQ(o.joint_df1(), static_cast<int>(Num(wald["df1"])));
    EXPECT_TRUE(Near(o.joint_df2(), Num(wald["df2"]), 1e-6));
    EXPECT_TRUE(Near(o.joint_p_value(), Num(wald["p_value"]), 1e-6));
  }
  {
    // lm_robust(y ~ arm + x1, weights = w) among the respondents (weights_main_HC2).
    const Csv csv = Csv::Read("weights_trial.csv");
    const std::vector<std::string>& arm = csv.Strings("arm");
    const Eigen::VectorXd x1 = csv.Numbers("x1");
    const Eigen::VectorXd w = csv.Numbers("w");
    const Eigen::VectorXd y = csv.Numbers("y");
    std::string roster = "participant_id,site,arm,x1,w\n";
    std::string responses = "ResponseId,ExternalReference,EndDate,Finished,y\n";
    for (size_t i = 0; i < csv.rows(); ++i) {
      const auto k = static_cast<Eigen::Index>(i);
      absl::StrAppend(&roster, absl::StrFormat("p%04d,online,%s,%.5f,%.4f\n", i, arm[i], x1[k], w[k]));
      if (std::isfinite(y[k])) {
        absl::StrAppend(&responses, absl::StrFormat("R_%04d,p%04d,2021-03-02T10:00:00Z,1,%.5f\n", i, i, y[k]));
      }
    }
    const v1::AnalyseResponse a = AnalyseThroughTheCli(
        services, "weighted",
        "  sites: [online]\n"
        "  covariates: [{name: arm, kind: categorical, levels: [control, treatment], required: true}, {name: x1, kind: numeric}, "
        "{name: w, kind: numeric}]\n"
        "  factors: [{name: arm, method: assigned, arms: [control, treatment]}]\n",
        "analysis:\n  control_arm: control\n  covariates: [x1]\n  weights: w\n"
        "  outcomes: [{name: y, wave: endline, scale: y}]\n",
        roster, responses);
    ASSERT_EQ(a.outcomes_size(), 1);
    const nlohmann::json& main = Expected("weights_main_HC2");
    EXPECT_EQ(a.outcomes(0).n(), static_cast<int64_t>(Num(main["nobs"])));
    ASSERT_EQ(a.outcomes(0).effects_size(), 1);
    ExpectTerm(a.outcomes(0).effects(0).effect(), main, 1);
  }
}

}  // namespace
}  // namespace fieldwork

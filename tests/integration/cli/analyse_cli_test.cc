// fieldwork analyse, status and report against the real services: redis-server, the
// randomisation, survey-ingest and analysis binaries as processes, and the fieldwork binary. A
// small two-arm trial is applied, enrolled, randomised and given endline responses through the
// CLI; the analysis plan is registered and locked over gRPC. Messaging is deliberately not
// started, so status must name it unavailable, print the rest and exit 3.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "services/cli/report_format.h"
#include "tests/integration/cli/cli_services.h"

namespace fieldwork {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::testing::CliRun;
using ::testing::HasSubstr;

// `text` as a regular expression matching itself (the numbers' dots and the CIs' brackets).
std::string Literal(const std::string& text) {
  return std::regex_replace(text, std::regex(R"([.\[\]()+*?^$|{}\\])"), R"(\$&)");
}

constexpr char kInstrument[] = R"(id: wb
version: 1
title: Well-being
items:
  - {id: y, label: Well-being, type: numeric, min: -20, max: 20, required: true}
scales:
  - {id: wellbeing, label: Well-being, items: [y], method: mean, min_answered: 1}
)";

constexpr char kProtocol[] = R"(trial:
  id: small
  title: A small simulated trial
  sites: [north, south]
  factors:
    - {name: arm, method: complete_within_strata, strata: [site], arms: [control, treatment]}
instruments:
  - wb.yaml
waves:
  - {id: endline, instrument: wb, opens: 2021-03-01T00:00:00Z, closes: 2021-04-01T00:00:00Z}
lock_design: true
)";

class AnalyseCliTest : public ::testing::Test {
 protected:
  explicit AnalyseCliTest(bool with_messaging = false) : services_(with_messaging) {}

  CliRun Fieldwork(const std::vector<std::string>& args) { return services_.Fieldwork(args); }

  // Applies, enrols 80, randomises, imports endline responses (30 of 40 in control, 24 of 40 in
  // treatment, over ten days) and locks the plan.
  void RunTrial() {
    const std::string dir = services_.dir();
    fieldwork::testing::WriteText(dir + "/wb.yaml", kInstrument);
    fieldwork::testing::WriteText(dir + "/small.yaml", kProtocol);
    CliRun applied = Fieldwork({"apply", dir + "/small.yaml"});
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
    std::string roster = "participant_id,site\n";
    for (int i = 0; i < 80; ++i)
      absl::StrAppend(&roster, "p", i, ",", i % 2 ? "north" : "south", "\n");
    fieldwork::testing::WriteText(dir + "/roster.csv", roster);
    ASSERT_EQ(Fieldwork({"enrol", "small", dir + "/roster.csv"}).exit_code, 0);
    ASSERT_EQ(Fieldwork({"randomise", "small"}).exit_code, 0);
    CliRun exported = Fieldwork({"export", "small"});
    ASSERT_EQ(exported.exit_code, 0) << exported.output;
    for (absl::string_view line :
         absl::StrSplit(exported.output, absl::ByAnyChar("\r\n"), absl::SkipEmpty())) {
      std::vector<std::string> cells = absl::StrSplit(line, ',');
      if (cells.size() >= 5 && cells[0] != "participant_id") arm_of[cells[0]] = cells[4];
    }
    ASSERT_EQ(arm_of.size(), 80u) << exported.output;
    std::string csv = "ResponseId,ExternalReference,EndDate,Finished,y\n";
    int control = 0, treatment = 0;
    for (const auto& [id, arm] : arm_of) {
      const bool treated = arm == "treatment";
      int& seen = treated ? treatment : control;
      if (seen++ >= (treated ? 24 : 30)) continue;
      respondents_.insert(id);
      absl::StrAppend(&csv, "R_", id, ",", id, ",",
                      absl::StrFormat("2021-03-%02dT10:00:00Z", 2 + seen % 10), ",1,",
                      (seen % 7) - 3 + (treated ? 2 : 0), "\n");
      ++responded_[arm];
    }
    fieldwork::testing::WriteText(dir + "/endline.csv", csv);
    CliRun imported = Fieldwork({"responses", "import", "small", "endline", dir + "/endline.csv"});
    ASSERT_EQ(imported.exit_code, 0) << imported.output;

    v1::AnalysisPlan plan;
    plan.set_trial_id("small");
    plan.set_factor("arm");
    plan.set_control_arm("control");
    v1::PlannedOutcome& outcome = *plan.add_outcomes();
    outcome.set_name("wellbeing_endline");
    outcome.set_primary(true);
    outcome.mutable_source()->mutable_survey()->set_wave_id("endline");
    outcome.mutable_source()->mutable_survey()->set_score_id("wellbeing");
    // Planned for twice the 80 recruited: the achieved MDES drifts above 1.25 x the planned.
    plan.mutable_power()->set_n(160);
    plan.mutable_power()->set_treated_share(0.5);
    plan.mutable_power()->set_response_rate(0.95);
    plan_ = plan;
    ASSERT_EQ(services_.RegisterAndLock(plan), "");
    v1::AnalyseRequest analyse;
    analyse.set_trial_id("small");
    const grpc::Status s =
        services_.Analysis()->Analyse(services_.Researcher().get(), analyse, &analysis_);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // Registers and locks `plan` and returns its Analyse result over gRPC, to compare with the CLI.
  v1::AnalyseResponse AnalyseOverGrpc(const v1::AnalysisPlan& plan) {
    EXPECT_EQ(services_.RegisterAndLock(plan), "");
    v1::AnalyseRequest request;
    request.set_trial_id(plan.trial_id());
    request.set_plan_id(plan.plan_id());
    v1::AnalyseResponse response;
    const grpc::Status s =
        services_.Analysis()->Analyse(services_.Researcher().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  fieldwork::testing::CliServices services_;
  v1::AnalysisPlan plan_;  // the locked "main" plan
  std::set<std::string> respondents_;
  std::map<std::string, int> responded_;
  std::map<std::string, std::string> arm_of;  // participant → arm
  v1::AnalyseResponse analysis_;
};

TEST_F(AnalyseCliTest, AnalyseStatusAndReportAgreeWithTheServices) {
  ASSERT_NO_FATAL_FAILURE(RunTrial());
  ASSERT_EQ(responded_["control"], 30);
  ASSERT_EQ(responded_["treatment"], 24);
  ASSERT_EQ(analysis_.outcomes_size(), 1);
  const v1::OutcomeResult& outcome = analysis_.outcomes(0);

  // analyse: n, M and SE of every arm as the Analyse response has them.
  CliRun analysed = Fieldwork({"analyse", "small"});
  ASSERT_EQ(analysed.exit_code, 0) << analysed.output;
  ASSERT_EQ(outcome.arms_size(), 2);
  for (const v1::ArmFigures& arm : outcome.arms()) {
    const std::string row =
        absl::StrCat(arm.arm(), R"(\s+)", arm.n(), R"(\s+)",
                     std::regex_replace(cli::FormatFixed(arm.adjusted_mean().estimate(), 2),
                                        std::regex("\\."), "\\."),
                     R"(\s+)",
                     std::regex_replace(cli::FormatFixed(arm.adjusted_mean().std_error(), 2),
                                        std::regex("\\."), "\\."));
    EXPECT_TRUE(std::regex_search(analysed.output, std::regex(row))) << row << "\n"
                                                                     << analysed.output;
    EXPECT_EQ(arm.n(), responded_[arm.arm()]);
  }
  const v1::Effect& effect = outcome.effects(0);
  EXPECT_THAT(analysed.output,
              HasSubstr(absl::StrCat("[", cli::FormatFixed(effect.effect().conf_low(), 2), ", ",
                                     cli::FormatFixed(effect.effect().conf_high(), 2), "]")));
  EXPECT_THAT(analysed.output, HasSubstr("locked, sha256 " + analysis_.plan().locked_sha256()));
  // The effect's SE and df (HC2: n - 2 = 52) beside its estimate.
  const v1::Inference& e = effect.effect();
  EXPECT_EQ(e.df(), 52);
  const std::string effect_row = absl::StrCat(
      R"(treatment\s+24\s+\S+\s+\S+\s+)", Literal(cli::FormatFixed(e.estimate(), 2)), R"(\s+)",
      Literal(cli::FormatFixed(e.std_error(), 2)), R"(\s+52\s+)",
      Literal(absl::StrCat("[", cli::FormatFixed(e.conf_low(), 2), ", ")));
  EXPECT_TRUE(std::regex_search(analysed.output, std::regex(effect_row)))
      << effect_row << "\n" << analysed.output;
  // The attrition table and the ledger.
  EXPECT_TRUE(std::regex_search(analysed.output, std::regex(R"(control\s+40\s+30\s+75\.0%)")))
      << analysed.output;
  EXPECT_TRUE(std::regex_search(analysed.output, std::regex(R"(treatment\s+40\s+24\s+60\.0%)")))
      << analysed.output;
  EXPECT_THAT(analysed.output, HasSubstr("differential attrition -15.0 points"));
  EXPECT_THAT(analysed.output, HasSubstr("MDES ledger"));
  EXPECT_THAT(analysed.output, HasSubstr(cli::FormatFixed(outcome.mdes().planned(), 3)));
  EXPECT_THAT(analysed.output, HasSubstr(cli::FormatFixed(outcome.mdes().achieved(), 3)));

  // status: allocation and response rates; messaging named unavailable, exit 3.
  CliRun status = Fieldwork({"status", "small"});
  std::cout << analysed.output << "\n" << status.output;  // for the test log
  EXPECT_EQ(status.exit_code, 3) << status.output;
  EXPECT_THAT(status.output, HasSubstr("enrolled 80, allocated 80"));
  EXPECT_THAT(status.output, HasSubstr("allocation by arm (arm): control=40 treatment=40"));
  EXPECT_THAT(status.output, HasSubstr("north: control=20 treatment=20"));
  EXPECT_THAT(
      status.output,
      HasSubstr("endline        control 30/40 (75.0%) treatment 24/40 (60.0%); overall 67.5%"));
  EXPECT_THAT(status.output, HasSubstr("messaging: unavailable"));
  EXPECT_THAT(status.output, HasSubstr("withdrawn 0 (0 with their site), leavers 0"));
  EXPECT_THAT(
      status.output,
      HasSubstr("WARNING: wellbeing_endline: response rate 67.5% is below the planned 95.0%"));
  EXPECT_GT(outcome.mdes().achieved(), 1.25 * outcome.mdes().planned());
  EXPECT_THAT(status.output, HasSubstr("WARNING: wellbeing_endline: achieved MDES " +
                                       cli::FormatFixed(outcome.mdes().achieved(), 3)));
  // 15 points, but chi-square p = 0.15 with 80 participants: no attrition warning.
  EXPECT_GT(outcome.attrition().p_value(), 0.05);
  EXPECT_THAT(status.output,
              ::testing::Not(HasSubstr("WARNING: wellbeing_endline: differential attrition")));

  // With analysis down too: both named, the rest still printed.
  CliRun no_analysis = Fieldwork({"--analysis_address=127.0.0.1:1", "status", "small"});
  EXPECT_EQ(no_analysis.exit_code, 3) << no_analysis.output;
  EXPECT_THAT(no_analysis.output, HasSubstr("analysis: unavailable"));
  EXPECT_THAT(no_analysis.output, HasSubstr("messaging: unavailable"));
  EXPECT_THAT(no_analysis.output, HasSubstr("control 30/40 (75.0%) treatment 24/40 (60.0%)"));
  EXPECT_THAT(no_analysis.output, HasSubstr("north: control=20 treatment=20"));

  // report: a page with the tables and figures.
  const std::string html = services_.dir() + "/report.html";
  CliRun reported = Fieldwork({"report", "small", "--html", html});
  ASSERT_EQ(reported.exit_code, 0) << reported.output;
  const std::string page = fieldwork::testing::ReadText(html);
  EXPECT_THAT(page, HasSubstr("<table class=\"outcome-table\""));
  EXPECT_THAT(page, HasSubstr("<table class=\"attrition-table\""));
  EXPECT_THAT(page, HasSubstr("<table class=\"mdes-table\""));
  EXPECT_THAT(page, HasSubstr("<svg class=\"figure figure-means\""));
  EXPECT_THAT(page, HasSubstr("<svg class=\"figure figure-response\""));
  EXPECT_THAT(page, HasSubstr(absl::StrCat("<td>treatment</td><td class=\"num\">",
                                           responded_["treatment"], "</td>")));
  EXPECT_THAT(page, HasSubstr("A small simulated trial"));
  EXPECT_THAT(page, HasSubstr(absl::StrCat(
                        "<td class=\"num\">", cli::FormatFixed(e.estimate(), 2),
                        "</td><td class=\"num\">", cli::FormatFixed(e.std_error(), 2),
                        "</td><td class=\"num\">52</td>")));

  // A second plan without a power section and with randomisation inference: the ledger gives the
  // real response rate and says no MDES was planned; the randomisation-inference p is shown.
  v1::AnalysisPlan extra = plan_;
  extra.set_plan_id("extra");
  extra.clear_power();
  extra.set_randomisation_inference_draws(200);
  const v1::AnalyseResponse extra_analysis = AnalyseOverGrpc(extra);
  ASSERT_EQ(extra_analysis.outcomes_size(), 1);
  const v1::RandomisationInference& ri = extra_analysis.outcomes(0).randomisation_inference();
  ASSERT_EQ(ri.draws(), 200);
  CliRun extra_run = Fieldwork({"analyse", "small", "--plan=extra"});
  ASSERT_EQ(extra_run.exit_code, 0) << extra_run.output;
  const std::string ri_line =
      absl::StrCat("randomisation inference (200 redraws, RANDOMISATION_METHOD_COMPLETE_WITHIN_",
                   "STRATA): p = ", cli::FormatP(ri.p_value()), " (Monte Carlo SE ",
                   cli::FormatFixed(ri.monte_carlo_se(), 3), ")");
  EXPECT_THAT(extra_run.output, HasSubstr(ri_line));
  EXPECT_TRUE(std::regex_search(
      extra_run.output, std::regex(R"(wellbeing_endline\s+none planned\s+-\s+67\.5%\s+-\s+)" +
                                   Literal(cli::FormatFixed(extra_analysis.outcomes(0).mdes().achieved(), 3)))))
      << extra_run.output;
  EXPECT_THAT(extra_run.output, HasSubstr("no MDES was planned: the plan has no power section"));
  const std::string extra_html = services_.dir() + "/extra.html";
  ASSERT_EQ(Fieldwork({"report", "small", "--html", extra_html, "--plan=extra"}).exit_code, 0);
  const std::string extra_page = fieldwork::testing::ReadText(extra_html);
  EXPECT_THAT(extra_page, HasSubstr("<p class=\"randomisation-inference\">Randomisation inference "
                                    "(200 redraws, RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA): "
                                    "p = " + cli::FormatP(ri.p_value())));
  EXPECT_THAT(extra_page, HasSubstr("<td class=\"num\">none planned</td><td class=\"num\">-</td>"
                                    "<td class=\"num\">67.5%</td>"));

  EXPECT_EQ(Fieldwork({"report", "small"}).exit_code, 2);  // no --html
  EXPECT_EQ(Fieldwork({"analyse", "no-such-trial"}).exit_code, 4);
}

constexpr char kWeightedProtocol[] = R"(trial:
  id: weighted
  title: A weighted trial
  sites: [north]
  covariates:
    - {name: age, kind: numeric}
    - {name: w, kind: numeric}
  factors:
    - {name: arm, method: complete, arms: [control, treatment]}
instruments:
  - wb.yaml
waves:
  - {id: endline, instrument: wb, opens: 2021-03-01T00:00:00Z, closes: 2021-04-01T00:00:00Z}
lock_design: true
analysis:
  control_arm: control
  outcomes:
    - {name: wellbeing, primary: true, wave: endline, scale: wellbeing}
  covariates: [age]
  weights: w
lock_plan: true
)";

// A plan with `weights:` applied from the protocol, a roster with the weights and an age
// missing for every seventh participant, and some non-response: `analyse` and the report show
// Hedges' g beside each effect, say that the estimates are weighted and how age was imputed, and
// print the inverse-probability-of-response robustness analysis; every figure is the service's.
// A plan weighted by a column some enrolled participant lacks is refused, naming them, and not
// stored.
// The lines of `output` that start with `start`, in order.
std::vector<std::string> LinesStartingWith(const std::string& output, const std::string& start) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StartsWith(line, start)) lines.emplace_back(line);
  }
  return lines;
}

// status's withdrawals, leavers and response rates come from the analysis service's count
// (SummariseTrial) when it answers, else from every allocation and respondent read by the CLI:
// both must print the same lines.
TEST_F(AnalyseCliTest, StatusCountsPeopleAlikeWhetherAnalysisOrTheCliCountsThem) {
  ASSERT_NO_FATAL_FAILURE(RunTrial());
  // south (the even-numbered 40) withdrawn with its site; in the north, p1 left, p3 and p5 left
  // and withdrew, p7 withdrew giving no reason.
  v1::WithdrawRequest site;
  site.set_trial_id("small");
  site.set_site("south");
  site.set_reason("site closed");
  v1::WithdrawResponse withdrawn;
  grpc::Status s =
      services_.Randomisation()->Withdraw(services_.Researcher().get(), site, &withdrawn);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(withdrawn.withdrawn(), 40);
  v1::WithdrawRequest alone;
  alone.set_trial_id("small");
  alone.set_participant_id("p7");
  s = services_.Randomisation()->Withdraw(services_.Researcher().get(), alone, &withdrawn);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string leavers = services_.dir() + "/leavers.csv";
  fieldwork::testing::WriteText(
      leavers,
      "participant_id,left_on,withdraw_reason\n"
      "p1,2021-03-15,\np3,2021-03-15,moved away\np5,2021-03-16,moved away\n");
  CliRun recorded = Fieldwork({"leavers", "import", "small", leavers});
  ASSERT_EQ(recorded.exit_code, 0) << recorded.output;

  v1::SummariseTrialRequest request;
  request.set_trial_id("small");
  v1::SummariseTrialResponse summary;
  s = services_.Analysis()->SummariseTrial(services_.Researcher().get(), request, &summary);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(summary.withdrawn(), 43);
  EXPECT_EQ(summary.withdrawn_with_site(), 40);
  EXPECT_EQ(summary.leavers(), 3);
  ASSERT_EQ(summary.factors_size(), 1);
  int64_t randomised = 0;
  for (const auto& arm : summary.factors(0).arms()) randomised += arm.randomised();
  EXPECT_EQ(randomised, 37);  // the north's 40 but p3, p5 and p7
  // A missing or unknown trial is refused, naming it.
  for (const auto& [trial, code, says] :
       std::vector<std::tuple<std::string, grpc::StatusCode, std::string>>{
           {"", grpc::StatusCode::INVALID_ARGUMENT, "trial_id: required"},
           {"nosuch", grpc::StatusCode::NOT_FOUND, "nosuch"}}) {
    request.set_trial_id(trial);
    s = services_.Analysis()->SummariseTrial(services_.Researcher().get(), request, &summary);
    EXPECT_EQ(s.error_code(), code) << trial << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(says));
  }

  // Counted by analysis: survey-ingest is not asked for who responded, so its address can be
  // wrong (only the form's funnel then says it is unavailable).
  CliRun counted = Fieldwork({"--survey_ingest_address=127.0.0.1:1", "status", "small"});
  // Counted by the CLI: analysis cannot be reached.
  CliRun by_cli = Fieldwork({"--analysis_address=127.0.0.1:1", "status", "small"});
  std::cout << counted.output << "\n" << by_cli.output;  // for the test log
  EXPECT_THAT(counted.output, HasSubstr("withdrawn 43 (40 with their site), leavers 3"));
  EXPECT_THAT(counted.output, HasSubstr("withdrawn: site closed: 40"));
  EXPECT_THAT(counted.output, HasSubstr("withdrawn: moved away: 2"));
  EXPECT_THAT(counted.output, HasSubstr("withdrawn: (no reason): 1"));
  EXPECT_THAT(by_cli.output, HasSubstr("analysis: unavailable"));
  for (const std::string start : {"  withdrawn ", "    withdrawn: ", "    endline "}) {
    const std::vector<std::string> lines = LinesStartingWith(counted.output, start);
    EXPECT_FALSE(lines.empty()) << start;
    EXPECT_EQ(lines, LinesStartingWith(by_cli.output, start)) << start;
  }
}

TEST_F(AnalyseCliTest, WeightsEffectSizesImputationAndIpwAreShown) {
  const std::string dir = services_.dir();
  fieldwork::testing::WriteText(dir + "/wb.yaml", kInstrument);
  fieldwork::testing::WriteText(dir + "/weighted.yaml", kWeightedProtocol);
  CliRun applied = Fieldwork({"apply", dir + "/weighted.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  std::string roster = "participant_id,site,age,w\n";
  for (int i = 0; i < 60; ++i) {
    absl::StrAppend(&roster, "q", i, ",north,", i % 7 == 3 ? "" : absl::StrCat(25 + i % 20), ",",
                    absl::StrCat(0.5 + 0.4 * (i % 5)), "\n");
  }
  // Two rows the weighted plan could not analyse (lines 62 and 63): refused by enrol, naming the
  // file, line and column; the other 60 are enrolled.
  absl::StrAppend(&roster, "bad0,north,30,0\n", "bad1,north,31,\n");
  const std::string roster_path = dir + "/roster.csv";
  fieldwork::testing::WriteText(roster_path, roster);
  CliRun enrolled = Fieldwork({"enrol", "weighted", roster_path});
  EXPECT_EQ(enrolled.exit_code, 1) << enrolled.output;
  EXPECT_THAT(enrolled.output,
              HasSubstr(roster_path + ":62: w: the analysis plan's weight is 0, not a finite "
                                      "number > 0 (\"0\")"));
  EXPECT_THAT(enrolled.output,
              HasSubstr(roster_path + ":63: w: the analysis plan's weight is missing"));
  ASSERT_THAT(enrolled.output, HasSubstr("enrolled 60, unchanged 0, rejected 2"));
  ASSERT_EQ(Fieldwork({"randomise", "weighted"}).exit_code, 0);
  CliRun exported = Fieldwork({"export", "weighted"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  std::string csv = "ResponseId,ExternalReference,EndDate,Finished,y\n";
  int k = 0;
  for (absl::string_view line :
       absl::StrSplit(exported.output, absl::ByAnyChar("\r\n"), absl::SkipEmpty())) {
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    if (cells.size() < 5 || cells[0] == "participant_id") continue;
    if (++k % 4 == 0) continue;  // a quarter do not respond
    absl::StrAppend(&csv, "R_", cells[0], ",", cells[0], ",2021-03-05T10:00:00Z,1,",
                    (k % 9) - 4 + (cells[4] == "treatment" ? 2 : 0), "\n");
  }
  fieldwork::testing::WriteText(dir + "/endline.csv", csv);
  CliRun imported = Fieldwork({"responses", "import", "weighted", "endline", dir + "/endline.csv"});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;

  v1::AnalyseRequest request;
  request.set_trial_id("weighted");
  v1::AnalyseResponse analysis;
  const grpc::Status s = services_.Analysis()->Analyse(services_.Researcher().get(), request,
                                                       &analysis);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(analysis.plan().plan().weights(), "w");
  ASSERT_EQ(analysis.outcomes_size(), 1);
  const v1::OutcomeResult& outcome = analysis.outcomes(0);
  ASSERT_EQ(outcome.effects_size(), 1);
  ASSERT_TRUE(outcome.effects(0).has_standardised());
  const v1::StandardisedEffect& g = outcome.effects(0).standardised();
  ASSERT_EQ(outcome.imputations_size(), 1);
  ASSERT_TRUE(outcome.has_ipw());
  ASSERT_EQ(outcome.ipw().effects_size(), 1);
  const v1::Inference& ipw = outcome.ipw().effects(0).effect();

  CliRun analysed = Fieldwork({"analyse", "weighted"});
  ASSERT_EQ(analysed.exit_code, 0) << analysed.output;
  std::cout << analysed.output;  // for the test log
  const std::string g_cells = absl::StrCat(
      Literal(cli::FormatP(outcome.effects(0).adjusted_p_value())), R"(\s+)",
      Literal(cli::FormatFixed(g.g(), 2)), R"(\s+)",
      Literal(absl::StrCat("[", cli::FormatFixed(g.conf_low(), 2), ", ",
                           cli::FormatFixed(g.conf_high(), 2), "]")));
  EXPECT_TRUE(std::regex_search(analysed.output, std::regex(g_cells)))
      << g_cells << "\n" << analysed.output;
  EXPECT_THAT(analysed.output, HasSubstr("note: weighted by w (the plan's weights)"));
  EXPECT_THAT(analysed.output, HasSubstr("note: g: Hedges' g, the estimate over the pooled SD"));
  EXPECT_THAT(analysed.output,
              HasSubstr(absl::StrCat("note: covariate age: ", outcome.imputations(0).missing(),
                                     " missing value(s) set to the respondents' mean (",
                                     cli::FormatFixed(outcome.imputations(0).fill_value(), 2),
                                     "), with the missingness indicator age_missing")));
  EXPECT_THAT(analysed.output,
              HasSubstr("robustness, not pre-registered: inverse-probability-of-response weights"));
  EXPECT_THAT(analysed.output,
              HasSubstr(absl::StrCat("treatment vs control: ", cli::FormatFixed(ipw.estimate(), 2),
                                     ", SE ", cli::FormatFixed(ipw.std_error(), 2), ", df ",
                                     cli::FormatDf(ipw.df()))));

  const std::string html = dir + "/weighted.html";
  CliRun reported = Fieldwork({"report", "weighted", "--html", html});
  ASSERT_EQ(reported.exit_code, 0) << reported.output;
  const std::string page = fieldwork::testing::ReadText(html);
  EXPECT_THAT(page, HasSubstr("<th>Hedges&#39; g</th>"));
  EXPECT_THAT(page, HasSubstr(absl::StrCat("<td class=\"num\">", cli::FormatFixed(g.g(), 2),
                                           "</td><td class=\"num\">[",
                                           cli::FormatFixed(g.conf_low(), 2), ", ")));
  EXPECT_THAT(page, HasSubstr("<ul class=\"table-notes\"><li>weighted by w (the plan&#39;s weights)"));
  EXPECT_THAT(page, HasSubstr("<table class=\"ipw-table\""));

  // Weighted by age, which nine enrolled participants lack: refused, naming them; not stored.
  v1::AnalysisPlan by_age = analysis.plan().plan();
  by_age.set_plan_id("by-age");
  by_age.set_weights("age");
  const std::string refused = services_.RegisterAndLock(by_age);
  EXPECT_THAT(refused, HasSubstr("plan.weights: covariate \"age\" cannot weight 9 participant(s)"));
  EXPECT_THAT(refused, HasSubstr("participant \"q3\": age is missing"));
  v1::GetPlanRequest get;
  get.set_trial_id("weighted");
  get.set_plan_id("by-age");
  v1::GetPlanResponse got;
  EXPECT_EQ(services_.Analysis()->GetPlan(services_.Researcher().get(), get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// A plain HTTP GET on loopback; returns the status code (0 when the exchange failed).
int HttpGetStatus(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int code = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buffer[64] = {};
      const ssize_t n = recv(fd, buffer, sizeof(buffer) - 1, MSG_WAITALL);
      if (n > 12) code = std::atoi(buffer + 9);  // "HTTP/1.1 302 ..."
    }
  }
  close(fd);
  return code;
}

class StatusWithMessagingTest : public AnalyseCliTest {
 protected:
  StatusWithMessagingTest() : AnalyseCliTest(/*with_messaging=*/true) {}
};

// status with every service up: sends, opens and clicks by arm from the messaging service's
// events, after a campaign to both arms and ten tracked links followed by treated participants.
TEST_F(StatusWithMessagingTest, ShowsSendsAndClicksByArm) {
  ASSERT_NO_FATAL_FAILURE(RunTrial());
  auto messaging = services_.Messaging();
  v1::UpsertContactsRequest contacts;
  contacts.set_trial_id("small");
  for (const auto& [id, arm] : arm_of) {
    v1::Contact& contact = *contacts.add_contacts();
    contact.set_participant_id(id);
    contact.set_email(absl::StrCat(id, "@example.org"));
    contact.set_first_name("Sam");
  }
  v1::UpsertContactsResponse upserted;
  grpc::Status s = messaging->UpsertContacts(services_.Researcher().get(), contacts, &upserted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::UpdateTemplateRequest nudge;
  nudge.set_trial_id("small");
  nudge.set_template_id("nudge");
  nudge.mutable_content()->set_subject("Hello {{first_name}}");
  nudge.mutable_content()->set_text_body(
      "Read {{tracked_link:https://example.org/wellbeing}} today");
  v1::UpdateTemplateResponse saved;
  s = messaging->UpdateTemplate(services_.Researcher().get(), nudge, &saved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::CreateCampaignRequest create;
  create.set_trial_id("small");
  v1::CampaignDefinition& campaign = *create.mutable_campaign();
  campaign.set_campaign_id("nudge");
  campaign.set_kind(v1::CAMPAIGN_KIND_INTERVENTION);
  campaign.add_steps()->set_template_id("nudge");
  campaign.mutable_audience()->set_factor("arm");
  campaign.mutable_audience()->add_arms("control");
  campaign.mutable_audience()->add_arms("treatment");
  campaign.set_channel(v1::MESSAGE_CHANNEL_EMAIL);
  for (int day = 1; day <= 7; ++day) campaign.mutable_window()->add_days(day);
  campaign.mutable_window()->set_end_hour(24);
  campaign.mutable_window()->set_zone(v1::ZONE_SOURCE_TRIAL);
  campaign.set_trial_time_zone("UTC");
  campaign.mutable_start()->set_seconds(absl::ToUnixSeconds(absl::Now() - absl::Minutes(1)));
  v1::CreateCampaignResponse created;
  s = messaging->CreateCampaign(services_.Researcher().get(), create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::StartCampaignRequest start;
  start.set_trial_id("small");
  start.set_campaign_id("nudge");
  v1::StartCampaignResponse started;
  s = messaging->StartCampaign(services_.Researcher().get(), start, &started);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(started.planned(), 80);

  // The worker delivers to the file channel; wait (at most two minutes) for all 80.
  std::vector<std::string> messages;
  for (int attempt = 0; attempt < 600 && messages.size() < 80; ++attempt) {
    if (attempt > 0) absl::SleepFor(absl::Milliseconds(200));
    messages = absl::StrSplit(fieldwork::testing::ReadText(services_.messages_path()), '\n',
                              absl::SkipEmpty());
  }
  ASSERT_EQ(messages.size(), 80u);
  int clicks = 0;
  for (const std::string& message : messages) {
    if (clicks == 10) break;
    const size_t at_email = message.find("@example.org");
    const size_t start_id = message.rfind('"', at_email) + 1;
    ASSERT_NE(at_email, std::string::npos) << message;
    const std::string id = message.substr(start_id, at_email - start_id);
    // Treated respondents, so that the take-up effect below has take-up among respondents.
    if (arm_of[id] != "treatment" || !respondents_.contains(id)) continue;
    const size_t at = message.find("/c/");
    ASSERT_NE(at, std::string::npos) << "no tracked link in " << message;
    const size_t end = message.find_first_of(" \\\"", at);
    ASSERT_EQ(HttpGetStatus(services_.http_port(), message.substr(at, end - at)), 302) << message;
    ++clicks;
  }
  ASSERT_EQ(clicks, 10);

  CliRun status = Fieldwork({"status", "small"});
  std::cout << status.output;  // for the test log
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("campaign nudge: sends / opened / clicked by arm"));
  EXPECT_TRUE(std::regex_search(
      status.output,
      std::regex(
          R"(control\s+sent\s+40 to\s+40, opened\s+\d+ \([0-9.]+%\), clicked\s+0 \(0\.0%\))")))
      << status.output;
  EXPECT_TRUE(std::regex_search(
      status.output,
      std::regex(
          R"(treatment\s+sent\s+40 to\s+40, opened\s+\d+ \([0-9.]+%\), clicked\s+10 \(25\.0%\))")))
      << status.output;
  EXPECT_THAT(status.output, ::testing::Not(HasSubstr("unavailable")));

  // The take-up effect of a plan naming the campaign, in analyse and on the page as the service
  // computed it.
  v1::AnalysisPlan takeup = plan_;
  takeup.set_plan_id("takeup");
  takeup.set_takeup_campaign("nudge");
  const v1::AnalyseResponse analysed = AnalyseOverGrpc(takeup);
  ASSERT_EQ(analysed.outcomes_size(), 1);
  const v1::Cace& cace = analysed.outcomes(0).cace();
  ASSERT_TRUE(cace.has_effect()) << analysed.DebugString();
  EXPECT_EQ(cace.takeup_rate_by_arm().at("treatment"), 0.25);
  const v1::Inference& e = cace.effect();
  CliRun text = Fieldwork({"analyse", "small", "--plan=takeup"});
  ASSERT_EQ(text.exit_code, 0) << text.output;
  std::cout << text.output;  // for the test log
  EXPECT_THAT(text.output,
              HasSubstr(absl::StrCat(
                  "take-up effect (CACE, 2SLS; campaign nudge): ", cli::FormatFixed(e.estimate(), 2),
                  ", SE ", cli::FormatFixed(e.std_error(), 2), ", df ", cli::FormatDf(e.df()),
                  ", 95% CI [", cli::FormatFixed(e.conf_low(), 2), ", ",
                  cli::FormatFixed(e.conf_high(), 2), "], p = ", cli::FormatP(e.p_value()),
                  "; first-stage F ", cli::FormatFixed(cace.first_stage_f(), 2),
                  "; take-up control 0.0%, treatment 25.0%")));
  const std::string html = services_.dir() + "/takeup.html";
  ASSERT_EQ(Fieldwork({"report", "small", "--html", html, "--plan=takeup"}).exit_code, 0);
  const std::string page = fieldwork::testing::ReadText(html);
  EXPECT_THAT(page,
              HasSubstr(absl::StrCat("<td class=\"num\">", cli::FormatFixed(e.estimate(), 2),
                                     "</td><td class=\"num\">", cli::FormatFixed(e.std_error(), 2),
                                     "</td><td class=\"num\">", cli::FormatDf(e.df()), "</td>")));
  // The CONSORT flow's "received the intervention" boxes carry the same take-up, arm by arm.
  EXPECT_THAT(page, HasSubstr(">Received the intervention</text><text class=\"consort-count\" "));
  EXPECT_THAT(page, HasSubstr(">took it up: 0.0%</text>"));
  EXPECT_THAT(page, HasSubstr(">took it up: 25.0%</text>"));
  EXPECT_THAT(page, HasSubstr(">(opened or clicked nudge)</text>"));
}

}  // namespace
}  // namespace fieldwork

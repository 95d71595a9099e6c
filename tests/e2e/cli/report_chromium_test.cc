// The HTML report as a reader sees it: the CV experiment (the design of
// examples/diversity-online.yaml) run
// through the real services and the fieldwork binary — applied, enrolled, randomised, given
// responses with ten progression decisions each — then `fieldwork report --html` rendered by
// headless Chromium (Debian's chromium, no network). The rendered DOM must hold every table and
// every SVG figure, and the screenshot is kept as a test artefact in
// $FIELDWORK_BINARY_DIR/test-artefacts/report.png.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/integration/cli/cli_services.h"

namespace fieldwork {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::testing::CliRun;
using ::fieldwork::testing::ReadText;
using ::fieldwork::testing::WriteText;
using ::testing::HasSubstr;

constexpr int kParticipants = 60;

// The design of examples/diversity-online.yaml (without its messaging sections: messaging is
// not started here).
constexpr char kProtocol[] = R"(trial:
  id: diversity-online
  title: Increasing diversity - two online experiments to reduce bias in hiring
  sites: [online]
  factors:
    - {name: experiment_order, method: random_order, order_items: [exp1, exp2]}
    - {name: exp1_evaluation, method: complete, arms: [joint, separate]}
    - {name: exp2_name, method: complete, arms: [white_british, minority_ethnic, name_removed]}
    - name: cv_names
      method: latin_square
      order_items: [name01, name02, name03, name04, name05, name06, name07, name08, name09, name10]
)";
constexpr char kWaves[] = R"(waves:
  - {id: experiment, instrument: cv_assessment, opens: 2021-03-01T00:00:00Z, closes: 2021-04-01T00:00:00Z}
lock_design: true
)";
constexpr char kChromium[] = "/usr/bin/chromium";

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A deterministic stream of uniform numbers in [0, 1).
class Lcg {
 public:
  double Next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) / 9007199254740992.0;
  }

 private:
  uint64_t state_ = 20210301;
};

bool Minority(const std::string& name) { return name >= "name06"; }

CliRun Chromium(const std::vector<std::string>& mode, const std::string& html,
                const std::string& dir) {
  std::vector<std::string> argv = {kChromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-dev-shm-usage",
                                   "--no-first-run",
                                   "--disable-extensions",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--user-data-dir=" + dir + "/chromium-profile",
                                   "--window-size=1100,4200"};
  argv.insert(argv.end(), mode.begin(), mode.end());
  argv.push_back("file://" + html);
  static int runs = 0;
  fieldwork::testing::ChildProcess chromium(argv, {},
                                            absl::StrCat(dir, "/chromium-", runs++, ".log"));
  const std::optional<int> code = chromium.WaitForExit(absl::Seconds(180));
  return {code.value_or(-1), chromium.ReadLog()};
}

TEST(ReportChromiumTest, TheRenderedReportHasEveryTableAndFigure) {
  ASSERT_EQ(access(kChromium, X_OK), 0) << kChromium << " is missing: run scripts/setup.sh";
  const char* binary_dir = std::getenv("FIELDWORK_BINARY_DIR");
  ASSERT_NE(binary_dir, nullptr) << "run through ctest";
  fieldwork::testing::CliServices services;
  const std::string dir = services.dir();

  WriteText(dir + "/diversity-online.yaml",
            absl::StrCat(kProtocol, "instruments:\n  - ",
                         fieldwork::testing::SourcePath("examples/instruments/cv_assessment.yaml"),
                         "\n", kWaves));
  CliRun applied = services.Fieldwork({"apply", dir + "/diversity-online.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  std::string roster = "participant_id,site\n";
  for (int i = 0; i < kParticipants; ++i)
    absl::StrAppend(&roster, absl::StrFormat("d%03d", i), ",online\n");
  WriteText(dir + "/roster.csv", roster);
  CliRun enrolled = services.Fieldwork({"enrol", "diversity-online", dir + "/roster.csv"});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  CliRun randomised = services.Fieldwork({"randomise", "diversity-online"});
  ASSERT_EQ(randomised.exit_code, 0) << randomised.output;

  // Responses: 50 of 60 over the experiment's month; in the joint condition minority-ethnic
  // names are progressed more often, as in the report's Figure 14.
  v1::ListAllocationsRequest list;
  list.set_trial_id("diversity-online");
  auto context = fieldwork::testing::CliServices::Researcher();
  auto reader = services.Randomisation()->ListAllocations(context.get(), list);
  v1::ListAllocationsResponse item;
  Lcg random;
  std::string csv =
      "ResponseId,ExternalReference,EndDate,Finished,cv_caseload,cv_team,cv_supervision";
  for (int k = 1; k <= 10; ++k) absl::StrAppend(&csv, absl::StrFormat(",progress_cv%02d", k));
  csv += "\n";
  int rows = 0;
  while (reader->Read(&item)) {
    const v1::Allocation& a = item.allocation();
    if (rows >= 50) continue;
    std::map<std::string, const v1::Assignment*> by_factor;
    for (const v1::Assignment& assignment : a.assignments())
      by_factor[assignment.factor()] = &assignment;
    ASSERT_TRUE(by_factor.count("exp1_evaluation") && by_factor.count("cv_names"))
        << a.DebugString();
    const bool joint = by_factor["exp1_evaluation"]->arm() == "joint";
    absl::StrAppend(&csv, "R_", a.participant_id(), ",", a.participant_id(), ",",
                    absl::StrFormat("2021-03-%02dT12:00:00Z", 1 + rows % 20), ",1");
    for (int criterion = 0; criterion < 3; ++criterion)
      absl::StrAppend(&csv, ",", 3 + static_cast<int>(random.Next() * 5));
    const v1::Assignment& order = *by_factor["cv_names"];
    ASSERT_EQ(order.order_size(), 10);
    for (int k = 0; k < 10; ++k) {
      const double p = joint ? (Minority(order.order(k)) ? 0.85 : 0.5) : 0.7;
      absl::StrAppend(&csv, ",", random.Next() < p ? "1" : "0");
    }
    csv += "\n";
    ++rows;
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(rows, 50);
  WriteText(dir + "/experiment.csv", csv);
  CliRun imported = services.Fieldwork(
      {"responses", "import", "diversity-online", "experiment", dir + "/experiment.csv"});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;

  v1::AnalysisPlan plan;
  plan.set_trial_id("diversity-online");
  plan.set_factor("exp2_name");
  plan.set_control_arm("name_removed");
  for (const char* score : {"cv_evaluation_score", "candidates_progressed"}) {
    v1::PlannedOutcome& outcome = *plan.add_outcomes();
    outcome.set_name(score);
    outcome.set_primary(std::string(score) == "cv_evaluation_score");
    outcome.mutable_source()->mutable_survey()->set_wave_id("experiment");
    outcome.mutable_source()->mutable_survey()->set_score_id(score);
  }
  plan.mutable_power()->set_n(kParticipants);
  plan.mutable_power()->set_treated_share(0.5);
  plan.mutable_power()->set_response_rate(0.9);
  ASSERT_EQ(services.RegisterAndLock(plan), "");

  const std::string html = dir + "/report.html";
  std::string groups;
  for (int k = 1; k <= 10; ++k) {
    absl::StrAppend(&groups, k > 1 ? "," : "", absl::StrFormat("name%02d=", k),
                    k > 5 ? "minority_ethnic" : "white_british");
  }
  CliRun reported = services.Fieldwork(
      {"report", "diversity-online", "--html", html, "--candidate_groups=" + groups});
  ASSERT_EQ(reported.exit_code, 0) << reported.output;
  EXPECT_THAT(reported.output, HasSubstr("2 outcome(s)"));

  // The DOM as Chromium parsed it.
  CliRun dom = Chromium({"--dump-dom"}, html, dir);
  ASSERT_EQ(dom.exit_code, 0) << dom.output;
  EXPECT_EQ(Count(dom.output, "<table class=\"outcome-table\""), 2) << dom.output;
  EXPECT_EQ(Count(dom.output, "<table class=\"attrition-table\""), 2);
  EXPECT_EQ(Count(dom.output, "<table class=\"mdes-table\""), 1);
  EXPECT_EQ(Count(dom.output, "<table class=\"progression-table\""), 1);
  EXPECT_EQ(Count(dom.output, "<svg class=\"figure figure-means\""), 2);
  EXPECT_EQ(Count(dom.output, "<svg class=\"figure figure-response\""), 1);
  EXPECT_EQ(Count(dom.output, "<svg class=\"figure figure-progression\""), 1);
  // Means: 3 arms × 2 outcomes; progression: 2 conditions × 2 groups.
  EXPECT_EQ(Count(dom.output, "<rect class=\"bar\""), 6 + 4);
  EXPECT_EQ(Count(dom.output, "<path class=\"series\""), 3);  // one line per exp2_name arm
  EXPECT_THAT(dom.output, HasSubstr("<td>joint</td><td>minority_ethnic</td>"));
  // The CONSORT flow of the plan's factor from the real services: enrolled, and per arm of
  // exp2_name allocated, received (no take-up campaign: not measured), the one wave, analysed.
  EXPECT_EQ(Count(dom.output, "<svg class=\"figure figure-consort\""), 1);
  EXPECT_EQ(Count(dom.output, "<g class=\"consort-box\""), 1 + 3 * 4);
  EXPECT_EQ(Count(dom.output, ">Enrolled</text>"), 1);
  EXPECT_EQ(Count(dom.output, ">n: 60</text>"), 1);  // enrolled
  EXPECT_EQ(Count(dom.output, ">n: 20</text>"), 3);  // allocated, complete randomisation
  int responded = 0;  // the 50 who answered, over the arms' follow-up boxes
  for (size_t at = dom.output.find(">responded: "); at != std::string::npos;
       at = dom.output.find(">responded: ", at + 1)) {
    responded += std::atoi(dom.output.c_str() + at + std::string(">responded: ").size());
  }
  EXPECT_EQ(responded, 50);
  EXPECT_EQ(Count(dom.output, ">not measured</text>"), 3);
  EXPECT_EQ(Count(dom.output, ">Lost to follow-up, experiment: "), 3);
  // The forest plot: each outcome's two arms against name_removed.
  EXPECT_EQ(Count(dom.output, "<svg class=\"figure figure-forest\""), 1);
  EXPECT_EQ(Count(dom.output, "<g class=\"forest-row\">"), 2 * 2);
  EXPECT_EQ(Count(dom.output, "figure-attenuation"), 0);  // the plan has no time bins
  EXPECT_THAT(dom.output,
              HasSubstr("Increasing diversity - two online experiments to reduce bias in hiring"));

  // The screenshot, kept for a reader.
  const std::string artefacts = std::string(binary_dir) + "/test-artefacts";
  std::filesystem::create_directories(artefacts);
  const std::string png = artefacts + "/report.png";
  std::filesystem::remove(png);
  CliRun shot = Chromium({"--screenshot=" + png}, html, dir);
  ASSERT_EQ(shot.exit_code, 0) << shot.output;
  const std::string image = ReadText(png);
  ASSERT_GT(image.size(), 20000u) << "screenshot too small to hold the report";
  EXPECT_EQ(image.substr(1, 3), "PNG");
  std::filesystem::copy_file(html, artefacts + "/report.html",
                             std::filesystem::copy_options::overwrite_existing);
}

}  // namespace
}  // namespace fieldwork

// An online experiment's personal pages: the diversity study's instrument as shipped, laid out
// for participants of each condition, and the definitions and allocations that must be refused.
#include "services/survey_ingest/domain/personal_pages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "services/survey_ingest/domain/instrument_yaml.h"
#include "tests/unit/survey_ingest/test_paths.h"

namespace fieldwork::survey_ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Instrument CvAssessment() {
  absl::StatusOr<Instrument> instrument = ParseInstrumentYaml(testing::ReadFileOrFail(
      testing::SourceDir() / "examples" / "instruments" / "cv_assessment.yaml"));
  EXPECT_TRUE(instrument.ok()) << instrument.status();
  return instrument.ok() ? *instrument : Instrument{};
}

// A participant of the diversity study: the latin-square row is names 03..10, 01, 02.
ParticipantAllocation Participant(std::vector<std::string> experiment_order, std::string evaluation,
                                  std::string name_arm) {
  ParticipantAllocation allocation;
  allocation.orders["experiment_order"] = std::move(experiment_order);
  allocation.orders["cv_names"] = {"name03", "name04", "name05", "name06", "name07",
                                   "name08", "name09", "name10", "name01", "name02"};
  allocation.arms["exp1_evaluation"] = std::move(evaluation);
  allocation.arms["exp2_name"] = std::move(name_arm);
  return allocation;
}

std::vector<std::string> Titles(const PersonalPages& personal) {
  std::vector<std::string> titles;
  for (const Page& page : personal.pages) titles.push_back(page.title);
  return titles;
}

TEST(PersonalPagesTest, JointEvaluationShowsPairsAfterTheBlindingExperimentWhenOrderedSo) {
  const Instrument instrument = CvAssessment();
  ASSERT_TRUE(instrument.Personalised());
  absl::StatusOr<PersonalPages> personal =
      PersonalisePages(instrument, Participant({"exp2", "exp1"}, "joint", "minority_ethnic"));
  ASSERT_TRUE(personal.ok()) << personal.status();
  // exp2 first (one page), then exp1's ten decisions two to a page.
  ASSERT_EQ(personal->pages.size(), 6u);
  EXPECT_EQ(personal->pages[0].title, "Assessing one application");
  EXPECT_THAT(personal->pages[0].text, HasSubstr("Application from Adebayo Okonkwo."));
  EXPECT_THAT(personal->pages[0].items, ElementsAre("cv_caseload", "cv_team", "cv_supervision"));
  EXPECT_THAT(personal->pages[1].items, ElementsAre("progress_cv01", "progress_cv02"));
  EXPECT_THAT(personal->pages[5].items, ElementsAre("progress_cv09", "progress_cv10"));
  EXPECT_THAT(personal->pages[1].text, HasSubstr("in pairs, side by side"));
  // CV 1 carries the first name of the participant's row, CV 9 the ninth.
  EXPECT_THAT(personal->pages[1].item_context.at("progress_cv01"),
              HasSubstr("Candidate: James Turner"));
  EXPECT_THAT(personal->pages[1].item_context.at("progress_cv01"),
              HasSubstr("practice educator; MA Social Work (Sussex)"));
  EXPECT_THAT(personal->pages[5].item_context.at("progress_cv09"),
              HasSubstr("Candidate: Oliver Bennett"));
  ASSERT_EQ(personal->decisions.size(), 10u);
  const ShownDecision& fourth = personal->decisions[3];
  EXPECT_EQ(fourth.block, "cv_progress");
  EXPECT_EQ(fourth.index, 4);
  EXPECT_EQ(fourth.item, "progress_cv04");
  EXPECT_EQ(fourth.stimulus, "name06");
  EXPECT_EQ(fourth.stimulus_text, "Candidate: Kwame Mensah");
  EXPECT_EQ(fourth.attributes.at("ethnicity"), "minority_ethnic");
  EXPECT_EQ(personal->decisions[0].attributes.at("ethnicity"), "white_british");
}

TEST(PersonalPagesTest, SeparateEvaluationShowsOneCvPerPageBeforeTheBlindingExperiment) {
  absl::StatusOr<PersonalPages> personal = PersonalisePages(
      CvAssessment(), Participant({"exp1", "exp2"}, "separate", "name_removed"));
  ASSERT_TRUE(personal.ok()) << personal.status();
  ASSERT_EQ(personal->pages.size(), 11u);
  for (size_t i = 0; i < 10; ++i) {
    ASSERT_EQ(personal->pages[i].items.size(), 1u) << "page " << i + 1;
    EXPECT_THAT(personal->pages[i].text, HasSubstr("one at a time"));
  }
  EXPECT_EQ(personal->pages[10].title, "Assessing one application");
  EXPECT_THAT(personal->pages[10].text, HasSubstr("name has been removed"));
  EXPECT_THAT(Titles(*personal), ::testing::Contains("Shortlisting ten applications").Times(10));
}

TEST(PersonalPagesTest, AnAllocationThatDoesNotFitIsRefusedNamingWhatIsMissing) {
  const Instrument instrument = CvAssessment();
  struct Case {
    const char* what;
    ParticipantAllocation allocation;
    const char* expected;
  };
  ParticipantAllocation no_order = Participant({"exp1", "exp2"}, "joint", "white_british");
  no_order.orders.erase("experiment_order");
  ParticipantAllocation unknown_block = Participant({"exp1", "exp3"}, "joint", "white_british");
  ParticipantAllocation unknown_arm = Participant({"exp1", "exp2"}, "together", "white_british");
  ParticipantAllocation short_row = Participant({"exp1", "exp2"}, "joint", "white_british");
  short_row.orders["cv_names"].pop_back();
  ParticipantAllocation odd_name = Participant({"exp1", "exp2"}, "joint", "white_british");
  odd_name.orders["cv_names"][0] = "name99";
  const std::vector<Case> cases = {
      {"no block order", no_order, "no order of factor 'experiment_order'"},
      {"an unknown block", unknown_block, "orders [exp1, exp3], the pages' blocks are [exp1, exp2]"},
      {"an arm without text", unknown_arm, "no text for arm 'together' of factor 'exp1_evaluation'"},
      {"a short row", short_row, "orders 9 stimuli for the 10 decisions of 'cv_progress'"},
      {"an unknown stimulus", odd_name, "gives 'name99', not a stimulus of 'cv_progress'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<PersonalPages> personal = PersonalisePages(instrument, c.allocation);
    EXPECT_EQ(personal.status().code(), absl::StatusCode::kFailedPrecondition) << c.what;
    EXPECT_THAT(personal.status().message(), HasSubstr(c.expected)) << c.what;
  }
}

TEST(PersonalPagesTest, AnInstrumentWithoutExperimentIsNotPersonalised) {
  absl::StatusOr<Instrument> plain = ParseInstrumentYaml(R"(
id: plain
version: 1
items:
  - {id: q1, label: One, type: likert, min: 1, max: 5}
)");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->Personalised());
  absl::StatusOr<PersonalPages> personal = PersonalisePages(*plain, {});
  ASSERT_TRUE(personal.ok()) << personal.status();
  EXPECT_TRUE(personal->decisions.empty());
}

// A broken experiment definition: the per_page line is put in (or left out) where %s stands.
constexpr char kBrokenExperiment[] = R"(
id: broken
version: 1
pages:
  - {title: A, block: one, items: [q1]}
  - {title: B, block: two, decisions: d, text: Hello, text_by_arm: {factor: f, texts: {x: X}}}
  - {title: C, block: one, items: [q2]}
decisions:
  - id: d
    items: [q3, q4]
    cases: [only one]
    stimuli_factor: s
    stimuli: [{id: a, text: A}, {id: a, text: B}, {id: c, text: C}]
%s
items:
  - {id: q1, label: One, type: likert, min: 1, max: 5}
  - {id: q2, label: Two, type: likert, min: 1, max: 5}
  - {id: q3, label: Three, type: likert, min: 1, max: 5}
  - {id: q4, label: Four, type: likert, min: 1, max: 5}
)";

// Each problem is named with its place and field.
TEST(PersonalPagesTest, ABrokenExperimentDefinitionIsRefusedWithEveryProblem) {
  absl::StatusOr<Instrument> broken = ParseInstrumentYaml(
      absl::StrFormat(kBrokenExperiment, "    per_page: {factor: f, counts: {x: 0}}"));
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(),
              HasSubstr("decisions 'd' per_page, field 'counts': arm 'x': expected a whole number "
                        "from 1 to 100, got '0'"));
  // A parse error stops there (validation follows a clean parse); without it, the rest.
  absl::StatusOr<Instrument> rest = ParseInstrumentYaml(absl::StrFormat(kBrokenExperiment, ""));
  ASSERT_FALSE(rest.ok());
  const std::string all(rest.status().message());
  EXPECT_THAT(all, HasSubstr("decisions 'd', field 'cases': has 1 texts for 2 decisions"));
  EXPECT_THAT(all, HasSubstr("field 'stimuli': has 3 stimuli for 2 decisions"));
  EXPECT_THAT(all, HasSubstr("stimulus 'a' is declared twice"));
  EXPECT_THAT(all, HasSubstr("pages[1], field 'text_by_arm': a page has `text` or `text_by_arm`, not both"));
  EXPECT_THAT(all, HasSubstr("pages[2], field 'block': block 'one' is split"));
  EXPECT_THAT(all, HasSubstr("field 'blocks_ordered_by': pages have blocks"));
}

// A loop-and-merge mapping that cannot name each loop's columns, or names an attribute no
// stimulus has, is refused.
TEST(PersonalPagesTest, ABrokenQualtricsLoopIsRefusedNamingTheColumn) {
  absl::StatusOr<Instrument> broken = ParseInstrumentYaml(absl::StrFormat(
      kBrokenExperiment,
      "    qualtrics_loop: {question: Q9, stimulus_column: name, attribute_columns: {group: "
      "\"g_{i}\"}}"));
  ASSERT_FALSE(broken.ok());
  const std::string all(broken.status().message());
  EXPECT_THAT(all, HasSubstr("decisions 'd', field 'qualtrics_loop': column 'name' needs {i}, the "
                             "loop number"));
  EXPECT_THAT(all, HasSubstr("decisions 'd', field 'qualtrics_loop': attribute_columns: no "
                             "stimulus declares attribute 'group'"));
}

}  // namespace
}  // namespace fieldwork::survey_ingest

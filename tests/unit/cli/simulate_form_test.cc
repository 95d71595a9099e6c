// The simulator's side of the hosted form (fieldwork simulate responses --via_links): reading
// the pages the form's real renderer writes, answering them with the response model's answers
// (which must pass the form's own page validation), encoding a post, finding each person's
// survey link and recipient in delivered mails, and choosing how each person uses the link.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/cli/simulate/allocations.h"
#include "services/cli/simulate/form_page.h"
#include "services/cli/simulate/link_visits.h"
#include "services/cli/simulate/mail_links.h"
#include "services/cli/simulate/responses_sim.h"
#include "services/survey_ingest/domain/csv_reader.h"
#include "services/survey_ingest/domain/instrument_yaml.h"
#include "services/survey_ingest/form/form_renderer.h"
#include "services/survey_ingest/form/page_validation.h"

namespace fieldwork::cli::simulate {
namespace {

using survey_ingest::Scorer;
using ::testing::ElementsAre;
using ::testing::Pair;

constexpr char kInstrument[] = R"yaml(
id: job
version: 1
title: Your "job" & you
items:
  - {id: sat, label: Satisfied, type: likert, min: 0, max: 10, required: true, min_label: Not at all, max_label: Completely}
  - {id: freq, label: How often, type: likert, min: 1, max: 3, labels: [Never, Sometimes, Always], required: true}
  - {id: hours, label: Hours, type: numeric, min: 0, max: 80, integer: true, required: true}
  - id: team
    label: Team
    type: single_choice
    required: true
    options:
      - {code: "1", label: Assessment}
      - {code: "2", label: Long-term}
  - {id: note, label: Anything else, type: free_text, max_length: 50, required: true}
scales:
  - {id: wellbeing, items: [sat, freq]}
pages:
  - {title: Feelings, items: [sat, freq]}
  - {title: Work, items: [hours, team]}
  - {title: Last, items: [note]}
)yaml";

Scorer JobScorer() {
  absl::StatusOr<survey_ingest::Instrument> instrument =
      survey_ingest::ParseInstrumentYaml(kInstrument);
  EXPECT_TRUE(instrument.ok()) << instrument.status();
  absl::StatusOr<Scorer> scorer = Scorer::Create(*std::move(instrument));
  EXPECT_TRUE(scorer.ok()) << scorer.status();
  return *std::move(scorer);
}

std::string Page(const Scorer& scorer, size_t index) {
  survey_ingest::form::PageView view;
  view.instrument = &scorer.instrument();
  view.pages = scorer.instrument().FormPages();
  view.page_index = index;
  view.csrf_token = "c&s\"rf";
  return survey_ingest::form::RenderPage(view);
}

TEST(SimulateFormTest, ReadsTheRenderersPagesAndNotices) {
  const Scorer scorer = JobScorer();
  const FormPage first = ParseFormPage(Page(scorer, 0));
  EXPECT_EQ(first.heading, "Your \"job\" & you");
  EXPECT_THAT(first.hidden, ElementsAre(Pair("csrf", "c&s\"rf"), Pair("form_page", "1")));
  EXPECT_THAT(first.items, ElementsAre("sat", "freq"));  // radio groups once each
  EXPECT_EQ(first.page, 1);
  EXPECT_EQ(first.pages, 3);
  EXPECT_TRUE(first.has_form());
  EXPECT_FALSE(first.last());
  const FormPage second = ParseFormPage(Page(scorer, 1));
  EXPECT_THAT(second.items, ElementsAre("hours", "team"));
  EXPECT_FALSE(second.last());
  const FormPage third = ParseFormPage(Page(scorer, 2));
  EXPECT_THAT(third.items, ElementsAre("note"));
  EXPECT_THAT(third.hidden, ElementsAre(Pair("csrf", "c&s\"rf"), Pair("form_page", "3")));
  EXPECT_TRUE(third.last());

  const FormPage thanks = ParseFormPage(survey_ingest::form::RenderNotice(
      {"en", "Your job", "Thank you", "Your answers have been recorded."}));
  EXPECT_FALSE(thanks.has_form());
  EXPECT_EQ(thanks.heading, "Thank you");
  EXPECT_EQ(thanks.page, 0);
}

TEST(SimulateFormTest, EncodesAPostAsABrowserDoes) {
  EXPECT_EQ(
      EncodeForm({{"csrf", "a+b/c="}, {ItemField("note"), "Fine & well, £5"}, {"form_page", "3"}}),
      "csrf=a%2Bb%2Fc%3D&q_note=Fine+%26+well%2C+%C2%A35&form_page=3");
  EXPECT_EQ(EncodeForm({}), "");
}

// Every answer the response model gives — respondents' and the would-be answers of those who
// leave part-way — passes the form's own page validation, page by page.
TEST(SimulateFormTest, TheModelsAnswersPassTheFormsValidationOnEveryPage) {
  const Scorer scorer = JobScorer();
  std::string csv = "participant_id,site,cohort,cluster,messages,withdrawn,left_on\n";
  for (int i = 0; i < 400; ++i) {
    absl::StrAppend(&csv, absl::StrFormat("p%04d", i), ",la1,,,", i % 2 ? "control" : "treatment",
                    ",", i % 50 == 0 ? "true" : "false", ",\n");
  }
  absl::StatusOr<std::vector<SimAllocation>> allocations = ReadAllocations(csv, "allocations.csv");
  ASSERT_TRUE(allocations.ok()) << allocations.status();
  ResponseSimOptions options;
  options.wave_id = "endline";
  options.effect = 0.4;
  options.response_rate = 0.6;
  options.factor = "messages";
  options.arms = {"treatment", "control"};
  absl::StatusOr<SimulatedResponses> sim = SimulateResponses(scorer, *allocations, options);
  ASSERT_TRUE(sim.ok()) << sim.status();

  EXPECT_EQ(static_cast<int64_t>(sim->answered.size()), sim->rows);
  std::set<std::string> everyone;
  for (const auto* group : {&sim->answered, &sim->unanswered}) {
    for (const ParticipantAnswers& p : *group) {
      EXPECT_TRUE(everyone.insert(p.participant_id).second) << p.participant_id << " twice";
      for (const survey_ingest::Page& page : scorer.instrument().FormPages()) {
        survey_ingest::form::Answers answers(p.answers.begin(), p.answers.end());
        const auto errors = survey_ingest::form::ValidatePage(
            scorer, page, survey_ingest::form::PageAnswers(page, answers));
        for (const auto& [item, message] : errors)
          ADD_FAILURE() << p.participant_id << " " << item << ": " << message;
      }
    }
  }
  EXPECT_EQ(everyone.size(), 400u - 8u);  // all but the 8 withdrawn
  EXPECT_GT(sim->unanswered.size(), 100u);
}

TEST(SimulateFormTest, FindsSurveyLinksAndTheRecipientInMailsAndTexts) {
  const std::string mail =
      "X-Sink-To: anne@example.org\r\nFrom: study@example.org\r\nTo: <Anne@Example.org>\r\n"
      "Subject: Survey\r\n\r\nTake the survey: http://127.0.0.1:8081/s/v1.AbC-d_e.\r\n"
      "Again: http://127.0.0.1:8081/s/v1.AbC-d_e\r\nTracked: http://127.0.0.1:8080/c/xyz\r\n"
      "Not ours: http://example.org/s/v1.other\r\nTo: <bob@example.org>\r\n";
  EXPECT_THAT(SurveyLinks(mail), ElementsAre("http://127.0.0.1:8081/s/v1.AbC-d_e"));
  EXPECT_THAT(TrackedLinks(mail), ElementsAre("http://127.0.0.1:8080/c/xyz"));
  EXPECT_EQ(Recipient(mail), "anne@example.org");  // a To: in the body is not a header
  const std::string text =
      "To: +447700900123\nFrom: SWING\nReference: r1\n\nAnswer: http://localhost:9/s/tok\n";
  EXPECT_EQ(Recipient(text), "+447700900123");
  EXPECT_THAT(SurveyLinks(text), ElementsAre("http://localhost:9/s/tok"));
  EXPECT_EQ(Recipient("Subject: none\r\n\r\nTo: x@example.org\r\n"), "");
}

TEST(SimulateFormTest, VisitsAreDeterministicAndInTheirProportions) {
  constexpr int kN = 20'000;
  constexpr double kZ = 4.0;  // tolerance in standard errors
  int returns = 0, opens_only = 0, abandons = 0, ignores = 0;
  for (int i = 0; i < kN; ++i) {
    const std::string who = absl::StrCat("p", i);
    const LinkVisit responder = ChooseVisit(5, "endline", who, true);
    EXPECT_EQ(responder, ChooseVisit(5, "endline", who, true));
    ASSERT_TRUE(responder == LinkVisit::kReturns || responder == LinkVisit::kCompletes);
    returns += responder == LinkVisit::kReturns;
    const LinkVisit other = ChooseVisit(5, "endline", who, false);
    ASSERT_NE(other, LinkVisit::kCompletes);
    ASSERT_NE(other, LinkVisit::kReturns);
    opens_only += other == LinkVisit::kOpensOnly;
    abandons += other == LinkVisit::kAbandons;
    ignores += other == LinkVisit::kIgnores;
  }
  auto near = [](int count, double p) {
    EXPECT_NEAR(count / static_cast<double>(kN), p, kZ * std::sqrt(p * (1 - p) / kN));
  };
  near(returns, kReturnRate);
  near(opens_only, kOpenOnlyRate);
  near(abandons, kAbandonRate);
  near(ignores, 1 - kOpenOnlyRate - kAbandonRate);
}

}  // namespace
}  // namespace fieldwork::cli::simulate

// The hosted form's pure half: each item type as HTML (labelled, grouped, described by its
// hint and error), the page around it (progress, Back, introduction, privacy, lang, escaping),
// the Content-Security-Policy, and page validation in plain words.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/survey_ingest/domain/instrument_yaml.h"
#include "services/survey_ingest/domain/scoring.h"
#include "services/survey_ingest/form/form_renderer.h"
#include "services/survey_ingest/form/page_validation.h"

namespace fieldwork::survey_ingest::form {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kYaml[] = R"yaml(
id: job
version: 1
title: Your <job>
introduction: |
  First paragraph.

  Second & last.
privacy: Kept under a pseudonymous id.
language: en-GB
items:
  - {id: sat, label: Satisfied, type: likert, min: 0, max: 10, required: true, min_label: Not at all, max_label: Completely}
  - {id: freq, label: How often, type: likert, min: 1, max: 3, labels: [Never, Sometimes, Always]}
  - {id: hours, label: Hours, type: numeric, min: 0, max: 80, integer: true, required: true}
  - id: team
    label: Team
    type: single_choice
    options:
      - {code: "1", label: Assessment}
      - {code: "2", label: Long-term}
  - {id: note, label: Anything else, type: free_text, max_length: 5}
pages:
  - {title: Feelings, items: [sat, freq]}
  - {title: More, items: [hours, team, note]}
)yaml";

class FormPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(kYaml);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    absl::StatusOr<Scorer> scorer = Scorer::Create(*std::move(parsed));
    ASSERT_TRUE(scorer.ok()) << scorer.status();
    scorer_ = std::make_unique<Scorer>(*std::move(scorer));
  }

  PageView View(size_t page) const {
    PageView view;
    view.instrument = &scorer_->instrument();
    view.pages = scorer_->instrument().FormPages();
    view.page_index = page;
    view.csrf_token = "tok\"en";
    return view;
  }

  std::unique_ptr<Scorer> scorer_;
};

TEST_F(FormPagesTest, ALikertItemIsARadioGroupWithVisibleAnchors) {
  const std::string html = RenderPage(View(0));
  EXPECT_THAT(html, HasSubstr("<fieldset><legend>Satisfied</legend>"));
  EXPECT_THAT(html, HasSubstr("<label for=\"q_sat_0\"><input type=\"radio\" id=\"q_sat_0\" "
                              "name=\"q_sat\" value=\"0\"> 0 <span class=\"anchor\">Not at "
                              "all</span></label>"));
  EXPECT_THAT(html, HasSubstr("value=\"10\"> 10 <span class=\"anchor\">Completely</span>"));
  EXPECT_THAT(html, HasSubstr("value=\"5\"> 5</label>"));
  // A label per point: the labels are the choices.
  EXPECT_THAT(html, HasSubstr("<legend>How often <span class=\"optional\">(optional)</span>"));
  EXPECT_THAT(html, HasSubstr("name=\"q_freq\" value=\"1\"> Never</label>"));
  EXPECT_THAT(html, HasSubstr("name=\"q_freq\" value=\"3\"> Always</label>"));
}

TEST(FormPagesWideScaleTest, ALikertItemOfManyPointsIsANumberBox) {
  absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(
      "id: vas\nversion: 1\nitems:\n  - {id: pain, label: Pain, type: likert, min: 0, max: 100}\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  PageView view;
  view.instrument = &*parsed;
  view.pages = parsed->FormPages();
  const std::string html = RenderPage(view);
  EXPECT_THAT(html, HasSubstr("A whole number from 0 to 100"));
  EXPECT_THAT(html, HasSubstr("type=\"number\" id=\"q_pain\" name=\"q_pain\" min=\"0\" max=\"100\" "
                              "step=\"1\""));
  EXPECT_THAT(html, Not(HasSubstr("type=\"radio\"")));
}

TEST(FormPagesTextLimitTest, ATextWithoutALimitOfItsOwnGetsTheFormsLimit) {
  absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(
      "id: t\nversion: 1\nitems:\n  - {id: say, label: Say, type: free_text}\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<Scorer> scorer = Scorer::Create(*parsed);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  const std::vector<Page> pages = parsed->FormPages();
  // 2,500 four-byte characters are exactly a submission's 10,000 bytes: taken.
  std::string most;
  for (int i = 0; i < kMaxFreeTextLength; ++i) most += "\xF0\x9F\x98\x80";
  EXPECT_TRUE(ValidatePage(*scorer, pages[0], {{"say", most}}).empty());
  EXPECT_THAT(
      ValidatePage(*scorer, pages[0], {{"say", most + "a"}}),
      UnorderedElementsAre(Pair("say", "Please shorten your answer to at most 2500 characters.")));
  // The scorer itself (gRPC, imports) sets no limit of its own for such an item.
  EXPECT_TRUE(scorer->Score({{"say", std::string(3000, 'a')}}).ok());
  PageView view;
  view.instrument = &*parsed;
  view.pages = pages;
  EXPECT_THAT(RenderPage(view), HasSubstr("maxlength=\"2500\""));
}

TEST_F(FormPagesTest, NumericChoiceAndTextItemsStateTheirRules) {
  PageView view = View(1);
  view.answers = {{"hours", "12"}, {"team", "2"}, {"note", "<b>"}};
  const std::string html = RenderPage(view);
  EXPECT_THAT(html, HasSubstr("<label for=\"q_hours\">Hours</label>"));
  EXPECT_THAT(html, HasSubstr("<p class=\"hint\" id=\"h_hours\">A whole number from 0 to 80</p>"));
  EXPECT_THAT(html, HasSubstr("type=\"number\" id=\"q_hours\" name=\"q_hours\" min=\"0\" "
                              "max=\"80\" step=\"1\" inputmode=\"numeric\" value=\"12\" "
                              "aria-describedby=\"h_hours\">"));
  EXPECT_THAT(html, HasSubstr("<legend>Team <span class=\"optional\">(optional)</span></legend>"));
  EXPECT_THAT(html, HasSubstr("name=\"q_team\" value=\"2\" checked> Long-term</label>"));
  EXPECT_THAT(html, HasSubstr("maxlength=\"5\""));
  EXPECT_THAT(html, HasSubstr(">&lt;b&gt;</textarea>"));
}

TEST_F(FormPagesTest, ThePageHasProgressNavigationTextsAndLanguage) {
  const std::string first = RenderPage(View(0));
  EXPECT_THAT(first, HasSubstr("<html lang=\"en-GB\">"));
  EXPECT_THAT(first, HasSubstr("<meta name=\"viewport\""));
  EXPECT_THAT(first, HasSubstr("<h1>Your &lt;job&gt;</h1>"));
  EXPECT_THAT(first, HasSubstr("<p>First paragraph.</p><p>Second &amp; last.</p>"));
  EXPECT_THAT(first, HasSubstr("Page 1 of 2"));
  EXPECT_THAT(first, HasSubstr("<h2>Feelings</h2>"));
  EXPECT_THAT(first, HasSubstr(">Next</button>"));
  EXPECT_THAT(first, Not(HasSubstr("Back</a>")));
  EXPECT_THAT(first, HasSubstr("name=\"csrf\" value=\"tok&quot;en\"><input type=\"hidden\" "
                               "name=\"form_page\" value=\"1\">"));
  EXPECT_THAT(first, HasSubstr("<p class=\"privacy\">Kept under a pseudonymous id.</p>"));
  EXPECT_THAT(first, Not(HasSubstr("<script")));
  EXPECT_THAT(first, Not(HasSubstr("action=")));  // posts to its own URL
  const std::string last = RenderPage(View(1));
  EXPECT_THAT(last, HasSubstr("Page 2 of 2"));
  EXPECT_THAT(last, Not(HasSubstr("First paragraph.")));
  EXPECT_THAT(last, HasSubstr("<a href=\"?page=1\">Back</a>"));
  EXPECT_THAT(last, HasSubstr(">Submit your answers</button>"));
}

TEST_F(FormPagesTest, ErrorsAreSummarisedAndTiedToTheirField) {
  PageView view = View(1);
  view.answers = {{"hours", "500"}};
  view.errors = ValidatePage(*scorer_, view.pages[1], view.answers);
  const std::string html = RenderPage(view);
  EXPECT_THAT(html, HasSubstr("<title>Error: Page 2 of 2"));
  EXPECT_THAT(html, HasSubstr("<div class=\"summary\" role=\"alert\"><h2>There is a problem</h2>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"#q_hours\">Hours: Please enter a whole number from 0 "
                              "to 80.</a>"));
  EXPECT_THAT(html, HasSubstr("<p class=\"error\" id=\"e_hours\">"));
  EXPECT_THAT(html, HasSubstr("aria-invalid=\"true\" aria-describedby=\"h_hours e_hours\""));
  // A group's error describes the fieldset.
  view = View(0);
  view.errors = {{"sat", "Please answer this question."}};
  // A question that ends in its own punctuation gets no colon after it in the summary.
  Instrument asked = scorer_->instrument();
  asked.items[0].label = "Satisfied?";
  PageView question = view;
  question.instrument = &asked;
  EXPECT_THAT(RenderPage(question),
              HasSubstr(">Satisfied? Please answer this question.</a></li>"));
  EXPECT_THAT(RenderPage(view),
              HasSubstr("<fieldset class=\"invalid\" aria-describedby=\"e_sat\"><legend>"));
}

TEST_F(FormPagesTest, ValidationUsesTheInstrumentsRulesForThePageOnly) {
  const std::vector<Page> pages = scorer_->instrument().FormPages();
  // Page 1: sat is required; freq is optional; hours (page 2, required) is not asked here.
  EXPECT_THAT(ValidatePage(*scorer_, pages[0], {}),
              UnorderedElementsAre(Pair("sat", "Please answer this question.")));
  EXPECT_TRUE(ValidatePage(*scorer_, pages[0], {{"sat", "7"}}).empty());
  EXPECT_THAT(ValidatePage(*scorer_, pages[0], {{"sat", "11"}, {"freq", "9"}}),
              UnorderedElementsAre(Pair("sat", "Please choose one of the points from 0 to 10."),
                                   Pair("freq", "Please choose one of the points from 1 to 3.")));
  EXPECT_THAT(
      ValidatePage(*scorer_, pages[1], {{"hours", "2.5"}, {"team", "9"}, {"note", "toolong"}}),
      UnorderedElementsAre(Pair("hours", "Please enter a whole number from 0 to 80."),
                           Pair("team", "Please choose one of the options."),
                           Pair("note", "Please shorten your answer to at most 5 characters.")));
}

TEST_F(FormPagesTest, OnlyThePagesItemsAreTakenAndBlanksLeftOut) {
  const std::vector<Page> pages = scorer_->instrument().FormPages();
  EXPECT_THAT(PageAnswers(pages[0], {{"sat", "3"}, {"freq", "  "}, {"hours", "9"}}),
              UnorderedElementsAre(Pair("sat", "3")));
}

TEST_F(FormPagesTest, TheContentSecurityPolicyAllowsExactlyTheInlineStylesheet) {
  const std::string& policy = ContentSecurityPolicy();
  EXPECT_THAT(policy, HasSubstr("default-src 'none'"));
  EXPECT_THAT(policy, HasSubstr("form-action 'self'"));
  EXPECT_THAT(policy, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(policy, Not(HasSubstr("unsafe-inline")));
  // The page carries exactly the stylesheet whose hash the policy names.
  EXPECT_THAT(RenderPage(View(0)), HasSubstr("<style>" + FormStylesheet() + "</style>"));
  EXPECT_THAT(policy, HasSubstr("style-src 'sha256-"));
}

// An online experiment's page, as PersonalisePages lays it out: the condition's text above the
// questions, and each decision's case in a box of its own with its question (escaped).
TEST_F(FormPagesTest, APersonalPageShowsItsTextAndEachCaseWithItsQuestion) {
  PageView view = View(1);
  Page& page = view.pages[1];
  page.items = {"team", "note"};
  page.text = "Two applications <side by side>.\n\nChoose one.";
  page.item_context = {{"team", "Candidate: Kwame Mensah\n\nCV 3"}, {"note", "Candidate: A & B"}};
  const std::string html = RenderPage(view);
  EXPECT_THAT(html, HasSubstr("<p>Two applications &lt;side by side&gt;.</p><p>Choose one.</p>"));
  EXPECT_THAT(html, HasSubstr("<div class=\"cases\"><section class=\"case\"><p>Candidate: Kwame "
                              "Mensah</p><p>CV 3</p><fieldset"));
  EXPECT_THAT(html, HasSubstr("<section class=\"case\"><p>Candidate: A &amp; B</p><div class=\"q\">"));
  // The text comes before the first case, both inside the form.
  EXPECT_LT(html.find("<form"), html.find("Two applications"));
  EXPECT_LT(html.find("Two applications"), html.find("class=\"cases\""));
  // A page of the same instrument without context is laid out as before: no case boxes.
  EXPECT_THAT(RenderPage(View(0)), Not(HasSubstr("class=\"case")));
}

TEST_F(FormPagesTest, ANoticeIsAShortPageWithoutAForm) {
  NoticeView view;
  view.language = "cy";
  view.study_title = "Astudiaeth";
  view.heading = "This link is not valid";
  view.message = "Check the link.\n\nOr ask for a new one.";
  const std::string html = RenderNotice(view);
  EXPECT_THAT(html, HasSubstr("<html lang=\"cy\">"));
  EXPECT_THAT(html, HasSubstr("<h1>This link is not valid</h1><p>Check the link.</p><p>Or ask"));
  EXPECT_THAT(html, Not(HasSubstr("<form")));
}

}  // namespace
}  // namespace fieldwork::survey_ingest::form

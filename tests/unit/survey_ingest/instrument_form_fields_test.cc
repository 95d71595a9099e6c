// The instrument fields the hosted form uses: anchor labels, free-text length, pages, and the
// introduction, privacy and language texts; and their errors, each naming where it is.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/survey_ingest/domain/instrument_yaml.h"
#include "services/survey_ingest/domain/scoring.h"

namespace fieldwork::survey_ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPaged[] = R"yaml(
id: paged
version: 1
title: Your work
introduction: Ten minutes of questions.
privacy: Your answers are pseudonymous.
language: en-GB
items:
  - {id: sat, label: Satisfied, type: likert, min: 0, max: 10, min_label: Not at all, max_label: Completely}
  - {id: hours, label: Hours, type: numeric, min: 0, max: 80}
  - {id: note, label: Anything else, type: free_text, max_length: 5}
pages:
  - {title: Feelings, items: [sat]}
  - {title: Time, items: [hours, note]}
)yaml";

TEST(InstrumentFormFieldsTest, ParsesPagesTextsAndItemFormFields) {
  absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(kPaged);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->introduction, "Ten minutes of questions.");
  EXPECT_EQ(parsed->privacy, "Your answers are pseudonymous.");
  EXPECT_EQ(parsed->language, "en-GB");
  ASSERT_EQ(parsed->pages.size(), 2u);
  EXPECT_EQ(parsed->pages[1].title, "Time");
  EXPECT_THAT(parsed->pages[1].items, ElementsAre("hours", "note"));
  EXPECT_EQ(parsed->items[0].min_label, "Not at all");
  EXPECT_EQ(parsed->items[0].max_label, "Completely");
  EXPECT_EQ(parsed->items[2].max_length, 5);
}

TEST(InstrumentFormFieldsTest, WithoutPagesTheFormIsOnePageOfEveryItem) {
  absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(R"yaml(
id: one
version: 1
items:
  - {id: a, label: A, type: likert, min: 1, max: 5}
  - {id: b, label: B, type: free_text}
)yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->language, "en");
  const std::vector<Page> pages = parsed->FormPages();
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_THAT(pages[0].items, ElementsAre("a", "b"));
}

TEST(InstrumentFormFieldsTest, PageErrorsNameThePageAndTheItem) {
  absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(R"yaml(
id: bad
version: 1
items:
  - {id: a, label: A, type: likert, min: 1, max: 5}
  - {id: b, label: B, type: likert, min: 1, max: 5}
  - {id: c, label: C, type: likert, min: 1, max: 5}
pages:
  - {items: [a, ghost]}
  - {items: [a]}
  - {items: []}
)yaml");
  ASSERT_FALSE(parsed.ok());
  const std::string message(parsed.status().message());
  EXPECT_THAT(message, HasSubstr("pages[0]"));
  EXPECT_THAT(message, HasSubstr("unknown item 'ghost'"));
  EXPECT_THAT(message, HasSubstr("item 'a' is already on pages[0]"));
  EXPECT_THAT(message, HasSubstr("pages[2]"));
  EXPECT_THAT(message, HasSubstr("a page needs at least one item"));
  EXPECT_THAT(message, HasSubstr("item 'b'"));
  EXPECT_THAT(message, HasSubstr("is on no page"));
}

TEST(InstrumentFormFieldsTest, FormFieldsOnTheWrongItemTypeAreRefused) {
  absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(R"yaml(
id: bad
version: 1
items:
  - {id: n, label: N, type: numeric, min: 0, max: 9, min_label: Low}
  - {id: l, label: L, type: likert, min: 0, max: 9, max_length: 3}
  - {id: t, label: T, type: free_text, max_length: 0}
)yaml");
  ASSERT_FALSE(parsed.ok());
  const std::string message(parsed.status().message());
  EXPECT_THAT(message, HasSubstr("item 'n'"));
  EXPECT_THAT(message, HasSubstr("only a likert item has anchor labels"));
  EXPECT_THAT(message, HasSubstr("only a free_text item takes `max_length`"));
  EXPECT_THAT(message, HasSubstr("expected 1 to 2500 characters, got 0"));
}

TEST(InstrumentFormFieldsTest, ALanguageThatIsNoTagIsRefused) {
  absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(R"yaml(
id: bad
version: 1
language: "en\"><script>"
items:
  - {id: a, label: A, type: likert, min: 1, max: 5}
)yaml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("field 'language': expected a language tag"));
  for (const char* good : {"en", "en-GB", "cy", "zh-Hant-TW"}) {
    absl::StatusOr<Instrument> ok = ParseInstrumentYaml(
        absl::StrCat("id: ok\nversion: 1\nlanguage: ", good,
                     "\nitems:\n  - {id: a, label: A, type: likert, min: 1, max: 5}\n"));
    EXPECT_TRUE(ok.ok()) << good << ": " << ok.status();
  }
}

TEST(InstrumentFormFieldsTest, AFreeTextAnswerOverItsMaxLengthIsAnError) {
  absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(kPaged);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<Scorer> scorer = Scorer::Create(*parsed);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  // Five characters (the accents are two bytes each) pass; six do not.
  EXPECT_TRUE(scorer->Score({{"note", std::string("\xc3\xa9t\xc3\xa9s!")}}).ok());
  const ScoringResult long_one = scorer->Score({{"note", std::string("abcdef")}});
  ASSERT_EQ(long_one.errors.size(), 1u);
  EXPECT_EQ(long_one.errors[0].field, "note");
  EXPECT_EQ(long_one.errors[0].reason, "longer than 5 characters");
}

}  // namespace
}  // namespace fieldwork::survey_ingest

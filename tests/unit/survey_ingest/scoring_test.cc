#include "services/survey_ingest/domain/scoring.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "services/survey_ingest/domain/instrument_yaml.h"

namespace fieldwork::survey_ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Optional;

Scorer MakeScorer(absl::string_view yaml) {
  absl::StatusOr<Instrument> instrument = ParseInstrumentYaml(yaml);
  EXPECT_TRUE(instrument.ok()) << instrument.status();
  absl::StatusOr<Scorer> scorer = Scorer::Create(*std::move(instrument));
  EXPECT_TRUE(scorer.ok()) << scorer.status();
  return *std::move(scorer);
}

// Four 1-5 items (b reversed), a 0-10 item, a 0/25/.../100 choice item (reversed), free text.
constexpr absl::string_view kInstrument = R"yaml(
id: t
version: 1
items:
  - {id: a, label: A, type: likert, min: 1, max: 5}
  - {id: b, label: B, type: likert, min: 1, max: 5}
  - {id: c, label: C, type: likert, min: 1, max: 5}
  - {id: d, label: D, type: likert, min: 1, max: 5}
  - {id: e, label: E, type: likert, min: 0, max: 10}
  - id: f
    label: F
    type: single_choice
    options:
      - {code: "0", label: Never, score: 0}
      - {code: "25", label: Seldom, score: 25}
      - {code: "50", label: Sometimes, score: 50}
      - {code: "75", label: Often, score: 75}
      - {code: "100", label: Always, score: 100}
  - {id: g, label: G, type: numeric, min: 0, max: 92, integer: true, required: true}
  - {id: h, label: H, type: numeric, min: -1.5, max: 1.5}
  - {id: note, label: Note, type: free_text}
scales:
  - {id: mean3, label: M, items: [a, b, c, d], reverse: [b], method: mean, min_answered: 3}
  - {id: sum_all, label: S, items: [a, b, c], method: sum, min_answered: 3}
  - {id: mean_all, label: M2, items: [a, b, c], method: mean}
  - {id: rev_e, label: E, items: [e], reverse: [e]}
  - {id: rev_f, label: F, items: [f], reverse: [f]}
  - {id: days, label: G, items: [g], method: sum, min_answered: 1}
)yaml";

TEST(ScoringTest, ReverseKeyingIsMaxPlusMinMinusX) {
  const Scorer scorer = MakeScorer(kInstrument);
  // b = 2 on 1..5 scores 1 + 5 - 2 = 4; mean of a=4, b->4, c=1, d=5 is 14/4 = 3.5.
  ScoringResult r = scorer.Score({{"a", "4"}, {"b", "2"}, {"c", "1"}, {"d", "5"}, {"g", "0"}});
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r.scored.FindScale("mean3")->value, Optional(3.5));
  // Item values stay as answered; reverse keying belongs to the scale.
  EXPECT_THAT(r.scored.FindItem("b")->number, Optional(2.0));

  // e = 3 on 0..10 scores 0 + 10 - 3 = 7; f = 25 on 0..100 scores 75; f at the ends swaps.
  r = scorer.Score({{"e", "3"}, {"f", "25"}, {"g", "0"}});
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r.scored.FindScale("rev_e")->value, Optional(7.0));
  EXPECT_THAT(r.scored.FindScale("rev_f")->value, Optional(75.0));
  r = scorer.Score({{"e", "10"}, {"f", "0"}, {"g", "0"}});
  EXPECT_THAT(r.scored.FindScale("rev_e")->value, Optional(0.0));
  EXPECT_THAT(r.scored.FindScale("rev_f")->value, Optional(100.0));
}

TEST(ScoringTest, MinimumAnsweredRuleMakesTheScaleMissingNotZero) {
  const Scorer scorer = MakeScorer(kInstrument);
  // Three of four answered (min 3): the mean of what is there, reverse keying included:
  // a=5, b=5 -> 1, d=3: (5 + 1 + 3) / 3 = 3.
  ScoringResult r = scorer.Score({{"a", "5"}, {"b", "5"}, {"d", "3"}, {"g", "1"}});
  ASSERT_TRUE(r.ok());
  const ScaleScore* mean3 = r.scored.FindScale("mean3");
  EXPECT_THAT(mean3->value, Optional(3.0));
  EXPECT_EQ(mean3->answered, 3);
  EXPECT_EQ(mean3->items, 4);

  // Two of four: missing, not zero and not imputed. Blank text is unanswered too.
  r = scorer.Score({{"a", "5"}, {"b", "  "}, {"c", ""}, {"d", "3"}, {"g", "1"}});
  ASSERT_TRUE(r.ok());
  mean3 = r.scored.FindScale("mean3");
  EXPECT_EQ(mean3->value, std::nullopt);
  EXPECT_EQ(mean3->answered, 2);
  // The default minimum is every item.
  EXPECT_EQ(r.scored.FindScale("mean_all")->value, std::nullopt);
}

TEST(ScoringTest, SumVersusMean) {
  const Scorer scorer = MakeScorer(kInstrument);
  ScoringResult r = scorer.Score({{"a", "2"}, {"b", "3"}, {"c", "5"}, {"g", "12"}});
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r.scored.FindScale("sum_all")->value, Optional(10.0));
  EXPECT_THAT(r.scored.FindScale("mean_all")->value, Optional(10.0 / 3.0));
  EXPECT_THAT(r.scored.FindScale("days")->value, Optional(12.0));
  // A sum needs every item: one missing makes it missing (never a smaller sum).
  r = scorer.Score({{"a", "2"}, {"b", "3"}, {"g", "12"}});
  EXPECT_EQ(r.scored.FindScale("sum_all")->value, std::nullopt);
}

TEST(ScoringTest, AcceptsNumbersAsWellAsText) {
  const Scorer scorer = MakeScorer(kInstrument);
  ScoringResult r = scorer.Score({{"a", 2.0},
                                  {"b", 3.0},
                                  {"c", " 5 "},
                                  {"f", 50.0},
                                  {"g", 4.0},
                                  {"h", "-1.25"},
                                  {"note", "fine, thanks"}});
  ASSERT_TRUE(r.ok()) << r.errors.front().reason;
  EXPECT_THAT(r.scored.FindScale("sum_all")->value, Optional(10.0));
  EXPECT_EQ(r.scored.FindItem("f")->text, "50");
  EXPECT_THAT(r.scored.FindItem("h")->number, Optional(-1.25));
  EXPECT_EQ(r.scored.FindItem("note")->text, "fine, thanks");
  EXPECT_EQ(r.scored.FindItem("c")->raw, " 5 ");
  EXPECT_EQ(r.scored.FindItem("a")->raw, "2");
  EXPECT_EQ(r.scored.FindItem("e")->raw, "");
  const RawResponse answers = RawAnswers(r.scored);
  EXPECT_EQ(answers.size(), 7u);
  EXPECT_EQ(std::get<std::string>(answers.at("h")), "-1.25");
  // A single-choice answer may carry the label ("use choice text" exports).
  r = scorer.Score({{"f", "Often"}, {"g", "0"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.scored.FindItem("f")->text, "75");
}

TEST(ScoringTest, ReportsEveryProblemWithFieldReasonAndRawValue) {
  const Scorer scorer = MakeScorer(kInstrument);
  const ScoringResult r = scorer.Score({{"a", "6"},
                                        {"b", "three"},
                                        {"c", "2.5"},
                                        {"d", "3,5"},
                                        {"e", 11.0},
                                        {"f", "33"},
                                        {"h", "nan"},
                                        {"zzz", "1"}});
  // g is required and missing.
  ASSERT_EQ(r.errors.size(), 9u);
  EXPECT_THAT(r.errors[0],
              AllOf(Field(&FieldError::field, "a"), Field(&FieldError::reason, "out of range 1..5"),
                    Field(&FieldError::raw, "6")));
  EXPECT_THAT(r.errors[1],
              AllOf(Field(&FieldError::field, "b"), Field(&FieldError::reason, "not a number"),
                    Field(&FieldError::raw, "three")));
  EXPECT_THAT(r.errors[2], AllOf(Field(&FieldError::field, "c"),
                                 Field(&FieldError::reason, HasSubstr("not a whole number")),
                                 Field(&FieldError::raw, "2.5")));
  EXPECT_THAT(r.errors[3],
              AllOf(Field(&FieldError::field, "d"), Field(&FieldError::reason, "not a number"),
                    Field(&FieldError::raw, "3,5")));
  EXPECT_THAT(r.errors[4], AllOf(Field(&FieldError::field, "e"),
                                 Field(&FieldError::reason, "out of range 0..10"),
                                 Field(&FieldError::raw, "11")));
  EXPECT_THAT(r.errors[5], AllOf(Field(&FieldError::field, "f"),
                                 Field(&FieldError::reason,
                                       "unknown code (expected one of: 0, 25, 50, 75, 100)"),
                                 Field(&FieldError::raw, "33")));
  EXPECT_THAT(r.errors[6], AllOf(Field(&FieldError::field, "g"),
                                 Field(&FieldError::reason, "missing required item"),
                                 Field(&FieldError::raw, "")));
  EXPECT_THAT(r.errors[7],
              AllOf(Field(&FieldError::field, "h"), Field(&FieldError::reason, "not a number"),
                    Field(&FieldError::raw, "nan")));
  EXPECT_THAT(r.errors[8], AllOf(Field(&FieldError::field, "zzz"),
                                 Field(&FieldError::reason, HasSubstr("unknown item")),
                                 Field(&FieldError::raw, "1")));
  // An invalid item counts as unanswered in the scales computed alongside.
  EXPECT_EQ(r.scored.FindScale("mean3")->answered, 0);
}

TEST(ScoringTest, RequiredIsRelaxedForPartialResponses) {
  const Scorer scorer = MakeScorer(kInstrument);
  ScoreOptions options;
  options.enforce_required = false;
  EXPECT_TRUE(scorer.Score({{"a", "1"}}, options).ok());
  EXPECT_FALSE(scorer.Score({{"a", "1"}}).ok());
}

constexpr absl::string_view kCompositeInstrument = R"yaml(
id: c
version: 2
items:
  - {id: x, label: X, type: likert, min: 1, max: 7}
  - {id: y, label: Y, type: numeric, min: 0, max: 30}
  - {id: z, label: Z, type: likert, min: 0, max: 10}
scales:
  - {id: sx, label: X, items: [x]}
  - {id: sy, label: Y, items: [y]}
  - {id: sz, label: Z, items: [z]}
composites:
  - id: equal
    label: Equal weights, z reversed
    components: [{scale: sx, weight: 1}, {scale: sy, weight: 1}, {scale: sz, weight: -1}]
  - id: halves
    label: Half weights
    components: [{scale: sx, weight: 1}, {scale: sy, weight: 0.5}, {scale: sz, weight: -0.5}]
  - id: summed
    label: Summed
    method: sum
    components: [{scale: sx, weight: 1}, {scale: sy, weight: 0.5}, {scale: sz, weight: -0.5}]
  - id: lenient
    label: Two of three
    min_components: 2
    components: [{scale: sx, weight: 1}, {scale: sy, weight: 1}, {scale: sz, weight: -1}]
)yaml";

TEST(ScoringTest, CompositesOfStandardisedScales) {
  const Scorer scorer = MakeScorer(kCompositeInstrument);
  // z(sx) = (4 - 3) / 2 = 0.5; z(sy) = (10 - 12) / 4 = -0.5; z(sz) = (7 - 5) / 1 = 2.
  const ScaleNorms norms = {{"sx", {3, 2}}, {"sy", {12, 4}}, {"sz", {5, 1}}};
  ScoreOptions options;
  options.norms = &norms;
  ScoringResult r = scorer.Score({{"x", "4"}, {"y", "10"}, {"z", "7"}}, options);
  ASSERT_TRUE(r.ok());
  // (0.5 - 0.5 - 2) / 3
  EXPECT_DOUBLE_EQ(*r.scored.FindComposite("equal")->value, -2.0 / 3.0);
  // (0.5 - 0.25 - 1) / (1 + 0.5 + 0.5)
  EXPECT_DOUBLE_EQ(*r.scored.FindComposite("halves")->value, -0.375);
  // 0.5 - 0.25 - 1
  EXPECT_DOUBLE_EQ(*r.scored.FindComposite("summed")->value, -0.75);
  EXPECT_EQ(r.scored.FindComposite("equal")->available, 3);

  // Without y: the all-components composites are missing, with the reason; "lenient"
  // averages the two it has: (0.5 - 2) / 2.
  r = scorer.Score({{"x", "4"}, {"z", "7"}}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.scored.FindComposite("equal")->value, std::nullopt);
  EXPECT_THAT(r.scored.FindComposite("equal")->missing_reason, HasSubstr("scale 'sy' is missing"));
  EXPECT_EQ(r.scored.FindComposite("summed")->value, std::nullopt);
  EXPECT_DOUBLE_EQ(*r.scored.FindComposite("lenient")->value, -0.75);
}

TEST(ScoringTest, CompositesNeedUsableNorms) {
  const Scorer scorer = MakeScorer(kCompositeInstrument);
  ScoringResult r = scorer.Score({{"x", "4"}, {"y", "10"}, {"z", "7"}});
  EXPECT_EQ(r.scored.FindComposite("equal")->value, std::nullopt);
  EXPECT_EQ(r.scored.FindComposite("equal")->missing_reason, "no reference norms supplied");

  const ScaleNorms partial = {{"sx", {3, 2}}, {"sy", {12, 0}}};
  ScoreOptions options;
  options.norms = &partial;
  r = scorer.Score({{"x", "4"}, {"y", "10"}, {"z", "7"}}, options);
  const CompositeScore* equal = r.scored.FindComposite("equal");
  EXPECT_EQ(equal->value, std::nullopt);
  EXPECT_THAT(equal->missing_reason, HasSubstr("positive SD"));
  EXPECT_THAT(equal->missing_reason, HasSubstr("no reference norm for scale 'sz'"));

  // Composites can be filled in later, once the baseline norms are known.
  const ScaleNorms norms = {{"sx", {3, 2}}, {"sy", {12, 4}}, {"sz", {5, 1}}};
  scorer.ScoreComposites(r.scored, &norms);
  EXPECT_DOUBLE_EQ(*r.scored.FindComposite("equal")->value, -2.0 / 3.0);
}

TEST(ScoringTest, ComputeNormsUsesTheSampleStandardDeviation) {
  const Scorer scorer = MakeScorer(kCompositeInstrument);
  std::vector<ScoredResponse> baseline;
  for (const char* x : {"1", "2", "3", "4"}) {
    baseline.push_back(scorer.Score({{"x", x}, {"y", "5"}}).scored);
  }
  baseline.push_back(scorer.Score({{"z", "3"}}).scored);  // sx missing: left out
  const ScaleNorms norms = ComputeNorms(scorer.instrument(), baseline);
  ASSERT_EQ(norms.count("sx"), 1u);
  EXPECT_DOUBLE_EQ(norms.at("sx").mean, 2.5);
  // sum of squared deviations 5, over n - 1 = 3.
  EXPECT_DOUBLE_EQ(norms.at("sx").sd, std::sqrt(5.0 / 3.0));
  EXPECT_EQ(norms.count("sy"), 0u);  // SD 0: no usable norm
  EXPECT_EQ(norms.count("sz"), 0u);  // one score: no SD
}

TEST(ScoringTest, CreateRejectsAnInvalidInstrument) {
  Instrument instrument;
  instrument.id = "bad";
  instrument.version = 1;
  absl::StatusOr<Scorer> scorer = Scorer::Create(instrument);
  EXPECT_EQ(scorer.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fieldwork::survey_ingest

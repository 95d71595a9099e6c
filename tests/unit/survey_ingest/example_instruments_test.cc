// Every instrument shipped in examples/instruments/ parses and is valid, and the report's
// measures have the shape the report describes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "services/survey_ingest/domain/instrument_yaml.h"
#include "services/survey_ingest/domain/scoring.h"
#include "tests/unit/survey_ingest/test_paths.h"

namespace fieldwork::survey_ingest {
namespace {

using testing::ReadFileOrFail;
using testing::SourceDir;

std::map<std::string, Instrument> LoadAll() {
  std::map<std::string, Instrument> out;
  const std::filesystem::path dir = SourceDir() / "examples" / "instruments";
  EXPECT_TRUE(std::filesystem::is_directory(dir)) << dir;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    absl::StatusOr<Instrument> instrument = ParseInstrumentYaml(ReadFileOrFail(entry.path()));
    EXPECT_TRUE(instrument.ok()) << entry.path() << ": " << instrument.status();
    if (!instrument.ok()) continue;
    EXPECT_EQ(entry.path().stem().string(), instrument->id) << "file name and id should agree";
    out.emplace(instrument->id, *std::move(instrument));
  }
  return out;
}

TEST(ExampleInstrumentsTest, EveryShippedFileIsValid) {
  const std::map<std::string, Instrument> all = LoadAll();
  for (const char* id :
       {"ons4", "cbi_work", "motivation", "social_worth", "connection_to_profession",
        "organisational_commitment", "cv_assessment", "sickness_absence"}) {
    EXPECT_EQ(all.count(id), 1u) << "missing examples/instruments/" << id << ".yaml";
  }
  // Item ids are unique across the shipped measures, so that a trial's survey can combine
  // several of them in one export.
  std::set<std::string> ids;
  for (const auto& [name, instrument] : all) {
    EXPECT_TRUE(Scorer::Create(instrument).ok());
    for (const Item& item : instrument.items) {
      EXPECT_TRUE(ids.insert(item.id).second) << "item id " << item.id << " used twice";
    }
  }
}

TEST(ExampleInstrumentsTest, Ons4) {
  const std::map<std::string, Instrument> all = LoadAll();
  ASSERT_EQ(all.count("ons4"), 1u);
  const Instrument& ons4 = all.at("ons4");
  ASSERT_EQ(ons4.items.size(), 4u);
  for (const Item& item : ons4.items) {
    EXPECT_EQ(item.type, ItemType::kLikert);
    EXPECT_EQ(item.min, 0);
    EXPECT_EQ(item.max, 10);
  }
  const Composite* swb = ons4.FindComposite("subjective_wellbeing");
  ASSERT_NE(swb, nullptr);
  for (const CompositeComponent& c : swb->components) {
    EXPECT_EQ(c.weight < 0, c.scale == "anxiety") << c.scale;
  }
  // Everyone at the reference mean, except anxiety one SD above it:
  // (1 * 0 + 0.5 * 0 - 0.5 * 1) / (1 + 0.5 + 0.5) = -0.25.
  const Scorer scorer = *Scorer::Create(ons4);
  const ScaleNorms norms = {
      {"evaluative_wellbeing", {7, 1.5}}, {"happiness", {7, 2}}, {"anxiety", {3, 5}}};
  ScoreOptions options;
  options.norms = &norms;
  const ScoringResult ok = scorer.Score(
      {{"ons_satisfied", "6"}, {"ons_worthwhile", "8"}, {"ons_happy", "7"}, {"ons_anxious", "8"}},
      options);
  ASSERT_TRUE(ok.ok());
  // 5.5 is not a whole number on a 0-10 item.
  EXPECT_FALSE(scorer
                   .Score({{"ons_satisfied", "6"},
                           {"ons_worthwhile", "8"},
                           {"ons_happy", "7"},
                           {"ons_anxious", "5.5"}})
                   .ok());
  EXPECT_DOUBLE_EQ(*ok.scored.FindComposite("subjective_wellbeing")->value, -0.25);
}

TEST(ExampleInstrumentsTest, CopenhagenBurnoutWorkScale) {
  const std::map<std::string, Instrument> all = LoadAll();
  ASSERT_EQ(all.count("cbi_work"), 1u);
  const Scale* burnout = all.at("cbi_work").FindScale("burnout_work");
  ASSERT_NE(burnout, nullptr);
  EXPECT_EQ(burnout->items.size(), 7u);
  EXPECT_EQ(burnout->reverse_items.size(), 1u);
  EXPECT_EQ(burnout->min_answered, 4);
  EXPECT_EQ(burnout->method, Aggregation::kMean);
  // Four answered, the reversed one among them: (100 + 75 + (100 - 25) + 50) / 4 = 75.
  const Scorer scorer = *Scorer::Create(all.at("cbi_work"));
  const ScoringResult r =
      scorer.Score({{"cbi_w1", "100"}, {"cbi_w2", "75"}, {"cbi_w4", "25"}, {"cbi_w7", "50"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.scored.FindScale("burnout_work")->value, 75.0);
  EXPECT_EQ(scorer.Score({{"cbi_w1", "100"}, {"cbi_w2", "75"}, {"cbi_w4", "25"}})
                .scored.FindScale("burnout_work")
                ->value,
            std::nullopt);
}

TEST(ExampleInstrumentsTest, CvEvaluationScoreRunsFrom3To21) {
  const std::map<std::string, Instrument> all = LoadAll();
  ASSERT_EQ(all.count("cv_assessment"), 1u);
  const Scorer scorer = *Scorer::Create(all.at("cv_assessment"));
  RawResponse lowest = {{"cv_caseload", "1"}, {"cv_team", "1"}, {"cv_supervision", "1"}};
  RawResponse highest = {{"cv_caseload", "7"}, {"cv_team", "7"}, {"cv_supervision", "7"}};
  for (int i = 1; i <= 10; ++i) {
    const std::string id = i < 10 ? "progress_cv0" + std::to_string(i) : "progress_cv10";
    lowest[id] = "0";
    highest[id] = i <= 5 ? "1" : "0";
  }
  const ScoringResult low = scorer.Score(lowest);
  const ScoringResult high = scorer.Score(highest);
  ASSERT_TRUE(low.ok());
  ASSERT_TRUE(high.ok());
  EXPECT_EQ(*low.scored.FindScale("cv_evaluation_score")->value, 3.0);
  EXPECT_EQ(*high.scored.FindScale("cv_evaluation_score")->value, 21.0);
  EXPECT_EQ(*high.scored.FindScale("candidates_progressed")->value, 5.0);
  EXPECT_EQ(high.scored.FindItem("progress_cv01")->text, "1");
}

}  // namespace
}  // namespace fieldwork::survey_ingest

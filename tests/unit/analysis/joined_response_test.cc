// The join keeps each counted response in compact form (JoinedResponse): what the analyses read
// of it must be what they read of the whole message, and what the join left out (uncounted
// responses, a second counted response to a wave, responses of nobody enrolled) stays out.
#include "services/analysis/joined_response.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "services/analysis/join.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::analysis::testing::AddParticipant;
using ::fieldwork::analysis::testing::AddResponse;
using ::fieldwork::analysis::testing::AddWave;
using ::fieldwork::analysis::testing::MakeTrial;
using ::fieldwork::analysis::testing::Ts;

v1::OutcomeSource SurveyScore(const std::string& wave, const std::string& id, bool composite) {
  v1::OutcomeSource source;
  source.mutable_survey()->set_wave_id(wave);
  source.mutable_survey()->set_score_id(id);
  source.mutable_survey()->set_kind(composite ? v1::OutcomeSource::SurveyScore::KIND_COMPOSITE
                                              : v1::OutcomeSource::SurveyScore::KIND_SCALE);
  return source;
}

TEST(JoinedResponseTest, ScoresAreFoundByIdAndKindAndAMissingScoreIsNoValue) {
  v1::Response r;
  auto add = [](google::protobuf::RepeatedPtrField<v1::Score>& scores, const std::string& id,
                bool present, double value) {
    v1::Score& s = *scores.Add();
    s.set_id(id);
    s.set_present(present);
    s.set_value(value);
  };
  add(*r.mutable_scales(), "calm", true, 3.5);
  add(*r.mutable_scales(), "worth", false, 0);
  add(*r.mutable_composites(), "calm", true, 9.25);  // a composite of the same id as a scale
  JoinedResponses responses;
  const JoinedResponse& joined = responses.Add(std::move(r));
  const ScoreNames& names = responses.score_names();

  EXPECT_EQ(joined.ScoreValue(names, "calm", false), 3.5);
  EXPECT_EQ(joined.ScoreValue(names, "calm", true), 9.25);
  EXPECT_EQ(joined.ScoreValue(names, "worth", false), std::nullopt);  // too few items answered
  EXPECT_EQ(joined.ScoreValue(names, "worth", true), std::nullopt);   // no such composite
  EXPECT_EQ(joined.ScoreValue(names, "unknown", false), std::nullopt);
  EXPECT_EQ(joined.with_decisions, nullptr);  // nothing kept whole without decisions
  EXPECT_TRUE(joined.decisions().empty());
}

TEST(JoinedResponseTest, TheTimeIsTheSubmissionsAndElseWhenItWasReceived) {
  const absl::Time submitted = absl::FromUnixSeconds(1'620'000'000);
  const absl::Time received = submitted + absl::Hours(30);
  v1::Response with_both;
  *with_both.mutable_submitted_at() = Ts(submitted);
  *with_both.mutable_received_at() = Ts(received);
  v1::Response received_only;
  *received_only.mutable_received_at() = Ts(received);
  JoinedResponses responses;
  EXPECT_EQ(responses.Add(std::move(with_both)).at, submitted);
  EXPECT_EQ(responses.Add(std::move(received_only)).at, received);
}

TEST(JoinedResponseTest, AResponseWithDecisionsIsKeptWholeWithThem) {
  v1::Response r;
  r.set_participant_id("p1");
  v1::Decision& d = *r.add_decisions();
  d.set_block("hire");
  d.set_value("4");
  (*d.mutable_attributes())["ethnicity"] = "white";
  JoinedResponses responses;
  const JoinedResponse& joined = responses.Add(std::move(r));
  ASSERT_NE(joined.with_decisions, nullptr);
  EXPECT_EQ(joined.with_decisions->participant_id(), "p1");
  ASSERT_EQ(joined.decisions().size(), 1);
  EXPECT_EQ(joined.decisions().Get(0).block(), "hire");
  EXPECT_EQ(joined.decisions().Get(0).attributes().at("ethnicity"), "white");
}

TEST(JoinedResponseTest, ResponsesStayWhereTheyAreAsMoreAreAddedAndAfterAClear) {
  JoinedResponses responses;
  auto scored = [](double value) {
    v1::Response r;
    v1::Score& s = *r.add_scales();
    s.set_id("calm");
    s.set_present(true);
    s.set_value(value);
    return r;
  };
  // Far more than the first block holds: the arena grows to huge-page blocks.
  std::vector<const JoinedResponse*> added;
  for (int i = 0; i < 50000; ++i) added.push_back(&responses.Add(scored(i)));
  for (int i = 0; i < 50000; i += 4999) {
    EXPECT_EQ(added[static_cast<size_t>(i)]->ScoreValue(responses.score_names(), "calm", false), i);
  }
  responses.Clear();  // as the export does between participants
  const JoinedResponse& after = responses.Add(scored(-1));
  EXPECT_EQ(after.ScoreValue(responses.score_names(), "calm", false), -1);
}

TEST(JoinedResponseTest, TheJoinKeepsTheFirstCountedResponseOfEnrolledParticipantsOnly) {
  MemorySources sources;
  MemoryTrialData& data = sources.trials()["t1"];
  data.trial = MakeTrial("t1");
  AddWave(data, "endline");
  AddParticipant(data, "p1", "LA1", "control");
  AddParticipant(data, "p2", "LA1", "treatment");
  AddResponse(data, "p1", "endline", "wellbeing", 1).set_counted(false);  // e.g. a preview
  AddResponse(data, "p1", "endline", "wellbeing", 2);
  AddResponse(data, "p1", "endline", "wellbeing", 3);  // a second counted: ignored, counted
  AddResponse(data, "nobody", "endline", "wellbeing", 4);
  v1::Response& with_decision = AddResponse(data, "p2", "endline", "wellbeing", 5);
  with_decision.add_decisions()->set_block("hire");

  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok()) << joined.status();
  ASSERT_EQ(joined->participants.size(), 2u);
  const JoinedParticipant& p1 = joined->participants[0];
  const JoinedParticipant& p2 = joined->participants[1];
  const v1::OutcomeSource wellbeing = SurveyScore("endline", "wellbeing", false);
  EXPECT_EQ(OutcomeValue(*joined, p1, wellbeing), 2);
  EXPECT_EQ(OutcomeValue(*joined, p2, wellbeing), 5);
  EXPECT_EQ(OutcomeValue(*joined, p1, SurveyScore("baseline", "wellbeing", false)), std::nullopt);
  v1::OutcomeSource::Decisions hire;
  hire.set_wave_id("endline");
  hire.set_block("hire");
  EXPECT_EQ(DecisionCount(*joined, p1, hire), 0);
  EXPECT_EQ(DecisionCount(*joined, p2, hire), 1);
  EXPECT_NE(std::find(joined->warnings.begin(), joined->warnings.end(),
                      "1 responses of participants not enrolled were ignored"),
            joined->warnings.end());
  EXPECT_NE(std::find(joined->warnings.begin(), joined->warnings.end(),
                      "1 extra counted responses for the same participant and wave were ignored"),
            joined->warnings.end());
}

}  // namespace
}  // namespace fieldwork::analysis

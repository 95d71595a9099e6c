// ListResponses and ListOutcomes over data stored before the order indexes existed
// (responses, counting pointers and outcomes written as earlier releases did, with no order
// key): everything is listed, in order, with the filters applied; the first listing builds the
// missing index.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "services/survey_ingest/keys.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"

namespace fieldwork::survey_ingest {
namespace {

namespace v1 = ::fieldwork::v1;

TEST_F(IngestTest, ListsWhatWasStoredBeforeTheOrderIndexes) {
  PutInstrument("old", kWellbeingYaml);
  PutWave("old", "baseline", "wb");
  std::unique_ptr<RedisClient> redis = redis_->NewClient();
  const absl::Time base =
      absl::FromCivil(absl::CivilSecond(2021, 3, 10, 9, 0, 0), absl::UTCTimeZone());
  // Participant, submission, minutes after base; "b" answered twice (the first counts).
  const std::vector<std::tuple<std::string, std::string, int>> stored = {
      {"c", "s1", 5}, {"b", "s2", 9}, {"a", "s3", 1}, {"b", "s4", 2}, {"ab", "s5", 3}};
  for (const auto& [participant, submission, minutes] : stored) {
    v1::Response r;
    r.set_trial_id("old");
    r.set_wave_id("baseline");
    r.set_participant_id(participant);
    r.set_submission_id(submission);
    r.mutable_submitted_at()->set_seconds(absl::ToUnixSeconds(base + absl::Minutes(minutes)));
    ASSERT_TRUE(redis
                    ->Command({"HSET", keys::Responses("old", "baseline"), submission,
                               r.SerializeAsString()})
                    .ok());
  }
  for (const auto& [participant, submission, minutes] :
       std::vector<std::tuple<std::string, std::string, int>>{
           {"c", "s1", 5}, {"b", "s4", 2}, {"a", "s3", 1}, {"ab", "s5", 3}}) {
    const std::string pointer =
        ResponsePointer(base + absl::Minutes(minutes), submission);
    ASSERT_TRUE(
        redis->Command({"HSET", keys::Counted("old", "baseline"), participant, pointer}).ok());
  }
  for (const auto& [participant, end_day] :
       std::vector<std::pair<std::string, int>>{{"b", 28}, {"a", 31}, {"b", 14}}) {
    v1::Outcome o;
    o.set_trial_id("old");
    o.set_participant_id(participant);
    o.set_outcome("sickness_days");
    o.mutable_period_start()->set_year(2021);
    o.mutable_period_start()->set_month(3);
    o.mutable_period_start()->set_day(1);
    o.mutable_period_end()->set_year(2021);
    o.mutable_period_end()->set_month(3);
    o.mutable_period_end()->set_day(end_day);
    o.set_value(end_day);
    const std::string field = absl::StrFormat("%s|sickness_days|2021-03-01|2021-03-%02d",
                                              participant, end_day);
    ASSERT_TRUE(
        redis->Command({"HSET", keys::Outcomes("old"), field, o.SerializeAsString()}).ok());
  }

  auto ids = [](const std::vector<v1::Response>& responses) {
    std::vector<std::string> out;
    for (const v1::Response& r : responses) out.push_back(r.submission_id());
    return out;
  };
  // (participant, submitted at): "a" < "ab" < "b" (its earlier response first) < "c".
  EXPECT_EQ(ids(ListResponses("old", "baseline", /*include_not_counted=*/true)),
            (std::vector<std::string>{"s3", "s5", "s4", "s2", "s1"}));
  EXPECT_EQ(ids(ListResponses("old", "baseline")),
            (std::vector<std::string>{"s3", "s5", "s4", "s1"}));
  EXPECT_EQ(redis->Command({"ZCARD", keys::ResponseOrder("old", "baseline")})->integer(), 5);

  // One participant's: not a prefix match ("a" is not "ab").
  v1::ListResponsesRequest one;
  one.set_trial_id("old");
  one.set_participant_id("a");
  auto context = ContextWith(kResearcher);
  auto reader = ingest().ListResponses(context.get(), one);
  std::vector<v1::Response> of_a;
  v1::ListResponsesResponse message;
  while (reader->Read(&message)) of_a.push_back(message.response());
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(ids(of_a), std::vector<std::string>{"s3"});

  v1::ListOutcomesRequest outcomes;
  outcomes.set_trial_id("old");
  auto outcomes_context = ContextWith(kResearcher);
  auto outcome_reader = ingest().ListOutcomes(outcomes_context.get(), outcomes);
  std::vector<std::string> listed;
  v1::ListOutcomesResponse outcome;
  while (outcome_reader->Read(&outcome)) {
    listed.push_back(absl::StrCat(outcome.outcome().participant_id(), "/",
                                  outcome.outcome().period_end().day()));
  }
  ASSERT_TRUE(outcome_reader->Finish().ok());
  EXPECT_EQ(listed, (std::vector<std::string>{"a/31", "b/14", "b/28"}));
}

// ListResponses in pages (`paged`), with and without the raw answers: the same responses in the
// same order as one per message, their scores and composites intact, the answers left out only
// when asked.
TEST_F(IngestTest, PagedListResponsesCarryTheSameResponsesWithoutAnswersWhenAsked) {
  CreateTrial("pages");
  Enrol("pages", {{"P01", "LA1"}, {"P02", "LA2"}, {"P03", "LA1"}});
  PutInstrument("pages", kWellbeingYaml);
  PutWave("pages", "baseline", "wb");
  for (const std::string participant : {"P03", "P01", "P02"}) {
    v1::SubmitResponseRequest submit;
    *submit.mutable_submission() = WellbeingSubmission("pages", participant, "s-" + participant);
    v1::SubmitResponseResponse submitted;
    const grpc::Status status =
        ingest().SubmitResponse(ContextWith(kResearcher).get(), submit, &submitted);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(submitted.status(), v1::SUBMISSION_STATUS_ACCEPTED);
  }
  const std::vector<v1::Response> one_by_one = ListResponses("pages", "baseline");
  ASSERT_EQ(one_by_one.size(), 3u);
  auto paged = [&](bool without_answers) {
    v1::ListResponsesRequest request;
    request.set_trial_id("pages");
    request.set_paged(true);
    request.set_without_answers(without_answers);
    auto context = ContextWith(kResearcher);
    auto reader = ingest().ListResponses(context.get(), request);
    std::vector<v1::Response> out;
    int messages = 0;
    v1::ListResponsesResponse message;
    while (reader->Read(&message)) {
      ++messages;
      EXPECT_FALSE(message.has_response());
      out.insert(out.end(), message.responses().begin(), message.responses().end());
    }
    const grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(messages, 1);
    return out;
  };
  const std::vector<v1::Response> with_answers = paged(false);
  const std::vector<v1::Response> scores_only = paged(true);
  ASSERT_EQ(with_answers.size(), one_by_one.size());
  ASSERT_EQ(scores_only.size(), one_by_one.size());
  for (size_t i = 0; i < one_by_one.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(with_answers[i], one_by_one[i])) << i;
    EXPECT_FALSE(one_by_one[i].answers().empty());
    EXPECT_FALSE(one_by_one[i].composites().empty());
    v1::Response expected = one_by_one[i];
    expected.clear_answers();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(scores_only[i], expected)) << i;
  }
}

}  // namespace
}  // namespace fieldwork::survey_ingest

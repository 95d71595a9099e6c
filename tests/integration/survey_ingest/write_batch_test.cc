// The store's batch write against a real redis-server: the script reads what is stored once per
// hash and writes once per hash, in slices, yet each response of a batch must come out exactly
// as if the batch had been written one response at a time (duplicates within the batch, the
// first and counted response moving within it, another participant's submission id), for
// batches larger than one slice too.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/survey_ingest/keys.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"

// A namespace of its own: each test file here names its helpers alike (unity build).
namespace fieldwork::survey_ingest::write_batch {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr char kTrial[] = "write-batch";
const absl::Time kNoon =
    absl::FromCivil(absl::CivilSecond(2021, 3, 10, 12, 0, 0), absl::UTCTimeZone());

PendingResponse Pending(const std::string& wave, const std::string& participant,
                        const std::string& submission_id, absl::Time submitted, bool complete,
                        bool last_complete_rule = false) {
  PendingResponse pending;
  v1::Response& r = pending.response;
  r.set_trial_id(kTrial);
  r.set_wave_id(wave);
  r.set_participant_id(participant);
  r.set_submission_id(submission_id);
  (*r.mutable_answers())["wb_1"] = "7";
  r.mutable_submitted_at()->set_seconds(absl::ToUnixSeconds(submitted));
  r.set_partial(!complete);
  pending.complete = complete;
  pending.submitted = submitted;
  pending.last_complete_rule = last_complete_rule;
  return pending;
}

class WriteBatchTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();
    redis_client_ = redis_->NewClient();
    store_ = std::make_unique<RedisIngestStore>(*redis_client_);
  }

  // participant -> submission id of their counted response to `wave`.
  std::map<std::string, std::string> Counted(const std::string& wave) {
    std::map<std::string, std::string> counted;
    const absl::Status status = store_->ForEachResponse(
        kTrial, wave, "", IngestStore::Answers::kParsed, [&](v1::Response& r) {
          if (r.counted()) counted[r.participant_id()] = r.submission_id();
          return true;
        });
    EXPECT_TRUE(status.ok()) << status;
    return counted;
  }

  std::unique_ptr<RedisClient> redis_client_;
  std::unique_ptr<RedisIngestStore> store_;
};

TEST_F(WriteBatchTest, ABatchLargerThanASliceComesOutAsOneAtATime) {
  constexpr size_t kMany = 2500;  // more than one slice of every read and write in the script
  WriteBatch batch;
  for (size_t i = 0; i < kMany; ++i) {
    batch.responses.push_back(Pending("baseline", absl::StrCat("P", i), absl::StrCat("s", i),
                                      kNoon + absl::Minutes(i), true));
  }
  // 2500: s7 again for P7 (a duplicate), s8 again for P9 (not P9's: refused).
  batch.responses.push_back(Pending("baseline", "P7", "s7", kNoon, true));
  batch.responses.push_back(Pending("baseline", "P9", "s8", kNoon, true));
  // 2502: P1 again, earlier: first and counted (first-complete rule) move to it.
  batch.responses.push_back(Pending("baseline", "P1", "p1-earlier", kNoon - absl::Hours(1), true));
  // 2503: P2 again, later: stored, but neither first nor counted.
  batch.responses.push_back(Pending("baseline", "P2", "p2-later", kNoon + absl::Hours(100), true));
  // 2504: an unfinished response of a new participant: stored, not a respondent.
  batch.responses.push_back(Pending("baseline", "Q1", "q1-partial", kNoon, false));
  // 2505-2507: another wave under the last-complete rule, Q2 three times in the batch.
  batch.responses.push_back(Pending("endline", "Q2", "q2-b", kNoon + absl::Hours(2), true, true));
  batch.responses.push_back(Pending("endline", "Q2", "q2-a", kNoon + absl::Hours(1), true, true));
  batch.responses.push_back(Pending("endline", "Q2", "q2-c", kNoon + absl::Hours(3), true, true));

  absl::StatusOr<std::vector<WriteResult>> written = store_->Write(kTrial, batch);
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->size(), batch.responses.size());
  for (size_t i = 0; i < kMany; ++i) {
    ASSERT_EQ((*written)[i], WriteResult::kNewRespondent) << "row " << i;
  }
  EXPECT_EQ((*written)[kMany], WriteResult::kDuplicate);
  EXPECT_EQ((*written)[kMany + 1], WriteResult::kOtherParticipant);
  EXPECT_EQ((*written)[kMany + 2], WriteResult::kAccepted);
  EXPECT_EQ((*written)[kMany + 3], WriteResult::kAccepted);
  EXPECT_EQ((*written)[kMany + 4], WriteResult::kAccepted);
  EXPECT_EQ((*written)[kMany + 5], WriteResult::kNewRespondent);
  EXPECT_EQ((*written)[kMany + 6], WriteResult::kAccepted);
  EXPECT_EQ((*written)[kMany + 7], WriteResult::kAccepted);

  const std::map<std::string, std::string> baseline = Counted("baseline");
  EXPECT_EQ(baseline.size(), kMany) << "Q1's partial does not count";
  EXPECT_EQ(baseline.at("P0"), "s0");
  EXPECT_EQ(baseline.at("P1"), "p1-earlier");
  EXPECT_EQ(baseline.at("P2"), "s2");
  EXPECT_EQ(baseline.at("P7"), "s7");
  EXPECT_EQ(baseline.at("P9"), "s9");
  EXPECT_EQ(baseline.at(absl::StrCat("P", kMany - 1)), absl::StrCat("s", kMany - 1));
  EXPECT_EQ(Counted("endline"), (std::map<std::string, std::string>{{"Q2", "q2-c"}}));

  absl::StatusOr<std::vector<RespondentStatus>> statuses =
      store_->GetRespondentStatuses(kTrial, "baseline", {"P1", "P2", "Q1", "P9"});
  ASSERT_TRUE(statuses.ok()) << statuses.status();
  EXPECT_EQ((*statuses)[0].first_response_at, kNoon - absl::Hours(1));
  EXPECT_EQ((*statuses)[1].first_response_at, kNoon + absl::Minutes(2));
  EXPECT_FALSE((*statuses)[2].responded);
  EXPECT_EQ((*statuses)[3].first_response_at, kNoon + absl::Minutes(9));
  absl::StatusOr<std::vector<RespondentStatus>> endline =
      store_->GetRespondentStatuses(kTrial, "endline", {"Q2"});
  ASSERT_TRUE(endline.ok()) << endline.status();
  EXPECT_EQ((*endline)[0].first_response_at, kNoon + absl::Hours(1)) << "the earliest, q2-a";

  // What the batch stored is seen by the next one: ids are duplicates for their owner and
  // refused for anyone else; a response earlier than P3's first moves it again.
  WriteBatch next;
  next.responses.push_back(Pending("baseline", "P2000", "s2000", kNoon, true));
  next.responses.push_back(Pending("baseline", "P5", "s2000", kNoon, true));
  next.responses.push_back(Pending("baseline", "P3", "p3-earlier", kNoon - absl::Hours(5), true));
  absl::StatusOr<std::vector<WriteResult>> again = store_->Write(kTrial, next);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, (std::vector<WriteResult>{WriteResult::kDuplicate,
                                              WriteResult::kOtherParticipant,
                                              WriteResult::kAccepted}));
  EXPECT_EQ(Counted("baseline").at("P3"), "p3-earlier");
  absl::StatusOr<std::vector<std::string>> owners =
      store_->SubmissionOwners(kTrial, {"s2000", "p3-earlier", "s8", "never-sent"});
  ASSERT_TRUE(owners.ok()) << owners.status();
  EXPECT_EQ(*owners, (std::vector<std::string>{"P2000", "P3", "P8", ""}));
}

// A listing that leaves the answers out (the analysis view, without_answers, the norms) skips
// them in the stored bytes instead of parsing them: every other field must come out exactly as
// a full parse gives it, for responses with many answers, decisions, scores and times.
TEST_F(WriteBatchTest, ResponsesReadWithoutTheirAnswersAreTheFullResponsesLessTheAnswers) {
  WriteBatch batch;
  for (int i = 0; i < 40; ++i) {
    PendingResponse pending =
        Pending("baseline", absl::StrCat("P", i), absl::StrCat("s", i), kNoon, i % 5 != 0);
    v1::Response& r = pending.response;
    for (int item = 1; item <= 30; ++item) {
      (*r.mutable_answers())[absl::StrCat("item_", item)] = absl::StrCat(item * i % 7);
    }
    v1::Score* scale = r.add_scales();
    scale->set_id("wellbeing");
    scale->set_present(true);
    scale->set_value(i / 3.0);
    v1::Decision* decision = r.add_decisions();
    decision->set_block("cvs");
    decision->set_index(1);
    decision->set_item_id("cv_1");
    decision->set_value("4");
    (*decision->mutable_attributes())["gender"] = i % 2 ? "f" : "m";
    r.mutable_received_at()->set_seconds(absl::ToUnixSeconds(kNoon) + i);
    r.set_site(i % 2 ? "LA1" : "LA2");
    batch.responses.push_back(std::move(pending));
  }
  ASSERT_TRUE(store_->Write(kTrial, batch).ok());

  auto list = [&](IngestStore::Answers answers) {
    std::vector<v1::Response> listed;
    const absl::Status status =
        store_->ForEachResponse(kTrial, "baseline", "", answers, [&](v1::Response& r) {
          listed.push_back(r);
          return true;
        });
    EXPECT_TRUE(status.ok()) << status;
    return listed;
  };
  std::vector<v1::Response> whole = list(IngestStore::Answers::kParsed);
  const std::vector<v1::Response> without = list(IngestStore::Answers::kLeftOut);
  ASSERT_EQ(whole.size(), 40u);
  ASSERT_EQ(without.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(whole[i].answers_size(), 31) << "the 30 items and wb_1";
    EXPECT_EQ(without[i].answers_size(), 0);
    whole[i].clear_answers();
    EXPECT_EQ(without[i].SerializeAsString(), whole[i].SerializeAsString())
        << without[i].ShortDebugString() << "\n"
        << whole[i].ShortDebugString();
  }
}

// A stored response that does not parse (damaged in Redis) stops a listing with DATA_LOSS,
// whether its answers are parsed or skipped; the responses before it were visited.
TEST_F(WriteBatchTest, AStoredResponseThatDoesNotParseIsDataLossEitherWay) {
  WriteBatch batch;
  for (const char* participant : {"P1", "P2", "P3"}) {
    batch.responses.push_back(
        Pending("baseline", participant, absl::StrCat("s-", participant), kNoon, true));
  }
  ASSERT_TRUE(store_->Write(kTrial, batch).ok());
  // A length-delimited field whose length runs past the end of the value.
  ASSERT_TRUE(
      redis_client_->Command({"HSET", keys::Responses(kTrial, "baseline"), "s-P2", "\x0a\x7f"})
          .ok());
  for (const IngestStore::Answers answers :
       {IngestStore::Answers::kParsed, IngestStore::Answers::kLeftOut}) {
    std::vector<std::string> visited;
    const absl::Status status =
        store_->ForEachResponse(kTrial, "baseline", "", answers, [&](v1::Response& r) {
          visited.push_back(r.participant_id());
          return true;
        });
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_EQ(status.message(), "stored response does not parse");
    EXPECT_EQ(visited, std::vector<std::string>{"P1"});
  }
}

}  // namespace
}  // namespace fieldwork::survey_ingest::write_batch

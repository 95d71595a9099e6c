// The roster cache never answers stale: a withdrawal or an enrolment made a moment ago is seen
// by the next submission, one at a time or in a batch, also when it was made at another replica
// of randomisation than the one survey-ingest asks, with the real randomisation service and no
// time passing. And the batch lookup (GetParticipants, 1,000 ids a call) answers every id, from
// today's randomisation and from one older than its roster_only.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/batch_lookup.h"
#include "services/survey_ingest/grpc_roster.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"
#include "tests/testing/grpc_harness.h"

// A namespace of its own: each test file here names its trial kTrial (the files are compiled
// together in a unity build).
namespace fieldwork::survey_ingest::roster_freshness {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Property;

constexpr char kTrial[] = "fresh-roster";

v1::Submission Answer(const std::string& participant, const std::string& id) {
  return WellbeingSubmission(kTrial, participant, id);
}

class RosterFreshnessTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();
    CreateTrial(kTrial);
    std::vector<std::pair<std::string, std::string>> roster;
    for (int i = 1; i <= 20; ++i) roster.emplace_back(absl::StrCat("A", i), "LA1");
    Enrol(kTrial, roster);
    PutInstrument(kTrial, kWellbeingYaml);
    PutWave(kTrial, "baseline", "wb");
  }

  v1::SubmitResponseResponse SubmitOne(const v1::Submission& s) {
    v1::SubmitResponseRequest request;
    *request.mutable_submission() = s;
    v1::SubmitResponseResponse response;
    const grpc::Status status =
        ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // One SubmitResponses stream (one batch lookup of the roster, then cached).
  v1::SubmitResponsesResponse SubmitBatch(const std::vector<v1::Submission>& submissions) {
    auto context = ContextWith(kResearcher);
    v1::SubmitResponsesResponse response;
    auto writer = ingest().SubmitResponses(context.get(), &response);
    v1::SubmitResponsesRequest request;
    for (const v1::Submission& s : submissions) {
      *request.mutable_submission() = s;
      writer->Write(request);
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
};

TEST_F(RosterFreshnessTest, WithdrawalAndEnrolmentAreSeenAtOnceOneByOne) {
  ASSERT_EQ(SubmitOne(Answer("A1", "a1-first")).status(), v1::SUBMISSION_STATUS_ACCEPTED);
  const v1::SubmitResponseResponse unknown = SubmitOne(Answer("N1", "n1-first"));
  ASSERT_EQ(unknown.status(), v1::SUBMISSION_STATUS_REJECTED);

  Withdraw(kTrial, "A1");
  Enrol(kTrial, {{"N1", "LA1"}});

  const v1::SubmitResponseResponse withdrawn = SubmitOne(Answer("A1", "a1-second"));
  EXPECT_EQ(withdrawn.status(), v1::SUBMISSION_STATUS_REJECTED);
  // Not an ASSERT: a failure here must not hide the enrolment half below.
  EXPECT_THAT(withdrawn.errors(), ElementsAre(Property(&v1::RowError::reason, HasSubstr("withdrawn"))));
  EXPECT_EQ(SubmitOne(Answer("N1", "n1-second")).status(), v1::SUBMISSION_STATUS_ACCEPTED)
      << "enrolled a moment ago";
}

TEST_F(RosterFreshnessTest, WithdrawalAndEnrolmentAreSeenAtOnceInABatch) {
  std::vector<v1::Submission> first;
  for (int i = 1; i <= 20; ++i) first.push_back(Answer(absl::StrCat("A", i), absl::StrCat("f", i)));
  first.push_back(Answer("N1", "n1-first"));
  const v1::SubmitResponsesResponse before = SubmitBatch(first);
  ASSERT_EQ(before.accepted(), 20);
  ASSERT_EQ(before.rejected(), 1);  // N1, not enrolled yet

  Withdraw(kTrial, "A2");
  Enrol(kTrial, {{"N1", "LA1"}});

  std::vector<v1::Submission> second;
  for (int i = 1; i <= 20; ++i) second.push_back(Answer(absl::StrCat("A", i), absl::StrCat("s", i)));
  second.push_back(Answer("N1", "n1-second"));
  const v1::SubmitResponsesResponse after = SubmitBatch(second);
  EXPECT_EQ(after.accepted(), 20) << "19 of the A's and N1";
  EXPECT_EQ(after.rejected(), 1);
  ASSERT_EQ(after.errors_size(), 1);
  EXPECT_EQ(after.errors(0).value(), "A2");
  EXPECT_THAT(after.errors(0).reason(), HasSubstr("withdrawn"));
}

TEST_F(RosterFreshnessTest, WritesAtAnotherReplicaAreSeenInTheNextBatch) {
  std::vector<v1::Submission> first;
  for (int i = 1; i <= 20; ++i) first.push_back(Answer(absl::StrCat("A", i), absl::StrCat("f", i)));
  first.push_back(Answer("N2", "n2-first"));
  const v1::SubmitResponsesResponse before = SubmitBatch(first);
  ASSERT_EQ(before.accepted(), 20);
  ASSERT_EQ(before.rejected(), 1);  // N2, not enrolled yet: cached as unknown

  // A second randomisation replica over the same Redis takes the writes (Enrol and Withdraw go
  // to randomisation_), while survey-ingest keeps asking the first one, kept in `asked`.
  std::unique_ptr<RandomisationStack> asked = std::move(randomisation_);
  randomisation_ = std::make_unique<RandomisationStack>(redis_->url());
  Withdraw(kTrial, "A3");
  Enrol(kTrial, {{"N2", "LA2"}});

  std::vector<v1::Submission> second;
  for (int i = 1; i <= 20; ++i) second.push_back(Answer(absl::StrCat("A", i), absl::StrCat("s", i)));
  second.push_back(Answer("N2", "n2-second"));
  const v1::SubmitResponsesResponse after = SubmitBatch(second);
  EXPECT_EQ(after.accepted(), 20) << "19 of the A's and N2";
  ASSERT_EQ(after.errors_size(), 1);
  EXPECT_EQ(after.errors(0).value(), "A3");
  EXPECT_EQ(after.errors(0).field(), "participant_id");
  EXPECT_THAT(after.errors(0).reason(), HasSubstr("withdrawn"));
  bool n2_stored_with_its_site = false;
  for (const v1::Response& r : ListResponses(kTrial, "baseline")) {
    if (r.participant_id() == "N2") n2_stored_with_its_site = r.site() == "LA2";
  }
  EXPECT_TRUE(n2_stored_with_its_site);
}

// randomisation as it was before GetParticipantsRequest.roster_only: not knowing the field, it
// answers every id with the participant's whole status, as an older service does. Built by
// forwarding to the real service with the field cleared and the caller's token.
class RandomisationBeforeRosterOnly final : public v1::RandomisationService::Service {
 public:
  explicit RandomisationBeforeRosterOnly(const std::string& real_address)
      : real_(v1::RandomisationService::NewStub(
            grpc::CreateChannel(real_address, grpc::InsecureChannelCredentials()))) {}

  grpc::Status GetParticipants(grpc::ServerContext* context,
                               const v1::GetParticipantsRequest* request,
                               v1::GetParticipantsResponse* response) override {
    v1::GetParticipantsRequest older = *request;
    older.clear_roster_only();
    grpc::ClientContext forwarded;
    for (const auto& [key, value] : context->client_metadata()) {
      if (key == "authorization") {
        forwarded.AddMetadata("authorization", std::string(value.data(), value.size()));
      }
    }
    return real_->GetParticipants(&forwarded, older, response);
  }

 private:
  std::unique_ptr<v1::RandomisationService::Stub> real_;
};

TEST_F(RosterFreshnessTest, ABatchLookupAnswersEveryIdAcrossCalls) {
  std::vector<std::pair<std::string, std::string>> more;
  for (int i = 1; i <= 1100; ++i) more.emplace_back(absl::StrCat("C", i), i % 2 ? "LA1" : "LA2");
  Enrol(kTrial, more);
  Withdraw(kTrial, "C1050");
  std::vector<std::string> ids;
  for (int i = 1; i <= 1100; ++i) ids.push_back(absl::StrCat("C", i));
  for (int i = 1; i <= 50; ++i) ids.push_back(absl::StrCat("unknown-", i));
  ASSERT_GT(ids.size(), kMaxBatchLookupIds) << "more than one GetParticipants call";

  // The roster answers alike from today's randomisation (roster facts from its index) and from
  // one older than roster_only (whole statuses).
  RandomisationBeforeRosterOnly older(randomisation_->address());
  fieldwork::testing::InProcessServer older_server({&older});
  for (const std::string& address : {randomisation_->address(), older_server.address()}) {
    SCOPED_TRACE(address == randomisation_->address() ? "roster_only answered"
                                                      : "an older randomisation");
    GrpcRoster roster(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()),
                      kIngestService);
    absl::StatusOr<RosterEntries> entries = roster.Lookup(kTrial, ids);
    ASSERT_TRUE(entries.ok()) << entries.status();
    EXPECT_EQ(entries->size(), ids.size());
    for (int i = 1; i <= 1100; ++i) {
      const RosterEntry& entry = (*entries)[absl::StrCat("C", i)];
      ASSERT_TRUE(entry.enrolled) << i;
      EXPECT_EQ(entry.site, i % 2 ? "LA1" : "LA2") << i;
      EXPECT_EQ(entry.withdrawn, i == 1050) << i;
    }
    EXPECT_FALSE((*entries)["unknown-1"].enrolled);
    EXPECT_FALSE((*entries)["unknown-50"].enrolled);

    absl::StatusOr<RosterEntries> unknown_trial = roster.Lookup("no-such-trial", {"C1"});
    ASSERT_TRUE(unknown_trial.ok()) << unknown_trial.status();
    EXPECT_FALSE((*unknown_trial)["C1"].enrolled);
  }
}

}  // namespace
}  // namespace fieldwork::survey_ingest::roster_freshness

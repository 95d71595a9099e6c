// Anchors (issue 14): a head of the audit log kept outside Redis detects a log that a Redis
// rollback cut back — which the hash chain alone cannot show — and a log rewritten behind it.
// The rollback is real: redis-server restarted from a copy of its AOF taken before the last
// writes, as a restore from an older backup would do.
#include <filesystem>

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/randomisation/anchors/anchor_file.h"
#include "tests/integration/randomisation/randomisation_fixture.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

v1::VerifyAuditLogResponse VerifyWith(v1::RandomisationService::Stub& stub,
                                      const std::string& trial,
                                      const std::vector<v1::AuditHead>& anchors,
                                      grpc::Status* status = nullptr) {
  v1::VerifyAuditLogRequest request;
  request.set_trial_id(trial);
  for (const auto& anchor : anchors) *request.add_anchors() = anchor;
  v1::VerifyAuditLogResponse response;
  grpc::Status result = stub.VerifyAuditLog(ContextWith(kResearcher).get(), request, &response);
  if (status != nullptr) {
    *status = result;
  } else {
    EXPECT_TRUE(result.ok()) << result.error_message();
  }
  return response;
}

std::vector<v1::AuditEntry> AuditLog(v1::RandomisationService::Stub& stub,
                                     const std::string& trial) {
  v1::AuditLogRequest request;
  request.set_trial_id(trial);
  auto context = ContextWith(kResearcher);
  auto reader = stub.AuditLog(context.get(), request);
  std::vector<v1::AuditEntry> entries;
  v1::AuditLogResponse message;
  while (reader->Read(&message)) entries.push_back(message.entry());
  EXPECT_TRUE(reader->Finish().ok());
  return entries;
}

// The head is the log's length and its newest entry's hash.
void ExpectHeadOf(const v1::AuditHead& head, const std::vector<v1::AuditEntry>& log, int64_t length,
                  const std::string& call) {
  EXPECT_EQ(head.length(), length) << call;
  ASSERT_GE(log.size(), static_cast<size_t>(length)) << call;
  ASSERT_GE(length, 1) << call;
  EXPECT_EQ(head.sha256(), log[static_cast<size_t>(length - 1)].hash()) << call;
}

std::vector<v1::Participant> Roster(int from, int to) {
  std::vector<v1::Participant> roster;
  for (int i = from; i < to; ++i) roster.push_back(MakeParticipant(absl::StrCat("r", i), "LA1"));
  return roster;
}

// Redis's AOF directory, copied while the server is down.
void CopyAof(const std::string& from, const std::string& to) {
  std::filesystem::remove_all(to);
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
}

TEST_F(RandomisationTest, AnchorsDetectARolledBackOrRewrittenLogTheChainAloneCannot) {
  v1::TrialDesign design;
  design.set_trial_id("rollback");
  design.add_sites()->set_id("LA1");
  *design.add_factors() = TwoArms("intervention", v1::RANDOMISATION_METHOD_COMPLETE);
  ASSERT_TRUE(CreateTrial(design).ok());
  Enrol("rollback", Roster(0, 20));
  ASSERT_TRUE(Lock("rollback").ok());
  // Entries: 0 created, 1 enrolment, 2 lock, 3 allocation.
  const v1::AuditHead early = Randomise("rollback").audit_head();
  ASSERT_EQ(early.length(), 4);
  EXPECT_EQ(early.sha256(), Verify("rollback").head().sha256());

  // The backup a later restore brings back: Redis's files as they are now.
  const std::string aof = redis_->dir() + "/appendonlydir";
  fieldwork::testing::TempDir backup;
  redis_->Kill();
  ASSERT_TRUE(std::filesystem::exists(aof));
  CopyAof(aof, backup.path() + "/appendonlydir");
  redis_->Start();
  RestartService();

  // Acknowledged writes after the backup (4 enrolment, 5 allocation); the researcher keeps
  // the head Randomise returned.
  EXPECT_EQ(Enrol("rollback", Roster(20, 30)).audit_head().length(), 5);
  v1::AuditHead late = Randomise("rollback").audit_head();
  ASSERT_EQ(late.length(), 6);
  *late.mutable_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(1'796'340'000'000'000'000);
  ASSERT_EQ(Allocations("rollback").size(), 30u);

  // The rollback: Redis restarted from the older copy of its AOF.
  redis_->Kill();
  CopyAof(backup.path() + "/appendonlydir", aof);
  redis_->Start();
  RestartService();
  ASSERT_EQ(Allocations("rollback").size(), 20u) << "the rollback lost the later allocations";

  // The old weakness: without anchors the shorter log is a valid chain.
  const v1::VerifyAuditLogResponse plain = Verify("rollback");
  EXPECT_TRUE(plain.valid()) << plain.reason();
  EXPECT_EQ(plain.entries(), 4);
  EXPECT_EQ(plain.anchors_size(), 0);

  const v1::VerifyAuditLogResponse truncated = VerifyWith(stub(), "rollback", {early, late});
  EXPECT_FALSE(truncated.valid());
  EXPECT_EQ(truncated.entries(), 4);
  EXPECT_EQ(truncated.first_bad_sequence(), 4) << "the first missing entry";
  EXPECT_THAT(
      truncated.reason(),
      HasSubstr("the log has 4 entries but an anchor recorded at 2026-12-03T23:20:00Z has 6"));
  ASSERT_EQ(truncated.anchors_size(), 2);
  EXPECT_EQ(truncated.anchors(0).result(), v1::AnchorCheck::RESULT_MATCHED);
  EXPECT_EQ(truncated.anchors(1).result(), v1::AnchorCheck::RESULT_TRUNCATED);
  EXPECT_EQ(truncated.anchors(1).anchor().length(), 6);
  EXPECT_EQ(truncated.head().length(), 4);
  EXPECT_EQ(truncated.head().sha256(), early.sha256());

  // The service carries on after the rollback: the log grows back past the anchor's length,
  // with other entries (5 withdrawal, 6 leaver). Still a valid chain; the anchor says rewritten.
  v1::WithdrawRequest withdraw;
  withdraw.set_trial_id("rollback");
  withdraw.set_participant_id("r3");
  withdraw.set_reason("moved away");
  v1::WithdrawResponse withdrawn;
  ASSERT_TRUE(stub().Withdraw(ContextWith(kResearcher).get(), withdraw, &withdrawn).ok());
  v1::RecordLeaverRequest leaver;
  leaver.set_trial_id("rollback");
  leaver.set_participant_id("r5");
  leaver.mutable_left_on()->set_year(2021);
  leaver.mutable_left_on()->set_month(3);
  leaver.mutable_left_on()->set_day(1);
  v1::RecordLeaverResponse left;
  ASSERT_TRUE(stub().RecordLeaver(ContextWith(kResearcher).get(), leaver, &left).ok());
  EXPECT_EQ(left.audit_head().length(), 6);
  EXPECT_TRUE(Verify("rollback").valid());
  const v1::VerifyAuditLogResponse rewritten = VerifyWith(stub(), "rollback", {early, late});
  EXPECT_FALSE(rewritten.valid());
  EXPECT_EQ(rewritten.first_bad_sequence(), 5);
  EXPECT_THAT(rewritten.reason(), HasSubstr("the log was rewritten at or before entry 5"));
  ASSERT_EQ(rewritten.anchors_size(), 2);
  EXPECT_EQ(rewritten.anchors(0).result(), v1::AnchorCheck::RESULT_MATCHED);
  EXPECT_EQ(rewritten.anchors(1).result(), v1::AnchorCheck::RESULT_REWRITTEN);

  // fieldwork-replay checks the streamed log against an anchor file the same way, on its own.
  fieldwork::testing::TempDir files;
  const std::string both = files.path() + "/both.audit-anchors";
  ASSERT_TRUE(AppendAnchor(both, "rollback", early).ok());
  ASSERT_TRUE(AppendAnchor(both, "rollback", late).ok());
  std::string output;
  EXPECT_EQ(CloseAndReplay("rollback", &output, {"--anchors=" + both}), 1) << output;
  EXPECT_THAT(output, HasSubstr("ANCHOR MATCHED length 4"));
  EXPECT_THAT(output, HasSubstr("ANCHOR REWRITTEN length 6"));
  EXPECT_THAT(output, HasSubstr("replayed 20 allocation(s) of trial rollback: 0 difference(s)"));
  v1::AuditHead beyond = late;
  beyond.set_length(100);
  const std::string ahead = files.path() + "/ahead.audit-anchors";
  ASSERT_TRUE(AppendAnchor(ahead, "rollback", beyond).ok());
  EXPECT_EQ(CloseAndReplay("rollback", &output, {"--anchors=" + ahead}), 1) << output;
  EXPECT_THAT(output, HasSubstr("ANCHOR TRUNCATED length 100"));
  const std::string good = files.path() + "/early.audit-anchors";
  ASSERT_TRUE(AppendAnchor(good, "rollback", early).ok());
  EXPECT_EQ(CloseAndReplay("rollback", &output, {"--anchors=" + good}), 0) << output;
  EXPECT_THAT(output, HasSubstr("valid; 1 anchor(s), 0 failed"));
  EXPECT_EQ(CloseAndReplay("rollback", &output, {"--anchors=" + files.path() + "/missing"}), 2)
      << output;
}

// Every call that appends to the log returns the head after it; a retry that wrote nothing
// returns the current head.
TEST_F(RandomisationTest, EveryWriteReturnsTheAuditHeadAfterIt) {
  v1::TrialDesign design;
  design.set_trial_id("heads");
  design.add_sites()->set_id("LA1");
  *design.add_factors() = TwoArms("intervention", v1::RANDOMISATION_METHOD_COMPLETE);
  std::vector<std::pair<std::string, v1::AuditHead>> heads;  // call, head, in call order
  {
    v1::CreateTrialRequest request;
    *request.mutable_design() = design;
    v1::CreateTrialResponse response;
    ASSERT_TRUE(stub().CreateTrial(ContextWith(kResearcher).get(), request, &response).ok());
    heads.emplace_back("CreateTrial", response.audit_head());
    design.set_title("heads, retitled");
    v1::UpdateDesignRequest update;
    *update.mutable_design() = design;
    v1::UpdateDesignResponse updated;
    ASSERT_TRUE(stub().UpdateDesign(ContextWith(kResearcher).get(), update, &updated).ok());
    heads.emplace_back("UpdateDesign", updated.audit_head());
  }
  heads.emplace_back("Enrol", Enrol("heads", Roster(0, 6)).audit_head());
  {
    v1::LockDesignRequest request;
    request.set_trial_id("heads");
    v1::LockDesignResponse response, retry;
    ASSERT_TRUE(stub().LockDesign(ContextWith(kResearcher).get(), request, &response).ok());
    heads.emplace_back("LockDesign", response.audit_head());
    ASSERT_TRUE(stub().LockDesign(ContextWith(kResearcher).get(), request, &retry).ok());
    EXPECT_EQ(retry.audit_head().length(), response.audit_head().length())
        << "a retry writes nothing";
    EXPECT_EQ(retry.audit_head().sha256(), response.audit_head().sha256());
  }
  heads.emplace_back("Randomise", Randomise("heads").audit_head());
  {
    v1::WithdrawRequest request;
    request.set_trial_id("heads");
    request.set_participant_id("r1");
    v1::WithdrawResponse response;
    ASSERT_TRUE(stub().Withdraw(ContextWith(kPartnerLa1).get(), request, &response).ok());
    heads.emplace_back("Withdraw", response.audit_head());
  }
  {
    v1::RecordLeaverRequest request;
    request.set_trial_id("heads");
    request.set_participant_id("r2");
    request.mutable_left_on()->set_year(2021);
    request.mutable_left_on()->set_month(2);
    request.mutable_left_on()->set_day(1);
    v1::RecordLeaverResponse response;
    ASSERT_TRUE(stub().RecordLeaver(ContextWith(kPartnerLa1).get(), request, &response).ok());
    heads.emplace_back("RecordLeaver", response.audit_head());
  }
  {
    v1::CloseTrialRequest request;
    request.set_trial_id("heads");
    v1::CloseTrialResponse response;
    ASSERT_TRUE(stub().CloseTrial(ContextWith(kResearcher).get(), request, &response).ok());
    heads.emplace_back("CloseTrial", response.audit_head());
    v1::RevealSecretRequest reveal;
    reveal.set_trial_id("heads");
    v1::RevealSecretResponse revealed;
    ASSERT_TRUE(stub().RevealSecret(ContextWith(kAdmin).get(), reveal, &revealed).ok());
    heads.emplace_back("RevealSecret", revealed.audit_head());
  }
  const std::vector<v1::AuditEntry> log = AuditLog(stub(), "heads");
  ASSERT_EQ(log.size(), heads.size());
  for (size_t i = 0; i < heads.size(); ++i) {
    ExpectHeadOf(heads[i].second, log, static_cast<int64_t>(i) + 1, heads[i].first);
  }
  const v1::VerifyAuditLogResponse verified = Verify("heads");
  ExpectHeadOf(verified.head(), log, static_cast<int64_t>(log.size()), "VerifyAuditLog");
  EXPECT_EQ(verified.head().time().seconds(), log.back().time().seconds());

  // Sequential designs: AllocateNext.
  v1::TrialDesign rolling;
  rolling.set_trial_id("heads-rolling");
  rolling.add_sites()->set_id("LA1");
  v1::Factor factor = TwoArms("intervention", v1::RANDOMISATION_METHOD_PERMUTED_BLOCKS);
  factor.add_block_sizes(2);
  factor.add_block_sizes(4);
  *rolling.add_factors() = factor;
  ASSERT_TRUE(CreateTrial(rolling).ok());
  ASSERT_TRUE(Lock("heads-rolling").ok());
  Enrol("heads-rolling", Roster(0, 1));
  v1::AllocateNextRequest request;
  request.set_trial_id("heads-rolling");
  request.set_participant_id("r0");
  v1::AllocateNextResponse first, retry;
  ASSERT_TRUE(stub().AllocateNext(ContextWith(kResearcher).get(), request, &first).ok());
  ASSERT_TRUE(stub().AllocateNext(ContextWith(kResearcher).get(), request, &retry).ok());
  const std::vector<v1::AuditEntry> rolling_log = AuditLog(stub(), "heads-rolling");
  ASSERT_EQ(rolling_log.size(), 4u);  // created, locked, enrolment, allocation
  ExpectHeadOf(first.audit_head(), rolling_log, 4, "AllocateNext");
  ExpectHeadOf(retry.audit_head(), rolling_log, 4, "AllocateNext retry");
}

TEST_F(RandomisationTest, MalformedAnchorsAreRefusedNamingTheField) {
  v1::TrialDesign design;
  design.set_trial_id("bad-anchors");
  design.add_sites()->set_id("LA1");
  *design.add_factors() = TwoArms("intervention", v1::RANDOMISATION_METHOD_COMPLETE);
  ASSERT_TRUE(CreateTrial(design).ok());
  const v1::AuditHead head = Verify("bad-anchors").head();
  ASSERT_EQ(head.length(), 1);

  v1::AuditHead empty = head;
  empty.set_length(0);
  grpc::Status status;
  VerifyWith(stub(), "bad-anchors", {head, empty}, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("anchors[1].length: must be at least 1"));

  v1::AuditHead upper = head;
  upper.set_sha256(std::string(64, 'A'));
  VerifyWith(stub(), "bad-anchors", {upper}, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("anchors[0].sha256: must be 64 lower-case hex digits"));
}

}  // namespace
}  // namespace fieldwork::randomisation

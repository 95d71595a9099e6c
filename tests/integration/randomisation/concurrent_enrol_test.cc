// Concurrent Enrol calls into one trial on a real Redis: small calls waiting beside each other
// are committed as a group, and each caller still gets exactly the answer it would have got
// alone (the calls taken one at a time in some order), with its own audit entry; the log
// verifies after the burst. Also two replicas enrolling at once, and a replica whose cached
// design or roster is stale answering a call that writes nothing. AllocateNext's groups, too,
// record each actor's arrivals under that actor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/common/clock.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/trial_designs.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::testing::EnrolmentAt;
using ::fieldwork::testing::TwoArmsNorthAndSouth;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// Forwards to a store; can hold the next commit until released (so that calls arriving
// meanwhile queue up behind it), and records the largest group committed.
class GatedStore final : public RandomisationStore {
 public:
  explicit GatedStore(RandomisationStore& inner) : inner_(inner) {}

  void HoldNextCommit() {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_ = true;
    held_ = false;
  }
  void WaitUntilHeld() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return held_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_ = false;
    changed_.notify_all();
  }
  size_t largest_group() {
    std::lock_guard<std::mutex> lock(mutex_);
    return largest_group_;
  }

  absl::StatusOr<TrialRecord> Load(const std::string& trial_id) override {
    return inner_.Load(trial_id);
  }
  absl::StatusOr<TrialHeader> ScanTrial(const std::string& trial_id,
                                        const TrialRecordVisitor& visit) override {
    return inner_.ScanTrial(trial_id, visit);
  }
  absl::StatusOr<ParticipantRecords> ReadRecords(const std::string& trial_id,
                                                 const std::vector<std::string>& ids,
                                                 RecordKinds kinds) override {
    return inner_.ReadRecords(trial_id, ids, kinds);
  }
  absl::StatusOr<std::string> AuditHead(const std::string& trial_id) override {
    return inner_.AuditHead(trial_id);
  }
  absl::StatusOr<v1::AuditHead> ReadAuditHead(const std::string& trial_id) override {
    return inner_.ReadAuditHead(trial_id);
  }
  // Every single commit after the next `ok` of them fails, as if Redis went away.
  void FailCommitsAfter(int ok) {
    std::lock_guard<std::mutex> lock(mutex_);
    commits_before_failing_ = ok;
  }
  void StopFailing() {
    std::lock_guard<std::mutex> lock(mutex_);
    commits_before_failing_.reset();
  }

  absl::Status Commit(const std::string& trial_id, const TrialWrite& write) override {
    Gate(1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (commits_before_failing_.has_value() && (*commits_before_failing_)-- <= 0) {
        return absl::UnavailableError("redis at 127.0.0.1: Server closed the connection");
      }
    }
    return inner_.Commit(trial_id, write);
  }
  absl::Status CommitGroup(const std::string& trial_id,
                           absl::Span<const TrialWrite> writes) override {
    Gate(writes.size());
    return inner_.CommitGroup(trial_id, writes);
  }
  absl::StatusOr<std::vector<std::string>> ListTrialIds() override { return inner_.ListTrialIds(); }
  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAudit(const std::string& trial_id) override {
    return inner_.ReadAudit(trial_id);
  }

 private:
  void Gate(size_t writes) {
    std::unique_lock<std::mutex> lock(mutex_);
    largest_group_ = std::max(largest_group_, writes);
    if (!hold_) return;
    held_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !hold_; });
  }

  RandomisationStore& inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool hold_ = false;
  bool held_ = false;
  size_t largest_group_ = 0;
  std::optional<int> commits_before_failing_;
};

// One caller of a burst: what it sends and what it got.
struct Caller {
  std::string actor;
  std::vector<v1::Participant> rows;
  bool all_or_nothing = false;
  EnrolGuards guards;
  std::optional<absl::StatusOr<v1::EnrolResponse>> result;
};

class ConcurrentEnrolTest : public ::testing::Test {
 protected:
  // Runs callers[0] until its commit is held, then every other caller at once, and releases
  // the commit once they have had time to queue behind it (if some have not, they form later
  // groups: the answers must be the same either way).
  void Burst(std::vector<Caller>& callers) {
    gated_.HoldNextCommit();
    auto run = [&](Caller& caller) {
      caller.result = randomiser_.Enrol("burst", caller.rows, caller.all_or_nothing, caller.actor,
                                        caller.guards);
    };
    std::vector<std::thread> threads;
    threads.emplace_back(run, std::ref(callers[0]));
    gated_.WaitUntilHeld();
    for (size_t i = 1; i < callers.size(); ++i) threads.emplace_back(run, std::ref(callers[i]));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    gated_.Release();
    for (std::thread& thread : threads) thread.join();
  }

  // The audit log's enrolment entries by actor.
  std::map<std::string, std::vector<v1::AuditEntry>> EnrolmentsByActor(Randomiser& randomiser,
                                                                       const std::string& trial) {
    std::map<std::string, std::vector<v1::AuditEntry>> by_actor;
    absl::StatusOr<std::vector<v1::AuditEntry>> log = randomiser.AuditLog(trial);
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return by_actor;
    for (const v1::AuditEntry& entry : *log) {
      if (entry.kind() == v1::AuditEntry::KIND_ENROLMENT) by_actor[entry.actor()].push_back(entry);
    }
    return by_actor;
  }

  // Participants p1..p<n>, all at site "north".
  static std::vector<v1::Participant> NorthRoster(int n) {
    std::vector<v1::Participant> rows;
    for (int i = 1; i <= n; ++i) rows.push_back(EnrolmentAt(absl::StrCat("p", i), "north"));
    return rows;
  }

  void ExpectAuditLogValid(const std::string& trial) {
    absl::StatusOr<v1::VerifyAuditLogResponse> verified = randomiser_.VerifyAuditLog(trial);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_TRUE(verified->valid());
  }

  fieldwork::testing::RedisServer redis_;
  std::unique_ptr<RedisClient> client_ = redis_.NewClient();
  RedisRandomisationStore store_{*client_};
  GatedStore gated_{store_};
  ManualClock clock_{absl::FromCivil(absl::CivilSecond(2021, 3, 1, 9, 0, 0), absl::UTCTimeZone())};
  Randomiser randomiser_{gated_, clock_};
};

TEST_F(ConcurrentEnrolTest, EachCallerGetsWhatItWouldHaveGotAloneWithItsOwnAuditEntry) {
  ASSERT_TRUE(randomiser_.CreateTrial(TwoArmsNorthAndSouth("burst"), "creator").ok());
  // Caller 0 goes first with a row of its own. Then each caller i enrols a row of its own, the
  // row "shared" at its site (callers at the other site conflict with whoever came first), and
  // a member of cluster "team" at its site (the first decides the cluster's site). Caller 5
  // asks all_or_nothing with a bad row, caller 6 may enrol only in the north but is in the
  // south, and caller 7 goes away before the write.
  constexpr size_t kCallers = 16;
  std::vector<Caller> callers(kCallers);
  callers[0].actor = "actor-0";
  callers[0].rows = {EnrolmentAt("own-0", "north")};
  for (size_t i = 1; i < kCallers; ++i) {
    const std::string site = i % 2 ? "north" : "south";
    callers[i].actor = absl::StrCat("actor-", i);
    callers[i].rows = {EnrolmentAt(absl::StrCat("own-", i), site), EnrolmentAt("shared", site),
                       EnrolmentAt(absl::StrCat("member-", i), site, "team")};
  }
  callers[5].all_or_nothing = true;
  callers[5].rows.push_back(EnrolmentAt("bad-5", "east"));
  callers[6].guards.may_enrol_at = [](const std::string& site) { return site == "north"; };
  callers[7].guards.still_wanted = [] { return false; };
  Burst(callers);
  EXPECT_GT(gated_.largest_group(), 1u)
      << "calls that queued behind a commit are committed together";

  // The order the calls were taken in decided the shared row's and the cluster's site.
  absl::StatusOr<v1::ParticipantStatus> shared = randomiser_.GetParticipant("burst", "shared");
  ASSERT_TRUE(shared.ok()) << shared.status();
  const std::string shared_site = shared->participant().site();
  std::optional<std::string> team_site;
  for (size_t i = 1; i < kCallers; ++i) {
    absl::StatusOr<v1::ParticipantStatus> member =
        randomiser_.GetParticipant("burst", absl::StrCat("member-", i));
    if (!member.ok()) continue;
    if (team_site.has_value()) {
      EXPECT_EQ(member->participant().site(), *team_site) << "member-" << i;
    }
    team_site = member->participant().site();
  }
  ASSERT_TRUE(team_site.has_value());

  std::map<std::string, std::vector<v1::AuditEntry>> entries =
      EnrolmentsByActor(randomiser_, "burst");
  int shared_enrolments = 0;
  int64_t enrolled = 0;
  for (size_t i = 0; i < kCallers; ++i) {
    SCOPED_TRACE(absl::StrCat("caller ", i));
    const Caller& caller = callers[i];
    ASSERT_TRUE(caller.result.has_value());
    if (i == 5 || i == 6 || i == 7) {
      const absl::StatusCode expected = i == 5   ? absl::StatusCode::kInvalidArgument
                                        : i == 6 ? absl::StatusCode::kPermissionDenied
                                                 : absl::StatusCode::kCancelled;
      EXPECT_EQ(caller.result->status().code(), expected) << caller.result->status();
      EXPECT_EQ(randomiser_.GetParticipant("burst", absl::StrCat("own-", i)).status().code(),
                absl::StatusCode::kNotFound);
      EXPECT_EQ(entries.count(caller.actor), 0u);
      continue;
    }
    ASSERT_TRUE(caller.result->ok()) << caller.result->status();
    const v1::EnrolResponse& response = **caller.result;
    std::vector<std::string> expected_errors;
    std::vector<std::string> written = {absl::StrCat("own-", i)};
    if (i > 0) {
      const std::string& site = caller.rows[0].site();
      const bool shared_same = site == shared_site;
      const bool cluster_ok = site == *team_site;
      if (!shared_same)
        expected_errors.push_back("2 participant_id: is already enrolled with different data");
      if (!cluster_ok) {
        expected_errors.push_back(absl::StrCat("3 cluster: \"team\" is already in site \"",
                                               *team_site,
                                               "\"; the design forbids clusters across sites"));
      }
      // Enrolled or unchanged: exactly one of the two when its row matches the stored one.
      const int64_t shared_written = response.enrolled() - 1 - (cluster_ok ? 1 : 0);
      ASSERT_TRUE(shared_written == 0 || shared_written == 1) << response.ShortDebugString();
      EXPECT_EQ(response.unchanged() + shared_written, shared_same ? 1 : 0);
      shared_enrolments += static_cast<int>(shared_written);
      if (shared_written == 1) written.push_back("shared");
      if (cluster_ok) written.push_back(absl::StrCat("member-", i));
    }
    std::vector<std::string> errors;
    for (const v1::RowError& e : response.errors())
      errors.push_back(absl::StrCat(e.row(), " ", e.field(), ": ", e.reason()));
    EXPECT_THAT(errors, ElementsAreArray(expected_errors));
    EXPECT_EQ(response.rejected(), static_cast<int64_t>(expected_errors.size()));
    enrolled += response.enrolled();
    // Its own entry, under its own actor, covering exactly its rows; its head is after it.
    ASSERT_EQ(entries[caller.actor].size(), 1u);
    const v1::AuditEntry& entry = entries[caller.actor].front();
    std::sort(written.begin(), written.end());
    EXPECT_THAT(entry.participant_ids(), ElementsAreArray(written));
    EXPECT_EQ(response.audit_head().length(), entry.sequence() + 1);
    EXPECT_EQ(response.audit_head().sha256(), entry.hash());
  }
  EXPECT_EQ(shared_enrolments, 1);
  EXPECT_EQ(randomiser_.GetTrial("burst")->enrolled(), enrolled);
  absl::StatusOr<v1::VerifyAuditLogResponse> verified = randomiser_.VerifyAuditLog("burst");
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->valid()) << verified->reason();
  EXPECT_EQ(verified->entries(),
            static_cast<int64_t>(1 + kCallers - 3));  // created, then one per caller that wrote
}

TEST_F(ConcurrentEnrolTest, ARetryInTheSameGroupIsUnchanged) {
  ASSERT_TRUE(randomiser_.CreateTrial(TwoArmsNorthAndSouth("burst"), "creator").ok());
  std::vector<Caller> callers(12);
  for (Caller& caller : callers) {
    caller.actor = "partner";
    caller.rows = {EnrolmentAt("same-1", "north"), EnrolmentAt("same-2", "south", "team")};
  }
  Burst(callers);
  absl::StatusOr<v1::AuditHead> head = randomiser_.GetAuditHead("burst");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->length(), 2);  // created, one enrolment
  for (size_t i = 0; i < callers.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("caller ", i));
    ASSERT_TRUE(callers[i].result->ok()) << callers[i].result->status();
    const v1::EnrolResponse& response = **callers[i].result;
    // Caller 0 went first and wrote both rows; everyone after it finds them enrolled.
    EXPECT_EQ(response.enrolled(), i == 0 ? 2 : 0);
    EXPECT_EQ(response.unchanged(), i == 0 ? 0 : 2);
    EXPECT_EQ(response.rejected(), 0);
    EXPECT_EQ(response.audit_head().length(), head->length());
    EXPECT_EQ(response.audit_head().sha256(), head->sha256());
  }
  EXPECT_TRUE(randomiser_.VerifyAuditLog("burst")->valid());
}

TEST_F(ConcurrentEnrolTest, TwoReplicasEnrollingAtOnceLoseNothingAndEnrolARowOnce) {
  ASSERT_TRUE(randomiser_.CreateTrial(TwoArmsNorthAndSouth("burst"), "creator").ok());
  std::unique_ptr<RedisClient> client_b = redis_.NewClient();
  RedisRandomisationStore store_b(*client_b);
  Randomiser replica_b(store_b, clock_);
  constexpr int kPerReplica = 8;
  constexpr int kRounds = 5;
  std::vector<absl::StatusOr<v1::EnrolResponse>> results(2 * kPerReplica * kRounds,
                                                         absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kPerReplica; ++t) {
    threads.emplace_back([&, t] {
      Randomiser& replica = t < kPerReplica ? randomiser_ : replica_b;
      for (int round = 0; round < kRounds; ++round) {
        auto& result = results[static_cast<size_t>(t * kRounds + round)];
        // ABORTED (the other replica kept winning the race) wrote nothing and asks for a
        // retry, as a client would.
        for (int attempt = 0; attempt < 20; ++attempt) {
          result = replica.Enrol("burst",
                                 {EnrolmentAt(absl::StrCat("own-", t, "-", round), "north"),
                                  EnrolmentAt(absl::StrCat("both-", round), "south")},
                                 false, absl::StrCat("actor-", t));
          if (result.status().code() != absl::StatusCode::kAborted) break;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  int64_t enrolled = 0;
  int64_t unchanged = 0;
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->rejected(), 0);
    EXPECT_EQ(result->enrolled() + result->unchanged(), 2);
    enrolled += result->enrolled();
    unchanged += result->unchanged();
  }
  const int64_t participants = 2 * kPerReplica * kRounds + kRounds;  // own rows, one "both" a round
  EXPECT_EQ(enrolled, participants);
  EXPECT_EQ(unchanged, 2 * kPerReplica * kRounds - kRounds);
  EXPECT_EQ(randomiser_.GetTrial("burst")->enrolled(), participants);
  EXPECT_EQ(replica_b.GetTrial("burst")->enrolled(), participants);
  absl::StatusOr<v1::VerifyAuditLogResponse> verified = replica_b.VerifyAuditLog("burst");
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->valid()) << verified->reason();
}

TEST_F(ConcurrentEnrolTest, AStaleReplicaAnswersACallThatWritesNothingFromTheCurrentTrial) {
  ASSERT_TRUE(randomiser_.CreateTrial(TwoArmsNorthAndSouth("burst"), "creator").ok());
  std::unique_ptr<RedisClient> client_b = redis_.NewClient();
  RedisRandomisationStore store_b(*client_b);
  Randomiser replica_b(store_b, clock_);
  ASSERT_TRUE(replica_b.GetTrial("burst").ok());  // b caches the design with two sites

  // A third site, added through the other replica: b's cached design would reject the row,
  // and a rejection writes nothing, so no compare-and-set would tell b its cache is stale.
  v1::TrialDesign three = TwoArmsNorthAndSouth("burst");
  three.add_sites()->set_id("east");
  ASSERT_TRUE(randomiser_.UpdateDesign(three, "creator").ok());
  absl::StatusOr<v1::EnrolResponse> east =
      replica_b.Enrol("burst", {EnrolmentAt("e1", "east")}, true, "partner");
  ASSERT_TRUE(east.ok()) << east.status();
  EXPECT_EQ(east->enrolled(), 1);

  // A retry of a row enrolled through the other replica is unchanged, with the current head.
  ASSERT_TRUE(randomiser_.Enrol("burst", {EnrolmentAt("n1", "north")}, false, "partner").ok());
  absl::StatusOr<v1::EnrolResponse> retry =
      replica_b.Enrol("burst", {EnrolmentAt("n1", "north")}, false, "partner");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->unchanged(), 1);
  EXPECT_EQ(retry->enrolled(), 0);
  absl::StatusOr<v1::AuditHead> head = randomiser_.GetAuditHead("burst");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(retry->audit_head().sha256(), head->sha256());

  // A closed trial refuses enrolment at the replica that has not seen it close.
  ASSERT_TRUE(replica_b.GetTrial("burst").ok());
  ASSERT_TRUE(randomiser_.CloseTrial("burst", "creator").ok());
  absl::StatusOr<v1::EnrolResponse> closed =
      replica_b.Enrol("burst", {EnrolmentAt("late", "north")}, false, "partner");
  EXPECT_EQ(closed.status().code(), absl::StatusCode::kFailedPrecondition) << closed.status();
  EXPECT_THAT(closed.status().message(), HasSubstr("closed to enrolment"));
}

TEST_F(ConcurrentEnrolTest, AllocateNextArrivalsOfSeveralActorsKeepTheirOwnEntries) {
  v1::TrialDesign design = TwoArmsNorthAndSouth("burst");
  v1::Factor* factor = design.mutable_factors(0);
  factor->set_method(v1::RANDOMISATION_METHOD_MINIMISATION);
  factor->mutable_minimisation()->add_factors()->set_variable("site");
  ASSERT_TRUE(randomiser_.CreateTrial(design, "creator").ok());
  std::vector<v1::Participant> roster;
  for (int i = 0; i < 12; ++i)
    roster.push_back(EnrolmentAt(absl::StrCat("p", i), i % 2 ? "north" : "south"));
  ASSERT_TRUE(randomiser_.Enrol("burst", roster, true, "creator").ok());
  ASSERT_TRUE(randomiser_.LockDesign("burst", "creator").ok());

  // p0's commit is held; the others arrive meanwhile, from three actors, and queue.
  std::vector<absl::StatusOr<v1::AllocateNextResponse>> results(roster.size(),
                                                                absl::UnknownError("not run"));
  auto actor = [](size_t i) { return absl::StrCat("actor-", i % 3); };
  auto run = [&](size_t i) {
    results[i] = randomiser_.AllocateNext("burst", absl::StrCat("p", i), actor(i));
  };
  gated_.HoldNextCommit();
  std::vector<std::thread> threads;
  threads.emplace_back(run, 0);
  gated_.WaitUntilHeld();
  for (size_t i = 1; i < roster.size(); ++i) threads.emplace_back(run, i);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  gated_.Release();
  for (std::thread& thread : threads) thread.join();
  EXPECT_GT(gated_.largest_group(), 1u)
      << "arrivals of different actors in one group: one entry each";

  absl::StatusOr<std::vector<v1::AuditEntry>> log = randomiser_.AuditLog("burst");
  ASSERT_TRUE(log.ok()) << log.status();
  size_t covered = 0;
  for (const v1::AuditEntry& entry : *log) {
    if (entry.kind() != v1::AuditEntry::KIND_ALLOCATION) continue;
    for (const std::string& id : entry.participant_ids()) {
      ++covered;
      EXPECT_EQ(entry.actor(), actor(std::stoul(id.substr(1))))
          << id << " is recorded under another actor";
    }
  }
  EXPECT_EQ(covered, roster.size());
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->newly_allocated());
  }
  EXPECT_TRUE(randomiser_.VerifyAuditLog("burst")->valid());
}

TEST_F(ConcurrentEnrolTest, AGroupCommitIsAllOrNothingAndChecksItsChain) {
  ASSERT_TRUE(randomiser_.CreateTrial(TwoArmsNorthAndSouth("burst"), "creator").ok());
  absl::StatusOr<v1::AuditHead> head = randomiser_.GetAuditHead("burst");
  ASSERT_TRUE(head.ok()) << head.status();
  std::vector<TrialWrite> writes(2);
  writes[0].participants = {EnrolmentAt("g1", "north")};
  writes[0].entry.set_previous_hash(head->sha256());
  writes[0].entry.set_hash("first");
  writes[1].participants = {EnrolmentAt("g2", "north")};
  writes[1].entry.set_previous_hash("not the first");
  writes[1].entry.set_hash("second");
  EXPECT_EQ(store_.CommitGroup("burst", writes).code(), absl::StatusCode::kInvalidArgument);
  writes[1].entry.set_previous_hash("first");
  writes[0].entry.set_previous_hash("stale");
  EXPECT_EQ(store_.CommitGroup("burst", writes).code(), absl::StatusCode::kAborted);
  absl::StatusOr<TrialRecord> record = store_.Load("burst");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_TRUE(record->participants.empty());
  EXPECT_EQ(record->audit_length, head->length());
}

TEST_F(ConcurrentEnrolTest, TheAuditHeadIsAnsweredWhileAWriterHoldsTheTrial) {
  ASSERT_TRUE(randomiser_.CreateTrial(TwoArmsNorthAndSouth("burst"), "creator").ok());
  absl::StatusOr<v1::AuditHead> before = randomiser_.GetAuditHead("burst");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->length(), 1);

  // An enrolment holds the trial's lock while its commit waits at the gate.
  gated_.HoldNextCommit();
  std::thread writer([&] {
    EXPECT_TRUE(randomiser_.Enrol("burst", {EnrolmentAt("p1", "north")}, false, "actor").ok());
  });
  gated_.WaitUntilHeld();
  std::future<absl::StatusOr<v1::AuditHead>> during = std::async(
      std::launch::async, [&] { return randomiser_.GetAuditHead("burst"); });
  // Not a timing check: the lock is held until Release, so a head that waits for it would
  // never come; the generous bound only keeps a broken build from hanging the suite.
  const bool answered = during.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  gated_.Release();
  writer.join();
  ASSERT_TRUE(answered) << "GetAuditHead waited for the writer's lock";
  absl::StatusOr<v1::AuditHead> held = during.get();
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->length(), before->length()) << "the held commit has not landed";
  EXPECT_EQ(held->sha256(), before->sha256());

  absl::StatusOr<v1::AuditHead> after = randomiser_.GetAuditHead("burst");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->length(), 2);
  EXPECT_NE(after->sha256(), before->sha256());
  absl::StatusOr<std::vector<v1::AuditEntry>> log = randomiser_.AuditLog("burst");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->back().hash(), after->sha256());

  EXPECT_EQ(randomiser_.GetAuditHead("nosuch").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(randomiser_.GetAuditHead("").status().code(), absl::StatusCode::kInvalidArgument);
}

// A roster larger than one commit is written 20,000 rows at a time. When storage fails after
// the first of them, the error says how many rows are enrolled, and sending the same rows again
// enrols the rest, the first ones coming back unchanged.
TEST_F(ConcurrentEnrolTest,
       ALargeEnrolmentCutByAStorageFailureSaysWhatIsEnrolledAndAResendCompletesIt) {
  ASSERT_TRUE(randomiser_.CreateTrial(TwoArmsNorthAndSouth("large"), "creator").ok());
  const std::vector<v1::Participant> rows = NorthRoster(25'000);
  gated_.FailCommitsAfter(1);
  const absl::StatusOr<v1::EnrolResponse> cut =
      randomiser_.Enrol("large", rows, false, "researcher");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(cut.status().message()),
              HasSubstr("20000 of the call's 25000 new rows are enrolled (with their audit "
                        "entries), the other 5000 were not confirmed: send the same rows again"));
  gated_.StopFailing();
  absl::StatusOr<v1::Trial> trial = randomiser_.GetTrial("large");
  ASSERT_TRUE(trial.ok()) << trial.status();
  EXPECT_EQ(trial->enrolled(), 20'000);

  const absl::StatusOr<v1::EnrolResponse> again =
      randomiser_.Enrol("large", rows, false, "researcher");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->enrolled(), 5'000);
  EXPECT_EQ(again->unchanged(), 20'000);
  EXPECT_EQ(again->rejected(), 0);
  ExpectAuditLogValid("large");
}

// A batch of more than 20,000 is drawn whole and written 20,000 at a time. When storage fails
// after the first part, the error says what is allocated, and Randomise again allocates the
// rest as a batch of their own.
TEST_F(ConcurrentEnrolTest,
       ARandomisationCutByAStorageFailureSaysWhatIsAllocatedAndARetryFinishesIt) {
  ASSERT_TRUE(randomiser_.CreateTrial(TwoArmsNorthAndSouth("cut"), "creator").ok());
  const std::vector<v1::Participant> rows = NorthRoster(25'000);
  ASSERT_TRUE(randomiser_.Enrol("cut", rows, false, "researcher").ok());
  absl::StatusOr<v1::Trial> locked = randomiser_.LockDesign("cut", "researcher");
  ASSERT_TRUE(locked.ok()) << locked.status();
  gated_.FailCommitsAfter(1);
  const absl::StatusOr<v1::RandomiseResponse> cut = randomiser_.Randomise("cut", "", "researcher");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(cut.status().message()),
              HasSubstr("; 20000 participant(s) were allocated before the failure, each in an "
                        "audit entry, batch 1 only in part (20000 of 25000): Randomise again "
                        "allocates the others"));
  gated_.StopFailing();
  absl::StatusOr<v1::Trial> trial = randomiser_.GetTrial("cut");
  ASSERT_TRUE(trial.ok()) << trial.status();
  EXPECT_EQ(trial->allocated(), 20'000);

  const absl::StatusOr<v1::RandomiseResponse> again =
      randomiser_.Randomise("cut", "", "researcher");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->newly_allocated(), 5'000);
  trial = randomiser_.GetTrial("cut");
  ASSERT_TRUE(trial.ok()) << trial.status();
  EXPECT_EQ(trial->allocated(), 25'000);
  ExpectAuditLogValid("cut");
}

}  // namespace
}  // namespace fieldwork::randomisation

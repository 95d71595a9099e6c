// The randomisation domain with two replicas (two Randomisers, each with its own cache) on one
// Redis, and its cache's paged load: a load that sees the audit head move starts again; a
// replica answers reads, writes and counts with what the other one wrote; and a Randomise drawn
// a group of strata at a time gives exactly the allocations a replay of the whole batch gives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "services/common/clock.h"
#include "services/randomisation/batch_groups.h"
#include "services/randomisation/methods/generator.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "services/randomisation/replay.h"
#include "tests/testing/redis_server.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

v1::Factor Arms(const std::string& name, v1::RandomisationMethod method) {
  v1::Factor factor;
  factor.set_name(name);
  factor.set_method(method);
  for (const char* arm : {"treatment", "control"}) {
    v1::Arm* a = factor.add_arms();
    a->set_name(arm);
    a->set_weight(1);
  }
  return factor;
}

// Two sites; a categorical "grade"; one factor of `method`, stratified by site and grade when
// it is complete within strata.
v1::TrialDesign Design(const std::string& id, v1::RandomisationMethod method) {
  v1::TrialDesign design;
  design.set_trial_id(id);
  design.add_sites()->set_id("north");
  design.add_sites()->set_id("south");
  v1::Covariate* grade = design.add_covariates();
  grade->set_name("grade");
  grade->set_kind(v1::Covariate::KIND_CATEGORICAL);
  v1::Factor factor = Arms("arm", method);
  if (method == v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA) {
    factor.add_strata("site");
    factor.add_strata("grade");
  }
  if (method == v1::RANDOMISATION_METHOD_MINIMISATION) factor.mutable_minimisation()->add_factors()->set_variable("site");
  *design.add_factors() = factor;
  return design;
}

v1::Participant Person(const std::string& id, const std::string& site, const std::string& grade = "g0") {
  v1::Participant p;
  p.set_participant_id(id);
  p.set_site(site);
  (*p.mutable_covariates())["grade"].set_category(grade);
  return p;
}

std::vector<v1::Participant> Roster(const std::string& prefix, int n) {
  std::vector<v1::Participant> roster;
  for (int i = 0; i < n; ++i) {
    roster.push_back(Person(absl::StrCat(prefix, i), i % 2 ? "north" : "south", absl::StrCat("g", i % 3)));
  }
  return roster;
}

// A store that runs `during_statuses` once, the first time a scan reaches the trial's
// statuses: by then the scan has read every participant, so an enrolment made then is one the
// scan has certainly missed.
class InterferingStore final : public RandomisationStore {
 public:
  explicit InterferingStore(RandomisationStore& inner) : inner_(inner) {}
  std::function<void()> during_statuses;
  int scans = 0;

  absl::StatusOr<TrialRecord> Load(const std::string& trial_id) override { return inner_.Load(trial_id); }
  absl::StatusOr<TrialHeader> ScanTrial(const std::string& trial_id, const TrialRecordVisitor& visit) override {
    ++scans;
    TrialRecordVisitor wrapped = visit;
    wrapped.statuses = [&](std::vector<v1::ParticipantStatus>& page) {
      if (during_statuses) {
        std::function<void()> interfere = std::move(during_statuses);
        during_statuses = nullptr;
        interfere();
      }
      return visit.statuses(page);
    };
    return inner_.ScanTrial(trial_id, wrapped);
  }
  absl::StatusOr<ParticipantRecords> ReadRecords(const std::string& trial_id, const std::vector<std::string>& ids,
                                                 RecordKinds kinds) override {
    return inner_.ReadRecords(trial_id, ids, kinds);
  }
  absl::StatusOr<std::string> AuditHead(const std::string& trial_id) override { return inner_.AuditHead(trial_id); }
  absl::StatusOr<v1::AuditHead> ReadAuditHead(const std::string& trial_id) override {
    return inner_.ReadAuditHead(trial_id);
  }
  absl::Status Commit(const std::string& trial_id, const TrialWrite& write) override {
    return inner_.Commit(trial_id, write);
  }
  absl::Status CommitGroup(const std::string& trial_id, absl::Span<const TrialWrite> writes) override {
    return inner_.CommitGroup(trial_id, writes);
  }
  absl::StatusOr<std::vector<std::string>> ListTrialIds() override { return inner_.ListTrialIds(); }
  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAudit(const std::string& trial_id) override {
    return inner_.ReadAudit(trial_id);
  }

 private:
  RandomisationStore& inner_;
};

class ReplicasTest : public ::testing::Test {
 protected:
  fieldwork::testing::RedisServer redis_;
  std::unique_ptr<RedisClient> client_a_ = redis_.NewClient();
  std::unique_ptr<RedisClient> client_b_ = redis_.NewClient();
  // Small pages: a scan of a thousand participants takes many HSCAN steps.
  RedisRandomisationStore store_a_{*client_a_, 16};
  RedisRandomisationStore store_b_{*client_b_, 16};
  ManualClock clock_{absl::FromCivil(absl::CivilSecond(2021, 3, 1, 9, 0, 0), absl::UTCTimeZone())};
  Randomiser a_{store_a_, clock_};
};

TEST_F(ReplicasTest, AScanThatSeesTheHeadMoveIsAborted) {
  ASSERT_TRUE(a_.CreateTrial(Design("scan", v1::RANDOMISATION_METHOD_COMPLETE), "researcher").ok());
  // More than Redis keeps in a compact hash (hash-max-listpack-entries, 512 on Debian), which
  // HSCAN returns whole whatever its COUNT.
  ASSERT_TRUE(a_.Enrol("scan", Roster("p", 1000), false, "researcher").ok());
  int pages = 0;
  TrialRecordVisitor visit;
  visit.participants = [&](std::vector<v1::Participant>&) {
    if (++pages == 1) {
      EXPECT_TRUE(a_.Enrol("scan", {Person("late", "north")}, false, "researcher").ok());
    }
    return absl::OkStatus();
  };
  absl::StatusOr<TrialHeader> moved = store_b_.ScanTrial("scan", visit);
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kAborted) << moved.status();
  EXPECT_GT(pages, 1) << "the scan should take several pages";

  std::set<std::string> seen;  // a scan may repeat a record: count distinct ids
  visit.participants = [&](std::vector<v1::Participant>& page) {
    for (const auto& p : page) seen.insert(p.participant_id());
    return absl::OkStatus();
  };
  absl::StatusOr<TrialHeader> still = store_b_.ScanTrial("scan", visit);
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(seen.size(), 1001u);
  EXPECT_EQ(still->audit_length, 3);  // created, two enrolments
}

TEST_F(ReplicasTest, ALoadThatAnotherReplicaWroteDuringStartsAgain) {
  ASSERT_TRUE(a_.CreateTrial(Design("load", v1::RANDOMISATION_METHOD_COMPLETE), "researcher").ok());
  ASSERT_TRUE(a_.Enrol("load", Roster("p", 200), false, "researcher").ok());
  v1::WithdrawRequest withdraw;
  withdraw.set_trial_id("load");
  withdraw.set_participant_id("p7");
  ASSERT_TRUE(a_.Withdraw(withdraw, "researcher").ok());  // so that the trial has a status to scan

  InterferingStore store(store_b_);
  store.during_statuses = [&] {
    EXPECT_TRUE(a_.Enrol("load", {Person("late", "south")}, false, "researcher").ok());
  };
  Randomiser b(store, clock_);
  absl::StatusOr<v1::Trial> trial = b.GetTrial("load");
  ASSERT_TRUE(trial.ok()) << trial.status();
  EXPECT_EQ(store.scans, 2) << "the first scan saw the head move and was started again";
  EXPECT_EQ(trial->enrolled(), 201);
  absl::StatusOr<v1::AuditHead> head = b.GetAuditHead("load");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->length(), 4);
  absl::StatusOr<v1::ParticipantStatus> p7 = b.GetParticipant("load", "p7");
  ASSERT_TRUE(p7.ok()) << p7.status();
  EXPECT_TRUE(p7->has_withdrawal());
  EXPECT_EQ(store.scans, 2) << "the reloaded cache was current";
}

TEST_F(ReplicasTest, AReplicaReadsAndWritesWhatTheOtherWrote) {
  ASSERT_TRUE(a_.CreateTrial(Design("two", v1::RANDOMISATION_METHOD_COMPLETE), "researcher").ok());
  ASSERT_TRUE(a_.Enrol("two", Roster("p", 40), false, "researcher").ok());
  Randomiser b(store_b_, clock_);
  ASSERT_EQ(b.GetTrial("two")->enrolled(), 40);  // b's cache is loaded

  // Written through a: an enrolment, a lock, a randomisation, a withdrawal.
  ASSERT_TRUE(a_.Enrol("two", {Person("new", "north", "g2")}, false, "researcher").ok());
  ASSERT_TRUE(a_.LockDesign("two", "researcher").ok());
  ASSERT_TRUE(a_.Randomise("two", "", "researcher").ok());
  v1::WithdrawRequest withdraw;
  withdraw.set_trial_id("two");
  withdraw.set_participant_id("p3");
  withdraw.set_reason("moved away");
  ASSERT_TRUE(a_.Withdraw(withdraw, "researcher").ok());

  // Read through b.
  absl::StatusOr<v1::ParticipantStatus> fresh = b.GetParticipant("two", "new");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(fresh->allocated());
  EXPECT_EQ(fresh->participant().covariates().at("grade").category(), "g2");
  EXPECT_EQ(*b.SiteOf("two", "new"), "north");
  absl::StatusOr<v1::Allocation> p3 = b.GetAllocation("two", "p3");
  ASSERT_TRUE(p3.ok()) << p3.status();
  EXPECT_EQ(p3->withdrawal().reason(), "moved away");
  EXPECT_EQ(p3->assignments(0).arm(), a_.GetAllocation("two", "p3")->assignments(0).arm());
  int listed = 0;
  ASSERT_TRUE(b.ListAllocations("two", {}, [&](v1::Allocation&) { return ++listed > 0; }).ok());
  EXPECT_EQ(listed, 41);
  EXPECT_EQ(b.GetTrial("two")->allocated(), 41);

  // Written through b over a's writes: a retried enrolment is unchanged, different data is an
  // error, and a withdrawal of what a withdrew changes nothing.
  absl::StatusOr<v1::EnrolResponse> again =
      b.Enrol("two", {Person("new", "north", "g2"), Person("p5", "north", "g9")}, false, "researcher");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->unchanged(), 1);
  ASSERT_EQ(again->errors_size(), 1);
  EXPECT_THAT(again->errors(0).reason(), HasSubstr("already enrolled with different data"));
  EXPECT_EQ(*b.Withdraw(withdraw, "researcher"), 0);
  EXPECT_TRUE(b.VerifyAuditLog("two")->valid());
}

// `fieldwork status` counts the arms with Balance's counts_only, which a replica answers from
// its in-memory index without reading a record: on a replica that made none of the
// allocations the counts must be the other replica's draws, exactly as the full balance (read
// from the records) counts them.
TEST_F(ReplicasTest, CountsOnlyBalanceOnAReplicaCountsTheArmsTheOtherDrew) {
  ASSERT_TRUE(
      a_.CreateTrial(Design("counts", v1::RANDOMISATION_METHOD_COMPLETE), "researcher").ok());
  ASSERT_TRUE(a_.Enrol("counts", Roster("p", 60), false, "researcher").ok());
  Randomiser b(store_b_, clock_);
  ASSERT_EQ(b.GetTrial("counts")->allocated(), 0);  // b's index is built before any draw

  ASSERT_TRUE(a_.LockDesign("counts", "researcher").ok());
  ASSERT_TRUE(a_.Randomise("counts", "", "researcher").ok());
  ASSERT_TRUE(a_.Enrol("counts", Roster("late", 7), false, "researcher").ok());
  ASSERT_TRUE(a_.Randomise("counts", "", "researcher").ok());
  v1::WithdrawRequest withdraw;
  withdraw.set_trial_id("counts");
  withdraw.set_participant_id("p3");
  ASSERT_TRUE(a_.Withdraw(withdraw, "researcher").ok());

  absl::StatusOr<v1::BalanceResponse> counted = b.Balance("counts", "", "", /*counts_only=*/true);
  absl::StatusOr<v1::BalanceResponse> full = a_.Balance("counts", "", "", /*counts_only=*/false);
  ASSERT_TRUE(counted.ok()) << counted.status();
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(counted->factors_size(), 1);
  ASSERT_EQ(full->factors_size(), 1);
  auto as_map = [](const google::protobuf::Map<std::string, int64_t>& m) {
    return std::map<std::string, int64_t>(m.begin(), m.end());
  };
  const v1::FactorBalance& from_index = counted->factors(0);
  const v1::FactorBalance& from_records = full->factors(0);
  const std::map<std::string, int64_t> arms = as_map(from_index.count_by_arm());
  EXPECT_EQ(arms, as_map(from_records.count_by_arm()));
  int64_t total = 0;
  for (const auto& [arm, n] : arms) total += n;
  EXPECT_EQ(total, 67)
      << "every draw, the withdrawn participant's too (a withdrawal undoes no draw)";
  for (const auto& [arm, n] : arms) {
    // Each of a's draws as a gives it, participant by participant.
    int64_t drawn = 0;
    ASSERT_TRUE(a_.ListAllocations("counts", {}, [&](v1::Allocation& allocation) {
                    drawn += allocation.assignments(0).arm() == arm;
                    return true;
                  }).ok());
    EXPECT_EQ(n, drawn) << arm;
  }
  ASSERT_EQ(from_index.by_site().size(), from_records.by_site().size());
  for (const auto& [site, stratum] : from_records.by_site()) {
    EXPECT_EQ(as_map(from_index.by_site().at(site).count_by_arm()), as_map(stratum.count_by_arm()))
        << site;
  }
  EXPECT_EQ(from_index.srm_chi_squared(), from_records.srm_chi_squared());
}

TEST_F(ReplicasTest, AllocateNextOnAReplicaSeesArrivalsEnrolledAndAllocatedByTheOther) {
  ASSERT_TRUE(a_.CreateTrial(Design("seq", v1::RANDOMISATION_METHOD_MINIMISATION), "researcher").ok());
  ASSERT_TRUE(a_.LockDesign("seq", "researcher").ok());
  ASSERT_TRUE(a_.Enrol("seq", Roster("p", 20), false, "researcher").ok());
  Randomiser b(store_b_, clock_);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(a_.AllocateNext("seq", absl::StrCat("p", i), "researcher").ok());
  ASSERT_TRUE(b.AllocateNext("seq", "p10", "researcher").ok());  // b rebuilds the 10 before it
  ASSERT_TRUE(a_.Enrol("seq", {Person("late", "north")}, false, "researcher").ok());
  absl::StatusOr<v1::AllocateNextResponse> late = b.AllocateNext("seq", "late", "researcher");
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_TRUE(late->newly_allocated());
  EXPECT_EQ(late->allocation().batch(), 11);
  absl::StatusOr<v1::AllocateNextResponse> repeat = a_.AllocateNext("seq", "late", "researcher");
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_FALSE(repeat->newly_allocated());
  EXPECT_EQ(repeat->allocation().assignments(0).arm(), late->allocation().assignments(0).arm());
  EXPECT_EQ(b.AllocateNext("seq", "nobody", "researcher").status().code(), absl::StatusCode::kNotFound);
}

// Replays `trial` from its stored records and revealed secret; the differences found.
size_t ReplayDifferences(Randomiser& randomiser, RandomisationStore& store, const std::string& trial) {
  EXPECT_TRUE(randomiser.CloseTrial(trial, "researcher").ok());
  absl::StatusOr<v1::RevealSecretResponse> secret = randomiser.RevealSecret(trial, "admin");
  EXPECT_TRUE(secret.ok()) << secret.status();
  absl::StatusOr<TrialRecord> record = store.Load(trial);
  EXPECT_TRUE(record.ok()) << record.status();
  absl::StatusOr<std::string> bytes = HexDecode(secret->secret_hex());
  absl::StatusOr<ReplayReport> report =
      ReplayAllocations(record->trial, *bytes, record->participants, record->allocations);
  EXPECT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->participants, static_cast<int64_t>(record->allocations.size()));
  return report->differences.size();
}

TEST_F(ReplicasTest, ABatchDrawnAGroupOfStrataAtATimeReplaysAsAWhole) {
  // More participants than Randomise draws at once, in strata that do not divide evenly, plus
  // a second, per-participant factor: the groups must hold whole strata.
  v1::TrialDesign design = Design("groups", v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA);
  *design.add_factors() = Arms("nudge", v1::RANDOMISATION_METHOD_SIMPLE);
  ASSERT_TRUE(GroupingOf(design).splits);
  ASSERT_TRUE(a_.CreateTrial(design, "researcher").ok());
  std::vector<v1::Participant> roster;
  for (int i = 0; i < 45'001; ++i) {
    roster.push_back(Person(absl::StrCat("p", i), i % 2 ? "north" : "south", absl::StrCat("g", i % 7)));
  }
  ASSERT_TRUE(a_.Enrol("groups", roster, false, "researcher").ok());
  ASSERT_TRUE(a_.LockDesign("groups", "researcher").ok());
  absl::StatusOr<v1::RandomiseResponse> randomised = a_.Randomise("groups", "", "researcher");
  ASSERT_TRUE(randomised.ok()) << randomised.status();
  EXPECT_EQ(randomised->newly_allocated(), 45'001);
  EXPECT_EQ(ReplayDifferences(a_, store_a_, "groups"), 0u);
}

TEST_F(ReplicasTest, ADesignUpdateChecksEveryEnrolledParticipantAcrossPages) {
  v1::TrialDesign design = Design("update", v1::RANDOMISATION_METHOD_COMPLETE);
  design.set_allow_clusters_across_sites(true);
  ASSERT_TRUE(a_.CreateTrial(design, "researcher").ok());
  // A cluster whose two members are read on different pages (the randomiser reads 5,000
  // enrolments at a time, in id order).
  std::vector<v1::Participant> roster = Roster("m", 6'000);
  roster.push_back(Person("a-first", "north"));
  roster.push_back(Person("z-last", "south"));
  roster[roster.size() - 2].set_cluster("team");
  roster.back().set_cluster("team");
  ASSERT_TRUE(a_.Enrol("update", roster, true, "researcher").ok());
  design.set_allow_clusters_across_sites(false);
  absl::StatusOr<v1::Trial> updated = a_.UpdateDesign(design, "researcher");
  EXPECT_EQ(updated.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(updated.status().message(), HasSubstr("participant z-last already enrolled: cluster"));
}

TEST(BatchGroupsTest, OnlyMethodsThatDrawPerStratumOrPerParticipantSplit) {
  v1::TrialDesign design = Design("g", v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA);
  BatchGrouping grouping = GroupingOf(design);
  EXPECT_TRUE(grouping.splits);
  EXPECT_THAT(grouping.variables, ::testing::ElementsAre("site", "grade"));
  EXPECT_NE(BatchGroupKey(grouping, Person("a", "north", "g1")), BatchGroupKey(grouping, Person("b", "north", "g2")));
  EXPECT_EQ(BatchGroupKey(grouping, Person("a", "north", "g1")), BatchGroupKey(grouping, Person("b", "north", "g1")));

  v1::Factor by_grade = Arms("second", v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA);
  by_grade.add_strata("grade");
  *design.add_factors() = by_grade;
  EXPECT_THAT(GroupingOf(design).variables, ::testing::ElementsAre("grade"));  // common to both

  v1::Factor by_site_only = Arms("third", v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA);
  by_site_only.add_strata("site");
  *design.add_factors() = by_site_only;
  EXPECT_FALSE(GroupingOf(design).splits) << "no variable common to every stratified factor";

  EXPECT_FALSE(GroupingOf(Design("c", v1::RANDOMISATION_METHOD_COMPLETE)).splits);
  EXPECT_FALSE(GroupingOf(Design("c", v1::RANDOMISATION_METHOD_CLUSTER)).splits);
  EXPECT_FALSE(GroupingOf(Design("r", v1::RANDOMISATION_METHOD_RERANDOMISATION)).splits);
  grouping = GroupingOf(Design("s", v1::RANDOMISATION_METHOD_SIMPLE));
  EXPECT_TRUE(grouping.splits);
  EXPECT_TRUE(grouping.variables.empty());
}

}  // namespace
}  // namespace fieldwork::randomisation

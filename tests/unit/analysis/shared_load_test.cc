// LoadTrialShared: callers asking for the same trial at the same data versions while a load
// runs share it; other versions, no versions, or a call after the load has finished load again.
#include "services/analysis/shared_load.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "services/analysis/memory_sources.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;

// Randomisation's part of the sources, whose ListParticipants (one per load) is held at a gate
// until the test opens it: a load stays running while the test makes a second call.
class GatedAllocations final : public AllocationSource {
 public:
  explicit GatedAllocations(MemorySources& data) : data_(data) {}

  absl::StatusOr<std::vector<v1::Trial>> ListTrials() override { return data_.ListTrials(); }
  absl::StatusOr<v1::Trial> GetTrial(const std::string& trial) override {
    return data_.GetTrial(trial);
  }
  absl::StatusOr<MessageList<v1::ParticipantStatus>> ListParticipants(
      const std::string& trial) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++loads_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    if (fail_) return absl::UnavailableError("randomisation went away");
    lock.unlock();
    return data_.ListParticipants(trial);
  }
  std::unique_ptr<ItemStream<v1::Allocation>> StreamAllocations(const std::string& trial) override {
    return data_.StreamAllocations(trial);
  }

  // Waits until `n` loads have reached the gate, or (a second call that joined a running load
  // never reaches it) until a caller waits for a running load.
  void WaitForLoadsOrAJoin(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (loads_ < n && internal::CallersWaitingForRunningLoads() == 0) {
      changed_.wait_for(lock, std::chrono::milliseconds(1));  // a poll, not a time limit
    }
  }
  void FailLoads() {
    std::lock_guard<std::mutex> lock(mutex_);
    fail_ = true;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  int loads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return loads_;
  }

 private:
  MemorySources& data_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int loads_ = 0;
  bool open_ = false;
  bool fail_ = false;
};

class SharedLoadTest : public ::testing::Test {
 protected:
  SharedLoadTest() : gated_(data_) {
    MemoryTrialData& trial = data_.trials()["t"];
    trial.trial = testing::MakeTrial("t");
    testing::AddParticipant(trial, "c1", "LA1", "control");
    testing::AddParticipant(trial, "t1", "LA1", "treatment");
    sources_ = data_.AsSources();
    sources_.allocations = &gated_;
  }

  // Starts a load on a thread of its own, its result in `out`.
  std::thread Load(const std::string& versions,
                   absl::StatusOr<std::shared_ptr<const JoinedTrial>>& out) {
    return std::thread([this, versions, &out] { out = LoadTrialShared(sources_, "t", versions); });
  }

  MemorySources data_;
  GatedAllocations gated_;
  Sources sources_;
};

TEST_F(SharedLoadTest, ASecondCallerAtTheSameVersionsSharesTheRunningLoad) {
  absl::StatusOr<std::shared_ptr<const JoinedTrial>> first, second;
  std::thread a = Load("v1", first);
  gated_.WaitForLoadsOrAJoin(1);
  std::thread b = Load("v1", second);
  gated_.WaitForLoadsOrAJoin(2);
  EXPECT_EQ(internal::CallersWaitingForRunningLoads(), 1);
  gated_.Open();
  a.join();
  b.join();
  EXPECT_EQ(gated_.loads(), 1);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ((*first)->participants.size(), 2u);
  EXPECT_EQ(internal::CallersWaitingForRunningLoads(), 0);
}

TEST_F(SharedLoadTest, OtherVersionsOrNoneLoadOnTheirOwn) {
  for (const auto& [mine, theirs] :
       std::vector<std::pair<std::string, std::string>>{{"v1", "v2"}, {"", ""}}) {
    SCOPED_TRACE("versions \"" + mine + "\" then \"" + theirs + "\"");
    GatedAllocations gated(data_);
    sources_.allocations = &gated;
    absl::StatusOr<std::shared_ptr<const JoinedTrial>> first, second;
    std::thread a = Load(mine, first);
    gated.WaitForLoadsOrAJoin(1);
    std::thread b = Load(theirs, second);
    gated.WaitForLoadsOrAJoin(2);
    EXPECT_EQ(internal::CallersWaitingForRunningLoads(), 0);
    gated.Open();
    a.join();
    b.join();
    EXPECT_EQ(gated.loads(), 2);
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_NE(first->get(), second->get());
  }
}

TEST_F(SharedLoadTest, NothingIsKeptOnceTheLoadHasFinished) {
  gated_.Open();
  absl::StatusOr<std::shared_ptr<const JoinedTrial>> first = LoadTrialShared(sources_, "t", "v1");
  absl::StatusOr<std::shared_ptr<const JoinedTrial>> again = LoadTrialShared(sources_, "t", "v1");
  EXPECT_EQ(gated_.loads(), 2);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_NE(first->get(), again->get());
}

TEST_F(SharedLoadTest, AFailedLoadFailsEveryCallerSharingItAndIsNotKept) {
  gated_.FailLoads();
  absl::StatusOr<std::shared_ptr<const JoinedTrial>> first, second;
  std::thread a = Load("v1", first);
  gated_.WaitForLoadsOrAJoin(1);
  std::thread b = Load("v1", second);
  gated_.WaitForLoadsOrAJoin(2);
  gated_.Open();
  a.join();
  b.join();
  EXPECT_EQ(gated_.loads(), 1);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable) << first.status();
  EXPECT_EQ(second.status(), first.status());
  EXPECT_FALSE(LoadTrialShared(sources_, "t", "v1").ok());
  EXPECT_EQ(gated_.loads(), 2);
}

}  // namespace
}  // namespace fieldwork::analysis

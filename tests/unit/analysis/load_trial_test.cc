// LoadTrial reads the sources' lists side by side (issue 18) and still names the failing source
// as when it read them one after another.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>

#include "services/analysis/join.h"
#include "services/analysis/memory_sources.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

// Two lists that each wait for the other to have started: read one after another, the first
// waits in vain (and fails, after a minute, rather than hang the test).
class Rendezvous {
 public:
  bool Arrive() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++arrived_;
    changed_.notify_all();
    return changed_.wait_for(lock, std::chrono::minutes(1), [&] { return arrived_ == 2; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0;
};

// The in-memory sources, with the participants' and the responses' lists meeting at a
// rendezvous, and failures to inject.
class MeetingSources final : public AllocationSource, public ResponseSource {
 public:
  explicit MeetingSources(MemorySources& data) : data_(data) {}
  absl::Status participants_failure;
  absl::Status responses_failure;

  absl::StatusOr<std::vector<v1::Trial>> ListTrials() override { return data_.ListTrials(); }
  absl::StatusOr<v1::Trial> GetTrial(const std::string& trial) override {
    return data_.GetTrial(trial);
  }
  absl::StatusOr<std::vector<v1::ParticipantStatus>> ListParticipants(
      const std::string& trial) override {
    if (!rendezvous_.Arrive()) return absl::DeadlineExceededError("read one after another");
    if (!participants_failure.ok()) return participants_failure;
    return data_.ListParticipants(trial);
  }
  absl::StatusOr<std::vector<v1::Allocation>> ListAllocations(const std::string& trial) override {
    return data_.ListAllocations(trial);
  }
  absl::StatusOr<std::vector<v1::Wave>> ListWaves(const std::string& trial) override {
    return data_.ListWaves(trial);
  }
  absl::StatusOr<std::vector<v1::Response>> ListResponses(const std::string& trial) override {
    if (!rendezvous_.Arrive()) return absl::DeadlineExceededError("read one after another");
    if (!responses_failure.ok()) return responses_failure;
    return data_.ListResponses(trial);
  }

 private:
  MemorySources& data_;
  Rendezvous rendezvous_;
};

class LoadTrialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MemoryTrialData& data = memory_.trials()["t1"];
    data.trial = testing::MakeTrial("t1");
    testing::AddParticipant(data, "a", "LA1", "control");
    testing::AddParticipant(data, "b", "LA2", "treatment");
    testing::AddWave(data, "endline");
    testing::AddResponse(data, "b", "endline", "wb", 4);
  }
  Sources Of(MeetingSources& sources) { return Sources{&sources, &sources, nullptr, nullptr}; }

  MemorySources memory_;
};

TEST_F(LoadTrialTest, ReadsTheListsAtTheSameTime) {
  MeetingSources sources(memory_);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(Of(sources), "t1");
  ASSERT_TRUE(joined.ok()) << joined.status();
  ASSERT_EQ(joined->participants.size(), 2u);
  EXPECT_EQ(joined->ResponseOf(joined->participants[0], "endline"), nullptr);
  const v1::Response* response = joined->ResponseOf(joined->participants[1], "endline");
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(response->participant_id(), "b");
}

TEST_F(LoadTrialTest, NamesTheFirstFailingSourceInReadingOrder) {
  MeetingSources sources(memory_);
  sources.participants_failure = absl::UnavailableError("randomisation down");
  sources.responses_failure = absl::UnavailableError("survey-ingest down");
  absl::Status both = LoadTrial(Of(sources), "t1").status();
  EXPECT_EQ(both.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(both.message(), HasSubstr("randomisation ListParticipants: randomisation down"));

  MeetingSources responses_only(memory_);
  responses_only.responses_failure = absl::UnavailableError("survey-ingest down");
  absl::Status one = LoadTrial(Of(responses_only), "t1").status();
  EXPECT_EQ(one.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(one.message(), HasSubstr("survey-ingest ListResponses: survey-ingest down"));
}

TEST_F(LoadTrialTest, UnknownTrialIsNotFoundBeforeAnyListIsRead) {
  MeetingSources sources(memory_);
  EXPECT_EQ(LoadTrial(Of(sources), "nope").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fieldwork::analysis

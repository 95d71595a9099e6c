// LoadTrial applies randomisation's allocations as they come off their stream (the list of
// them is never held): each reaches its participant in whatever order it comes, one of nobody
// enrolled is counted and ignored, and a stream that fails part-way fails the load, naming it.
#include "services/analysis/join.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

// The allocations of `inner` in reverse order, failing after `fail_after` of them if set.
class ReversedAllocationSource final : public AllocationSource {
 public:
  ReversedAllocationSource(MemorySources& inner, std::optional<size_t> fail_after)
      : inner_(inner), fail_after_(fail_after) {}
  absl::StatusOr<std::vector<v1::Trial>> ListTrials() override { return inner_.ListTrials(); }
  absl::StatusOr<v1::Trial> GetTrial(const std::string& t) override { return inner_.GetTrial(t); }
  absl::StatusOr<MessageList<v1::ParticipantStatus>> ListParticipants(
      const std::string& t) override {
    return inner_.ListParticipants(t);
  }
  std::unique_ptr<ItemStream<v1::Allocation>> StreamAllocations(const std::string& t) override {
    MessageList<v1::Allocation> items = inner_.trials().at(t).allocations;
    std::reverse(items.items().begin(), items.items().end());
    return std::make_unique<Reversed>(std::move(items), fail_after_);
  }

 private:
  class Reversed final : public ItemStream<v1::Allocation> {
   public:
    Reversed(MessageList<v1::Allocation> items, std::optional<size_t> fail_after)
        : items_(std::move(items)), fail_after_(fail_after) {}
    bool Next(v1::Allocation& item) override {
      if (next_ == items_.size() || (fail_after_.has_value() && next_ == *fail_after_)) {
        return false;
      }
      item = items_[next_++];
      return true;
    }
    absl::Status Finish() override {
      if (fail_after_.has_value() && next_ == *fail_after_) {
        return absl::UnavailableError("connection reset");
      }
      return absl::OkStatus();
    }

   private:
    MessageList<v1::Allocation> items_;
    std::optional<size_t> fail_after_;
    size_t next_ = 0;
  };
  MemorySources& inner_;
  std::optional<size_t> fail_after_;
};

void FillThreeParticipants(MemorySources& sources) {
  MemoryTrialData& data = sources.trials()["t1"];
  data.trial = testing::MakeTrial("t1");
  testing::AddParticipant(data, "p1", "LA1", "control");
  testing::AddParticipant(data, "p2", "LA2", "treatment");
  testing::AddParticipant(data, "p3", "LA1", "treatment");
  v1::Allocation& stray = data.allocations.emplace_back();  // of nobody enrolled
  stray.set_participant_id("p9");
  stray.add_assignments()->set_factor("arm");
  stray.mutable_assignments(0)->set_arm("control");
}

TEST(LoadTrialTest, EachStreamedAllocationReachesItsParticipantInAnyOrder) {
  MemorySources sources;
  FillThreeParticipants(sources);
  ReversedAllocationSource reversed(sources, std::nullopt);
  Sources with_reversed = sources.AsSources();
  with_reversed.allocations = &reversed;
  absl::StatusOr<JoinedTrial> joined = LoadTrial(with_reversed, "t1");
  ASSERT_TRUE(joined.ok()) << joined.status();
  ASSERT_EQ(joined->participants.size(), 3u);
  const char* arms[] = {"control", "treatment", "treatment"};
  for (size_t i = 0; i < 3; ++i) {
    const JoinedParticipant& p = joined->participants[i];
    EXPECT_TRUE(p.allocated) << p.id;
    ASSERT_NE(p.Arm("arm"), nullptr) << p.id;
    EXPECT_EQ(*p.Arm("arm"), arms[i]) << p.id;
  }
  EXPECT_THAT(
      joined->warnings,
      ::testing::Contains("1 allocations of participants not listed as enrolled were ignored"));
}

TEST(LoadTrialTest, AnAllocationStreamThatFailsPartWayFailsTheLoadNamingIt) {
  MemorySources sources;
  FillThreeParticipants(sources);
  ReversedAllocationSource failing(sources, 2);
  Sources with_failing = sources.AsSources();
  with_failing.allocations = &failing;
  absl::StatusOr<JoinedTrial> joined = LoadTrial(with_failing, "t1");
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(joined.status().message(), HasSubstr("randomisation ListAllocations"));
  EXPECT_THAT(joined.status().message(), HasSubstr("connection reset"));
}

}  // namespace
}  // namespace fieldwork::analysis

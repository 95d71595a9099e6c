// LoadTrial applies randomisation's allocations as they come off their stream (the list of
// them is never held): each reaches its participant in whatever order it comes, one of nobody
// enrolled is counted and ignored, and a stream that fails part-way fails the load, naming it.
#include "services/analysis/join.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

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
  testing::StoredOrderAllocations reversed(sources, /*reversed=*/true);
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
  testing::StoredOrderAllocations failing(sources, /*reversed=*/true, /*fail_after=*/2);
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

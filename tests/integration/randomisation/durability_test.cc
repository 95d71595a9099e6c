// Once Randomise returns, the allocations survive a Redis crash (appendfsync always) and a
// restart of the service.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/integration/randomisation/randomisation_fixture.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;

TEST_F(RandomisationTest, AllocationsSurviveARedisCrash) {
  v1::TrialDesign design;
  design.set_trial_id("durable");
  design.add_sites()->set_id("LA1");
  *design.add_factors() = TwoArms("intervention", v1::RANDOMISATION_METHOD_COMPLETE);
  ASSERT_TRUE(CreateTrial(design).ok());
  std::vector<v1::Participant> roster;
  for (int i = 0; i < 500; ++i) roster.push_back(MakeParticipant(absl::StrCat("d", i), "LA1"));
  Enrol("durable", roster);
  ASSERT_TRUE(Lock("durable").ok());
  ASSERT_EQ(Randomise("durable").newly_allocated(), 500);
  const std::vector<v1::Allocation> before = Allocations("durable");

  redis_->Kill();  // SIGKILL: no chance to flush anything more
  redis_->Start();
  RestartService();

  const std::vector<v1::Allocation> after = Allocations("durable");
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].participant_id(), before[i].participant_id());
    EXPECT_EQ(after[i].assignments(0).arm(), before[i].assignments(0).arm());
  }
  EXPECT_EQ(Randomise("durable").newly_allocated(), 0);
  EXPECT_TRUE(Verify("durable").valid());
}

}  // namespace
}  // namespace fieldwork::randomisation

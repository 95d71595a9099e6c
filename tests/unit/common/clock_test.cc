#include "services/common/clock.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace fieldwork {
namespace {

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  const absl::Time start = absl::FromUnixSeconds(1'600'000'000);
  ManualClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Hours(24 * 7));
  EXPECT_EQ(clock.Now(), start + absl::Hours(24 * 7));
  clock.Set(start);
  EXPECT_EQ(clock.Now(), start);
}

TEST(ClockTest, RealClockIsNearNow) {
  EXPECT_LT(absl::AbsDuration(RealClock::Get().Now() - absl::Now()), absl::Seconds(5));
}

}  // namespace
}  // namespace fieldwork

#include "services/common/rate_limiter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace fieldwork {
namespace {

using ::testing::HasSubstr;

TEST(RateLimiterTest, AdmitsABurstThenRefusesUntilTheBucketRefills) {
  ManualClock clock(absl::FromUnixSeconds(1'000'000));
  RateLimiter limiter(clock, 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Admit("partner").ok()) << i;
  const absl::Status refused = limiter.Admit("partner");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("partner may make 5 request(s) a second"));
  EXPECT_THAT(refused.message(), HasSubstr("retry in 0.2 s"));
  // Another token has its own bucket.
  EXPECT_TRUE(limiter.Admit("researcher").ok());
  clock.Advance(absl::Milliseconds(200));  // one request's worth
  EXPECT_TRUE(limiter.Admit("partner").ok());
  EXPECT_FALSE(limiter.Admit("partner").ok());
  // A long pause refills the bucket only up to one second's worth.
  clock.Advance(absl::Hours(1));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Admit("partner").ok()) << i;
  EXPECT_FALSE(limiter.Admit("partner").ok());
}

TEST(RateLimiterTest, ASlowRateStillAdmitsOneRequest) {
  ManualClock clock(absl::FromUnixSeconds(1'000'000));
  RateLimiter limiter(clock, 0.5);
  EXPECT_TRUE(limiter.Admit("t").ok());
  EXPECT_FALSE(limiter.Admit("t").ok());
  clock.Advance(absl::Seconds(2));
  EXPECT_TRUE(limiter.Admit("t").ok());
}

TEST(RateLimiterTest, AClockThatGoesBackRefillsNothing) {
  ManualClock clock(absl::FromUnixSeconds(1'000'000));
  RateLimiter limiter(clock, 1);
  EXPECT_TRUE(limiter.Admit("t").ok());
  clock.Advance(-absl::Seconds(30));
  EXPECT_FALSE(limiter.Admit("t").ok());
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(limiter.Admit("t").ok());
}

TEST(RateLimiterTest, APerMinuteLimitAdmitsAMinutesBurst) {
  ManualClock clock(absl::FromUnixSeconds(1'000'000));
  RateLimiter limiter(clock, 30.0 / 60, 30);
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(limiter.Admit("link").ok()) << i;
  EXPECT_FALSE(limiter.Admit("link").ok());
  clock.Advance(absl::Seconds(2));  // one request's worth at 30 a minute
  EXPECT_TRUE(limiter.Admit("link").ok());
  EXPECT_FALSE(limiter.Admit("link").ok());
}

TEST(RateLimiterTest, RefilledBucketsAreDroppedOnceManyPrincipalsWereSeen) {
  ManualClock clock(absl::FromUnixSeconds(1'000'000));
  RateLimiter limiter(clock, 1, 1);
  for (size_t i = 0; i < RateLimiter::kPruneAbove; ++i) {
    ASSERT_TRUE(limiter.Admit("address-" + std::to_string(i)).ok());
  }
  EXPECT_EQ(limiter.tracked(), RateLimiter::kPruneAbove);
  clock.Advance(absl::Seconds(1));  // every bucket has refilled: as good as absent
  EXPECT_TRUE(limiter.Admit("one-more").ok());
  EXPECT_EQ(limiter.tracked(), 1u);
  // A drained bucket is still kept: dropping it would hand its principal a fresh burst.
  EXPECT_FALSE(limiter.Admit("one-more").ok());
}

}  // namespace
}  // namespace fieldwork

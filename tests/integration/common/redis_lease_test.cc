// RedisLease on a real redis-server: one holder at a time, renewal, release, and takeover once
// a holder stops renewing (it died). The expiry is Redis's own; the test waits for it with a
// generous deadline and asserts only who holds the lease, never how fast.
#include "services/common/redis_lease.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"
#include "tests/testing/redis_server.h"

namespace fieldwork {
namespace {

bool Holds(RedisLease& lease) {
  absl::StatusOr<bool> held = lease.Hold();
  EXPECT_TRUE(held.ok()) << held.status();
  return held.value_or(false);
}

TEST(RedisLeaseTest, OneHolderAtATimeAndATakeoverWhenTheHolderStops) {
  testing::RedisServer redis;
  std::unique_ptr<RedisClient> client = redis.NewClient();
  constexpr char kKey[] = "fw:{monitor}:ana:lease";
  RedisLease a(*client, kKey, "replica-a", absl::Seconds(30));
  RedisLease b(*client, kKey, "replica-b", absl::Seconds(30));

  EXPECT_TRUE(Holds(a));
  EXPECT_FALSE(Holds(b));
  EXPECT_TRUE(Holds(a)) << "the holder renews";
  EXPECT_FALSE(Holds(b));
  // Only the holder can release it.
  ASSERT_TRUE(b.Release().ok());
  EXPECT_FALSE(Holds(b));
  ASSERT_TRUE(a.Release().ok());
  EXPECT_TRUE(Holds(b)) << "released: the standby takes it at once";
  EXPECT_FALSE(Holds(a));

  // b dies (stops renewing) holding a short lease: a gets it once it lapses, not before.
  RedisLease short_b(*client, kKey, "replica-b", absl::Milliseconds(300));
  ASSERT_TRUE(Holds(short_b));
  EXPECT_FALSE(Holds(a));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  bool taken = false;
  while (!taken && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    taken = Holds(a);
  }
  EXPECT_TRUE(taken) << "the lapsed lease was never taken over";
  EXPECT_FALSE(Holds(short_b));
}

TEST(RedisLeaseTest, HolderNamesAreUniquePerLease) {
  EXPECT_NE(ProcessHolderName(), ProcessHolderName());
  EXPECT_THAT(ProcessHolderName(), ::testing::MatchesRegex(".*:[0-9]+:[0-9a-f]{8}"));
}

}  // namespace
}  // namespace fieldwork

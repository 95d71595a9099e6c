#include "services/messaging/domain/token_bucket.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldwork::messaging {
namespace {

using ::testing::HasSubstr;

TakeResult Take(TokenBucketState& state, const TokenBucketConfig& config, int64_t now_ms,
                int64_t tokens = 1) {
  absl::StatusOr<TakeResult> r = TakeTokens(state, config, now_ms, tokens);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.value_or(TakeResult{});
}

TEST(TokenBucketTest, StartsFullAndRefusesWhenEmpty) {
  TokenBucketConfig config{5, 1000};  // burst 5, one a second
  TokenBucketState state;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Take(state, config, 1000).allowed) << i;
  TakeResult refused = Take(state, config, 1000);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.wait_ms, 1000);
  EXPECT_EQ(refused.remaining_units, 0);
}

TEST(TokenBucketTest, RefillsWithTimeUpToTheCapacity) {
  TokenBucketConfig config{5, 1000};
  TokenBucketState state;
  for (int i = 0; i < 5; ++i) Take(state, config, 0);
  TakeResult half = Take(state, config, 500);
  EXPECT_FALSE(half.allowed);
  EXPECT_EQ(half.wait_ms, 500);
  EXPECT_EQ(half.remaining_units, kTokenUnits / 2);
  EXPECT_TRUE(Take(state, config, 1000).allowed);
  // A long idle time refills only to the capacity.
  Take(state, config, 1'000'000'000);
  EXPECT_EQ(state.units, 4 * kTokenUnits);
}

TEST(TokenBucketTest, FractionalRates) {
  TokenBucketConfig config = TokenBucketConfig::PerSecond(0.5, 1);  // one every two seconds
  EXPECT_EQ(config.refill_millitokens_per_second, 500);
  TokenBucketState state;
  EXPECT_TRUE(Take(state, config, 0).allowed);
  TakeResult r = Take(state, config, 1);
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.wait_ms, 1999);
  EXPECT_TRUE(Take(state, config, 2000).allowed);

  TokenBucketConfig odd = TokenBucketConfig::PerSecond(14.3, 1);
  EXPECT_EQ(odd.refill_millitokens_per_second, 14300);
}

TEST(TokenBucketTest, LongRunRateIsExactlyTheConfiguredRate) {
  // 10 a second, burst 20, asked every millisecond for a simulated minute.
  TokenBucketConfig config = TokenBucketConfig::PerSecond(10, 20);
  TokenBucketState state;
  int allowed = 0;
  for (int64_t now = 0; now < 60'000; ++now) allowed += Take(state, config, now).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 20 + 10 * 60 - 1);  // the last refill lands at t = 60,000, not before
}

TEST(TokenBucketTest, WaitIsExactlyWhenTheTokensAreThere) {
  TokenBucketConfig config = TokenBucketConfig::PerSecond(3, 2);
  TokenBucketState state;
  Take(state, config, 0, 2);
  TakeResult r = Take(state, config, 0, 2);
  ASSERT_FALSE(r.allowed);
  EXPECT_EQ(r.wait_ms, 667);  // 2 tokens at 3/s: 666.67 ms, rounded up
  EXPECT_FALSE(Take(state, config, 666, 2).allowed);
  EXPECT_TRUE(Take(state, config, 667, 2).allowed);
}

TEST(TokenBucketTest, ClockGoingBackwardsRefillsNothing) {
  TokenBucketConfig config{2, 1000};
  TokenBucketState state;
  Take(state, config, 10'000, 2);
  TakeResult behind = Take(state, config, 5'000);  // a worker whose clock is 5 s slow
  EXPECT_FALSE(behind.allowed);
  EXPECT_EQ(state.updated_ms, 10'000);
  EXPECT_TRUE(Take(state, config, 11'000).allowed);
}

TEST(TokenBucketTest, MultiTokenTakesAreAllOrNothing) {
  TokenBucketConfig config{3, 1000};
  TokenBucketState state;
  Take(state, config, 0, 2);
  TakeResult r = Take(state, config, 0, 2);
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.remaining_units, kTokenUnits);  // nothing was taken
}

TEST(TokenBucketTest, LoweredCapacityClampsTheStoredTokens) {
  TokenBucketState state{true, 50 * kTokenUnits, 0};
  TakeResult r = Take(state, TokenBucketConfig{5, 1000}, 0);
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.remaining_units, 4 * kTokenUnits);
}

TEST(TokenBucketTest, BadInput) {
  TokenBucketState state;
  struct Case {
    TokenBucketConfig config;
    int64_t tokens;
    const char* field;
  };
  const Case cases[] = {
      {{0, 1000}, 1, "capacity:"},
      {{2'000'000'000, 1000}, 1, "capacity:"},
      {{5, 0}, 1, "refill_millitokens_per_second:"},
      {{5, 2'000'000'000'000}, 1, "refill_millitokens_per_second:"},
      {{5, 1000}, 0, "tokens:"},
      {{5, 1000}, 6, "tokens:"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<TakeResult> r = TakeTokens(state, c.config, 0, c.tokens);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.field));
  }
  EXPECT_FALSE(ValidateTokenBucketConfig({0, 1}).ok());
}

TEST(TokenBucketTest, TtlCoversAFullRefill) {
  EXPECT_EQ(TokenBucketTtlMs({5, 1000}), 6000);
  EXPECT_EQ(TokenBucketTtlMs({1, 3}), 334'334);
}

TEST(TokenBucketTest, TheLuaScriptIsCompiledIn) {
  absl::string_view script = TokenBucketLuaScript();
  EXPECT_THAT(std::string(script), HasSubstr("local UNITS = 1000000"));
  EXPECT_THAT(std::string(script), HasSubstr("redis.call('HMGET', KEYS[1], 'u', 't')"));
  EXPECT_THAT(std::string(script), HasSubstr("PEXPIRE"));
  EXPECT_THAT(std::string(script), HasSubstr("return {allowed, wait, units}"));
}

}  // namespace
}  // namespace fieldwork::messaging

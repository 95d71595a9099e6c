// Token-bucket rate limiting, as exact integer arithmetic. The shared limiter that all workers
// use is token_bucket.lua, run in Redis with EVALSHA; this is the same arithmetic in C++, for
// tests and for a single-process limiter. Both must stay in step: change them together.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_TOKEN_BUCKET_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_TOKEN_BUCKET_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fieldwork::messaging {

// One token is kTokenUnits units. With the refill rate given in millitokens per second, the
// refill per millisecond is exactly `refill_millitokens_per_second` units: integers throughout,
// exact in a Lua double up to 2^53 units (9 billion tokens of capacity).
inline constexpr int64_t kTokenUnits = 1'000'000;

struct TokenBucketConfig {
  int64_t capacity = 1;                          // tokens: the largest burst
  int64_t refill_millitokens_per_second = 1000;  // 1000 = one token per second

  // Rate in tokens per second (e.g. 14.5) rounded to millitokens, burst in tokens.
  static TokenBucketConfig PerSecond(double tokens_per_second, int64_t burst);
};

// INVALID_ARGUMENT naming the field: capacity 1..1e9, refill 1..1e12 millitokens per second.
absl::Status ValidateTokenBucketConfig(const TokenBucketConfig& config);

// A missing bucket is full.
struct TokenBucketState {
  bool exists = false;
  int64_t units = 0;
  int64_t updated_ms = 0;
};

struct TakeResult {
  bool allowed = false;
  int64_t wait_ms = 0;          // when refused: how long until `tokens` would be there
  int64_t remaining_units = 0;  // after the call
};

// Refills `state` for the time since it was last updated (never backwards: a caller whose
// clock is behind refills nothing and does not move the bucket's time back), then takes
// `tokens` if they are all there. The refill is capped at the capacity. INVALID_ARGUMENT for a
// bad config or `tokens` outside 1..capacity.
absl::StatusOr<TakeResult> TakeTokens(TokenBucketState& state, const TokenBucketConfig& config,
                                      int64_t now_ms, int64_t tokens);

// How long the Redis key may live: the time to refill an empty bucket, plus a second. Once it
// has expired the bucket is full again, the same as if it had been kept.
int64_t TokenBucketTtlMs(const TokenBucketConfig& config);

// The text of token_bucket.lua, compiled into the library so the service can SCRIPT LOAD it
// without finding the file at run time.
absl::string_view TokenBucketLuaScript();

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_TOKEN_BUCKET_H_

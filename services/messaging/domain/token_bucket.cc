#include "services/messaging/domain/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace fieldwork::messaging {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

TokenBucketConfig TokenBucketConfig::PerSecond(double tokens_per_second, int64_t burst) {
  TokenBucketConfig config;
  config.capacity = burst;
  config.refill_millitokens_per_second = std::llround(tokens_per_second * 1000.0);
  return config;
}

absl::Status ValidateTokenBucketConfig(const TokenBucketConfig& config) {
  if (config.capacity < 1 || config.capacity > 1'000'000'000) {
    return absl::InvalidArgumentError("capacity: must be 1..1000000000 tokens");
  }
  if (config.refill_millitokens_per_second < 1 ||
      config.refill_millitokens_per_second > 1'000'000'000'000) {
    return absl::InvalidArgumentError(
        "refill_millitokens_per_second: must be 1..1000000000000 (0.001 to 1e9 tokens a second)");
  }
  return absl::OkStatus();
}

absl::StatusOr<TakeResult> TakeTokens(TokenBucketState& state, const TokenBucketConfig& config,
                                      int64_t now_ms, int64_t tokens) {
  if (absl::Status valid = ValidateTokenBucketConfig(config); !valid.ok()) return valid;
  if (tokens < 1 || tokens > config.capacity) {
    return absl::InvalidArgumentError("tokens: must be 1..capacity");
  }
  const int64_t rate = config.refill_millitokens_per_second;  // units per millisecond
  const int64_t full = config.capacity * kTokenUnits;
  if (!state.exists) {
    state = TokenBucketState{true, full, now_ms};
  } else {
    state.units = std::min(state.units, full);  // the capacity may have been lowered
    if (now_ms > state.updated_ms) {
      const int64_t elapsed = now_ms - state.updated_ms;
      const int64_t deficit = full - state.units;
      // Comparing elapsed with the time to fill avoids elapsed * rate overflowing.
      state.units = elapsed >= CeilDiv(deficit, rate) ? full : state.units + elapsed * rate;
      state.updated_ms = now_ms;
    }
  }
  const int64_t need = tokens * kTokenUnits;
  TakeResult result;
  if (state.units >= need) {
    state.units -= need;
    result.allowed = true;
  } else {
    result.wait_ms = CeilDiv(need - state.units, rate);
  }
  result.remaining_units = state.units;
  return result;
}

int64_t TokenBucketTtlMs(const TokenBucketConfig& config) {
  return CeilDiv(config.capacity * kTokenUnits, config.refill_millitokens_per_second) + 1000;
}

}  // namespace fieldwork::messaging

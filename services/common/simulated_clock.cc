#include "services/common/simulated_clock.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "fieldwork/v1/common.pb.h"
#include "services/common/logging.h"

namespace fieldwork {
namespace {

using google::protobuf::util::TimeUtil;

std::string Encode(absl::Time time) {
  fieldwork::v1::SimulatedClockState state;
  *state.mutable_now() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
  return state.SerializeAsString();
}

absl::StatusOr<absl::Time> Decode(absl::string_view bytes) {
  fieldwork::v1::SimulatedClockState state;
  if (!state.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat(SimulatedClock::kKey, " does not hold a clock"));
  }
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(state.now()));
}

// Sets the key to ARGV[2] only if it still holds ARGV[1]; returns 1 when set.
const LuaScript& CompareAndSet() {
  static const LuaScript* script = new LuaScript(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua");
  return *script;
}

}  // namespace

SimulatedClock::SimulatedClock(RedisClient& redis, absl::Time start_if_unset)
    : redis_(redis), start_if_unset_(start_if_unset), last_seen_(start_if_unset) {}

absl::StatusOr<absl::Time> SimulatedClock::Read() const {
  const std::string key(kKey);
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", key});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) {
    // First reader: start the shared time; NX keeps a concurrent first reader from racing.
    absl::StatusOr<RedisReply> set = redis_.Command({"SET", key, Encode(start_if_unset_), "NX"});
    if (!set.ok()) return set.status();
    reply = redis_.Command({"GET", key});
    if (!reply.ok()) return reply.status();
  }
  absl::StatusOr<absl::Time> now = Decode(reply->str());
  if (now.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_seen_ = *now;
  }
  return now;
}

absl::Time SimulatedClock::Now() const {
  absl::StatusOr<absl::Time> now = Read();
  if (now.ok()) return *now;
  logging::Error("simulated clock unreadable; using the last time seen",
                 {{"error", now.status().ToString()}});
  std::lock_guard<std::mutex> lock(mutex_);
  return last_seen_;
}

absl::Status SimulatedClock::Set(absl::Time now) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"SET", std::string(kKey), Encode(now)});
  return reply.ok() ? absl::OkStatus() : reply.status();
}

absl::StatusOr<absl::Time> SimulatedClock::Advance(absl::Duration by) {
  if (by < absl::ZeroDuration()) return absl::InvalidArgumentError("a clock cannot go backwards");
  for (int attempt = 0; attempt < 100; ++attempt) {
    absl::StatusOr<absl::Time> now = Read();
    if (!now.ok()) return now.status();
    const absl::Time next = *now + by;
    absl::StatusOr<RedisReply> swapped =
        redis_.Eval(CompareAndSet(), {std::string(kKey)}, {Encode(*now), Encode(next)});
    if (!swapped.ok()) return swapped.status();
    if (swapped->integer() == 1) return next;
  }
  return absl::AbortedError("simulated clock: too much contention advancing the time");
}

}  // namespace fieldwork

#include "services/common/redis_lease.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fieldwork {
namespace {

// Renew when ours, take when free: one script, so no other replica can slip in between.
const LuaScript& HoldScript() {
  static const LuaScript* script = new LuaScript(R"lua(
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
)lua");
  return *script;
}

const LuaScript& ReleaseScript() {
  static const LuaScript* script = new LuaScript(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua");
  return *script;
}

}  // namespace

RedisLease::RedisLease(RedisClient& redis, std::string key, std::string holder, absl::Duration ttl)
    : redis_(redis),
      key_(std::move(key)),
      holder_(std::move(holder)),
      ttl_ms_(absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)))) {}

absl::StatusOr<bool> RedisLease::Hold() {
  absl::StatusOr<RedisReply> reply = redis_.Eval(HoldScript(), {key_}, {holder_, ttl_ms_});
  if (!reply.ok()) return reply.status();
  return reply->integer() == 1;
}

absl::Status RedisLease::Release() {
  return redis_.Eval(ReleaseScript(), {key_}, {holder_}).status();
}

std::string ProcessHolderName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device random;
  return absl::StrFormat("%s:%d:%08x", host, getpid(), random());
}

}  // namespace fieldwork

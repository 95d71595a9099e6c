#include "services/common/redis_slots.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fieldwork {
namespace {

uint16_t Crc16Xmodem(absl::string_view data) {
  uint16_t crc = 0;
  for (char c : data) {
    crc = static_cast<uint16_t>(crc ^ (static_cast<unsigned char>(c) << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
  }
  return crc;
}

// Commands whose only key is their first argument.
const std::set<std::string, std::less<>>& FirstArgumentKeyCommands() {
  static const auto* commands = new std::set<std::string, std::less<>>{
      "APPEND", "DECR", "DECRBY", "DEL", "EXISTS", "EXPIRE", "GET", "GETDEL", "HDEL", "HEXISTS",
      "HGET", "HGETALL", "HINCRBY", "HKEYS", "HLEN", "HMGET", "HMSET", "HSCAN", "HSET", "HSETNX",
      "HVALS", "INCR", "INCRBY", "LINDEX", "LLEN", "LPUSH", "LRANGE", "LSET", "LTRIM", "PEXPIRE", "PTTL", "RPUSH",
      "SADD", "SCARD", "SET", "SISMEMBER", "SMEMBERS", "SREM", "SSCAN", "TTL", "TYPE", "UNLINK",
      "XACK", "XADD", "XAUTOCLAIM", "XCLAIM", "XDEL", "XLEN", "XPENDING", "XRANGE", "XREVRANGE",
      "XTRIM", "ZADD", "ZCARD", "ZCOUNT", "ZINCRBY", "ZRANGE", "ZRANGEBYSCORE", "ZRANK", "ZREM",
      "ZREMRANGEBYSCORE", "ZREVRANGE", "ZSCAN", "ZSCORE"};
  return *commands;
}

const std::set<std::string, std::less<>>& KeylessCommands() {
  static const auto* commands = new std::set<std::string, std::less<>>{
      "ASKING", "AUTH", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DBSIZE", "DISCARD", "EXEC",
      "FLUSHALL", "FLUSHDB", "HELLO", "INFO", "MULTI", "PING", "READONLY", "SCRIPT", "SELECT",
      "TIME", "WAIT"};
  return *commands;
}

}  // namespace

uint16_t RedisKeySlot(absl::string_view key) {
  const size_t open = key.find('{');
  if (open != absl::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<uint16_t>(Crc16Xmodem(key) % kRedisClusterSlots);
}

absl::StatusOr<std::vector<absl::string_view>> RedisCommandKeys(
    absl::Span<const std::string> args) {
  if (args.empty()) return absl::InvalidArgumentError("empty Redis command");
  const std::string name = absl::AsciiStrToUpper(args[0]);
  auto missing = [&] {
    return absl::InvalidArgumentError(absl::StrCat("Redis command ", name, ": too few arguments"));
  };
  if (KeylessCommands().contains(name)) return std::vector<absl::string_view>{};
  if (FirstArgumentKeyCommands().contains(name)) {
    if (args.size() < 2) return missing();
    return std::vector<absl::string_view>{args[1]};
  }
  if (name == "EVAL" || name == "EVALSHA") {
    size_t n = 0;
    if (args.size() < 3 || !absl::SimpleAtoi(args[2], &n) || args.size() < 3 + n) {
      return missing();
    }
    return std::vector<absl::string_view>(args.begin() + 3,
                                          args.begin() + 3 + static_cast<std::ptrdiff_t>(n));
  }
  if (name == "XGROUP" || name == "XINFO") {
    // XGROUP HELP / XINFO HELP have no key.
    if (args.size() >= 2 && absl::AsciiStrToUpper(args[1]) == "HELP") {
      return std::vector<absl::string_view>{};
    }
    if (args.size() < 3) return missing();
    return std::vector<absl::string_view>{args[2]};
  }
  if (name == "XREAD" || name == "XREADGROUP") {
    for (size_t i = 1; i < args.size(); ++i) {
      if (absl::AsciiStrToUpper(args[i]) != "STREAMS") continue;
      const size_t rest = args.size() - i - 1;
      if (rest == 0 || rest % 2 != 0) return missing();
      return std::vector<absl::string_view>(
          args.begin() + static_cast<std::ptrdiff_t>(i + 1),
          args.begin() + static_cast<std::ptrdiff_t>(i + 1 + rest / 2));
    }
    return missing();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "Redis command ", name, ": its keys are not known to the cluster routing (redis_slots.cc)"));
}

absl::StatusOr<std::optional<uint16_t>> RedisCommandsSlot(
    absl::Span<const std::vector<std::string>> commands) {
  std::optional<uint16_t> slot;
  absl::string_view first_key;
  for (const std::vector<std::string>& command : commands) {
    absl::StatusOr<std::vector<absl::string_view>> keys = RedisCommandKeys(command);
    if (!keys.ok()) return keys.status();
    for (absl::string_view key : *keys) {
      const uint16_t key_slot = RedisKeySlot(key);
      if (!slot.has_value()) {
        slot = key_slot;
        first_key = key;
      } else if (*slot != key_slot) {
        return absl::InvalidArgumentError(
            absl::StrCat("CROSSSLOT: keys '", first_key.substr(0, 80), "' (slot ", *slot,
                         ") and '", key.substr(0, 80), "' (slot ", key_slot,
                         ") in one pipeline, transaction or script"));
      }
    }
  }
  return slot;
}

}  // namespace fieldwork

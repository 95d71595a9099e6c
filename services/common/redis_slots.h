// Redis Cluster routing facts, pure: which hash slot a key lives in, and which arguments of a
// command are keys. The Redis client routes each command (and each pipeline, transaction and
// script, which must stay within one slot) to the master serving that slot.
//
// Every key of the suite carries its trial as a hash tag (fw:{trial}:...), so one trial's keys
// share a slot and its multi-key writes stay atomic on a cluster (DESIGN.md, "Storage").
#ifndef FIELDWORK_SERVICES_COMMON_REDIS_SLOTS_H_
#define FIELDWORK_SERVICES_COMMON_REDIS_SLOTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace fieldwork {

inline constexpr int kRedisClusterSlots = 16384;

// The slot of `key`: CRC16 (XMODEM) of the key, or of its hash tag — the part between the
// first '{' and the first '}' after it, when that part is not empty — modulo 16384.
uint16_t RedisKeySlot(absl::string_view key);

// The arguments of `args` (a whole command: name first) that are keys, for the commands the
// suite sends: most take one key as the first argument; EVAL/EVALSHA list theirs after numkeys;
// XREADGROUP/XREAD after STREAMS; XGROUP and XINFO after their subcommand. Commands with no key
// (PING, SCRIPT, CONFIG, AUTH, SELECT, MULTI, EXEC, INFO, WAIT, CLUSTER, ...) give none.
// INVALID_ARGUMENT for a command it does not know, so a new command cannot be routed by guess.
absl::StatusOr<std::vector<absl::string_view>> RedisCommandKeys(absl::Span<const std::string> args);

// The one slot every key of `commands` lives in (none when no command has a key), or
// INVALID_ARGUMENT "CROSSSLOT ..." naming two keys in different slots: on a cluster such a
// pipeline, transaction or script would fail or, worse, half run on two masters.
absl::StatusOr<std::optional<uint16_t>> RedisCommandsSlot(
    absl::Span<const std::vector<std::string>> commands);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_REDIS_SLOTS_H_

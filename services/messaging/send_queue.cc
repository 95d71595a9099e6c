#include "services/messaging/send_queue.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/logging.h"
#include "services/messaging/domain/ids.h"
#include "services/messaging/keys.h"

namespace fieldwork::messaging {
namespace {

// Shared by every script: ARGV[1] is the trial's key prefix "fw:{<trial>}:msg:". The scripts
// touch keys they build from it (records, counters, events); all share the trial's hash tag,
// so they live in one slot.
constexpr absl::string_view kPrelude = R"lua(
local P = ARGV[1]
local function split(key)
  local _, c, s, p = string.match(key, '^([^:]+):([^:]+):([^:]+):(.+)$')
  return c, s, p
end
local function arm_of(c, p) return redis.call('HGET', P .. 'arms:' .. c, p) or '' end
local function count(c, s, arm, kind)
  redis.call('HINCRBY', P .. 'counts:' .. c, s .. '|' .. arm .. '|' .. kind, 1)
end
local function emit(kind, c, s, p, now, extra)
  local args = {P .. 'events', '*', 'e', kind, 'c', c, 's', s, 'p', p, 't', now}
  for i = 1, #extra do args[#args + 1] = extra[i] end
  redis.call('XADD', unpack(args))
end
local FINAL = {sent = true, dead = true, skipped = true, cancelled = true}
-- A handled entry leaves the stream as well as the group's pending list: the stream holds only
-- work not yet done (its length is the queue depth), and does not grow with every send.
local function done_with(stream, group, id)
  redis.call('XACK', stream, group, id)
  redis.call('XDEL', stream, id)
end
-- Order within a campaign: a participant's step is not delivered while an earlier step of the
-- same campaign is still pending for them. Returns the first such earlier key, or nil. One
-- HGET per earlier step (a campaign has a handful), never a scan of the queue.
local function pending_before(key)
  local t, c, s, p = string.match(key, '^([^:]+):([^:]+):([^:]+):(.+)$')
  for j = 0, (tonumber(s) or 0) - 1 do
    local earlier = t .. ':' .. c .. ':' .. j .. ':' .. p
    local st = redis.call('HGET', P .. 'rec:' .. earlier, 'state')
    if st and not FINAL[st] then return earlier end
  end
  return nil
end
-- A step of (c, p) became final: the later steps deferred behind it are due again at their own
-- due times (only those still waiting in the sorted set; one already back in the stream is
-- checked again when claimed).
local function release_after(c, p)
  local w = P .. 'after:' .. c .. ':' .. p
  local waiting = redis.call('ZRANGE', w, 0, -1, 'WITHSCORES')
  for i = 1, #waiting, 2 do
    redis.call('ZADD', P .. 'due', 'XX', waiting[i + 1], waiting[i])
  end
  if #waiting > 0 then redis.call('DEL', w) end
end
)lua";

LuaScript* MakeScript(absl::string_view body) {
  return new LuaScript(absl::StrCat(kPrelude, body));
}

// ARGV: 1 prefix, 2 campaign, 3 now, then (key, due, arm) triples. Closes window 1: a send
// whose record exists (planned before, or already further) is not planned again.
const LuaScript& PlanScript() {
  static const LuaScript* script = MakeScript(R"lua(
-- A trial's first events: from here on its opens and clicks are also kept in the engagement log
-- (keys.h), which RecordEngagement writes only where this is set.
if redis.call('EXISTS', P .. 'events') == 0 then
  redis.call('SET', P .. 'engagement_logged', '1')
end
local n = 0
for i = 4, #ARGV, 3 do
  local key, due, arm = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local rec = P .. 'rec:' .. key
  if redis.call('EXISTS', rec) == 0 then
    local c, s, p = split(key)
    redis.call('HSET', rec, 'state', 'planned', 'attempt', 0)
    redis.call('ZADD', P .. 'due', 'NX', due, key)
    redis.call('HSET', P .. 'arms:' .. c, p, arm)
    count(c, s, arm, 'planned')
    emit('queued', c, s, p, ARGV[3], {'arm', arm, 'due', due})
    n = n + 1
  end
end
return n
)lua");
  return *script;
}

// KEYS: 1 due, 2 stream. ARGV: 1 now, 2 limit. Window 2: the move is whole or not at all.
// The sends moved are the set's lowest-ranked members, so one ZREMRANGEBYRANK removes them
// all, rather than a ZREM per send.
const LuaScript& MoveScript() {
  static const LuaScript* script = new LuaScript(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0,
                       tonumber(ARGV[2]))
for i = 1, #due, 2 do
  redis.call('XADD', KEYS[2], '*', 'k', due[i], 'd', due[i + 1])
end
if #due > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #due / 2 - 1) end
return #due / 2
)lua");
  return *script;
}

// KEYS: 1 stream. ARGV: 1 prefix, 2 group, 3 owner, 4 now, 5 lease ms, 6 recheck ms, then
// (id, key, due) triples. Returns a flat array of (kind, attempt) pairs: kind 1 claimed,
// 2 done, 3 held, 4 cancelled, 5 busy, 6 deferred.
const LuaScript& ClaimScript() {
  static const LuaScript* script = MakeScript(R"lua(
local group, owner, now, lease = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local recheck = tonumber(ARGV[6])
local out = {}
-- A batch's sends belong to a few campaigns: each campaign's state is read once per batch (it
-- cannot change while the script runs), not once per send.
local campaign_state = {}
for i = 7, #ARGV, 3 do
  local id, key, due = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local c, s, p = split(key)
  local rec = P .. 'rec:' .. key
  local st = redis.call('HMGET', rec, 'state', 'owner', 'attempt', 'lease')
  local state = st[1]
  local live = state == 'claimed' and tonumber(st[4]) >= now
  local cs = campaign_state[c]
  if cs == nil then
    cs = redis.call('GET', P .. 'cstate:' .. c)
    campaign_state[c] = cs
  end
  local earlier = nil
  if not (state and FINAL[state]) and not live and cs == 'running' then
    earlier = pending_before(key)
  end
  if state and FINAL[state] then
    done_with(KEYS[1], group, id)
    out[#out + 1] = 2; out[#out + 1] = 0
  elseif earlier then
    -- Deferred behind the earlier step: released when that one becomes final, and looked at
    -- again after `recheck` (or just after the earlier one's own due time) in any case. The
    -- record is left as it was, so the attempt count does not grow.
    redis.call('ZADD', P .. 'after:' .. c .. ':' .. p, due, key)
    local at = now + recheck
    local earlier_due = tonumber(redis.call('ZSCORE', P .. 'due', earlier))
    if earlier_due and earlier_due + 1 > at then at = earlier_due + 1 end
    redis.call('ZADD', P .. 'due', at, key)
    done_with(KEYS[1], group, id)
    out[#out + 1] = 6; out[#out + 1] = 0
  elseif live then
    out[#out + 1] = 5; out[#out + 1] = 0
  elseif cs == 'paused' then
    redis.call('ZADD', P .. 'held:' .. c, due, key)
    done_with(KEYS[1], group, id)
    out[#out + 1] = 3; out[#out + 1] = 0
  elseif cs ~= 'running' then
    redis.call('HSET', rec, 'state', 'cancelled')
    local arm = arm_of(c, p)
    count(c, s, arm, 'cancelled')
    emit('cancelled', c, s, p, now, {'arm', arm})
    release_after(c, p)
    done_with(KEYS[1], group, id)
    out[#out + 1] = 4; out[#out + 1] = 0
  else
    local attempt = (tonumber(st[3]) or 0) + 1
    redis.call('HSET', rec, 'state', 'claimed', 'owner', owner, 'attempt', attempt,
               'lease', now + lease)
    out[#out + 1] = 1; out[#out + 1] = attempt
  end
end
return out
)lua");
  return *script;
}

// KEYS: 1 stream. ARGV: 1 prefix, 2 group, 3 owner, 4 now, 5 lease ms, then (id, key, attempt)
// triples. 1 when still held. The compare-and-set is on (owner, attempt) alone: a lease that
// ran out (a simulated clock jumped, the worker stalled) while nobody took the send over is
// still this worker's, since any takeover changes owner and attempt. The stream entry is
// claimed again for this consumer (XCLAIM resets its idle time), so XAUTOCLAIM does not hand
// a live worker's entries to another.
const LuaScript& RenewScript() {
  static const LuaScript* script = MakeScript(R"lua(
local group, owner, now, lease = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {}
for i = 6, #ARGV, 3 do
  local id = ARGV[i]
  local rec = P .. 'rec:' .. ARGV[i + 1]
  local st = redis.call('HMGET', rec, 'state', 'owner', 'attempt')
  if st[1] == 'claimed' and st[2] == owner and st[3] == ARGV[i + 2] then
    redis.call('HSET', rec, 'lease', now + lease)
    redis.call('XCLAIM', KEYS[1], group, owner, 0, id, 'JUSTID')
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
)lua");
  return *script;
}

// KEYS: 1 stream. ARGV: 1 prefix, 2 group, 3 owner, 4 now, 5 acknowledge ("1": each entry
// leaves the pending list and the stream here; "0": the caller does it for a whole batch, see
// AckScript), then (id, key, kind, attempt, retry_at, detail, channel, template version)
// octets. Windows 7 and 8.
const LuaScript& CompleteScript() {
  static const LuaScript* script = MakeScript(R"lua(
local group, owner, now, acknowledge = ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1'
for i = 6, #ARGV, 8 do
  local id, key, kind, attempt = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local retry_at, detail, ch, version = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local c, s, p = split(key)
  local rec = P .. 'rec:' .. key
  local st = redis.call('HMGET', rec, 'state', 'owner', 'attempt')
  local mine = st[1] == 'claimed' and st[2] == owner and st[3] == attempt
  local arm = arm_of(c, p)
  if kind == 'sent' then
    if st[1] ~= 'sent' then
      redis.call('HSET', rec, 'state', 'sent', 'time', now, 'channel', ch, 'version', version)
      count(c, s, arm, 'sent')
      emit('sent', c, s, p, now, {'arm', arm, 'ch', ch, 'v', version, 'a', attempt})
    end
    release_after(c, p)
  elseif mine then
    if kind == 'retry' then
      redis.call('HSET', rec, 'state', 'retry', 'error', detail)
      redis.call('ZADD', P .. 'due', retry_at, key)
      count(c, s, arm, 'failed')
      emit('failed', c, s, p, now, {'arm', arm, 'ch', ch, 'a', attempt, 'd', detail})
    elseif kind == 'dead' then
      redis.call('HSET', rec, 'state', 'dead', 'error', detail)
      redis.call('XADD', P .. 'dead', '*', 'k', key, 'error', detail, 'attempts', attempt,
                 'ch', ch, 't', now)
      count(c, s, arm, 'dead')
      emit('dead_lettered', c, s, p, now, {'arm', arm, 'ch', ch, 'a', attempt, 'd', detail})
      release_after(c, p)
    else
      redis.call('HSET', rec, 'state', 'skipped', 'error', detail)
      count(c, s, arm, 'skipped')
      emit('skipped', c, s, p, now, {'arm', arm, 'd', detail})
      release_after(c, p)
    end
  end
  if acknowledge then done_with(KEYS[1], group, id) end
end
return 1
)lua");
  return *script;
}

// KEYS: 1 stream. ARGV: 1 group, then entry ids whose records are final. They leave the
// group's pending list and the stream together, as done_with does for one: one XACK and one
// XDEL for a batch of sent messages instead of two commands per message. Until then the
// entries stay pending, and a successor that claims one finds its record final (window 7).
const LuaScript& AckScript() {
  static const LuaScript* script = new LuaScript(R"lua(
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], unpack(ARGV, 2))
return 1
)lua");
  return *script;
}

// ARGV: 1 prefix, 2 campaign, 3 action (pause / resume / start / draft).
const LuaScript& StateScript() {
  static const LuaScript* script = MakeScript(R"lua(
local c, action = ARGV[2], ARGV[3]
local key = P .. 'cstate:' .. c
local cur = redis.call('GET', key)
if action == 'pause' then
  if cur == 'paused' then return 0 end
  if cur ~= 'running' then
    return redis.error_reply('FAILED_PRECONDITION: campaign_id: campaign is ' ..
                             (cur or 'unknown') .. ', not running')
  end
  redis.call('SET', key, 'paused')
elseif action == 'resume' then
  if cur == 'running' then return 0 end
  if cur ~= 'paused' then
    return redis.error_reply('FAILED_PRECONDITION: campaign_id: campaign is ' ..
                             (cur or 'unknown') .. ', not paused')
  end
  redis.call('SET', key, 'running')
  redis.call('ZUNIONSTORE', P .. 'due', 2, P .. 'due', P .. 'held:' .. c, 'AGGREGATE', 'MIN')
  redis.call('DEL', P .. 'held:' .. c)
else
  redis.call('SET', key, action)
end
return 1
)lua");
  return *script;
}

// ARGV: 1 prefix, 2 campaign, 3 now, 4 reason, 5 "<trial>:<campaign>:" key prefix.
const LuaScript& CancelScript() {
  static const LuaScript* script = MakeScript(R"lua(
local c, now, reason, kp = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
redis.call('SET', P .. 'cstate:' .. c, 'cancelled')
local dropped = 0
local function drop(zkey)
  local members = redis.call('ZRANGE', zkey, 0, -1)
  for _, key in ipairs(members) do
    if string.sub(key, 1, #kp) == kp then
      redis.call('ZREM', zkey, key)
      local rec = P .. 'rec:' .. key
      local state = redis.call('HGET', rec, 'state')
      if not (state and FINAL[state]) then
        local _, s, p = split(key)
        redis.call('HSET', rec, 'state', 'cancelled')
        local arm = arm_of(c, p)
        count(c, s, arm, 'cancelled')
        emit('cancelled', c, s, p, now, {'arm', arm, 'd', reason})
        dropped = dropped + 1
      end
    end
  end
end
drop(P .. 'due')
drop(P .. 'held:' .. c)
redis.call('DEL', P .. 'held:' .. c)
return dropped
)lua");
  return *script;
}

// KEYS: 1 dead stream. ARGV: 1 prefix, 2 dead id, 3 now. 1 when requeued.
const LuaScript& RequeueScript() {
  static const LuaScript* script = MakeScript(R"lua(
local entries = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #entries == 0 then return 0 end
local fields = entries[1][2]
local key
for i = 1, #fields, 2 do if fields[i] == 'k' then key = fields[i + 1] end end
redis.call('XDEL', KEYS[1], ARGV[2])
if not key then return 0 end
local rec = P .. 'rec:' .. key
if redis.call('HGET', rec, 'state') ~= 'dead' then return 0 end
redis.call('HSET', rec, 'state', 'planned', 'attempt', 0)
redis.call('ZADD', P .. 'due', ARGV[3], key)
return 1
)lua");
  return *script;
}

int64_t ParseInt(absl::string_view text) {
  int64_t v = 0;
  if (absl::SimpleAtoi(text, &v)) return v;
  double d = 0;
  if (absl::SimpleAtod(text, &d)) return static_cast<int64_t>(d);
  return 0;
}

std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

// [[id, [f, v, ...]], ...] -> entries (nil elements, deleted entries, are left out).
std::vector<StreamEntry> ParseEntries(const RedisReply& list) {
  std::vector<StreamEntry> out;
  if (list.type() != RedisReply::Type::kArray) return out;
  for (size_t i = 0; i < list.size(); ++i) {
    const RedisReply item = list[i];
    if (item.type() != RedisReply::Type::kArray || item.size() < 2) continue;
    StreamEntry entry;
    entry.id = std::string(item[0].str());
    const RedisReply fields = item[1];
    if (fields.type() != RedisReply::Type::kArray) continue;
    for (size_t f = 0; f + 1 < fields.size(); f += 2) {
      if (fields[f].str() == "k") entry.key = std::string(fields[f + 1].str());
      if (fields[f].str() == "d") entry.due_ms = ParseInt(fields[f + 1].str());
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

absl::StatusOr<SendRef> ParseSendRef(absl::string_view idempotency_key) {
  std::vector<std::string> parts = absl::StrSplit(idempotency_key, ':');
  int step = 0;
  if (parts.size() != 4 || !IsValidId(parts[0]) || !IsValidId(parts[1]) ||
      !absl::SimpleAtoi(parts[2], &step) || step < 0 || !IsValidId(parts[3])) {
    return absl::InvalidArgumentError("idempotency key: not <trial>:<campaign>:<step>:<id>");
  }
  return SendRef{parts[0], parts[1], step, parts[3]};
}

absl::Status ValidateQueueOptions(const QueueOptions& options) {
  if (options.lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lease: must be a positive duration");
  }
  if (options.reclaim_idle <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("reclaim_idle: must be a positive duration");
  }
  if (options.order_recheck <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("order_recheck: must be a positive duration");
  }
  return absl::OkStatus();
}

SendQueue::SendQueue(RedisClient& redis, QueueOptions options) : redis_(redis), options_(options) {}

absl::Status SendQueue::EnsureGroup(absl::string_view trial) {
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"XGROUP", "CREATE", keys::Stream(trial), keys::kGroup, "0", "MKSTREAM"});
  if (!reply.ok() && !absl::StrContains(reply.status().message(), "BUSYGROUP")) {
    return reply.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SendQueue::Plan(absl::string_view trial, absl::string_view campaign,
                                        const std::vector<PlannedEntry>& sends, int64_t now_ms) {
  if (absl::Status s = EnsureGroup(trial); !s.ok()) return s;
  if (absl::StatusOr<RedisReply> r = redis_.Command({"SADD", keys::Trials(), trial}); !r.ok()) {
    return r.status();
  }
  int64_t planned = 0;
  constexpr size_t kChunk = 2000;
  for (size_t start = 0; start < sends.size(); start += kChunk) {
    std::vector<std::string> args = {keys::Prefix(trial), std::string(campaign),
                                     absl::StrCat(now_ms)};
    for (size_t i = start; i < std::min(sends.size(), start + kChunk); ++i) {
      args.push_back(sends[i].key);
      args.push_back(absl::StrCat(sends[i].due_ms));
      args.push_back(sends[i].arm);
    }
    absl::StatusOr<RedisReply> reply = redis_.Eval(PlanScript(), {keys::Due(trial)}, args);
    if (!reply.ok()) return reply.status();
    planned += reply->integer();
  }
  return planned;
}

absl::StatusOr<int64_t> SendQueue::MoveDue(absl::string_view trial, int64_t now_ms, int64_t limit) {
  absl::StatusOr<RedisReply> reply =
      redis_.Eval(MoveScript(), {keys::Due(trial), keys::Stream(trial)},
                  {absl::StrCat(now_ms), absl::StrCat(limit)});
  if (!reply.ok()) return reply.status();
  return reply->integer();
}

absl::StatusOr<std::vector<std::string>> SendQueue::Trials() {
  absl::StatusOr<RedisReply> reply = redis_.Command({"SMEMBERS", keys::Trials()});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (size_t i = 0; i < reply->size(); ++i) out.emplace_back((*reply)[i].str());
  return out;
}

absl::StatusOr<std::vector<StreamEntry>> SendQueue::Read(absl::string_view trial,
                                                         absl::string_view consumer, int count,
                                                         absl::Duration block) {
  std::vector<std::string> args = {"XREADGROUP",          "GROUP", std::string(keys::kGroup),
                                   std::string(consumer), "COUNT", absl::StrCat(count)};
  if (block > absl::ZeroDuration()) {
    args.push_back("BLOCK");
    args.push_back(Ms(block));
  }
  args.insert(args.end(), {"STREAMS", keys::Stream(trial), ">"});
  absl::StatusOr<RedisReply> reply = redis_.Command(args);
  if (!reply.ok()) {
    if (absl::StrContains(reply.status().message(), "NOGROUP")) {
      if (absl::Status s = EnsureGroup(trial); !s.ok()) return s;
      return std::vector<StreamEntry>{};
    }
    return reply.status();
  }
  if (reply->type() != RedisReply::Type::kArray || reply->size() == 0) {
    return std::vector<StreamEntry>{};
  }
  return ParseEntries((*reply)[0][1]);
}

absl::StatusOr<SendQueue::Reclaimed> SendQueue::Reclaim(absl::string_view trial,
                                                        absl::string_view consumer,
                                                        absl::string_view cursor) {
  // Redis looks at up to ten times COUNT pending entries per call.
  absl::StatusOr<RedisReply> reply = redis_.Command(
      {"XAUTOCLAIM", keys::Stream(trial), keys::kGroup, consumer, Ms(options_.reclaim_idle),
       cursor.empty() ? "0-0" : cursor, "COUNT", absl::StrCat(kReclaimLooks / 10)});
  Reclaimed reclaimed;
  if (!reply.ok()) {
    if (absl::StrContains(reply.status().message(), "NOGROUP")) return reclaimed;
    return reply.status();
  }
  if (reply->type() != RedisReply::Type::kArray || reply->size() < 2) return reclaimed;
  // Redis's "0-0" is the end of the list.
  if ((*reply)[0].str() != "0-0") reclaimed.cursor = std::string((*reply)[0].str());
  reclaimed.entries = ParseEntries((*reply)[1]);
  return reclaimed;
}

absl::StatusOr<std::vector<ClaimResult>> SendQueue::Claim(absl::string_view trial,
                                                          absl::string_view consumer,
                                                          const std::vector<StreamEntry>& entries,
                                                          int64_t now_ms) {
  std::vector<ClaimResult> results;
  if (entries.empty()) return results;
  std::vector<std::string> args = {keys::Prefix(trial),   std::string(keys::kGroup),
                                   std::string(consumer), absl::StrCat(now_ms),
                                   Ms(options_.lease),    Ms(options_.order_recheck)};
  for (const StreamEntry& e : entries) {
    args.push_back(e.id);
    args.push_back(e.key);
    args.push_back(absl::StrCat(e.due_ms));
  }
  absl::StatusOr<RedisReply> reply = redis_.Eval(ClaimScript(), {keys::Stream(trial)}, args);
  if (!reply.ok()) return reply.status();
  if (reply->size() != 2 * entries.size()) {
    return absl::InternalError("claim script returned the wrong number of results");
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    ClaimResult r;
    switch ((*reply)[2 * i].integer()) {
      case 1:
        r.kind = ClaimResult::Kind::kClaimed;
        break;
      case 3:
        r.kind = ClaimResult::Kind::kHeld;
        break;
      case 4:
        r.kind = ClaimResult::Kind::kCancelled;
        break;
      case 5:
        r.kind = ClaimResult::Kind::kBusy;
        break;
      case 6:
        r.kind = ClaimResult::Kind::kDeferred;
        break;
      default:
        r.kind = ClaimResult::Kind::kDone;
        break;
    }
    r.attempt = static_cast<int>((*reply)[2 * i + 1].integer());
    results.push_back(r);
  }
  return results;
}

absl::StatusOr<std::vector<bool>> SendQueue::RenewLeases(absl::string_view trial,
                                                         absl::string_view consumer,
                                                         const std::vector<StreamEntry>& entries,
                                                         const std::vector<int>& attempts,
                                                         int64_t now_ms) {
  std::vector<bool> out;
  if (entries.empty()) return out;
  std::vector<std::string> args = {keys::Prefix(trial), std::string(keys::kGroup),
                                   std::string(consumer), absl::StrCat(now_ms), Ms(options_.lease)};
  for (size_t i = 0; i < entries.size(); ++i) {
    args.push_back(entries[i].id);
    args.push_back(entries[i].key);
    args.push_back(absl::StrCat(attempts[i]));
  }
  absl::StatusOr<RedisReply> reply = redis_.Eval(RenewScript(), {keys::Stream(trial)}, args);
  if (!reply.ok()) return reply.status();
  for (size_t i = 0; i < reply->size(); ++i) out.push_back((*reply)[i].integer() == 1);
  return out;
}

namespace {

std::vector<std::string> CompleteHeader(absl::string_view trial, absl::string_view consumer,
                                        int64_t now_ms, bool acknowledge) {
  return {keys::Prefix(trial), std::string(keys::kGroup), std::string(consumer),
          absl::StrCat(now_ms), acknowledge ? "1" : "0"};
}

void AppendCompletion(const Completion& c, std::vector<std::string>& args) {
  static constexpr absl::string_view kKinds[] = {"sent", "retry", "dead", "skipped"};
  args.push_back(c.entry.id);
  args.push_back(c.entry.key);
  args.emplace_back(kKinds[static_cast<int>(c.kind)]);
  args.push_back(absl::StrCat(c.attempt));
  args.push_back(absl::StrCat(c.retry_at_ms));
  args.push_back(c.detail);
  args.push_back(c.channel);
  args.push_back(absl::StrCat(c.template_version));
}

}  // namespace

absl::Status SendQueue::Complete(absl::string_view trial, absl::string_view consumer,
                                 const std::vector<Completion>& completions, int64_t now_ms) {
  if (completions.empty()) return absl::OkStatus();
  std::vector<std::string> args = CompleteHeader(trial, consumer, now_ms, /*acknowledge=*/true);
  for (const Completion& c : completions) AppendCompletion(c, args);
  return redis_.Eval(CompleteScript(), {keys::Stream(trial)}, args).status();
}

SentRecorder::SentRecorder(RedisClient& redis, std::string trial, std::string consumer)
    : redis_(redis), trial_(std::move(trial)), consumer_(std::move(consumer)) {
  // Opened before the first delivery, so that taking a pooled connection (perhaps connecting,
  // perhaps loading the script) never stands between a provider's acceptance and its record.
  pipeline_.emplace(redis_.OpenScriptPipeline(CompleteScript()));
}

absl::Status SentRecorder::Record(const Completion& sent, int64_t now_ms) {
  written_.push_back(sent);
  // One pipeline per batch, so its results line up with written_.
  if (!pipeline_.has_value()) pipeline_.emplace(redis_.OpenScriptPipeline(CompleteScript()));
  // The entry is acknowledged by Finish, with the batch's others, once its record is confirmed.
  std::vector<std::string> args = CompleteHeader(trial_, consumer_, now_ms, /*acknowledge=*/false);
  AppendCompletion(sent, args);
  const absl::Status status = pipeline_->Send({keys::Stream(trial_)}, args);
  if (!status.ok()) {
    logging::Warning(
        "a sent message's record may not have reached redis; the batch's unconfirmed records "
        "are written again before the next delivery",
        {{"trial", trial_}, {"error", status.ToString()}});
  }
  return status;
}

std::vector<Completion> SentRecorder::Finish() {
  std::vector<Completion> unconfirmed;
  std::vector<std::string> confirmed_ids;
  if (pipeline_.has_value()) {
    const std::vector<absl::Status> results = pipeline_->Finish();
    for (size_t i = 0; i < written_.size(); ++i) {
      if (results[i].ok()) {
        confirmed_ids.push_back(written_[i].entry.id);
      } else {
        unconfirmed.push_back(written_[i]);
      }
    }
  }
  pipeline_.reset();
  written_.clear();
  AcknowledgeSent(confirmed_ids);
  return unconfirmed;
}

void SentRecorder::AcknowledgeSent(const std::vector<std::string>& ids) {
  // In slices, as Lua's unpack() puts every id on its stack (8,000 slots at most).
  constexpr size_t kSlice = 500;
  for (size_t from = 0; from < ids.size(); from += kSlice) {
    std::vector<std::string> args = {std::string(keys::kGroup)};
    for (size_t i = from; i < std::min(ids.size(), from + kSlice); ++i) args.push_back(ids[i]);
    absl::StatusOr<RedisReply> reply = redis_.Eval(AckScript(), {keys::Stream(trial_)}, args);
    if (!reply.ok()) {
      // The records are final, so nothing is sent again: the entries stay pending until a
      // worker reclaims them, finds them sent and acknowledges them then.
      logging::Warning("sent messages' stream entries left pending",
                       {{"trial", trial_},
                        {"entries", absl::StrCat(ids.size() - from)},
                        {"error", reply.status().ToString()}});
      return;
    }
  }
}

absl::Status SendQueue::SetState(absl::string_view trial, absl::string_view campaign,
                                 absl::string_view state) {
  return redis_
      .Eval(StateScript(), {keys::CampaignState(trial, campaign)},
            {keys::Prefix(trial), std::string(campaign), std::string(state)})
      .status();
}

absl::Status SendQueue::Pause(absl::string_view trial, absl::string_view campaign) {
  return SetState(trial, campaign, "pause");
}

absl::Status SendQueue::Resume(absl::string_view trial, absl::string_view campaign) {
  return SetState(trial, campaign, "resume");
}

absl::StatusOr<int64_t> SendQueue::Cancel(absl::string_view trial, absl::string_view campaign,
                                          int64_t now_ms, absl::string_view reason) {
  absl::StatusOr<RedisReply> reply =
      redis_.Eval(CancelScript(), {keys::CampaignState(trial, campaign)},
                  {keys::Prefix(trial), std::string(campaign), absl::StrCat(now_ms),
                   std::string(reason), absl::StrCat(trial, ":", campaign, ":")});
  if (!reply.ok()) return reply.status();
  return reply->integer();
}

absl::StatusOr<std::string> SendQueue::State(absl::string_view trial, absl::string_view campaign) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", keys::CampaignState(trial, campaign)});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return std::string();
  return std::string(reply->str());
}

absl::StatusOr<SendQueue::Depth> SendQueue::QueueDepth(absl::string_view trial) {
  const std::string stream = keys::Stream(trial);
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis_.Pipeline({{"ZCARD", keys::Due(trial)},
                       {"ZRANGE", keys::Due(trial), "0", "0", "WITHSCORES"},
                       {"XLEN", stream},
                       {"XINFO", "GROUPS", stream}});
  if (!replies.ok()) return replies.status();
  Depth depth;
  depth.waiting = (*replies)[0].integer();
  if ((*replies)[1].size() == 2) depth.oldest_due_ms = ParseInt((*replies)[1][1].str());
  const int64_t length =
      (*replies)[2].type() == RedisReply::Type::kInteger ? (*replies)[2].integer() : 0;
  // The group's own "lag" is not used: Redis 7.0 keeps it from a counter of entries read that
  // a restart (the AOF replays reads as XCLAIMs) or deletions leave unknown or stale, and it
  // was seen reporting 1,600 for an empty stream. What is pending is the group's pending count
  // (delivered, not acknowledged) plus the entries after its last-delivered id.
  std::optional<std::string> last_delivered;
  const RedisReply& groups = (*replies)[3];
  if (groups.type() == RedisReply::Type::kArray) {
    for (size_t g = 0; g < groups.size(); ++g) {
      const RedisReply group = groups[g];
      std::map<std::string, RedisReply> fields;
      for (size_t f = 0; f + 1 < group.size(); f += 2) {
        fields.emplace(std::string(group[f].str()), group[f + 1]);
      }
      if (auto name = fields.find("name");
          name == fields.end() || name->second.str() != keys::kGroup) {
        continue;
      }
      if (auto p = fields.find("pending"); p != fields.end()) {
        depth.pending = p->second.integer();
      }
      if (auto l = fields.find("last-delivered-id"); l != fields.end()) {
        last_delivered = std::string(l->second.str());
      }
    }
  }
  if (!last_delivered.has_value()) {
    depth.unread = length;  // no group yet: nothing has been delivered
  } else if (length > 0) {
    absl::StatusOr<RedisReply> next =
        redis_.Command({"XRANGE", stream, absl::StrCat("(", *last_delivered), "+", "COUNT", "1"});
    if (!next.ok()) return next.status();
    // Handled entries are deleted with their acknowledgement, so the stream holds the pending
    // entries and the unread ones: the unread count is the rest of its length (at least the
    // one just seen), and zero when nothing follows the last-delivered id.
    if (next->size() > 0) depth.unread = std::max<int64_t>(1, length - depth.pending);
  }
  depth.in_stream = depth.pending + depth.unread;
  return depth;
}

absl::StatusOr<std::vector<SendQueue::DeadLetterEntry>> SendQueue::DeadLetters(
    absl::string_view trial, absl::string_view after_id, int count) {
  const std::string start = after_id.empty() ? "-" : absl::StrCat("(", after_id);
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"XRANGE", keys::Dead(trial), start, "+", "COUNT", absl::StrCat(count)});
  if (!reply.ok()) return reply.status();
  std::vector<DeadLetterEntry> out;
  for (size_t i = 0; i < reply->size(); ++i) {
    const RedisReply item = (*reply)[i];
    DeadLetterEntry d;
    d.id = std::string(item[0].str());
    const RedisReply fields = item[1];
    for (size_t f = 0; f + 1 < fields.size(); f += 2) {
      const absl::string_view name = fields[f].str();
      const absl::string_view value = fields[f + 1].str();
      if (name == "k") d.key = std::string(value);
      if (name == "error") d.error = std::string(value);
      if (name == "ch") d.channel = std::string(value);
      if (name == "attempts") d.attempts = static_cast<int>(ParseInt(value));
      if (name == "t") d.dead_ms = ParseInt(value);
    }
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<bool> SendQueue::Requeue(absl::string_view trial, absl::string_view dead_id,
                                        int64_t now_ms) {
  absl::StatusOr<RedisReply> reply =
      redis_.Eval(RequeueScript(), {keys::Dead(trial)},
                  {keys::Prefix(trial), std::string(dead_id), absl::StrCat(now_ms)});
  if (!reply.ok()) return reply.status();
  return reply->integer() == 1;
}

}  // namespace fieldwork::messaging

#include "services/survey_ingest/redis_store.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/survey_ingest/keys.h"

namespace fieldwork::survey_ingest {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr int64_t kPointerOffset = 100000000000000000;  // 10^17 us: keeps pre-1970 times sortable

// KEYS: 1 submissions, 2 rejects, 3 imports, then per wave: responses, counted, first, order;
// last, the data version (raised when a response was accepted).
// ARGV: 1 import sha ('' = none), 2 response count n, then n groups of seven (wave index from
// 1, submission id, participant, pointer ('' = not complete), rule 'F' or 'L', response bytes,
// order member),
// then a count and (id, bytes) pairs of new rejects, then the same of replaced rejects.
// Returns one integer per response: 0 duplicate, 1 accepted, 2 accepted as a new respondent,
// 3 refused (the submission id is another participant's).
// The submissions hash maps a submission id to the participant who owns it. Responses stored
// before owners were recorded hold their responses key there instead ("fw:{..."), which no
// participant id can be ([A-Za-z0-9._-]): their owner is unknown, and a reuse is a duplicate.
// What is stored is read first (one HMGET per hash), the responses are decided one by one in
// batch order against Lua tables that take each decision's effect (so a later response of the
// batch sees an earlier one exactly as if it had been written), and the writes go last, one
// variadic HSET or ZADD per hash: a few commands a batch instead of seven a response, which
// was most of Redis's time per batch. The writes cannot fail, so a batch lands whole (Redis
// runs a script without interleaving).
const LuaScript& WriteScript() {
  static const LuaScript* script = new LuaScript(R"lua(
-- Lua's unpack takes at most ~8,000 values: commands go in slices of 2,000.
local function each_slice(values, run)
  for s = 1, #values, 2000 do
    run(unpack(values, s, math.min(s + 1999, #values)))
  end
end
local function hmget(key, fields)
  local out = {}
  each_slice(fields, function(...)
    local reply = redis.call('HMGET', key, ...)
    for k = 1, #reply do out[#out + 1] = reply[k] end
  end)
  return out
end
local function write(command, key, values)
  each_slice(values, function(...) redis.call(command, key, ...) end)
end

local n = tonumber(ARGV[2])
-- Read: the owners of the batch's submission ids, and (per wave) the first and counted
-- pointers of its participants with a complete response.
local sids = {}
local asked = {}  -- per wave: participants in asking order, and a set of them
for r = 1, n do
  local at = 3 + 7 * (r - 1)
  sids[r] = ARGV[at + 1]
  if ARGV[at + 3] ~= '' then
    local w = tonumber(ARGV[at])
    local a = asked[w]
    if not a then a = {list = {}, set = {}}; asked[w] = a end
    local participant = ARGV[at + 2]
    if not a.set[participant] then
      a.set[participant] = true
      a.list[#a.list + 1] = participant
    end
  end
end
local owner_of = {}
local stored_owners = hmget(KEYS[1], sids)
for r = 1, n do
  if stored_owners[r] then owner_of[sids[r]] = stored_owners[r] end
end
local waves = {}  -- per wave: first and counted (participant -> pointer or false), and writes
for w, a in pairs(asked) do
  local firsts = hmget(KEYS[2 + 4 * w], a.list)
  local counteds = hmget(KEYS[1 + 4 * w], a.list)
  local v = {first = {}, counted = {}, first_changed = {}, counted_changed = {}}
  for k = 1, #a.list do
    v.first[a.list[k]] = firsts[k]
    v.counted[a.list[k]] = counteds[k]
  end
  waves[w] = v
end

-- Decide, in batch order.
local out = {}
local new_owners = {}
local responses = {}  -- per wave: (submission id, bytes) pairs
local members = {}    -- per wave: (0, order member) pairs
for r = 1, n do
  local at = 3 + 7 * (r - 1)
  local w = tonumber(ARGV[at])
  local sid, participant, pointer, rule = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
  local owner = owner_of[sid]
  if owner then
    if owner == participant or string.sub(owner, 1, 3) == 'fw:' then
      out[r] = 0
    else
      out[r] = 3
    end
  else
    owner_of[sid] = participant
    new_owners[#new_owners + 1] = sid
    new_owners[#new_owners + 1] = participant
    local rw = responses[w]
    if not rw then rw = {}; responses[w] = rw; members[w] = {} end
    rw[#rw + 1] = sid
    rw[#rw + 1] = ARGV[at + 5]
    local mw = members[w]
    mw[#mw + 1] = '0'
    mw[#mw + 1] = ARGV[at + 6]
    out[r] = 1
    if pointer ~= '' then
      local v = waves[w]
      local value = pointer .. '|' .. sid
      local earliest = v.first[participant]
      if not earliest then
        out[r] = 2
      end
      if (not earliest) or value < earliest then
        v.first[participant] = value
        v.first_changed[participant] = true
      end
      local current = v.counted[participant]
      if (not current) or (rule == 'F' and value < current) or (rule == 'L' and value > current) then
        v.counted[participant] = value
        v.counted_changed[participant] = true
      end
    end
  end
end

-- Write.
write('HSET', KEYS[1], new_owners)
for w, rw in pairs(responses) do
  write('HSET', KEYS[4 * w], rw)
  write('ZADD', KEYS[3 + 4 * w], members[w])
end
for w, v in pairs(waves) do
  for _, which in ipairs({{v.first, v.first_changed, KEYS[2 + 4 * w]},
                          {v.counted, v.counted_changed, KEYS[1 + 4 * w]}}) do
    local pairs_out = {}
    for participant in pairs(which[2]) do
      pairs_out[#pairs_out + 1] = participant
      pairs_out[#pairs_out + 1] = which[1][participant]
    end
    write('HSET', which[3], pairs_out)
  end
end
local i = 3 + 7 * n
for pass = 1, 2 do
  local m = tonumber(ARGV[i])
  i = i + 1
  for j = 1, m do
    if pass == 1 then
      redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i+1])
    else
      redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+1])
    end
    i = i + 2
  end
end
if ARGV[1] ~= '' then redis.call('SADD', KEYS[3], ARGV[1]) end
if #new_owners > 0 then redis.call('INCR', KEYS[#KEYS]) end  -- the data version
return out
)lua");
  return *script;
}

// KEYS: 1 instruments. ARGV: 1 field, 2 bytes. ALREADY_EXISTS when a different definition
// holds the field.
const LuaScript& AddInstrumentScript() {
  static const LuaScript* script = new LuaScript(R"lua(
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and current ~= ARGV[2] then
  return redis.error_reply('ALREADY_EXISTS: instrument ' .. ARGV[1] ..
                           ' is stored with a different definition; give it a new version')
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
)lua");
  return *script;
}

// KEYS: 1 outcomes, 2 outcome order, 3 data version. ARGV: (field, order member, bytes)
// triples. Returns 1 per triple that changed something.
const LuaScript& OutcomesScript() {
  static const LuaScript* script = new LuaScript(R"lua(
local out = {}
local changed = false
for j = 1, #ARGV, 3 do
  local current = redis.call('HGET', KEYS[1], ARGV[j])
  if current == ARGV[j + 2] then
    out[#out + 1] = 0
  else
    redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 2])
    redis.call('ZADD', KEYS[2], 0, ARGV[j + 1])
    out[#out + 1] = 1
    changed = true
  end
end
if changed then redis.call('INCR', KEYS[3]) end
return out
)lua");
  return *script;
}

// KEYS: 1 waves, 2 data version. ARGV: 1 wave id, 2 bytes.
const LuaScript& PutWaveScript() {
  static const LuaScript* script = new LuaScript(R"lua(
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[2])
return 1
)lua");
  return *script;
}

template <typename Message>
absl::Status ParseInto(const RedisReply& reply, Message& message, absl::string_view what) {
  const absl::string_view bytes = reply.str();
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("stored ", what, " does not parse"));
  }
  return absl::OkStatus();
}

// `bytes`, a serialized message, without any occurrence of field `number` (a map's entries are
// each one occurrence), in `out`: copying the other fields is far cheaper than parsing a map of
// strings that would be dropped. False when `bytes` is not a well-formed message.
bool WithoutField(absl::string_view bytes, int number, std::string& out) {
  using google::protobuf::internal::WireFormatLite;
  out.clear();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (true) {
    const int start = in.CurrentPosition();
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.CurrentPosition() == static_cast<int>(bytes.size());
    if (!WireFormatLite::SkipField(&in, tag)) return false;
    if (WireFormatLite::GetTagFieldNumber(tag) == number) continue;
    out.append(bytes.data() + start, static_cast<size_t>(in.CurrentPosition() - start));
  }
}

// HGETALL reply -> messages.
template <typename Message>
absl::StatusOr<std::vector<Message>> ParseHash(const RedisReply& reply, absl::string_view what) {
  std::vector<Message> messages(reply.size() / 2);
  for (size_t i = 0; i + 1 < reply.size(); i += 2) {
    if (absl::Status s = ParseInto(reply[i + 1], messages[i / 2], what); !s.ok()) return s;
  }
  return messages;
}

std::string DateText(const v1::CivilDate& date) {
  return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(), date.day());
}

// Separates the parts of an order member: it sorts before every other byte, so a member sorts
// as the tuple of its parts ("a" before "ab" whatever follows).
constexpr char kSeparator = '\0';
constexpr char kAfterSeparator = '\x01';

std::string OutcomeField(const v1::Outcome& outcome) {
  return absl::StrCat(outcome.participant_id(), "|", outcome.outcome(), "|",
                      DateText(outcome.period_start()), "|", DateText(outcome.period_end()));
}

// ZRANGE BYLEX bounds: everything, or the members that start with `prefix` and a separator.
std::pair<std::string, std::string> PrefixRange(const std::string& prefix) {
  if (prefix.empty()) return {"-", "+"};
  return {absl::StrCat("[", prefix, std::string(1, kSeparator)),
          absl::StrCat("(", prefix, std::string(1, kAfterSeparator))};
}

}  // namespace

std::string ResponsePointer(absl::Time submitted, const std::string& submission_id) {
  const int64_t micros = absl::ToUnixMicros(submitted) + kPointerOffset;
  return absl::StrCat(absl::StrFormat("%019d", micros), "|", submission_id);
}

std::string ResponseOrderMember(const v1::Response& response) {
  const absl::Time submitted = absl::FromUnixSeconds(response.submitted_at().seconds()) +
                               absl::Nanoseconds(response.submitted_at().nanos());
  const std::string pointer = ResponsePointer(submitted, "");
  return absl::StrCat(response.participant_id(), std::string(1, kSeparator),
                      absl::string_view(pointer).substr(0, 19), std::string(1, kSeparator),
                      response.submission_id());
}

std::string OutcomeOrderMember(const v1::Outcome& outcome) {
  const std::string separator(1, kSeparator);
  return absl::StrCat(outcome.participant_id(), separator, outcome.outcome(), separator,
                      DateText(outcome.period_start()), separator,
                      DateText(outcome.period_end()));
}

absl::Time PointerTime(absl::string_view pointer) {
  int64_t micros = 0;
  if (pointer.size() < 19 || !absl::SimpleAtoi(pointer.substr(0, 19), &micros)) {
    return absl::InfinitePast();
  }
  return absl::FromUnixMicros(micros - kPointerOffset);
}

absl::Status RedisIngestStore::IndexTrial(const std::string& trial) {
  return redis_.Command({"SADD", keys::TrialIndex(), trial}).status();
}

absl::StatusOr<std::vector<v1::Instrument>> RedisIngestStore::LoadInstruments(
    const std::string& trial) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"HGETALL", keys::Instruments(trial)});
  if (!reply.ok()) return reply.status();
  return ParseHash<v1::Instrument>(*reply, "instrument");
}

absl::Status RedisIngestStore::AddInstrument(const std::string& trial,
                                             const v1::Instrument& instrument) {
  if (absl::Status s = IndexTrial(trial); !s.ok()) return s;
  return redis_
      .Eval(AddInstrumentScript(), {keys::Instruments(trial)},
            {absl::StrCat(instrument.instrument_id(), "@", instrument.version()),
             instrument.SerializeAsString()})
      .status();
}

absl::StatusOr<std::vector<v1::Wave>> RedisIngestStore::LoadWaves(const std::string& trial) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"HGETALL", keys::Waves(trial)});
  if (!reply.ok()) return reply.status();
  return ParseHash<v1::Wave>(*reply, "wave");
}

absl::Status RedisIngestStore::PutWave(const v1::Wave& wave) {
  if (absl::Status s = IndexTrial(wave.trial_id()); !s.ok()) return s;
  return redis_
      .Eval(PutWaveScript(), {keys::Waves(wave.trial_id()), keys::DataVersion(wave.trial_id())},
            {wave.wave_id(), wave.SerializeAsString()})
      .status();
}

absl::StatusOr<std::vector<WriteResult>> RedisIngestStore::Write(const std::string& trial,
                                                                 const WriteBatch& batch) {
  std::vector<std::string> keys = {keys::Submissions(trial), keys::Rejects(trial),
                                   keys::Imports(trial)};
  std::map<std::string, int> wave_index;
  std::vector<std::string> args;
  args.reserve(3 + 7 * batch.responses.size() + 2 * batch.new_rejects.size() +
               2 * batch.replaced_rejects.size() + 2);
  args.push_back(batch.import_sha256);
  args.push_back(std::to_string(batch.responses.size()));
  for (const PendingResponse& pending : batch.responses) {
    const v1::Response& response = pending.response;
    auto [it, added] =
        wave_index.emplace(response.wave_id(), static_cast<int>(wave_index.size()) + 1);
    if (added) {
      keys.push_back(keys::Responses(trial, response.wave_id()));
      keys.push_back(keys::Counted(trial, response.wave_id()));
      keys.push_back(keys::First(trial, response.wave_id()));
      keys.push_back(keys::ResponseOrder(trial, response.wave_id()));
    }
    args.push_back(std::to_string(it->second));
    args.push_back(response.submission_id());
    args.push_back(response.participant_id());
    if (pending.complete) {
      const std::string pointer = ResponsePointer(pending.submitted, "");
      args.push_back(pointer.substr(0, pointer.size() - 1));  // the script appends "|<id>"
    } else {
      args.emplace_back();
    }
    args.push_back(pending.last_complete_rule ? "L" : "F");
    args.push_back(response.SerializeAsString());
    args.push_back(ResponseOrderMember(response));
  }
  for (const auto* rejects : {&batch.new_rejects, &batch.replaced_rejects}) {
    args.push_back(std::to_string(rejects->size()));
    for (const v1::Reject& reject : *rejects) {
      args.push_back(reject.reject_id());
      args.push_back(reject.SerializeAsString());
    }
  }
  keys.push_back(keys::DataVersion(trial));  // last: the script finds it as KEYS[#KEYS]
  absl::StatusOr<RedisReply> reply = redis_.Eval(WriteScript(), keys, args);
  if (!reply.ok()) return reply.status();
  std::vector<WriteResult> results;
  results.reserve(reply->size());
  for (size_t i = 0; i < reply->size(); ++i) {
    const long long code = (*reply)[i].integer();
    results.push_back(code == 0   ? WriteResult::kDuplicate
                      : code == 2 ? WriteResult::kNewRespondent
                      : code == 3 ? WriteResult::kOtherParticipant
                                  : WriteResult::kAccepted);
  }
  if (results.size() != batch.responses.size()) {
    return absl::InternalError("the write script answered for a different number of responses");
  }
  return results;
}

absl::StatusOr<bool> RedisIngestStore::IsImported(const std::string& trial,
                                                  const std::string& sha256) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"SISMEMBER", keys::Imports(trial), sha256});
  if (!reply.ok()) return reply.status();
  return reply->integer() == 1;
}

absl::StatusOr<std::vector<std::string>> RedisIngestStore::SubmissionOwners(
    const std::string& trial, const std::vector<std::string>& submission_ids) {
  std::vector<std::string> owners(submission_ids.size());
  if (submission_ids.empty()) return owners;
  std::vector<std::string> command = {"HMGET", keys::Submissions(trial)};
  command.insert(command.end(), submission_ids.begin(), submission_ids.end());
  absl::StatusOr<RedisReply> reply = redis_.Command(command);
  if (!reply.ok()) return reply.status();
  for (size_t i = 0; i < owners.size() && i < reply->size(); ++i) {
    const absl::string_view owner = (*reply)[i].str();
    if (!absl::StartsWith(owner, "fw:")) owners[i] = std::string(owner);  // see WriteScript
  }
  return owners;
}

absl::Status RedisIngestStore::Backfill(
    const std::string& hash, const std::string& order,
    const std::function<absl::StatusOr<std::string>(absl::string_view field,
                                                    absl::string_view value)>& member_of) {
  absl::StatusOr<std::vector<RedisReply>> counts =
      redis_.Pipeline({{"HLEN", hash}, {"ZCARD", order}});
  if (!counts.ok()) return counts.status();
  for (const RedisReply& count : *counts) {
    if (count.type() != RedisReply::Type::kInteger) {
      return absl::InternalError(absl::StrCat("counting ", hash, ": ", count.str()));
    }
  }
  if ((*counts)[0].integer() <= (*counts)[1].integer()) return absl::OkStatus();
  // ZADD of a member already there changes nothing, so concurrent writers and a second
  // backfill running at the same time do no harm.
  const std::string count = std::to_string(page_size_);
  std::string cursor = "0";
  do {
    absl::StatusOr<RedisReply> reply = redis_.Command({"HSCAN", hash, cursor, "COUNT", count});
    if (!reply.ok()) return reply.status();
    cursor = std::string((*reply)[0].str());
    const RedisReply fields = (*reply)[1];
    std::vector<std::string> zadd = {"ZADD", order};
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      absl::StatusOr<std::string> member = member_of(fields[i].str(), fields[i + 1].str());
      if (!member.ok()) return member.status();
      zadd.push_back("0");
      zadd.push_back(*std::move(member));
    }
    if (zadd.size() > 2) {
      if (absl::StatusOr<RedisReply> added = redis_.Command(zadd); !added.ok()) {
        return added.status();
      }
    }
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::Status RedisIngestStore::WalkOrder(
    const std::string& order, std::string min, const std::string& max,
    const std::function<absl::StatusOr<bool>(const RedisReply& members)>& page) {
  const std::string limit = std::to_string(page_size_);
  while (true) {
    absl::StatusOr<RedisReply> members =
        redis_.Command({"ZRANGE", order, min, max, "BYLEX", "LIMIT", "0", limit});
    if (!members.ok()) return members.status();
    const size_t n = members->size();
    if (n == 0) return absl::OkStatus();
    absl::StatusOr<bool> more = page(*members);
    if (!more.ok()) return more.status();
    if (!*more || n < static_cast<size_t>(page_size_)) return absl::OkStatus();
    min = absl::StrCat("(", (*members)[n - 1].str());
  }
}

absl::Status RedisIngestStore::ForEachResponse(const std::string& trial, const std::string& wave,
                                               const std::string& participant, Answers answers,
                                               const std::function<bool(v1::Response&)>& visit) {
  const std::string responses_key = keys::Responses(trial, wave);
  const std::string counted_key = keys::Counted(trial, wave);
  const std::string order = keys::ResponseOrder(trial, wave);
  absl::Status backfilled = Backfill(
      responses_key, order,
      [](absl::string_view, absl::string_view bytes) -> absl::StatusOr<std::string> {
        v1::Response response;
        if (!response.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          return absl::DataLossError("stored response does not parse");
        }
        return ResponseOrderMember(response);
      });
  if (!backfilled.ok()) return backfilled;
  auto [min, max] = PrefixRange(participant);
  v1::Response response;
  std::string without_answers;  // the bytes of a response but its answers, reused
  return WalkOrder(
      order, std::move(min), max, [&](const RedisReply& members) -> absl::StatusOr<bool> {
        std::vector<std::string> get_responses = {"HMGET", responses_key};
        std::vector<std::string> get_counted = {"HMGET", counted_key};
        for (size_t i = 0; i < members.size(); ++i) {
          const absl::string_view member = members[i].str();
          const size_t first = member.find(kSeparator);
          const size_t second = member.find(kSeparator, first + 1);
          if (first == absl::string_view::npos || second == absl::string_view::npos) {
            return absl::DataLossError(absl::StrCat("malformed member in ", order));
          }
          get_counted.emplace_back(member.substr(0, first));
          get_responses.emplace_back(member.substr(second + 1));
        }
        // One transaction, so that a response and the counting pointer agree.
        absl::StatusOr<std::vector<RedisReply>> replies =
            redis_.Transaction({get_responses, get_counted});
        if (!replies.ok()) return replies.status();
        const RedisReply& bytes = (*replies)[0];
        const RedisReply& pointers = (*replies)[1];
        for (size_t i = 0; i < members.size(); ++i) {
          // The order member is written with the response by one script and responses are
          // never deleted, so a missing one is a trial deleted under our feet: skip it.
          if (bytes[i].is_nil()) continue;
          response.Clear();
          if (answers == Answers::kParsed) {
            if (absl::Status s = ParseInto(bytes[i], response, "response"); !s.ok()) return s;
          } else if (!WithoutField(bytes[i].str(), v1::Response::kAnswersFieldNumber,
                                   without_answers) ||
                     !response.ParseFromString(without_answers)) {
            return absl::DataLossError("stored response does not parse");
          }
          const absl::string_view pointer =
              pointers[i].is_nil() ? absl::string_view() : pointers[i].str();
          const size_t bar = pointer.find('|');
          response.set_counted(bar != absl::string_view::npos &&
                               pointer.substr(bar + 1) == response.submission_id());
          if (!visit(response)) return false;
        }
        return true;
      });
}

absl::StatusOr<std::vector<RespondentStatus>> RedisIngestStore::GetRespondentStatuses(
    const std::string& trial, const std::string& wave,
    const std::vector<std::string>& participants) {
  std::vector<std::string> command = {"HMGET", keys::First(trial, wave)};
  command.insert(command.end(), participants.begin(), participants.end());
  absl::StatusOr<RedisReply> reply = redis_.Command(command);
  if (!reply.ok()) return reply.status();
  std::vector<RespondentStatus> statuses(participants.size());
  for (size_t i = 0; i < statuses.size() && i < reply->size(); ++i) {
    if ((*reply)[i].is_nil()) continue;
    statuses[i].responded = true;
    statuses[i].first_response_at = PointerTime((*reply)[i].str());
  }
  return statuses;
}

absl::StatusOr<std::vector<v1::Reject>> RedisIngestStore::LoadRejects(const std::string& trial) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"HGETALL", keys::Rejects(trial)});
  if (!reply.ok()) return reply.status();
  return ParseHash<v1::Reject>(*reply, "reject");
}

absl::StatusOr<std::vector<bool>> RedisIngestStore::WriteOutcomes(
    const std::string& trial, const std::vector<v1::Outcome>& outcomes) {
  if (outcomes.empty()) return std::vector<bool>{};
  if (absl::Status s = IndexTrial(trial); !s.ok()) return s;
  std::vector<std::string> args;
  args.reserve(3 * outcomes.size());
  for (const v1::Outcome& outcome : outcomes) {
    args.push_back(OutcomeField(outcome));
    args.push_back(OutcomeOrderMember(outcome));
    args.push_back(outcome.SerializeAsString());
  }
  absl::StatusOr<RedisReply> reply = redis_.Eval(
      OutcomesScript(),
      {keys::Outcomes(trial), keys::OutcomeOrder(trial), keys::DataVersion(trial)}, args);
  if (!reply.ok()) return reply.status();
  std::vector<bool> changed;
  for (size_t i = 0; i < reply->size(); ++i) changed.push_back((*reply)[i].integer() == 1);
  return changed;
}

absl::Status RedisIngestStore::ForEachOutcome(const std::string& trial,
                                              const std::function<bool(v1::Outcome&)>& visit) {
  const std::string outcomes_key = keys::Outcomes(trial);
  const std::string order = keys::OutcomeOrder(trial);
  absl::Status backfilled =
      Backfill(outcomes_key, order,
               [](absl::string_view, absl::string_view bytes) -> absl::StatusOr<std::string> {
                 v1::Outcome outcome;
                 if (!outcome.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
                   return absl::DataLossError("stored outcome does not parse");
                 }
                 return OutcomeOrderMember(outcome);
               });
  if (!backfilled.ok()) return backfilled;
  v1::Outcome outcome;
  return WalkOrder(order, "-", "+", [&](const RedisReply& members) -> absl::StatusOr<bool> {
    std::vector<std::string> get = {"HMGET", outcomes_key};
    for (size_t i = 0; i < members.size(); ++i) {
      std::string field(members[i].str());
      std::replace(field.begin(), field.end(), kSeparator, '|');
      get.push_back(std::move(field));
    }
    absl::StatusOr<RedisReply> bytes = redis_.Command(get);
    if (!bytes.ok()) return bytes.status();
    for (size_t i = 0; i < members.size(); ++i) {
      if ((*bytes)[i].is_nil()) continue;  // as in ForEachResponse
      outcome.Clear();
      if (absl::Status s = ParseInto((*bytes)[i], outcome, "outcome"); !s.ok()) return s;
      if (!visit(outcome)) return false;
    }
    return true;
  });
}

absl::Status RedisIngestStore::ForEachFormStage(
    const std::string& trial, const std::string& wave,
    const std::function<bool(const std::string&, v1::FormStage)>& visit) {
  const std::string funnel = keys::FormFunnel(trial, wave);
  // By rank: each page costs O(log n + page), whatever the funnel's size.
  for (int64_t start = 0;; start += page_size_) {
    absl::StatusOr<RedisReply> page =
        redis_.Command({"ZRANGE", funnel, absl::StrCat(start), absl::StrCat(start + page_size_ - 1),
                        "WITHSCORES"});
    if (!page.ok()) return page.status();
    for (size_t i = 0; i + 1 < page->size(); i += 2) {
      int score = 0;
      if (!absl::SimpleAtoi((*page)[i + 1].str(), &score) || !v1::FormStage_IsValid(score) ||
          score == v1::FORM_STAGE_UNSPECIFIED) {
        return absl::DataLossError(absl::StrCat("form funnel of trial ", trial, " wave ", wave,
                                                ": a stage of ", (*page)[i + 1].str()));
      }
      if (!visit(std::string((*page)[i].str()), static_cast<v1::FormStage>(score))) {
        return absl::OkStatus();
      }
    }
    if (page->size() < 2 * static_cast<size_t>(page_size_)) return absl::OkStatus();
  }
}

absl::Status RedisIngestStore::ForEachRespondent(
    const std::string& trial, const std::string& wave,
    const std::function<bool(const std::string&)>& visit) {
  const std::string counted = keys::Counted(trial, wave);
  // Ids alone, so a round trip carries ten pages' worth.
  const std::string count = std::to_string(10 * page_size_);
  std::string cursor = "0";
  do {
    absl::StatusOr<RedisReply> reply = redis_.Command({"HSCAN", counted, cursor, "COUNT", count});
    if (!reply.ok()) return reply.status();
    cursor = std::string((*reply)[0].str());
    const RedisReply fields = (*reply)[1];
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (!visit(std::string(fields[i].str()))) return absl::OkStatus();
    }
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RedisIngestStore::DataVersion(const std::string& trial) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", keys::DataVersion(trial)});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return 0;
  int64_t version = 0;
  if (!absl::SimpleAtoi(reply->str(), &version)) {
    return absl::DataLossError(absl::StrCat(keys::DataVersion(trial), " is not a number"));
  }
  return version;
}

absl::StatusOr<std::vector<std::string>> RedisIngestStore::ListTrials() {
  absl::StatusOr<RedisReply> reply = redis_.Command({"SMEMBERS", keys::TrialIndex()});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> trials;
  for (size_t i = 0; i < reply->size(); ++i) trials.emplace_back((*reply)[i].str());
  return trials;
}

}  // namespace fieldwork::survey_ingest

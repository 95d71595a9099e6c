#include "services/randomisation/redis_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/randomisation/keys.h"
#include "services/randomisation/storage.pb.h"

namespace fieldwork::randomisation {
namespace {

using fieldwork::v1::Allocation;
using fieldwork::v1::AuditEntry;
using fieldwork::v1::Participant;
using fieldwork::v1::ParticipantStatus;

// KEYS: 1 trial, 2 secret, 3 participants, 4 allocations, 5 status, 6 audit, 7 audit head.
// ARGV: 1 expected head, 2 new head, 3 entry, 4 trial ("" = unchanged), 5 secret ("" = not a
// creation), then three sections (participants, allocations, statuses), each a count n
// followed by n (id, bytes) pairs.
const LuaScript& CommitScript() {
  static const LuaScript* script = new LuaScript(R"lua(
if ARGV[5] ~= '' and redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('ALREADY_EXISTS: the trial already exists')
end
local head = redis.call('GET', KEYS[7]) or ''
if head ~= ARGV[1] then
  return redis.error_reply('ABORTED: the trial changed since it was read')
end
local sections = {}
local i = 6
for s = 1, 3 do
  local n = tonumber(ARGV[i])
  sections[s] = {i + 1, n}
  i = i + 1 + 2 * n
end
local alloc_start, alloc_n = sections[2][1], sections[2][2]
for j = 0, alloc_n - 1 do
  if redis.call('HEXISTS', KEYS[4], ARGV[alloc_start + 2 * j]) == 1 then
    return redis.error_reply('FAILED_PRECONDITION: participant ' .. ARGV[alloc_start + 2 * j] ..
                             ' is already allocated')
  end
end
if ARGV[4] ~= '' then redis.call('SET', KEYS[1], ARGV[4]) end
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], ARGV[5]) end
local targets = {KEYS[3], KEYS[4], KEYS[5]}
for s = 1, 3 do
  local start, n = sections[s][1], sections[s][2]
  for j = 0, n - 1 do
    redis.call('HSET', targets[s], ARGV[start + 2 * j], ARGV[start + 2 * j + 1])
  end
end
redis.call('RPUSH', KEYS[6], ARGV[3])
redis.call('SET', KEYS[7], ARGV[2])
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

// HGETALL reply -> messages.
template <typename Message>
absl::StatusOr<std::vector<Message>> ParseHash(const RedisReply& reply, absl::string_view what) {
  std::vector<Message> messages(reply.size() / 2);
  for (size_t i = 0; i + 1 < reply.size(); i += 2) {
    if (absl::Status s = ParseInto(reply[i + 1], messages[i / 2], what); !s.ok()) return s;
  }
  return messages;
}

const std::string& IdOf(const Participant& p) { return p.participant_id(); }
const std::string& IdOf(const Allocation& a) { return a.participant_id(); }
const std::string& IdOf(const ParticipantStatus& s) { return s.participant().participant_id(); }

template <typename Message>
void AppendSection(std::vector<std::string>& args, const std::vector<Message>& messages) {
  args.push_back(std::to_string(messages.size()));
  for (const Message& message : messages) {
    args.push_back(IdOf(message));
    args.push_back(message.SerializeAsString());
  }
}

}  // namespace

absl::StatusOr<TrialRecord> RedisRandomisationStore::Load(const std::string& trial_id) {
  // One MULTI/EXEC: a consistent snapshot even while another replica writes.
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Transaction({
      {"GET", keys::Trial(trial_id)},
      {"GET", keys::Secret(trial_id)},
      {"HGETALL", keys::Participants(trial_id)},
      {"HGETALL", keys::Allocations(trial_id)},
      {"HGETALL", keys::Status(trial_id)},
      {"GET", keys::AuditHead(trial_id)},
      {"LLEN", keys::Audit(trial_id)},
  });
  if (!replies.ok()) return replies.status();
  const std::vector<RedisReply>& r = *replies;
  if (r[0].is_nil()) return absl::NotFoundError(absl::StrCat("no trial \"", trial_id, "\""));
  TrialRecord record;
  if (absl::Status s = ParseInto(r[0], record.trial, "trial"); !s.ok()) return s;
  storage::TrialSecret secret;
  if (absl::Status s = ParseInto(r[1], secret, "secret"); !s.ok()) return s;
  record.secret = secret.secret();
  auto participants = ParseHash<Participant>(r[2], "participant");
  if (!participants.ok()) return participants.status();
  record.participants = *std::move(participants);
  auto allocations = ParseHash<Allocation>(r[3], "allocation");
  if (!allocations.ok()) return allocations.status();
  record.allocations = *std::move(allocations);
  auto statuses = ParseHash<ParticipantStatus>(r[4], "participant status");
  if (!statuses.ok()) return statuses.status();
  record.statuses = *std::move(statuses);
  record.audit_head = r[5].is_nil() ? "" : std::string(r[5].str());
  record.audit_length = r[6].integer();
  return record;
}

absl::StatusOr<std::string> RedisRandomisationStore::AuditHead(const std::string& trial_id) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", keys::AuditHead(trial_id)});
  if (!reply.ok()) return reply.status();
  return reply->is_nil() ? std::string() : std::string(reply->str());
}

absl::Status RedisRandomisationStore::Commit(const std::string& trial_id, const TrialWrite& write) {
  std::vector<std::string> args = {write.entry.previous_hash(), write.entry.hash(),
                                   write.entry.SerializeAsString(),
                                   write.trial ? write.trial->SerializeAsString() : ""};
  if (write.secret.has_value()) {
    storage::TrialSecret secret;
    secret.set_secret(*write.secret);
    args.push_back(secret.SerializeAsString());
  } else {
    args.push_back("");
  }
  AppendSection(args, write.participants);
  AppendSection(args, write.allocations);
  AppendSection(args, write.statuses);
  absl::StatusOr<RedisReply> reply = redis_.Eval(
      CommitScript(),
      {keys::Trial(trial_id), keys::Secret(trial_id), keys::Participants(trial_id),
       keys::Allocations(trial_id), keys::Status(trial_id), keys::Audit(trial_id),
       keys::AuditHead(trial_id)},
      args);
  if (!reply.ok()) return reply.status();
  if (write.secret.has_value()) {
    // The index is one key for all trials, outside the trial's hash slot, so it is written
    // after the trial; a retried CreateTrial adds it again if this step was lost.
    absl::StatusOr<RedisReply> indexed = redis_.Command({"SADD", keys::TrialIndex(), trial_id});
    if (!indexed.ok()) return indexed.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RedisRandomisationStore::ListTrialIds() {
  absl::StatusOr<RedisReply> reply = redis_.Command({"SMEMBERS", keys::TrialIndex()});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> ids;
  for (size_t i = 0; i < reply->size(); ++i) ids.emplace_back((*reply)[i].str());
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<std::vector<AuditEntry>> RedisRandomisationStore::ReadAudit(
    const std::string& trial_id) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"LRANGE", keys::Audit(trial_id), "0", "-1"});
  if (!reply.ok()) return reply.status();
  std::vector<AuditEntry> entries(reply->size());
  for (size_t i = 0; i < reply->size(); ++i) {
    if (absl::Status s = ParseInto((*reply)[i], entries[i], "audit entry"); !s.ok()) return s;
  }
  return entries;
}

}  // namespace fieldwork::randomisation

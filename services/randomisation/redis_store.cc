#include "services/randomisation/redis_store.h"

#include <algorithm>
#include <map>

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
// ARGV: 1 expected head, 2 new head, 3 the number m of audit entries (one per write of a group,
// chained), 4 trial ("" = unchanged), 5 secret ("" = not a creation), 6 .. 5+m the entries,
// then three sections (participants, allocations, statuses), each a count n followed by n
// (id, bytes) pairs.
const LuaScript& CommitScript() {
  static const LuaScript* script = new LuaScript(R"lua(
if ARGV[5] ~= '' and redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('ALREADY_EXISTS: the trial already exists')
end
local head = redis.call('GET', KEYS[7]) or ''
if head ~= ARGV[1] then
  return redis.error_reply('ABORTED: the trial changed since it was read')
end
local entries = tonumber(ARGV[3])
local sections = {}
local i = 6 + entries
for s = 1, 3 do
  local n = tonumber(ARGV[i])
  sections[s] = {i + 1, n}
  i = i + 1 + 2 * n
end
-- Records go to Redis `step` at a time (one HMGET or HSET per step, not per record: a chunk
-- of 20,000 is 40 calls, not 20,000), within what unpack() can pass.
local step = 500
local alloc_start, alloc_n = sections[2][1], sections[2][2]
local seen = {}  -- one write of a group allocating a participant an earlier one allocated
for j = 0, alloc_n - 1, step do
  local ids = {}
  for k = j, math.min(alloc_n, j + step) - 1 do ids[#ids + 1] = ARGV[alloc_start + 2 * k] end
  local existing = redis.call('HMGET', KEYS[4], unpack(ids))
  for k = 1, #ids do
    if existing[k] or seen[ids[k]] then
      return redis.error_reply('FAILED_PRECONDITION: participant ' .. ids[k] .. ' is already allocated')
    end
    seen[ids[k]] = true
  end
end
if ARGV[4] ~= '' then redis.call('SET', KEYS[1], ARGV[4]) end
if ARGV[5] ~= '' then redis.call('SET', KEYS[2], ARGV[5]) end
local targets = {KEYS[3], KEYS[4], KEYS[5]}
for s = 1, 3 do
  local start, n = sections[s][1], sections[s][2]
  for j = 0, n - 1, step do
    local fields = {}
    for k = j, math.min(n, j + step) - 1 do
      fields[#fields + 1] = ARGV[start + 2 * k]
      fields[#fields + 1] = ARGV[start + 2 * k + 1]
    end
    redis.call('HSET', targets[s], unpack(fields))
  end
end
for j = 0, entries - 1, step do
  redis.call('RPUSH', KEYS[6], unpack(ARGV, 6 + j, 5 + math.min(entries, j + step)))
end
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

const std::string& IdOf(const Participant& p) { return p.participant_id(); }
const std::string& IdOf(const Allocation& a) { return a.participant_id(); }
const std::string& IdOf(const ParticipantStatus& s) { return s.participant().participant_id(); }

// One section of the commit script's arguments: the records `field` of every write, in order.
template <typename Message>
void AppendSection(std::vector<std::string>& args, absl::Span<const TrialWrite> writes,
                   std::vector<Message> TrialWrite::*field) {
  size_t n = 0;
  for (const TrialWrite& write : writes) n += (write.*field).size();
  args.push_back(std::to_string(n));
  for (const TrialWrite& write : writes) {
    for (const Message& message : write.*field) {
      args.push_back(IdOf(message));
      args.push_back(message.SerializeAsString());
    }
  }
}

}  // namespace

absl::StatusOr<TrialRecord> RedisRandomisationStore::Load(const std::string& trial_id) {
  // A scan that lost a race with another writer is started again, as the cache does.
  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    TrialRecord record;
    TrialRecordVisitor visit;
    // Repeats (see TrialRecordVisitor) are dropped by keeping the last copy per id.
    std::map<std::string, Participant> participants;
    std::map<std::string, Allocation> allocations;
    std::map<std::string, ParticipantStatus> statuses;
    visit.participants = [&](std::vector<Participant>& page) {
      for (Participant& p : page) participants[p.participant_id()] = std::move(p);
      return absl::OkStatus();
    };
    visit.allocations = [&](std::vector<Allocation>& page) {
      for (Allocation& a : page) allocations[a.participant_id()] = std::move(a);
      return absl::OkStatus();
    };
    visit.statuses = [&](std::vector<ParticipantStatus>& page) {
      for (ParticipantStatus& s : page) statuses[s.participant().participant_id()] = std::move(s);
      return absl::OkStatus();
    };
    absl::StatusOr<TrialHeader> header = ScanTrial(trial_id, visit);
    if (header.status().code() == absl::StatusCode::kAborted) continue;
    if (!header.ok()) return header.status();
    record.trial = std::move(header->trial);
    record.secret = std::move(header->secret);
    record.audit_head = std::move(header->audit_head);
    record.audit_length = header->audit_length;
    for (auto& [id, p] : participants) record.participants.push_back(std::move(p));
    for (auto& [id, a] : allocations) record.allocations.push_back(std::move(a));
    for (auto& [id, s] : statuses) record.statuses.push_back(std::move(s));
    return record;
  }
  return absl::AbortedError(absl::StrCat("trial \"", trial_id, "\" is changing too fast to be read; retry"));
}

template <typename Message>
absl::Status RedisRandomisationStore::ScanHash(const std::string& key, absl::string_view what,
                                               const std::function<absl::Status(std::vector<Message>&)>& visit) {
  const std::string count = std::to_string(page_);
  std::string cursor = "0";
  std::vector<Message> page;
  do {
    absl::StatusOr<RedisReply> reply = redis_.Command({"HSCAN", key, cursor, "COUNT", count});
    if (!reply.ok()) return reply.status();
    if (reply->type() != RedisReply::Type::kArray || reply->size() != 2) {
      return absl::InternalError(absl::StrCat("HSCAN ", key, ": unexpected reply"));
    }
    cursor = std::string((*reply)[0].str());
    const RedisReply entries = (*reply)[1];
    page.clear();
    page.resize(entries.size() / 2);
    for (size_t i = 0; i + 1 < entries.size(); i += 2) {
      if (absl::Status s = ParseInto(entries[i + 1], page[i / 2], what); !s.ok()) return s;
    }
    if (!page.empty()) {
      if (absl::Status s = visit(page); !s.ok()) return s;
    }
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::StatusOr<TrialHeader> RedisRandomisationStore::ScanTrial(const std::string& trial_id,
                                                                const TrialRecordVisitor& visit) {
  // The header and the head in one MULTI/EXEC; then the hashes a page at a time (HSCAN), and
  // the head again: every write moves the head (the commit script compares-and-sets it, and a
  // hash chain never returns to an earlier value), so an unchanged head means no write landed
  // during the scan and the pages are the trial as of the header.
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Transaction({
      {"GET", keys::Trial(trial_id)},
      {"GET", keys::Secret(trial_id)},
      {"GET", keys::AuditHead(trial_id)},
      {"LLEN", keys::Audit(trial_id)},
  });
  if (!replies.ok()) return replies.status();
  const std::vector<RedisReply>& r = *replies;
  if (r[0].is_nil()) return absl::NotFoundError(absl::StrCat("no trial \"", trial_id, "\""));
  TrialHeader header;
  if (absl::Status s = ParseInto(r[0], header.trial, "trial"); !s.ok()) return s;
  storage::TrialSecret secret;
  if (absl::Status s = ParseInto(r[1], secret, "secret"); !s.ok()) return s;
  header.secret = secret.secret();
  header.audit_head = r[2].is_nil() ? "" : std::string(r[2].str());
  header.audit_length = r[3].integer();
  if (visit.header) {
    if (absl::Status s = visit.header(header); !s.ok()) return s;
  }
  if (visit.participants) {
    if (absl::Status s = ScanHash<Participant>(keys::Participants(trial_id), "participant", visit.participants); !s.ok()) return s;
  }
  if (visit.allocations) {
    if (absl::Status s = ScanHash<Allocation>(keys::Allocations(trial_id), "allocation", visit.allocations); !s.ok()) return s;
  }
  if (visit.statuses) {
    if (absl::Status s = ScanHash<ParticipantStatus>(keys::Status(trial_id), "participant status", visit.statuses); !s.ok()) return s;
  }
  absl::StatusOr<std::string> head = AuditHead(trial_id);
  if (!head.ok()) return head.status();
  if (*head != header.audit_head) {
    return absl::AbortedError(absl::StrCat("trial \"", trial_id, "\" changed while it was read"));
  }
  return header;
}

absl::StatusOr<ParticipantRecords> RedisRandomisationStore::ReadRecords(const std::string& trial_id,
                                                                        const std::vector<std::string>& ids,
                                                                        RecordKinds kinds) {
  ParticipantRecords records;
  if (kinds.participants) records.participants.resize(ids.size());
  if (kinds.allocations) records.allocations.resize(ids.size());
  if (kinds.statuses) records.statuses.resize(ids.size());
  for (size_t start = 0; start < ids.size(); start += page_) {
    const size_t end = std::min(ids.size(), start + page_);
    std::vector<std::vector<std::string>> commands;
    auto hmget = [&](const std::string& key) {
      std::vector<std::string>& command = commands.emplace_back();
      command.reserve(2 + end - start);
      command.push_back("HMGET");
      command.push_back(key);
      for (size_t i = start; i < end; ++i) command.push_back(ids[i]);
    };
    if (kinds.participants) hmget(keys::Participants(trial_id));
    if (kinds.allocations) hmget(keys::Allocations(trial_id));
    if (kinds.statuses) hmget(keys::Status(trial_id));
    if (commands.empty()) break;
    // Several kinds in one MULTI/EXEC: a participant's records as of one moment.
    absl::StatusOr<std::vector<RedisReply>> replies =
        commands.size() == 1 ? redis_.Pipeline(commands) : redis_.Transaction(commands);
    if (!replies.ok()) return replies.status();
    for (const RedisReply& reply : *replies) {
      if (reply.type() == RedisReply::Type::kError) return absl::InternalError(absl::StrCat("HMGET: ", reply.str()));
    }
    size_t next = 0;
    auto fill = [&](auto& out, absl::string_view what) -> absl::Status {
      const RedisReply& values = (*replies)[next++];
      for (size_t i = start; i < end; ++i) {
        const RedisReply value = values[i - start];
        if (value.is_nil()) continue;
        if (absl::Status s = ParseInto(value, out[i].emplace(), what); !s.ok()) return s;
      }
      return absl::OkStatus();
    };
    if (kinds.participants) {
      if (absl::Status s = fill(records.participants, "participant"); !s.ok()) return s;
    }
    if (kinds.allocations) {
      if (absl::Status s = fill(records.allocations, "allocation"); !s.ok()) return s;
    }
    if (kinds.statuses) {
      if (absl::Status s = fill(records.statuses, "participant status"); !s.ok()) return s;
    }
  }
  return records;
}

absl::StatusOr<std::string> RedisRandomisationStore::AuditHead(const std::string& trial_id) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", keys::AuditHead(trial_id)});
  if (!reply.ok()) return reply.status();
  return reply->is_nil() ? std::string() : std::string(reply->str());
}

absl::StatusOr<fieldwork::v1::AuditHead> RedisRandomisationStore::ReadAuditHead(
    const std::string& trial_id) {
  // One MULTI/EXEC: the commit script moves the head and the log's length together.
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Transaction({
      {"EXISTS", keys::Trial(trial_id)},
      {"GET", keys::AuditHead(trial_id)},
      {"LLEN", keys::Audit(trial_id)},
  });
  if (!replies.ok()) return replies.status();
  const std::vector<RedisReply>& r = *replies;
  if (r[0].integer() == 0) return absl::NotFoundError(absl::StrCat("no trial \"", trial_id, "\""));
  fieldwork::v1::AuditHead head;
  head.set_length(r[2].integer());
  if (!r[1].is_nil()) head.set_sha256(std::string(r[1].str()));
  return head;
}

absl::Status RedisRandomisationStore::Commit(const std::string& trial_id, const TrialWrite& write) {
  return RunCommit(trial_id, absl::MakeConstSpan(&write, 1));
}

absl::Status RedisRandomisationStore::CommitGroup(const std::string& trial_id,
                                                  absl::Span<const TrialWrite> writes) {
  if (writes.empty()) return absl::OkStatus();
  for (size_t i = 0; i < writes.size(); ++i) {
    if (writes[i].secret.has_value()) {
      return absl::InvalidArgumentError("a group commit cannot create the trial");
    }
    if (i > 0 && writes[i].entry.previous_hash() != writes[i - 1].entry.hash()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the audit entry of write ", i, " of the group does not chain on the one before it"));
    }
  }
  return RunCommit(trial_id, writes);
}

absl::Status RedisRandomisationStore::RunCommit(const std::string& trial_id,
                                                absl::Span<const TrialWrite> writes) {
  const TrialWrite& first = writes.front();
  const TrialWrite& last = writes.back();
  // The newest trial of the group replaces the stored one, as the writes one after another would.
  const TrialWrite* with_trial = nullptr;
  for (const TrialWrite& write : writes) {
    if (write.trial.has_value()) with_trial = &write;
  }
  std::vector<std::string> args = {first.entry.previous_hash(), last.entry.hash(),
                                   std::to_string(writes.size()),
                                   with_trial != nullptr ? with_trial->trial->SerializeAsString() : ""};
  if (first.secret.has_value()) {
    storage::TrialSecret secret;
    secret.set_secret(*first.secret);
    args.push_back(secret.SerializeAsString());
  } else {
    args.push_back("");
  }
  for (const TrialWrite& write : writes) args.push_back(write.entry.SerializeAsString());
  AppendSection(args, writes, &TrialWrite::participants);
  AppendSection(args, writes, &TrialWrite::allocations);
  AppendSection(args, writes, &TrialWrite::statuses);
  absl::StatusOr<RedisReply> reply = redis_.Eval(
      CommitScript(),
      {keys::Trial(trial_id), keys::Secret(trial_id), keys::Participants(trial_id),
       keys::Allocations(trial_id), keys::Status(trial_id), keys::Audit(trial_id),
       keys::AuditHead(trial_id)},
      args);
  if (!reply.ok()) return reply.status();
  if (first.secret.has_value()) {
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

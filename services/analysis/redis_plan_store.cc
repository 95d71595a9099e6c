#include "services/analysis/redis_plan_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/analysis/keys.h"

namespace fieldwork::analysis {
namespace {

// KEYS: plan, version, plans. ARGV: expected version, record bytes, new version, plan id.
const LuaScript kPutPlan(R"lua(
local stored = redis.call('GET', KEYS[2]) or '0'
if stored ~= ARGV[1] then
  return redis.error_reply('ABORTED: plan changed concurrently (version ' .. stored .. ')')
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return 1
)lua");

}  // namespace

absl::StatusOr<std::optional<fieldwork::v1::PlanRecord>> RedisPlanStore::Get(
    const std::string& trial, const std::string& plan) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", keys::Plan(trial, plan)});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return std::nullopt;
  fieldwork::v1::PlanRecord record;
  const absl::string_view bytes = reply->str();
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(
        absl::StrCat("stored plan ", keys::Plan(trial, plan), " does not parse"));
  }
  return record;
}

absl::Status RedisPlanStore::Put(const fieldwork::v1::PlanRecord& record,
                                 int64_t expected_version) {
  const std::string& trial = record.plan().trial_id();
  const std::string& plan = record.plan().plan_id();
  absl::StatusOr<RedisReply> reply = redis_.Eval(
      kPutPlan, {keys::Plan(trial, plan), keys::PlanVersion(trial, plan), keys::Plans(trial)},
      {absl::StrCat(expected_version), record.SerializeAsString(), absl::StrCat(record.version()),
       plan});
  return reply.status();
}

absl::StatusOr<std::vector<fieldwork::v1::PlanRecord>> RedisPlanStore::List(const std::string& trial) {
  absl::StatusOr<RedisReply> ids = redis_.Command({"SMEMBERS", keys::Plans(trial)});
  if (!ids.ok()) return ids.status();
  std::vector<std::string> sorted;
  for (size_t i = 0; i < ids->size(); ++i) sorted.emplace_back((*ids)[i].str());
  std::sort(sorted.begin(), sorted.end());
  std::vector<fieldwork::v1::PlanRecord> out;
  for (const std::string& id : sorted) {
    absl::StatusOr<std::optional<fieldwork::v1::PlanRecord>> record = Get(trial, id);
    if (!record.ok()) return record.status();
    if (record->has_value()) out.push_back(**std::move(record));
  }
  return out;
}

}  // namespace fieldwork::analysis

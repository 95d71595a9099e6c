// PlanStore on Redis: one protobuf value per plan beside its version, written by a Lua script
// that compares the version first (keys in keys.h).
#ifndef FIELDWORK_SERVICES_ANALYSIS_REDIS_PLAN_STORE_H_
#define FIELDWORK_SERVICES_ANALYSIS_REDIS_PLAN_STORE_H_

#include "services/analysis/plan_store.h"
#include "services/common/redis_client.h"

namespace fieldwork::analysis {

class RedisPlanStore final : public PlanStore {
 public:
  explicit RedisPlanStore(RedisClient& redis) : redis_(redis) {}
  absl::StatusOr<std::optional<fieldwork::v1::PlanRecord>> Get(const std::string& trial,
                                                               const std::string& plan) override;
  absl::Status Put(const fieldwork::v1::PlanRecord& record, int64_t expected_version) override;
  absl::StatusOr<std::vector<fieldwork::v1::PlanRecord>> List(const std::string& trial) override;

 private:
  RedisClient& redis_;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_REDIS_PLAN_STORE_H_

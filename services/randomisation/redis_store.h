// The randomisation store in Redis: one Lua script applies each write with its audit entry,
// compare-and-set on the audit head, so concurrent writers (several replicas) never
// interleave and an allocation never exists without the entry that records it.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_REDIS_STORE_H_
#define FIELDWORK_SERVICES_RANDOMISATION_REDIS_STORE_H_

#include "services/common/redis_client.h"
#include "services/randomisation/store.h"

namespace fieldwork::randomisation {

class RedisRandomisationStore final : public RandomisationStore {
 public:
  explicit RedisRandomisationStore(RedisClient& redis) : redis_(redis) {}

  absl::StatusOr<TrialRecord> Load(const std::string& trial_id) override;
  absl::StatusOr<std::string> AuditHead(const std::string& trial_id) override;
  absl::Status Commit(const std::string& trial_id, const TrialWrite& write) override;
  absl::StatusOr<std::vector<std::string>> ListTrialIds() override;
  absl::StatusOr<std::vector<fieldwork::v1::AuditEntry>> ReadAudit(
      const std::string& trial_id) override;

 private:
  RedisClient& redis_;
};

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_REDIS_STORE_H_

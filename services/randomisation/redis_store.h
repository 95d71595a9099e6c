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
  // `page`: entries per HSCAN or HMGET call, which bounds the size of one Redis reply (tests
  // use a small page to make a scan take many steps).
  explicit RedisRandomisationStore(RedisClient& redis, size_t page = kDefaultPage)
      : redis_(redis), page_(page) {}

  static constexpr size_t kDefaultPage = 2000;

  absl::StatusOr<TrialRecord> Load(const std::string& trial_id) override;
  absl::StatusOr<TrialHeader> ScanTrial(const std::string& trial_id,
                                        const TrialRecordVisitor& visit) override;
  absl::StatusOr<ParticipantRecords> ReadRecords(const std::string& trial_id,
                                                 const std::vector<std::string>& ids,
                                                 RecordKinds kinds) override;
  absl::StatusOr<std::string> AuditHead(const std::string& trial_id) override;
  absl::StatusOr<fieldwork::v1::AuditHead> ReadAuditHead(const std::string& trial_id) override;
  absl::Status Commit(const std::string& trial_id, const TrialWrite& write) override;
  absl::Status CommitGroup(const std::string& trial_id, absl::Span<const TrialWrite> writes) override;
  absl::StatusOr<std::vector<std::string>> ListTrialIds() override;
  absl::StatusOr<std::vector<fieldwork::v1::AuditEntry>> ReadAudit(
      const std::string& trial_id) override;

 private:
  // Calls `visit` with each page of the hash's values, parsed.
  template <typename Message>
  absl::Status ScanHash(const std::string& key, absl::string_view what,
                        const std::function<absl::Status(std::vector<Message>&)>& visit);
  // Commit and CommitGroup: one run of the commit script for `writes` (at least one).
  absl::Status RunCommit(const std::string& trial_id, absl::Span<const TrialWrite> writes);

  RedisClient& redis_;
  size_t page_;
};

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_REDIS_STORE_H_

// Where the randomisation service keeps a trial: an interface, so the domain code needs no
// Redis, and its Redis implementation (redis_store.h).
#ifndef FIELDWORK_SERVICES_RANDOMISATION_STORE_H_
#define FIELDWORK_SERVICES_RANDOMISATION_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::randomisation {

// Everything stored about one trial.
struct TrialRecord {
  fieldwork::v1::Trial trial;
  std::string secret;
  std::vector<fieldwork::v1::Participant> participants;
  std::vector<fieldwork::v1::Allocation> allocations;
  std::vector<fieldwork::v1::ParticipantStatus> statuses;  // withdrawn or left only
  std::string audit_head;                                  // "" before the first entry
  int64_t audit_length = 0;
};

// One atomic write to a trial, always with the audit entry that records it.
struct TrialWrite {
  std::optional<fieldwork::v1::Trial> trial;  // replaces the stored trial
  std::optional<std::string> secret;          // only when the trial is created
  std::vector<fieldwork::v1::Participant> participants;       // added or replaced
  std::vector<fieldwork::v1::Allocation> allocations;         // added; never replaced
  std::vector<fieldwork::v1::ParticipantStatus> statuses;     // added or replaced
  fieldwork::v1::AuditEntry entry;  // complete, with previous_hash and hash set
};

class RandomisationStore {
 public:
  virtual ~RandomisationStore() = default;

  // NOT_FOUND for an unknown trial.
  virtual absl::StatusOr<TrialRecord> Load(const std::string& trial_id) = 0;
  // The hash of the newest audit entry ("" when the trial has none): a cheap check of
  // whether a cached TrialRecord is current.
  virtual absl::StatusOr<std::string> AuditHead(const std::string& trial_id) = 0;
  // Applies `write` atomically if the trial's audit head is still entry.previous_hash;
  // ABORTED when another writer got there first (reload and retry), FAILED_PRECONDITION if an
  // allocation already exists (allocations are never overwritten). Creating a trial
  // (write.secret set) fails with ALREADY_EXISTS if it exists.
  virtual absl::Status Commit(const std::string& trial_id, const TrialWrite& write) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListTrialIds() = 0;
  virtual absl::StatusOr<std::vector<fieldwork::v1::AuditEntry>> ReadAudit(
      const std::string& trial_id) = 0;
};

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_STORE_H_

// Where the randomisation service keeps a trial: an interface, so the domain code needs no
// Redis, and its Redis implementation (redis_store.h).
#ifndef FIELDWORK_SERVICES_RANDOMISATION_STORE_H_
#define FIELDWORK_SERVICES_RANDOMISATION_STORE_H_

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
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

// A trial without its per-participant records: what ScanTrial reads first.
struct TrialHeader {
  fieldwork::v1::Trial trial;
  std::string secret;
  std::string audit_head;  // "" before the first entry
  int64_t audit_length = 0;
};

// Receives a trial's stored records a page at a time (ScanTrial); the visitor may move from
// the page. A null function skips those records. A record may be visited twice (Redis's HSCAN
// repeats an entry when its hash is resized during the scan), so a visitor must take a repeat
// for the same record. An error stops the scan and is returned.
struct TrialRecordVisitor {
  // Called first, with the header the records will be consistent with.
  std::function<absl::Status(const TrialHeader&)> header;
  std::function<absl::Status(std::vector<fieldwork::v1::Participant>&)> participants;
  std::function<absl::Status(std::vector<fieldwork::v1::Allocation>&)> allocations;
  std::function<absl::Status(std::vector<fieldwork::v1::ParticipantStatus>&)> statuses;
};

// Which records ReadRecords reads.
struct RecordKinds {
  bool participants = false;
  bool allocations = false;
  bool statuses = false;
};

// The records of some participants, each vector parallel to the ids asked for (empty when that
// kind was not asked for); nullopt where a participant has no such record.
struct ParticipantRecords {
  std::vector<std::optional<fieldwork::v1::Participant>> participants;
  std::vector<std::optional<fieldwork::v1::Allocation>> allocations;
  std::vector<std::optional<fieldwork::v1::ParticipantStatus>> statuses;
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

  // NOT_FOUND for an unknown trial. Holds every record in memory: for whole-trial checks
  // (VerifyAuditLog); the service's cache reads the trial with ScanTrial.
  virtual absl::StatusOr<TrialRecord> Load(const std::string& trial_id) = 0;
  // Reads the trial's header, then passes its records to `visit` a page at a time, so that
  // reading a large trial never holds all of it (nor one reply of all of it) at once. What is
  // visited is the trial as of the returned header: ABORTED when another writer moved the audit
  // head during the scan (the caller starts again). NOT_FOUND for an unknown trial.
  virtual absl::StatusOr<TrialHeader> ScanTrial(const std::string& trial_id,
                                                const TrialRecordVisitor& visit) = 0;
  // The `kinds` records of the participants `ids`, read together (one snapshot across kinds
  // for up to a page of ids; larger requests are read a page at a time).
  virtual absl::StatusOr<ParticipantRecords> ReadRecords(const std::string& trial_id,
                                                         const std::vector<std::string>& ids,
                                                         RecordKinds kinds) = 0;
  // The hash of the newest audit entry ("" when the trial has none): a cheap check of
  // whether a cached trial is current.
  virtual absl::StatusOr<std::string> AuditHead(const std::string& trial_id) = 0;
  // The head with the log's length, read together from the store (not a cache) without any
  // lock of the trial's: GetAuditHead answers a reader while writers hold the trial. NOT_FOUND
  // for an unknown trial.
  virtual absl::StatusOr<fieldwork::v1::AuditHead> ReadAuditHead(const std::string& trial_id) = 0;
  // Applies `write` atomically if the trial's audit head is still entry.previous_hash;
  // ABORTED when another writer got there first (reload and retry), FAILED_PRECONDITION if an
  // allocation already exists (allocations are never overwritten). Creating a trial
  // (write.secret set) fails with ALREADY_EXISTS if it exists.
  virtual absl::Status Commit(const std::string& trial_id, const TrialWrite& write) = 0;
  // Applies `writes` in order as one atomic write (all or none), with Commit's checks: the
  // first entry's previous_hash is compared with the head, and each later entry must chain on
  // the one before it. For several calls answered by one commit (one round trip, and with
  // appendfsync always one fsync) that keep one audit entry each. None may create the trial.
  virtual absl::Status CommitGroup(const std::string& trial_id, absl::Span<const TrialWrite> writes) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListTrialIds() = 0;
  virtual absl::StatusOr<std::vector<fieldwork::v1::AuditEntry>> ReadAudit(
      const std::string& trial_id) = 0;
};

// Reads the records of `ids` from `store`, `page` participants at a time, and passes each page
// (its ids and their records, parallel) to `visit`: a pass over many participants never holds
// all their records at once. Stops at the first error, `visit`'s or the store's.
inline absl::Status ForEachRecordPage(
    RandomisationStore& store, const std::string& trial_id, const std::vector<std::string>& ids,
    RecordKinds kinds, size_t page,
    const std::function<absl::Status(const std::vector<std::string>& page_ids,
                                     ParticipantRecords& records)>& visit) {
  for (size_t start = 0; start < ids.size(); start += page) {
    const auto first = ids.begin() + static_cast<std::ptrdiff_t>(start);
    const std::vector<std::string> page_ids(
        first, first + static_cast<std::ptrdiff_t>(std::min(page, ids.size() - start)));
    absl::StatusOr<ParticipantRecords> records = store.ReadRecords(trial_id, page_ids, kinds);
    if (!records.ok()) return records.status();
    if (absl::Status s = visit(page_ids, *records); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_STORE_H_

// The randomisation service's domain logic: trials, enrolment, allocation, withdrawals,
// balance and the audit log, over a RandomisationStore. No gRPC, no Redis. Callers (the gRPC
// adapter) authenticate and authorise; `actor` names the principal in the audit log.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_RANDOMISER_H_
#define FIELDWORK_SERVICES_RANDOMISATION_RANDOMISER_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "services/common/clock.h"
#include "services/randomisation/engine/engine.h"
#include "services/randomisation/store.h"
#include "services/randomisation/trial_cache.h"

namespace fieldwork::randomisation {

// Receives what each successful write changed, for metrics.
struct RandomiserObserver {
  std::function<void(const std::string& trial, int64_t enrolled)> on_enrolled;
  std::function<void(const std::string& trial, const fieldwork::v1::Allocation&)> on_allocated;
};

// What the caller of Enrol adds to the rows: who may enrol where, and whether it still wants
// the batch once it has been checked.
struct EnrolGuards {
  // The sites the caller may enrol at (null: every site). A row at any other site is reported
  // as "site: not permitted", is checked no further (its other errors could tell the caller
  // about the other site), and fails the whole batch with PERMISSION_DENIED.
  std::function<bool(const std::string& site)> may_enrol_at;
  // Asked after every row was checked, just before the first write (null: always). False, the
  // caller went away (a cut stream): nothing is written and the call answers CANCELLED.
  std::function<bool()> still_wanted;
};

struct AllocationFilter {
  std::string factor;
  std::string arm;
  std::string site;
  std::string cohort;
};

// Calls that append to a trial's audit log report the log's head after them (AuditHead: length
// and newest hash) so that callers can keep it outside the store as an anchor: in their
// response's audit_head field, or through the optional `head` argument.
class Randomiser {
 public:
  Randomiser(RandomisationStore& store, const Clock& clock, RandomiserObserver observer = {});

  absl::StatusOr<fieldwork::v1::Trial> CreateTrial(const fieldwork::v1::TrialDesign& design,
                                                   const std::string& actor,
                                                   fieldwork::v1::AuditHead* head = nullptr);
  absl::StatusOr<fieldwork::v1::Trial> UpdateDesign(const fieldwork::v1::TrialDesign& design,
                                                    const std::string& actor,
                                                    fieldwork::v1::AuditHead* head = nullptr);
  absl::StatusOr<fieldwork::v1::Trial> GetTrial(const std::string& trial_id);
  absl::StatusOr<std::vector<fieldwork::v1::Trial>> ListTrials();
  absl::StatusOr<fieldwork::v1::Trial> LockDesign(const std::string& trial_id, const std::string& actor,
                                                  fieldwork::v1::AuditHead* head = nullptr);
  absl::StatusOr<fieldwork::v1::Trial> CloseTrial(const std::string& trial_id, const std::string& actor,
                                                  fieldwork::v1::AuditHead* head = nullptr);

  // Every bad row is reported (row numbers from 1) and the good rows kept; with
  // all_or_nothing any bad row rejects the whole batch with INVALID_ARGUMENT listing them.
  // `guards` may refuse the whole batch (see EnrolGuards); then nothing is written.
  // Concurrent small calls to one trial are committed together (one write to the store, one
  // audit entry per call); each gets the answer it would have got alone, the calls taken in
  // the order they arrived.
  absl::StatusOr<fieldwork::v1::EnrolResponse> Enrol(
      const std::string& trial_id, const std::vector<fieldwork::v1::Participant>& participants,
      bool all_or_nothing, const std::string& actor, const EnrolGuards& guards = {});

  absl::StatusOr<fieldwork::v1::RandomiseResponse> Randomise(const std::string& trial_id,
                                                             const std::string& cohort,
                                                             const std::string& actor);
  absl::StatusOr<fieldwork::v1::AllocateNextResponse> AllocateNext(const std::string& trial_id,
                                                                   const std::string& participant_id,
                                                                   const std::string& actor);

  // Allocations carry the participant's current withdrawal and leaving date.
  absl::StatusOr<fieldwork::v1::Allocation> GetAllocation(const std::string& trial_id,
                                                          const std::string& participant_id);
  // Calls `visit` with each allocation matching `filter`, in participant id order. The
  // trial's state is read a page at a time under its lock and each page visited outside it, so
  // a slow visitor (a gRPC client) neither holds up writers nor needs a copy of the whole list.
  // Stops, OK, when `visit` returns false. Allocations made meanwhile may or may not be visited.
  absl::Status ListAllocations(const std::string& trial_id, const AllocationFilter& filter,
                               const std::function<bool(fieldwork::v1::Allocation&)>& visit);
  absl::StatusOr<fieldwork::v1::ParticipantStatus> GetParticipant(const std::string& trial_id,
                                                                  const std::string& participant_id);
  // What GetParticipants answers of each enrolled participant.
  enum class LookupDetail {
    kStatus,               // GetParticipant's status
    kStatusAndAllocation,  // and GetAllocation's allocation, when allocated
    kRoster,               // only the roster facts, from the trial's index (no record is read)
  };
  // For each of `participant_ids` at one moment of the trial: one answer per id, in order,
  // `enrolled` false for an unknown id. INVALID_ARGUMENT naming participant_ids[i] for an id
  // GetParticipant would refuse.
  absl::StatusOr<std::vector<fieldwork::v1::ParticipantLookup>> GetParticipants(
      const std::string& trial_id, const std::vector<std::string>& participant_ids,
      LookupDetail detail);
  // Calls `visit` with each participant of `site` and `cohort` (each when empty), in
  // participant id order, a page at a time as ListAllocations.
  absl::Status ListParticipants(const std::string& trial_id, const std::string& site,
                                const std::string& cohort,
                                const std::function<bool(fieldwork::v1::ParticipantStatus&)>& visit);
  // The site a participant is enrolled in (for the adapter's site-scoped authorisation).
  absl::StatusOr<std::string> SiteOf(const std::string& trial_id, const std::string& participant_id);

  absl::StatusOr<int64_t> Withdraw(const fieldwork::v1::WithdrawRequest& request,
                                   const std::string& actor, fieldwork::v1::AuditHead* head = nullptr);
  absl::Status RecordLeaver(const fieldwork::v1::RecordLeaverRequest& request,
                            const std::string& actor, fieldwork::v1::AuditHead* head = nullptr);

  // `counts_only`: BalanceRequest.counts_only.
  absl::StatusOr<fieldwork::v1::BalanceResponse> Balance(const std::string& trial_id,
                                                         const std::string& factor,
                                                         const std::string& cohort,
                                                         bool counts_only = false);

  absl::StatusOr<std::vector<fieldwork::v1::AuditEntry>> AuditLog(const std::string& trial_id);
  // Verifies the stored log: the chain, the records its entries cover, and each of `anchors`
  // (heads recorded earlier; INVALID_ARGUMENT when one is malformed).
  absl::StatusOr<fieldwork::v1::VerifyAuditLogResponse> VerifyAuditLog(
      const std::string& trial_id,
      const google::protobuf::RepeatedPtrField<fieldwork::v1::AuditHead>& anchors = {});
  // The log's current head (length and hash), read from the store without taking the
  // trial's lock: no log read, no trial loaded.
  absl::StatusOr<fieldwork::v1::AuditHead> GetAuditHead(const std::string& trial_id);
  absl::StatusOr<fieldwork::v1::RevealSecretResponse> RevealSecret(const std::string& trial_id,
                                                                   const std::string& actor);

 private:
  struct TrialState;
  struct Arrival;
  struct EnrolCall;
  using Operation = std::function<absl::Status(TrialState&)>;

  // kCheckHead reads the audit head before the operation and reloads the cached state if
  // another writer moved it. kOptimistic skips that read for operations whose every outcome
  // that matters ends in a commit: the commit's compare-and-set on the head catches a stale
  // cache, and the operation is then retried on a fresh state.
  enum class Freshness { kCheckHead, kOptimistic };

  // Runs `operation` on the trial's state under its lock, reloading the state when it is stale
  // and retrying when a commit lost a race with another writer.
  absl::Status WithTrial(const std::string& trial_id, const Operation& operation,
                         Freshness freshness = Freshness::kCheckHead);
  // Reads the trial into the state's cache a page at a time, starting again when another
  // writer moved the audit head during the read.
  absl::Status Load(TrialState& state, const std::string& trial_id);
  // Fills in the entry's chain fields, commits, and applies the write to the cached state.
  absl::Status Commit(TrialState& state, TrialWrite write);
  // Commit for several writes as one atomic write, their entries chained in order (filled in
  // here, so the caller can read each entry's sequence and hash afterwards).
  absl::Status CommitWrites(TrialState& state, absl::Span<TrialWrite> writes);
  fieldwork::v1::AuditEntry NewEntry(fieldwork::v1::AuditEntry::Kind kind, const std::string& actor,
                                     std::string summary) const;
  std::shared_ptr<TrialState> StateFor(const std::string& trial_id);
  // Walks the trial's participants in id order, a page at a time: under the lock, `select`
  // picks a page's participants from the cache and `read` turns their ids into results
  // (reading their records from the store); `visit_page` runs outside the lock after each page,
  // and returns false to stop.
  absl::Status WalkParticipants(
      const std::string& trial_id,
      const std::function<bool(const TrialCache& cache, const TrialCache::Entry& entry)>& select,
      const std::function<absl::Status(TrialState&, const std::vector<std::string>& ids)>& read,
      const std::function<bool()>& visit_page);
  // Checks a group of Enrol calls in order and commits them together, one entry per call.
  absl::Status EnrolCalls(TrialState& state, const std::vector<EnrolCall*>& calls);
  // Allocates a group of AllocateNext arrivals and commits them together.
  absl::Status AllocateArrivals(TrialState& state, const std::vector<Arrival*>& batch);
  // The cohort's sequential state, rebuilt (and checked) from what is stored plus `pending`
  // (this group's allocations so far, whose participants `pending_participant` gives).
  absl::StatusOr<SequentialAllocator*> CohortAllocator(
      TrialState& state, const std::string& cohort,
      const std::map<std::string, fieldwork::v1::Allocation>& pending,
      const std::function<const fieldwork::v1::Participant*(const std::string& id)>& pending_participant);

  RandomisationStore& store_;
  const Clock& clock_;
  RandomiserObserver observer_;
  std::mutex states_mutex_;
  std::map<std::string, std::shared_ptr<TrialState>> states_;
};

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_RANDOMISER_H_

#include "services/randomisation/randomiser.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/common/quote.h"
#include "services/randomisation/anchors/anchor_check.h"
#include "services/randomisation/audit.h"
#include "services/randomisation/engine/design_validation.h"
#include "services/randomisation/enrolment.h"
#include "services/randomisation/engine/ids.h"
#include "services/randomisation/methods/balance.h"
#include "services/randomisation/methods/generator.h"

namespace fieldwork::randomisation {
namespace {

using fieldwork::v1::Allocation;
using fieldwork::v1::AuditEntry;
using fieldwork::v1::Participant;
using fieldwork::v1::ParticipantStatus;
using fieldwork::v1::Trial;
using fieldwork::v1::TrialDesign;
using google::protobuf::util::TimeUtil;

// Enrolments and allocations are committed in chunks of this many, each with its own audit
// entry: a chunk and its entry are atomic, and no single Redis script holds the server long.
constexpr size_t kWriteChunk = 20'000;
constexpr int kCommitAttempts = 5;
// Entries a List* call copies per hold of the trial's lock.
constexpr size_t kListPage = 500;

google::protobuf::Timestamp ToProto(absl::Time time) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

fieldwork::v1::CivilDate Today(absl::Time now) {
  const absl::CivilDay day = absl::ToCivilDay(now, absl::UTCTimeZone());
  fieldwork::v1::CivilDate date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

absl::Status ValidateDate(const fieldwork::v1::CivilDate& date, absl::string_view field) {
  const absl::CivilDay day(date.year(), date.month(), date.day());
  if (date.year() < 1900 || date.year() > 2200 || day.year() != date.year() ||
      day.month() != date.month() || day.day() != date.day()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not a valid date (", date.year(),
                                                   "-", date.month(), "-", date.day(), ")"));
  }
  return absl::OkStatus();
}

// A refused batch: nothing enrolled, and the status (the only thing a failed call returns)
// lists the first errors and how many there are in all.
absl::Status BatchRejection(absl::StatusCode code, absl::string_view why,
                            const fieldwork::v1::EnrolResponse& response) {
  constexpr int kListed = 20;
  std::string message = absl::StrCat(why, ": nothing enrolled; ", response.rejected(),
                                     " bad row(s):");
  for (int i = 0; i < response.errors_size() && i < kListed; ++i) {
    const auto& e = response.errors(i);
    absl::StrAppend(&message, " row ", e.row(), " ", e.field(), ": ", e.reason(), ";");
  }
  if (response.errors_size() > kListed) {
    absl::StrAppend(&message, " ... (", response.errors_size(), " errors in all)");
  }
  return absl::Status(code, message);
}

std::vector<std::string> CohortsOf(const TrialDesign& design) {
  if (design.cohorts().empty()) return {""};
  return {design.cohorts().begin(), design.cohorts().end()};
}

}  // namespace

struct Randomiser::TrialState {
  std::mutex mutex;
  bool loaded = false;
  // True during an operation when the state was read from the store for it.
  bool fresh = false;
  TrialRecord record;
  std::map<std::string, size_t> participant_index;
  // Cluster -> the site of its participants (the first enrolled one's), for enrolment's check
  // that a cluster does not span sites without rebuilding it from every participant.
  std::map<std::string, std::string> cluster_site;
  std::map<std::string, size_t> allocation_index;
  std::map<std::string, size_t> status_index;
  // Sequential designs: the running state per cohort, rebuilt from the stored allocations.
  std::map<std::string, std::unique_ptr<SequentialAllocator>> sequential;
  // AllocateNext's group commit: arrivals waiting, and whether a leader is allocating.
  std::mutex queue_mutex;
  std::condition_variable queue_changed;
  std::vector<Arrival*> queue;
  bool leader_active = false;

  void Reindex() {
    participant_index.clear();
    cluster_site.clear();
    allocation_index.clear();
    status_index.clear();
    for (size_t i = 0; i < record.participants.size(); ++i) {
      participant_index[record.participants[i].participant_id()] = i;
      NoteCluster(record.participants[i]);
    }
    for (size_t i = 0; i < record.allocations.size(); ++i) allocation_index[record.allocations[i].participant_id()] = i;
    for (size_t i = 0; i < record.statuses.size(); ++i) status_index[record.statuses[i].participant().participant_id()] = i;
    sequential.clear();
  }
  const std::string& id() const { return record.trial.design().trial_id(); }
  void NoteCluster(const Participant& p) {
    if (!p.cluster().empty()) cluster_site.emplace(p.cluster(), p.site());
  }
  // What enrolment's check asks of the enrolled participants, one lookup per row.
  ExistingParticipants Existing() const {
    return {[this](const std::string& id) { return FindParticipant(id); },
            [this](const std::string& cluster) -> const std::string* {
              auto it = cluster_site.find(cluster);
              return it == cluster_site.end() ? nullptr : &it->second;
            }};
  }
  // The audit log's head as this state knows it (after its own commits, the current one).
  void ReportHead(fieldwork::v1::AuditHead* head) const {
    if (head == nullptr) return;
    head->Clear();
    head->set_length(record.audit_length);
    head->set_sha256(record.audit_head);
  }
  const Participant* FindParticipant(const std::string& pid) const {
    auto it = participant_index.find(pid);
    return it == participant_index.end() ? nullptr : &record.participants[it->second];
  }
  const Allocation* FindAllocation(const std::string& pid) const {
    auto it = allocation_index.find(pid);
    return it == allocation_index.end() ? nullptr : &record.allocations[it->second];
  }
  const ParticipantStatus* FindStatus(const std::string& pid) const {
    auto it = status_index.find(pid);
    return it == status_index.end() ? nullptr : &record.statuses[it->second];
  }
  Trial TrialView() const {
    Trial trial = record.trial;
    trial.set_enrolled(static_cast<int64_t>(record.participants.size()));
    trial.set_allocated(static_cast<int64_t>(record.allocations.size()));
    return trial;
  }
  // The allocation as callers see it: with the current withdrawal and leaving date.
  Allocation View(const Allocation& allocation) const {
    Allocation view = allocation;
    if (const ParticipantStatus* status = FindStatus(allocation.participant_id())) {
      if (status->has_withdrawal()) *view.mutable_withdrawal() = status->withdrawal();
      if (status->has_left_on()) *view.mutable_left_on() = status->left_on();
    }
    return view;
  }
  ParticipantStatus StatusView(const Participant& participant) const {
    ParticipantStatus status;
    if (const ParticipantStatus* stored = FindStatus(participant.participant_id())) status = *stored;
    *status.mutable_participant() = participant;
    status.set_allocated(FindAllocation(participant.participant_id()) != nullptr);
    return status;
  }
};

Randomiser::Randomiser(RandomisationStore& store, const Clock& clock, RandomiserObserver observer)
    : store_(store), clock_(clock), observer_(std::move(observer)) {}

std::shared_ptr<Randomiser::TrialState> Randomiser::StateFor(const std::string& trial_id) {
  std::lock_guard<std::mutex> lock(states_mutex_);
  std::shared_ptr<TrialState>& state = states_[trial_id];
  if (state == nullptr) state = std::make_shared<TrialState>();
  return state;
}

absl::Status Randomiser::WithTrial(const std::string& trial_id, const Operation& operation,
                                   Freshness freshness) {
  if (absl::Status s = CheckTrialId(trial_id); !s.ok()) return s;
  std::shared_ptr<TrialState> state = StateFor(trial_id);
  std::lock_guard<std::mutex> lock(state->mutex);
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    bool current = state->loaded && freshness == Freshness::kOptimistic;
    if (state->loaded && !current) {
      absl::StatusOr<std::string> head = store_.AuditHead(trial_id);
      if (!head.ok()) return head.status();
      current = *head == state->record.audit_head;
    }
    state->fresh = !current;
    if (!current) {
      absl::StatusOr<TrialRecord> record = store_.Load(trial_id);
      if (!record.ok()) return record.status();
      state->record = *std::move(record);
      state->Reindex();
      state->loaded = true;
    }
    absl::Status status = operation(*state);
    if (status.code() != absl::StatusCode::kAborted) return status;
    state->loaded = false;  // another writer won the race: reload and recompute
  }
  return absl::AbortedError(absl::StrCat("trial \"", trial_id, "\" is changing too fast; retry"));
}

AuditEntry Randomiser::NewEntry(AuditEntry::Kind kind, const std::string& actor,
                                std::string summary) const {
  AuditEntry entry;
  entry.set_kind(kind);
  entry.set_actor(actor);
  entry.set_summary(std::move(summary));
  *entry.mutable_time() = ToProto(clock_.Now());
  return entry;
}

absl::Status Randomiser::Commit(TrialState& state, TrialWrite write) {
  write.entry.set_sequence(state.record.audit_length);
  write.entry.set_previous_hash(state.record.audit_head);
  write.entry.set_hash(AuditEntryHash(write.entry));
  if (absl::Status status = store_.Commit(state.id(), write); !status.ok()) {
    state.loaded = false;
    return status;
  }
  TrialRecord& record = state.record;
  if (write.trial.has_value()) record.trial = *write.trial;
  for (Participant& p : write.participants) {
    state.NoteCluster(p);
    auto [it, inserted] = state.participant_index.emplace(p.participant_id(), record.participants.size());
    if (inserted) {
      record.participants.push_back(std::move(p));
    } else {
      record.participants[it->second] = std::move(p);
    }
  }
  for (Allocation& a : write.allocations) {
    if (observer_.on_allocated) observer_.on_allocated(state.id(), a);
    state.allocation_index[a.participant_id()] = record.allocations.size();
    record.allocations.push_back(std::move(a));
  }
  for (ParticipantStatus& s : write.statuses) {
    auto [it, inserted] = state.status_index.emplace(s.participant().participant_id(), record.statuses.size());
    if (inserted) {
      record.statuses.push_back(std::move(s));
    } else {
      record.statuses[it->second] = std::move(s);
    }
  }
  record.audit_head = write.entry.hash();
  ++record.audit_length;
  return absl::OkStatus();
}

absl::StatusOr<Trial> Randomiser::CreateTrial(const TrialDesign& design, const std::string& actor,
                                              fieldwork::v1::AuditHead* head) {
  if (absl::Status status = ValidateDesign(design); !status.ok()) return status;
  const std::string& trial_id = design.trial_id();
  std::shared_ptr<TrialState> state = StateFor(trial_id);
  std::lock_guard<std::mutex> lock(state->mutex);
  const std::string secret = NewSecret();
  Trial trial;
  *trial.mutable_design() = design;
  trial.set_state(fieldwork::v1::TRIAL_STATE_DRAFT);
  trial.set_secret_commitment(SecretCommitment(secret));
  *trial.mutable_created_at() = ToProto(clock_.Now());
  TrialWrite write;
  write.trial = trial;
  write.secret = secret;
  write.entry = NewEntry(AuditEntry::KIND_TRIAL_CREATED, actor,
                         absl::StrCat("trial created; secret commitment ", trial.secret_commitment()));
  write.entry.set_content_sha256(DesignHash(design));
  write.entry.set_previous_hash("");
  write.entry.set_sequence(0);
  write.entry.set_hash(AuditEntryHash(write.entry));
  absl::Status status = store_.Commit(trial_id, write);
  if (status.code() == absl::StatusCode::kAlreadyExists) {
    // A retry of the same creation is not an error; a different design under the same id is.
    absl::StatusOr<TrialRecord> existing = store_.Load(trial_id);
    if (!existing.ok()) return existing.status();
    state->loaded = false;
    if (google::protobuf::util::MessageDifferencer::Equals(existing->trial.design(), design)) {
      if (head != nullptr) {
        head->set_length(existing->audit_length);
        head->set_sha256(existing->audit_head);
      }
      Trial view = existing->trial;
      view.set_enrolled(static_cast<int64_t>(existing->participants.size()));
      view.set_allocated(static_cast<int64_t>(existing->allocations.size()));
      return view;
    }
    return absl::AlreadyExistsError(
        absl::StrCat("trial \"", trial_id, "\" already exists with a different design"));
  }
  if (!status.ok()) return status;
  state->loaded = false;
  if (head != nullptr) {
    head->set_length(1);
    head->set_sha256(write.entry.hash());
  }
  return trial;
}

absl::StatusOr<Trial> Randomiser::UpdateDesign(const TrialDesign& design, const std::string& actor,
                                               fieldwork::v1::AuditHead* head) {
  if (absl::Status status = ValidateDesign(design); !status.ok()) return status;
  Trial result;
  absl::Status status = WithTrial(design.trial_id(), [&](TrialState& state) -> absl::Status {
    if (state.record.trial.state() != fieldwork::v1::TRIAL_STATE_DRAFT) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trial \"", design.trial_id(), "\" is ", fieldwork::v1::TrialState_Name(state.record.trial.state()),
          ": its design can no longer change"));
    }
    // Everyone already enrolled must still fit the new design.
    EnrolmentCheck check = CheckEnrolment(design, state.record.participants, {});
    if (!check.errors.empty()) {
      const auto& e = check.errors.front();
      return absl::FailedPreconditionError(absl::StrCat(
          "the new design does not fit participant ", state.record.participants[static_cast<size_t>(e.row() - 1)].participant_id(),
          " already enrolled: ", e.field(), " ", e.reason()));
    }
    TrialWrite write;
    write.trial = state.record.trial;
    *write.trial->mutable_design() = design;
    write.entry = NewEntry(AuditEntry::KIND_DESIGN_UPDATED, actor, "design updated");
    write.entry.set_content_sha256(DesignHash(design));
    if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    state.ReportHead(head);
    result = state.TrialView();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<Trial> Randomiser::GetTrial(const std::string& trial_id) {
  Trial result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) {
    result = state.TrialView();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<Trial>> Randomiser::ListTrials() {
  absl::StatusOr<std::vector<std::string>> ids = store_.ListTrialIds();
  if (!ids.ok()) return ids.status();
  std::vector<Trial> trials;
  for (const std::string& id : *ids) {
    absl::StatusOr<Trial> trial = GetTrial(id);
    if (trial.ok()) trials.push_back(*std::move(trial));
  }
  return trials;
}

absl::StatusOr<Trial> Randomiser::LockDesign(const std::string& trial_id, const std::string& actor,
                                             fieldwork::v1::AuditHead* head) {
  Trial result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    const auto current = state.record.trial.state();
    if (current != fieldwork::v1::TRIAL_STATE_DRAFT) {
      if (current == fieldwork::v1::TRIAL_STATE_LOCKED) {  // a retry
        state.ReportHead(head);
        result = state.TrialView();
        return absl::OkStatus();
      }
      return absl::FailedPreconditionError(absl::StrCat("trial \"", trial_id, "\" is closed"));
    }
    TrialWrite write;
    write.trial = state.record.trial;
    write.trial->set_state(fieldwork::v1::TRIAL_STATE_LOCKED);
    write.trial->set_design_sha256(DesignHash(state.record.trial.design()));
    *write.trial->mutable_locked_at() = ToProto(clock_.Now());
    write.entry = NewEntry(AuditEntry::KIND_DESIGN_LOCKED, actor,
                           absl::StrCat("design locked; sha256 ", write.trial->design_sha256()));
    write.entry.set_content_sha256(write.trial->design_sha256());
    if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    state.ReportHead(head);
    result = state.TrialView();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<Trial> Randomiser::CloseTrial(const std::string& trial_id, const std::string& actor,
                                             fieldwork::v1::AuditHead* head) {
  Trial result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    if (state.record.trial.state() != fieldwork::v1::TRIAL_STATE_CLOSED) {
      TrialWrite write;
      write.trial = state.record.trial;
      write.trial->set_state(fieldwork::v1::TRIAL_STATE_CLOSED);
      *write.trial->mutable_closed_at() = ToProto(clock_.Now());
      write.entry = NewEntry(AuditEntry::KIND_TRIAL_CLOSED, actor, "trial closed");
      if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    }
    state.ReportHead(head);
    result = state.TrialView();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<fieldwork::v1::EnrolResponse> Randomiser::Enrol(
    const std::string& trial_id, const std::vector<Participant>& participants, bool all_or_nothing,
    const std::string& actor, const EnrolGuards& guards) {
  // Rows at a site the caller may not enrol at are set aside before any check; the others
  // are checked under their row numbers in the request.
  std::vector<bool> is_forbidden(participants.size(), false);
  std::vector<int64_t> forbidden;
  for (size_t i = 0; guards.may_enrol_at && i < participants.size(); ++i) {
    if (!guards.may_enrol_at(participants[i].site())) {
      is_forbidden[i] = true;
      forbidden.push_back(static_cast<int64_t>(i) + 1);
    }
  }
  std::vector<Participant> permitted;  // only when some rows were set aside
  std::vector<int64_t> row_of;         // the request row of each of them
  for (size_t i = 0; !forbidden.empty() && i < participants.size(); ++i) {
    if (is_forbidden[i]) continue;
    permitted.push_back(participants[i]);
    row_of.push_back(static_cast<int64_t>(i) + 1);
  }
  fieldwork::v1::EnrolResponse response;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    response.Clear();
    if (state.record.trial.state() == fieldwork::v1::TRIAL_STATE_CLOSED) {
      return absl::FailedPreconditionError(absl::StrCat("trial \"", trial_id, "\" is closed to enrolment"));
    }
    EnrolmentCheck check = CheckEnrolment(state.record.trial.design(),
                                          forbidden.empty() ? participants : permitted, state.Existing(), row_of);
    std::vector<fieldwork::v1::RowError> errors = std::move(check.errors);
    for (int64_t row : forbidden) {
      fieldwork::v1::RowError& error = errors.emplace_back();
      error.set_row(row);
      error.set_field("site");
      error.set_reason("not permitted");
    }
    std::stable_sort(errors.begin(), errors.end(),
                     [](const auto& a, const auto& b) { return a.row() < b.row(); });
    std::set<int64_t> bad_rows;
    for (auto& error : errors) {
      bad_rows.insert(error.row());
      *response.add_errors() = std::move(error);
    }
    response.set_rejected(static_cast<int64_t>(bad_rows.size()));
    if (!forbidden.empty()) {
      return BatchRejection(absl::StatusCode::kPermissionDenied,
                            "a row names a site this caller may not enrol at", response);
    }
    if (all_or_nothing && !bad_rows.empty()) {
      return BatchRejection(absl::StatusCode::kInvalidArgument, "all_or_nothing", response);
    }
    response.set_unchanged(check.unchanged);
    state.ReportHead(response.mutable_audit_head());
    if (check.accepted.empty()) return absl::OkStatus();
    if (guards.still_wanted && !guards.still_wanted()) {
      return absl::CancelledError("the caller went away before the batch was written: nothing enrolled");
    }
    // Committed in chunks, each atomic with its audit entry. Every row was checked before the
    // first chunk; if Redis fails between chunks, a retry finds the committed rows unchanged.
    const auto now = ToProto(clock_.Now());
    const auto enrolled = static_cast<int64_t>(check.accepted.size());
    for (size_t start = 0; start < check.accepted.size(); start += kWriteChunk) {
      TrialWrite write;
      std::map<std::string, std::string> records;
      const size_t end = std::min(check.accepted.size(), start + kWriteChunk);
      for (size_t i = start; i < end; ++i) {
        Participant& p = check.accepted[i];
        *p.mutable_enrolled_at() = now;
        records[p.participant_id()] = DeterministicBytes(p);
        write.participants.push_back(std::move(p));
      }
      write.entry = NewEntry(AuditEntry::KIND_ENROLMENT, actor,
                             absl::StrCat("enrolled ", write.participants.size(), " participant(s)"));
      for (const auto& [id, bytes] : records) write.entry.add_participant_ids(id);
      write.entry.set_content_sha256(ContentHash(records));
      if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    }
    state.ReportHead(response.mutable_audit_head());
    response.set_enrolled(enrolled);
    if (observer_.on_enrolled) observer_.on_enrolled(trial_id, enrolled);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<fieldwork::v1::RandomiseResponse> Randomiser::Randomise(const std::string& trial_id,
                                                                       const std::string& cohort,
                                                                       const std::string& actor) {
  fieldwork::v1::RandomiseResponse response;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    response.Clear();
    const TrialDesign& design = state.record.trial.design();
    if (state.record.trial.state() != fieldwork::v1::TRIAL_STATE_LOCKED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trial \"", trial_id, "\" must be LOCKED to randomise (it is ",
          fieldwork::v1::TrialState_Name(state.record.trial.state()), ")"));
    }
    if (IsSequentialDesign(design)) {
      return absl::FailedPreconditionError("this design allocates one participant at a time: use AllocateNext");
    }
    std::vector<std::string> cohorts = CohortsOf(design);
    if (!cohort.empty()) {
      if (std::find(cohorts.begin(), cohorts.end(), cohort) == cohorts.end()) {
        return absl::InvalidArgumentError(absl::StrCat("cohort \"", cohort, "\" is not a cohort of the design"));
      }
      cohorts = {cohort};
    }
    for (const std::string& c : cohorts) {
      std::vector<Participant> pending;
      int64_t batch = 1;
      for (const Allocation& a : state.record.allocations) {
        if (a.cohort() == c) batch = std::max(batch, a.batch() + 1);
      }
      for (const Participant& p : state.record.participants) {
        if (p.cohort() != c) continue;
        if (state.FindAllocation(p.participant_id()) != nullptr) {
          response.set_already_allocated(response.already_allocated() + 1);
          continue;
        }
        // Someone who withdrew or left before randomisation is not randomised.
        const ParticipantStatus* s = state.FindStatus(p.participant_id());
        if (s != nullptr && (s->has_withdrawal() || s->has_left_on())) continue;
        pending.push_back(p);
      }
      if (pending.empty()) continue;
      absl::StatusOr<BatchAllocation> allocated =
          AllocateBatch(state.record.secret, design, c, batch, pending);
      if (!allocated.ok()) return allocated.status();
      response.set_rerandomisation_draws(response.rerandomisation_draws() + allocated->rerandomisation_draws);
      const auto now = ToProto(clock_.Now());
      const size_t chunks = (pending.size() + kWriteChunk - 1) / kWriteChunk;
      for (size_t chunk = 0; chunk < chunks; ++chunk) {
        TrialWrite write;
        std::map<std::string, std::string> records;
        const size_t end = std::min(pending.size(), (chunk + 1) * kWriteChunk);
        for (size_t i = chunk * kWriteChunk; i < end; ++i) {
          Allocation& a = write.allocations.emplace_back();
          a.set_participant_id(pending[i].participant_id());
          a.set_site(pending[i].site());
          a.set_cohort(c);
          a.set_cluster(pending[i].cluster());
          for (auto& assignment : allocated->assignments[i]) {
            (*response.mutable_counts())[absl::StrCat(assignment.factor(), "/", assignment.arm())] += 1;
            *a.add_assignments() = std::move(assignment);
          }
          *a.mutable_allocated_at() = now;
          a.set_batch(batch);
          records[a.participant_id()] = DeterministicBytes(a);
        }
        write.entry = NewEntry(AuditEntry::KIND_ALLOCATION, actor,
                               absl::StrCat("randomised batch ", batch, c.empty() ? "" : " of cohort " + c,
                                            " (part ", chunk + 1, " of ", chunks, "): ",
                                            write.allocations.size(), " participant(s)"));
        for (const auto& [id, bytes] : records) write.entry.add_participant_ids(id);
        write.entry.set_content_sha256(ContentHash(records));
        response.set_newly_allocated(response.newly_allocated() + static_cast<int64_t>(write.allocations.size()));
        if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
      }
    }
    state.ReportHead(response.mutable_audit_head());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

// AllocateNext commits by group: callers queue their arrival; one of them at a time (the
// leader) takes everything queued, allocates it in queue order and commits it with one audit
// entry, so that with appendfsync always concurrent callers share one fsync.
struct Randomiser::Arrival {
  std::string participant_id;
  std::string actor;
  bool done = false;
  absl::Status status;
  fieldwork::v1::AllocateNextResponse response;
};

absl::StatusOr<fieldwork::v1::AllocateNextResponse> Randomiser::AllocateNext(
    const std::string& trial_id, const std::string& participant_id, const std::string& actor) {
  if (absl::Status s = CheckTrialId(trial_id); !s.ok()) return s;
  if (absl::Status s = CheckParticipantId(participant_id); !s.ok()) return s;
  std::shared_ptr<TrialState> state = StateFor(trial_id);
  Arrival me;
  me.participant_id = participant_id;
  me.actor = actor;
  std::unique_lock<std::mutex> queue_lock(state->queue_mutex);
  state->queue.push_back(&me);
  state->queue_changed.wait(queue_lock, [&] { return me.done || !state->leader_active; });
  if (!me.done) {
    state->leader_active = true;
    std::vector<Arrival*> batch;
    batch.swap(state->queue);
    queue_lock.unlock();
    absl::Status status = WithTrial(trial_id, [&](TrialState& locked) {
      return AllocateArrivals(locked, batch);
    }, Freshness::kOptimistic);
    queue_lock.lock();
    for (Arrival* arrival : batch) {
      if (!status.ok()) arrival->status = status;
      arrival->done = true;
    }
    state->leader_active = false;
    state->queue_changed.notify_all();
  }
  if (!me.status.ok()) return me.status;
  return me.response;
}

absl::Status Randomiser::AllocateArrivals(TrialState& state, const std::vector<Arrival*>& batch) {
  const TrialDesign& design = state.record.trial.design();
  if (state.record.trial.state() != fieldwork::v1::TRIAL_STATE_LOCKED) {
    return absl::FailedPreconditionError(absl::StrCat("trial \"", state.id(), "\" must be LOCKED to allocate"));
  }
  if (!IsSequentialDesign(design)) {
    return absl::FailedPreconditionError("this design is randomised in batches: use Randomise");
  }
  // Results are kept aside until the commit succeeds: a lost race recomputes the batch.
  std::vector<absl::Status> statuses(batch.size());
  std::vector<fieldwork::v1::AllocateNextResponse> responses(batch.size());
  std::map<std::string, Allocation> new_allocations;  // participant id -> allocation
  for (size_t i = 0; i < batch.size(); ++i) {
    const std::string& participant_id = batch[i]->participant_id;
    const Participant* participant = state.FindParticipant(participant_id);
    if (participant == nullptr) {
      // The cache may predate an enrolment made through another replica: look again.
      if (!state.fresh) return absl::AbortedError("reload");
      statuses[i] = absl::NotFoundError(absl::StrCat("participant \"", participant_id, "\" is not enrolled"));
      continue;
    }
    if (const Allocation* existing = state.FindAllocation(participant_id)) {
      *responses[i].mutable_allocation() = state.View(*existing);
      continue;
    }
    if (auto it = new_allocations.find(participant_id); it != new_allocations.end()) {
      *responses[i].mutable_allocation() = it->second;  // the same arrival twice in one batch
      continue;
    }
    const ParticipantStatus* s = state.FindStatus(participant_id);
    if (s != nullptr && (s->has_withdrawal() || s->has_left_on())) {
      statuses[i] = absl::FailedPreconditionError(absl::StrCat("participant \"", participant_id, "\" has withdrawn or left"));
      continue;
    }
    const std::string& cohort = participant->cohort();
    absl::StatusOr<SequentialAllocator*> allocator = CohortAllocator(state, cohort, new_allocations);
    if (!allocator.ok()) return allocator.status();
    const int64_t sequence = (*allocator)->allocated();
    absl::StatusOr<std::vector<fieldwork::v1::Assignment>> assignments = (*allocator)->Next(*participant);
    if (!assignments.ok()) {
      statuses[i] = assignments.status();
      state.sequential.erase(cohort);  // its state may be half-advanced: rebuild it
      continue;
    }
    Allocation a;
    a.set_participant_id(participant_id);
    a.set_site(participant->site());
    a.set_cohort(cohort);
    a.set_cluster(participant->cluster());
    for (auto& assignment : *assignments) *a.add_assignments() = std::move(assignment);
    *a.mutable_allocated_at() = ToProto(clock_.Now());
    a.set_batch(sequence);
    *responses[i].mutable_allocation() = a;
    responses[i].set_newly_allocated(true);
    new_allocations.emplace(participant_id, std::move(a));
  }
  if (!new_allocations.empty()) {
    TrialWrite write;
    std::map<std::string, std::string> records;
    for (auto& [id, allocation] : new_allocations) {
      records[id] = DeterministicBytes(allocation);
      write.entry.add_participant_ids(id);
    }
    const auto ids = write.entry.participant_ids();
    write.entry = NewEntry(AuditEntry::KIND_ALLOCATION, batch.front()->actor,
                           absl::StrCat("allocated ", new_allocations.size(), " arrival(s) one at a time"));
    *write.entry.mutable_participant_ids() = ids;
    write.entry.set_content_sha256(ContentHash(records));
    // Stored in arrival order, so a later rebuild replays them in the same order.
    std::vector<Allocation> ordered;
    for (auto& [id, allocation] : new_allocations) ordered.push_back(std::move(allocation));
    std::sort(ordered.begin(), ordered.end(), [](const Allocation& x, const Allocation& y) {
      return std::make_pair(x.cohort(), x.batch()) < std::make_pair(y.cohort(), y.batch());
    });
    write.allocations = std::move(ordered);
    if (absl::Status c = Commit(state, std::move(write)); !c.ok()) {
      state.sequential.clear();
      return c;
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    state.ReportHead(responses[i].mutable_audit_head());
    batch[i]->status = statuses[i];
    if (statuses[i].ok() && responses[i].has_allocation()) {
      *responses[i].mutable_allocation() = state.View(responses[i].allocation());
    }
    batch[i]->response = std::move(responses[i]);
  }
  return absl::OkStatus();
}

absl::StatusOr<SequentialAllocator*> Randomiser::CohortAllocator(
    TrialState& state, const std::string& cohort, const std::map<std::string, Allocation>& pending) {
  std::unique_ptr<SequentialAllocator>& allocator = state.sequential[cohort];
  if (allocator != nullptr) return allocator.get();
  // Rebuild the running state by replaying the cohort's allocations (stored, then pending in
  // this batch) in arrival order, checking that the replay reproduces each of them.
  allocator = std::make_unique<SequentialAllocator>(state.record.secret, state.record.trial.design(), cohort);
  std::vector<const Allocation*> arrivals;
  for (const Allocation& a : state.record.allocations) {
    if (a.cohort() == cohort) arrivals.push_back(&a);
  }
  for (const auto& [id, a] : pending) {
    if (a.cohort() == cohort) arrivals.push_back(&a);
  }
  std::sort(arrivals.begin(), arrivals.end(),
            [](const Allocation* a, const Allocation* b) { return a->batch() < b->batch(); });
  for (const Allocation* a : arrivals) {
    auto replayed = allocator->Next(*state.FindParticipant(a->participant_id()));
    if (!replayed.ok() || replayed->size() != static_cast<size_t>(a->assignments_size()) ||
        (*replayed)[0].arm() != a->assignments(0).arm()) {
      allocator.reset();
      return absl::DataLossError(absl::StrCat("stored allocation of ", a->participant_id(),
                                              " does not replay from the trial secret"));
    }
  }
  return allocator.get();
}

absl::StatusOr<Allocation> Randomiser::GetAllocation(const std::string& trial_id,
                                                     const std::string& participant_id) {
  if (absl::Status s = CheckParticipantId(participant_id); !s.ok()) return s;
  Allocation result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    const Allocation* allocation = state.FindAllocation(participant_id);
    if (allocation == nullptr) {
      return absl::NotFoundError(absl::StrCat("participant \"", participant_id, "\" is not allocated"));
    }
    result = state.View(*allocation);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::Status Randomiser::WalkIndex(const std::string& trial_id,
                                   const std::function<const std::map<std::string, size_t>&(TrialState&)>& index,
                                   const std::function<void(TrialState&, size_t position)>& copy,
                                   const std::function<bool()>& visit_page) {
  std::optional<std::string> after;  // the last id of the previous page
  bool done = false;
  while (!done) {
    absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
      const std::map<std::string, size_t>& entries = index(state);
      auto it = after.has_value() ? entries.upper_bound(*after) : entries.begin();
      for (size_t n = 0; it != entries.end() && n < kListPage; ++it, ++n) {
        copy(state, it->second);
        after = it->first;
      }
      done = it == entries.end();
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    if (!visit_page()) return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status Randomiser::ListAllocations(const std::string& trial_id, const AllocationFilter& filter,
                                         const std::function<bool(Allocation&)>& visit) {
  std::vector<Allocation> page;
  return WalkIndex(
      trial_id, [](TrialState& state) -> const std::map<std::string, size_t>& { return state.allocation_index; },
      [&](TrialState& state, size_t position) {
        const Allocation& a = state.record.allocations[position];
        if (!filter.site.empty() && a.site() != filter.site) return;
        if (!filter.cohort.empty() && a.cohort() != filter.cohort) return;
        if (!filter.factor.empty()) {
          bool match = false;
          for (const auto& assignment : a.assignments()) {
            match = match || (assignment.factor() == filter.factor &&
                              (filter.arm.empty() || assignment.arm() == filter.arm));
          }
          if (!match) return;
        }
        page.push_back(state.View(a));
      },
      [&] {
        for (Allocation& a : page) {
          if (!visit(a)) return false;
        }
        page.clear();
        return true;
      });
}

absl::StatusOr<ParticipantStatus> Randomiser::GetParticipant(const std::string& trial_id,
                                                             const std::string& participant_id) {
  if (absl::Status s = CheckParticipantId(participant_id); !s.ok()) return s;
  ParticipantStatus result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    const Participant* participant = state.FindParticipant(participant_id);
    if (participant == nullptr) {
      return absl::NotFoundError(absl::StrCat("participant \"", participant_id, "\" is not enrolled"));
    }
    result = state.StatusView(*participant);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<fieldwork::v1::ParticipantLookup>> Randomiser::GetParticipants(
    const std::string& trial_id, const std::vector<std::string>& participant_ids,
    bool with_allocations) {
  for (size_t i = 0; i < participant_ids.size(); ++i) {
    const std::string field = absl::StrCat("participant_ids[", i, "]");
    if (absl::Status s = CheckParticipantId(participant_ids[i], field); !s.ok()) return s;
  }
  std::vector<fieldwork::v1::ParticipantLookup> result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    result.clear();  // a retry on a fresher state starts again
    result.reserve(participant_ids.size());
    for (const std::string& id : participant_ids) {
      fieldwork::v1::ParticipantLookup& found = result.emplace_back();
      found.set_participant_id(id);
      const Participant* participant = state.FindParticipant(id);
      if (participant == nullptr) continue;
      found.set_enrolled(true);
      *found.mutable_status() = state.StatusView(*participant);
      if (!with_allocations) continue;
      if (const Allocation* allocation = state.FindAllocation(id)) {
        *found.mutable_allocation() = state.View(*allocation);
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::Status Randomiser::ListParticipants(const std::string& trial_id, const std::string& site,
                                          const std::string& cohort,
                                          const std::function<bool(ParticipantStatus&)>& visit) {
  std::vector<ParticipantStatus> page;
  return WalkIndex(
      trial_id, [](TrialState& state) -> const std::map<std::string, size_t>& { return state.participant_index; },
      [&](TrialState& state, size_t position) {
        const Participant& p = state.record.participants[position];
        if ((site.empty() || p.site() == site) && (cohort.empty() || p.cohort() == cohort)) {
          page.push_back(state.StatusView(p));
        }
      },
      [&] {
        for (ParticipantStatus& status : page) {
          if (!visit(status)) return false;
        }
        page.clear();
        return true;
      });
}

absl::StatusOr<std::string> Randomiser::SiteOf(const std::string& trial_id,
                                               const std::string& participant_id) {
  absl::StatusOr<ParticipantStatus> status = GetParticipant(trial_id, participant_id);
  if (!status.ok()) return status.status();
  return status->participant().site();
}

absl::StatusOr<int64_t> Randomiser::Withdraw(const fieldwork::v1::WithdrawRequest& request,
                                             const std::string& actor, fieldwork::v1::AuditHead* head) {
  if (request.target_case() == fieldwork::v1::WithdrawRequest::TARGET_NOT_SET) {
    return absl::InvalidArgumentError("target: give participant_id or site");
  }
  if (request.target_case() == fieldwork::v1::WithdrawRequest::kParticipantId) {
    if (absl::Status s = CheckParticipantId(request.participant_id()); !s.ok()) return s;
  }
  if (request.has_date()) {
    if (absl::Status s = ValidateDate(request.date(), "date"); !s.ok()) return s;
  }
  if (request.reason().size() > kMaxTextLength) {
    return absl::InvalidArgumentError(absl::StrCat("reason: must be at most ", kMaxTextLength, " bytes"));
  }
  int64_t withdrawn = 0;
  absl::Status status = WithTrial(request.trial_id(), [&](TrialState& state) -> absl::Status {
    withdrawn = 0;
    std::vector<const Participant*> targets;
    if (request.target_case() == fieldwork::v1::WithdrawRequest::kParticipantId) {
      const Participant* p = state.FindParticipant(request.participant_id());
      if (p == nullptr) return absl::NotFoundError(absl::StrCat("participant \"", request.participant_id(), "\" is not enrolled"));
      targets.push_back(p);
    } else {
      bool known = false;
      for (const auto& site : state.record.trial.design().sites()) known = known || site.id() == request.site();
      if (!known) return absl::NotFoundError(absl::StrCat("site ", Excerpt(request.site()), " is not a site of the trial"));
      for (const Participant& p : state.record.participants) {
        if (p.site() == request.site()) targets.push_back(&p);
      }
    }
    TrialWrite write;
    for (const Participant* p : targets) {
      ParticipantStatus updated = state.StatusView(*p);
      if (updated.has_withdrawal()) continue;  // withdrawing twice changes nothing
      auto* w = updated.mutable_withdrawal();
      *w->mutable_date() = request.has_date() ? request.date() : Today(clock_.Now());
      w->set_reason(request.reason());
      w->set_with_site(request.target_case() == fieldwork::v1::WithdrawRequest::kSite);
      updated.clear_allocated();
      write.statuses.push_back(std::move(updated));
    }
    state.ReportHead(head);
    if (write.statuses.empty()) return absl::OkStatus();
    withdrawn = static_cast<int64_t>(write.statuses.size());
    write.entry = NewEntry(AuditEntry::KIND_WITHDRAWAL, actor,
                           absl::StrCat("withdrew ", withdrawn, " participant(s)",
                                        request.site().empty() ? "" : " with site " + request.site(),
                                        request.reason().empty() ? "" : ": " + request.reason()));
    for (const auto& s : write.statuses) write.entry.add_participant_ids(s.participant().participant_id());
    if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    state.ReportHead(head);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return withdrawn;
}

absl::Status Randomiser::RecordLeaver(const fieldwork::v1::RecordLeaverRequest& request,
                                      const std::string& actor, fieldwork::v1::AuditHead* head) {
  if (absl::Status s = CheckParticipantId(request.participant_id()); !s.ok()) return s;
  if (!request.has_left_on()) return absl::InvalidArgumentError("left_on is required");
  if (absl::Status s = ValidateDate(request.left_on(), "left_on"); !s.ok()) return s;
  return WithTrial(request.trial_id(), [&](TrialState& state) -> absl::Status {
    const Participant* p = state.FindParticipant(request.participant_id());
    if (p == nullptr) return absl::NotFoundError(absl::StrCat("participant \"", request.participant_id(), "\" is not enrolled"));
    ParticipantStatus status = state.StatusView(*p);
    if (status.has_left_on() &&
        google::protobuf::util::MessageDifferencer::Equals(status.left_on(), request.left_on())) {
      state.ReportHead(head);
      return absl::OkStatus();  // a retry
    }
    *status.mutable_left_on() = request.left_on();
    status.clear_allocated();
    TrialWrite write;
    write.statuses.push_back(std::move(status));
    write.entry = NewEntry(AuditEntry::KIND_LEAVER, actor,
                           absl::StrCat("left the organisation on ", request.left_on().year(), "-",
                                        request.left_on().month(), "-", request.left_on().day()));
    write.entry.add_participant_ids(request.participant_id());
    if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    state.ReportHead(head);
    return absl::OkStatus();
  });
}

absl::StatusOr<fieldwork::v1::BalanceResponse> Randomiser::Balance(const std::string& trial_id,
                                                                   const std::string& factor_name,
                                                                   const std::string& cohort) {
  fieldwork::v1::BalanceResponse response;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    response.Clear();
    const TrialDesign& design = state.record.trial.design();
    bool found = factor_name.empty();
    for (int f = 0; f < design.factors_size(); ++f) {
      const auto& factor = design.factors(f);
      if (!factor_name.empty() && factor.name() != factor_name) continue;
      found = true;
      // Arms: the design's; for orders, the orders seen.
      std::vector<Arm> arms;
      for (const auto& arm : factor.arms()) arms.push_back(Arm{arm.name(), arm.weight()});
      std::vector<const Allocation*> used;
      for (const Allocation& a : state.record.allocations) {
        if (cohort.empty() || a.cohort() == cohort) used.push_back(&a);
      }
      // Order factors have no declared arms: their arms are the orders seen, equally likely.
      std::map<std::string, int> arm_index;
      if (factor.arms().empty()) {
        for (const Allocation* a : used) arm_index.emplace(a->assignments(f).arm(), 0);
        for (auto& [name, index] : arm_index) {
          index = static_cast<int>(arms.size());
          arms.push_back(Arm{name, 1});
        }
      } else {
        for (size_t i = 0; i < arms.size(); ++i) arm_index[arms[i].name] = static_cast<int>(i);
      }
      std::vector<Unit> units;
      std::vector<int> arm_of;
      auto* out = response.add_factors();
      out->set_factor(factor.name());
      std::map<std::string, fieldwork::v1::Stratum> strata;
      for (const Allocation* a : used) {
        const Participant* p = state.FindParticipant(a->participant_id());
        units.push_back(ToUnit(design, factor, *p));
        const std::string& arm = a->assignments(f).arm();
        arm_of.push_back(arm_index[arm]);
        (*out->mutable_count_by_arm())[arm] += 1;
        auto& stratum = strata[units.back().stratum];
        stratum.set_key(units.back().stratum);
        (*stratum.mutable_count_by_arm())[arm] += 1;
        auto& site = (*out->mutable_by_site())[a->site()];
        site.set_key(a->site());
        (*site.mutable_count_by_arm())[arm] += 1;
        auto& by_cohort = (*out->mutable_by_cohort())[a->cohort()];
        by_cohort.set_key(a->cohort());
        (*by_cohort.mutable_count_by_arm())[arm] += 1;
      }
      for (auto& [key, stratum] : strata) *out->add_strata() = std::move(stratum);
      if (units.empty()) continue;
      BalanceOptions options;
      options.numeric = NumericCovariateNames(design, factor);
      for (const auto& c : design.covariates()) {
        // An assigned factor's arm column is not a baseline covariate of it (it is the arm).
        const bool own_arm = factor.method() == fieldwork::v1::RANDOMISATION_METHOD_ASSIGNED && c.name() == factor.name();
        if (c.kind() == fieldwork::v1::Covariate::KIND_CATEGORICAL && !own_arm) options.categorical.push_back(c.name());
      }
      absl::StatusOr<BalanceReport> report = ComputeBalance(arms, units, arm_of, options);
      if (!report.ok()) return report.status();
      for (const NumericBalance& n : report->numeric) {
        auto* c = out->add_covariates();
        c->set_covariate(n.name);
        for (size_t a = 0; a < arms.size(); ++a) (*c->mutable_mean_by_arm())[arms[a].name] = n.mean[a];
        c->set_standardised_difference(arms.size() == 2 ? n.smd[1] : n.max_abs_smd);
        c->set_test(n.test);
        c->set_statistic(n.statistic);
        c->set_p_value(n.p_value);
      }
      for (const CategoricalBalance& n : report->categorical) {
        auto* c = out->add_covariates();
        c->set_covariate(n.name);
        c->set_standardised_difference(n.max_abs_smd);
        c->set_test("chi_squared");
        c->set_statistic(n.chi_square);
        c->set_p_value(n.p_value);
      }
      out->set_joint_statistic(report->joint.statistic);
      out->set_joint_p_value(report->joint.p_value);
      out->set_srm_chi_squared(report->sample_ratio.chi_square);
      out->set_srm_p_value(report->sample_ratio.p_value);
      if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_ASSIGNED) {
        // Given arms have no ratio to mismatch: the test does not apply (NaN), so no SRM
        // warning fires for a pilot whose cohorts are unequal by choice.
        out->set_srm_chi_squared(std::numeric_limits<double>::quiet_NaN());
        out->set_srm_p_value(std::numeric_limits<double>::quiet_NaN());
      }
    }
    if (!found) return absl::NotFoundError(absl::StrCat("no factor \"", factor_name, "\""));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<fieldwork::v1::AuditHead> Randomiser::GetAuditHead(const std::string& trial_id) {
  fieldwork::v1::AuditHead head;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) {
    state.ReportHead(&head);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return head;
}

absl::StatusOr<std::vector<AuditEntry>> Randomiser::AuditLog(const std::string& trial_id) {
  if (absl::StatusOr<Trial> trial = GetTrial(trial_id); !trial.ok()) return trial.status();
  return store_.ReadAudit(trial_id);
}

absl::StatusOr<fieldwork::v1::VerifyAuditLogResponse> Randomiser::VerifyAuditLog(
    const std::string& trial_id, const google::protobuf::RepeatedPtrField<fieldwork::v1::AuditHead>& anchors) {
  if (absl::Status s = CheckTrialId(trial_id); !s.ok()) return s;
  if (absl::Status s = ValidateAnchors(anchors); !s.ok()) return s;
  // Verify against what is stored now, not the cache.
  absl::StatusOr<TrialRecord> record = store_.Load(trial_id);
  if (!record.ok()) return record.status();
  absl::StatusOr<std::vector<AuditEntry>> entries = store_.ReadAudit(trial_id);
  if (!entries.ok()) return entries.status();
  std::map<std::string, const Participant*> participants;
  for (const Participant& p : record->participants) participants[p.participant_id()] = &p;
  std::map<std::string, const Allocation*> allocations;
  for (const Allocation& a : record->allocations) allocations[a.participant_id()] = &a;
  fieldwork::v1::VerifyAuditLogResponse result = VerifyAudit(*entries, participants, allocations);
  CheckAnchors(*entries, anchors, result);
  if (result.valid() && !entries->empty() && entries->back().hash() != record->audit_head) {
    result.set_valid(false);
    result.set_first_bad_sequence(static_cast<int64_t>(entries->size()) - 1);
    result.set_reason("the stored head does not match the last entry");
  }
  return result;
}

absl::StatusOr<fieldwork::v1::RevealSecretResponse> Randomiser::RevealSecret(const std::string& trial_id,
                                                                             const std::string& actor) {
  fieldwork::v1::RevealSecretResponse response;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    if (state.record.trial.state() != fieldwork::v1::TRIAL_STATE_CLOSED) {
      return absl::FailedPreconditionError("the secret is revealed only after the trial is closed");
    }
    TrialWrite write;
    write.entry = NewEntry(AuditEntry::KIND_SECRET_REVEALED, actor, "trial secret revealed");
    if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    state.ReportHead(response.mutable_audit_head());
    response.set_secret_hex(HexEncode(state.record.secret));
    response.set_secret_commitment(state.record.trial.secret_commitment());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

}  // namespace fieldwork::randomisation

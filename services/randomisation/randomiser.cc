#include "services/randomisation/randomiser.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/common/quote.h"
#include "services/randomisation/anchors/anchor_check.h"
#include "services/randomisation/audit.h"
#include "services/randomisation/batch_draw.h"
#include "services/randomisation/engine/design_validation.h"
#include "services/randomisation/enrol_group.h"
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
// Enrol calls of at most this many rows are grouped with the calls waiting beside them (see
// Randomiser::Enrol); a larger one is checked and committed on its own, in chunks.
constexpr size_t kGroupedCallRows = 1'000;
// Participants a List* call reads per hold of the trial's lock.
constexpr size_t kListPage = 500;
// Cache entries a List* call looks at per hold of the lock, when its filter picks few.
constexpr size_t kListScan = 50'000;
// Participants whose records a whole-trial pass (design update, withdrawal of a site, balance,
// rebuilding a sequential state) reads from the store at a time.
constexpr size_t kReadPage = 5'000;
constexpr int kLoadAttempts = 5;

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

std::vector<std::string> CohortsOf(const TrialDesign& design) {
  if (design.cohorts().empty()) return {""};
  return {design.cohorts().begin(), design.cohorts().end()};
}

absl::Status NotEnrolled(const std::string& participant_id) {
  return absl::NotFoundError(absl::StrCat("participant \"", participant_id, "\" is not enrolled"));
}

// The cache knows the participant but the store has no record of it.
absl::Status MissingRecord(const std::string& what, const std::string& participant_id) {
  return absl::DataLossError(absl::StrCat("the stored ", what, " of participant \"", participant_id, "\" is missing"));
}

// The allocation as callers see it: with the current withdrawal and leaving date.
Allocation View(Allocation allocation, const std::optional<ParticipantStatus>& status) {
  if (status.has_value()) {
    if (status->has_withdrawal()) *allocation.mutable_withdrawal() = status->withdrawal();
    if (status->has_left_on()) *allocation.mutable_left_on() = status->left_on();
  }
  return allocation;
}

ParticipantStatus StatusView(Participant participant, const std::optional<ParticipantStatus>& stored,
                             bool allocated) {
  ParticipantStatus status;
  if (stored.has_value()) status = *stored;
  *status.mutable_participant() = std::move(participant);
  status.set_allocated(allocated);
  return status;
}

fieldwork::v1::RosterFacts RosterFactsOf(const TrialCache& cache, const TrialCache::Entry& entry) {
  fieldwork::v1::RosterFacts facts;
  facts.set_site(cache.text(entry.site));
  facts.set_cohort(cache.text(entry.cohort));
  facts.set_cluster(cache.text(entry.cluster));
  facts.set_allocated(entry.allocated());
  facts.set_withdrawn(entry.withdrawn);
  facts.set_left(entry.left);
  return facts;
}

}  // namespace

struct Randomiser::TrialState {
  std::mutex mutex;
  bool loaded = false;
  // True during an operation when the state was read from the store for it.
  bool fresh = false;
  // True during an operation when the state was read for it or its audit head was found
  // current just before it (Freshness::kCheckHead); false when it may be stale (kOptimistic).
  bool head_checked = false;
  TrialCache cache;
  // Sequential designs: the running state per cohort, rebuilt from the stored allocations.
  std::map<std::string, std::unique_ptr<SequentialAllocator>> sequential;
  // AllocateNext's group commit: arrivals waiting, and whether a leader is allocating.
  std::mutex queue_mutex;
  std::condition_variable queue_changed;
  std::vector<Arrival*> queue;
  bool leader_active = false;
  // Enrol's group commit, likewise (under queue_mutex, signalled by queue_changed).
  std::vector<EnrolCall*> enrol_queue;
  bool enrol_leader_active = false;

  const std::string& id() const { return cache.id(); }
  // The audit log's head as this state knows it (after its own commits, the current one).
  void ReportHead(fieldwork::v1::AuditHead* head) const {
    if (head == nullptr) return;
    head->Clear();
    head->set_length(cache.header().audit_length);
    head->set_sha256(cache.header().audit_head);
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
      current = *head == state->cache.header().audit_head;
    }
    state->fresh = !current;
    state->head_checked = !current || freshness == Freshness::kCheckHead;
    if (!current) {
      if (absl::Status s = Load(*state, trial_id); !s.ok()) return s;
    }
    absl::Status status = operation(*state);
    if (status.code() != absl::StatusCode::kAborted) return status;
    state->loaded = false;  // another writer won the race: reload and recompute
  }
  return absl::AbortedError(absl::StrCat("trial \"", trial_id, "\" is changing too fast; retry"));
}

absl::Status Randomiser::Load(TrialState& state, const std::string& trial_id) {
  state.loaded = false;
  state.sequential.clear();
  TrialCache& cache = state.cache;
  TrialRecordVisitor visit;
  visit.header = [&](const TrialHeader& header) {
    cache.Reset(header);
    return absl::OkStatus();
  };
  visit.participants = [&](std::vector<Participant>& page) {
    for (const Participant& p : page) cache.AddParticipant(p);
    return absl::OkStatus();
  };
  visit.allocations = [&](std::vector<Allocation>& page) {
    for (const Allocation& a : page) {
      if (absl::Status s = cache.AddAllocation(a); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
  visit.statuses = [&](std::vector<ParticipantStatus>& page) {
    for (const ParticipantStatus& status : page) {
      if (absl::Status s = cache.SetStatus(status); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
  for (int attempt = 0; attempt < kLoadAttempts; ++attempt) {
    absl::StatusOr<TrialHeader> header = store_.ScanTrial(trial_id, visit);
    if (header.status().code() == absl::StatusCode::kAborted) continue;  // written meanwhile
    if (!header.ok()) return header.status();
    state.loaded = true;
    return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat("trial \"", trial_id, "\" is changing too fast to be read; retry"));
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
  return CommitWrites(state, absl::MakeSpan(&write, 1));
}

absl::Status Randomiser::CommitWrites(TrialState& state, absl::Span<TrialWrite> writes) {
  TrialCache& cache = state.cache;
  int64_t sequence = cache.header().audit_length;
  std::string previous = cache.header().audit_head;
  for (TrialWrite& write : writes) {
    write.entry.set_sequence(sequence++);
    write.entry.set_previous_hash(previous);
    write.entry.set_hash(AuditEntryHash(write.entry));
    previous = write.entry.hash();
  }
  const absl::Status status =
      writes.size() == 1 ? store_.Commit(state.id(), writes.front()) : store_.CommitGroup(state.id(), writes);
  if (!status.ok()) {
    state.loaded = false;
    return status;
  }
  bool consistent = true;
  for (const TrialWrite& write : writes) {
    if (write.trial.has_value()) {
      // The cached batch groups follow the design: a new design is read afresh next time.
      if (!google::protobuf::util::MessageDifferencer::Equals(write.trial->design(), cache.trial().design())) {
        state.loaded = false;
      }
      cache.SetTrial(*write.trial);
    }
    for (const Participant& p : write.participants) cache.AddParticipant(p);
    for (const Allocation& a : write.allocations) {
      if (observer_.on_allocated) observer_.on_allocated(state.id(), a);
      consistent = cache.AddAllocation(a).ok() && consistent;
    }
    for (const ParticipantStatus& s : write.statuses) consistent = cache.SetStatus(s).ok() && consistent;
    cache.AdvanceHead(write.entry.hash());
  }
  if (!consistent) state.loaded = false;  // written, but the cache cannot follow: reread it
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
    if (absl::Status s = Load(*state, trial_id); !s.ok()) return s;
    if (google::protobuf::util::MessageDifferencer::Equals(state->cache.trial().design(), design)) {
      state->ReportHead(head);
      return state->cache.TrialView();
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
    const TrialCache& cache = state.cache;
    if (cache.trial().state() != fieldwork::v1::TRIAL_STATE_DRAFT) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trial \"", design.trial_id(), "\" is ", fieldwork::v1::TrialState_Name(cache.trial().state()),
          ": its design can no longer change"));
    }
    // Everyone already enrolled must still fit the new design: read a page of them at a time.
    std::vector<std::string> ids;
    // The site of each cluster on the pages checked so far, so that a cluster spanning sites
    // is refused across pages as within one.
    std::map<std::string, std::string> cluster_site;
    const ExistingParticipants earlier_pages{
        nullptr, [&cluster_site](const std::string& cluster) -> const std::string* {
          auto it = cluster_site.find(cluster);
          return it == cluster_site.end() ? nullptr : &it->second;
        }};
    auto check_page = [&]() -> absl::Status {
      absl::StatusOr<ParticipantRecords> records = store_.ReadRecords(state.id(), ids, {.participants = true});
      if (!records.ok()) return records.status();
      std::vector<Participant> enrolled;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (!records->participants[i].has_value()) return MissingRecord("enrolment", ids[i]);
        enrolled.push_back(*std::move(records->participants[i]));
      }
      EnrolmentCheck check = CheckEnrolment(design, enrolled, earlier_pages);
      ids.clear();
      for (size_t accepted : check.accepted) {
        const Participant& p = enrolled[accepted];
        if (!p.cluster().empty()) cluster_site.emplace(p.cluster(), p.site());
      }
      if (check.errors.empty()) return absl::OkStatus();
      const auto& e = check.errors.front();
      return absl::FailedPreconditionError(absl::StrCat(
          "the new design does not fit participant ", enrolled[static_cast<size_t>(e.row() - 1)].participant_id(),
          " already enrolled: ", e.field(), " ", e.reason()));
    };
    for (const auto& [id, entry] : cache.index()) {
      ids.push_back(id);
      if (ids.size() == kReadPage) {
        if (absl::Status s = check_page(); !s.ok()) return s;
      }
    }
    if (!ids.empty()) {
      if (absl::Status s = check_page(); !s.ok()) return s;
    }
    TrialWrite write;
    write.trial = cache.trial();
    *write.trial->mutable_design() = design;
    write.entry = NewEntry(AuditEntry::KIND_DESIGN_UPDATED, actor, "design updated");
    write.entry.set_content_sha256(DesignHash(design));
    if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    state.ReportHead(head);
    result = cache.TrialView();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<Trial> Randomiser::GetTrial(const std::string& trial_id) {
  Trial result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) {
    result = state.cache.TrialView();
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
    const auto current = state.cache.trial().state();
    if (current != fieldwork::v1::TRIAL_STATE_DRAFT) {
      if (current == fieldwork::v1::TRIAL_STATE_LOCKED) {  // a retry
        state.ReportHead(head);
        result = state.cache.TrialView();
        return absl::OkStatus();
      }
      return absl::FailedPreconditionError(absl::StrCat("trial \"", trial_id, "\" is closed"));
    }
    TrialWrite write;
    write.trial = state.cache.trial();
    write.trial->set_state(fieldwork::v1::TRIAL_STATE_LOCKED);
    write.trial->set_design_sha256(DesignHash(state.cache.trial().design()));
    *write.trial->mutable_locked_at() = ToProto(clock_.Now());
    write.entry = NewEntry(AuditEntry::KIND_DESIGN_LOCKED, actor,
                           absl::StrCat("design locked; sha256 ", write.trial->design_sha256()));
    write.entry.set_content_sha256(write.trial->design_sha256());
    if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    state.ReportHead(head);
    result = state.cache.TrialView();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<Trial> Randomiser::CloseTrial(const std::string& trial_id, const std::string& actor,
                                             fieldwork::v1::AuditHead* head) {
  Trial result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    if (state.cache.trial().state() != fieldwork::v1::TRIAL_STATE_CLOSED) {
      TrialWrite write;
      write.trial = state.cache.trial();
      write.trial->set_state(fieldwork::v1::TRIAL_STATE_CLOSED);
      *write.trial->mutable_closed_at() = ToProto(clock_.Now());
      write.entry = NewEntry(AuditEntry::KIND_TRIAL_CLOSED, actor, "trial closed");
      if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    }
    state.ReportHead(head);
    result = state.cache.TrialView();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

// Enrol commits small calls by group, as AllocateNext does: callers queue; one of them at a
// time (the leader) takes the calls waiting, checks them in arrival order, each as if the calls
// before it were already enrolled, and commits them with one script (one round trip and, with
// appendfsync always, one fsync instead of one per call while the others wait on the trial's
// lock). The script appends one audit entry per call, each naming its own actor, so the log
// reads exactly as if the calls had come one after another, and calls of different actors can
// share a group.
struct Randomiser::EnrolCall {
  EnrolCallRows rows;
  const std::string* actor = nullptr;
  bool done = false;
  absl::Status status;
  fieldwork::v1::EnrolResponse response;
};

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
  EnrolCall me;
  me.rows.rows = forbidden.empty() ? &participants : &permitted;
  me.rows.row_numbers = &row_of;
  me.rows.forbidden = &forbidden;
  me.rows.all_or_nothing = all_or_nothing;
  me.rows.still_wanted = guards.still_wanted;
  me.actor = &actor;
  if (participants.size() > kGroupedCallRows) {
    // A large batch alone, on a state whose head was checked first: it is written in chunks,
    // and would make a group's script hold Redis long.
    absl::Status status = WithTrial(trial_id, [&](TrialState& state) { return EnrolCalls(state, {&me}); });
    if (!status.ok()) return status;
    if (!me.status.ok()) return me.status;
    return std::move(me.response);
  }
  if (absl::Status s = CheckTrialId(trial_id); !s.ok()) return s;
  std::shared_ptr<TrialState> state = StateFor(trial_id);
  std::unique_lock<std::mutex> queue_lock(state->queue_mutex);
  state->enrol_queue.push_back(&me);
  while (!me.done) {
    state->queue_changed.wait(queue_lock, [&] { return me.done || !state->enrol_leader_active; });
    if (me.done) break;
    // Lead: the calls waiting, in arrival order, up to a chunk of rows (at least one call;
    // this one may be left for the next group, and then leads again or is answered by it).
    state->enrol_leader_active = true;
    std::vector<EnrolCall*>& queue = state->enrol_queue;
    size_t taken = 0;
    size_t rows = 0;
    while (taken < queue.size() && (taken == 0 || rows + queue[taken]->rows.rows->size() <= kWriteChunk)) {
      rows += queue[taken]->rows.rows->size();
      ++taken;
    }
    std::vector<EnrolCall*> group(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(taken));
    queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(taken));
    queue_lock.unlock();
    // Optimistic: a commit's compare-and-set on the audit head catches a stale cache, and
    // EnrolCalls checks the head itself when the group commits nothing.
    absl::Status status = WithTrial(trial_id, [&](TrialState& locked) {
      return EnrolCalls(locked, group);
    }, Freshness::kOptimistic);
    queue_lock.lock();
    for (EnrolCall* call : group) {
      if (!status.ok()) call->status = status;
      call->done = true;
    }
    state->enrol_leader_active = false;
    state->queue_changed.notify_all();
  }
  queue_lock.unlock();
  if (!me.status.ok()) return me.status;
  return std::move(me.response);
}

absl::Status Randomiser::EnrolCalls(TrialState& state, const std::vector<EnrolCall*>& calls) {
  const TrialCache& cache = state.cache;
  // Results are kept aside until the commit succeeds: a lost race recomputes the group.
  std::vector<EnrolCallOutcome> outcomes(calls.size());
  if (cache.trial().state() == fieldwork::v1::TRIAL_STATE_CLOSED) {
    for (EnrolCallOutcome& outcome : outcomes) {
      outcome.status = absl::FailedPreconditionError(absl::StrCat("trial \"", state.id(), "\" is closed to enrolment"));
    }
  } else {
    // A row naming an enrolled participant is compared with its stored record (a retry is not
    // an error): those records, and only those, are read.
    std::vector<std::string> known_ids;
    absl::flat_hash_set<absl::string_view> asked;
    for (const EnrolCall* call : calls) {
      for (const Participant& p : *call->rows.rows) {
        if (cache.Find(p.participant_id()) != nullptr && asked.insert(p.participant_id()).second) {
          known_ids.push_back(p.participant_id());
        }
      }
    }
    absl::flat_hash_map<std::string, Participant> known;
    if (!known_ids.empty()) {
      absl::StatusOr<ParticipantRecords> records = store_.ReadRecords(state.id(), known_ids, {.participants = true});
      if (!records.ok()) return records.status();
      for (size_t i = 0; i < known_ids.size(); ++i) {
        if (!records->participants[i].has_value()) return MissingRecord("enrolment", known_ids[i]);
        known.insert_or_assign(known_ids[i], *std::move(records->participants[i]));
      }
    }
    const ExistingParticipants existing{
        [&known](const std::string& id) -> const Participant* {
          auto it = known.find(id);
          return it == known.end() ? nullptr : &it->second;
        },
        [&cache](const std::string& cluster) { return cache.SiteOfCluster(cluster); }};
    std::vector<const EnrolCallRows*> rows;
    for (const EnrolCall* call : calls) rows.push_back(&call->rows);
    outcomes = CheckEnrolCalls(cache.trial().design(), rows, existing);
  }
  // One write per call with rows to enrol, or per chunk of them for a large call: each is
  // atomic with its audit entry, which names the call's actor.
  const auto now = ToProto(clock_.Now());
  auto chunk = [&](size_t c, size_t start) {
    const std::vector<size_t>& accepted = outcomes[c].accepted;
    TrialWrite write;
    std::map<std::string, std::string> records;
    const size_t end = std::min(accepted.size(), start + kWriteChunk);
    for (size_t i = start; i < end; ++i) {
      Participant p = (*calls[c]->rows.rows)[accepted[i]];
      *p.mutable_enrolled_at() = now;
      records[p.participant_id()] = DeterministicBytes(p);
      write.participants.push_back(std::move(p));
    }
    write.entry = NewEntry(AuditEntry::KIND_ENROLMENT, *calls[c]->actor,
                           absl::StrCat("enrolled ", write.participants.size(), " participant(s)"));
    for (const auto& [id, bytes] : records) write.entry.add_participant_ids(id);
    write.entry.set_content_sha256(ContentHash(records));
    return write;
  };
  size_t rows_to_write = 0;
  for (const EnrolCallOutcome& outcome : outcomes) rows_to_write += outcome.accepted.size();
  fieldwork::v1::AuditHead head;
  state.ReportHead(&head);
  if (rows_to_write == 0 && !state.head_checked) {
    // Nothing commits, so no compare-and-set vouches for the cache these answers came from
    // (a design changed, or a participant enrolled, through another replica): check the head.
    absl::StatusOr<std::string> stored = store_.AuditHead(state.id());
    if (!stored.ok()) return stored.status();
    if (*stored != head.sha256()) return absl::AbortedError("reload");
  }
  // The log's head after each call's last entry (none when the call wrote nothing).
  std::vector<std::optional<fieldwork::v1::AuditHead>> written(calls.size());
  auto head_after = [](const AuditEntry& entry) {
    fieldwork::v1::AuditHead after;
    after.set_length(entry.sequence() + 1);
    after.set_sha256(entry.hash());
    return after;
  };
  if (rows_to_write <= kWriteChunk) {
    // A group (or a call of at most a chunk): one commit, one entry per call.
    std::vector<TrialWrite> writes;
    std::vector<size_t> writer;
    for (size_t c = 0; c < calls.size(); ++c) {
      if (outcomes[c].accepted.empty()) continue;
      writes.push_back(chunk(c, 0));
      writer.push_back(c);
    }
    if (!writes.empty()) {
      if (absl::Status s = CommitWrites(state, absl::MakeSpan(writes)); !s.ok()) return s;
    }
    for (size_t w = 0; w < writes.size(); ++w) written[writer[w]] = head_after(writes[w].entry);
  } else {
    // A large call (a group is at most a chunk), a chunk at a time, each built just before its
    // commit so that its rows are not held twice. Every row was checked before the first
    // chunk; if Redis fails between chunks, a retry finds the committed rows unchanged, and
    // the error says so: the caller was told the call is one batch.
    for (size_t c = 0; c < calls.size(); ++c) {
      const size_t rows = outcomes[c].accepted.size();
      for (size_t start = 0; start < rows; start += kWriteChunk) {
        TrialWrite write = chunk(c, start);
        if (absl::Status s = CommitWrites(state, absl::MakeSpan(&write, 1)); !s.ok()) {
          if (start == 0) return s;
          return absl::Status(
              s.code(),
              absl::StrCat(s.message(), "; ", start, " of the call's ", rows,
                           " new rows are enrolled (with their audit entries), the other ",
                           rows - start,
                           " were not confirmed: send the same rows again "
                           "(rows already enrolled come back unchanged)"));
        }
        written[c] = head_after(write.entry);
      }
    }
  }
  // Each call's head is the log's after its own entries, or, when it wrote nothing, after
  // those of the calls before it: what it would have been told alone, the calls in this order.
  for (size_t c = 0; c < calls.size(); ++c) {
    EnrolCallOutcome& outcome = outcomes[c];
    if (written[c].has_value()) head = *written[c];
    calls[c]->status = outcome.status;
    if (!outcome.status.ok()) continue;
    const auto enrolled = static_cast<int64_t>(outcome.accepted.size());
    outcome.response.set_enrolled(enrolled);
    *outcome.response.mutable_audit_head() = head;
    calls[c]->response = std::move(outcome.response);
    if (enrolled > 0 && observer_.on_enrolled) observer_.on_enrolled(state.id(), enrolled);
  }
  return absl::OkStatus();
}

absl::StatusOr<fieldwork::v1::RandomiseResponse> Randomiser::Randomise(const std::string& trial_id,
                                                                       const std::string& cohort,
                                                                       const std::string& actor) {
  fieldwork::v1::RandomiseResponse response;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    response.Clear();
    const TrialCache& cache = state.cache;
    const TrialDesign& design = cache.trial().design();
    if (cache.trial().state() != fieldwork::v1::TRIAL_STATE_LOCKED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trial \"", trial_id, "\" must be LOCKED to randomise (it is ",
          fieldwork::v1::TrialState_Name(cache.trial().state()), ")"));
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
    const size_t factors = static_cast<size_t>(design.factors_size());
    for (const std::string& c : cohorts) {
      const int64_t batch = cache.NextBatch(c);
      // The whole batch is drawn before any of it is written, then written in parts of
      // kWriteChunk, each with its audit entry (no one Redis script holds the server long).
      absl::StatusOr<DrawnBatch> drawn = DrawBatch(store_, cache, c, batch);
      if (!drawn.ok()) return drawn.status();
      response.set_already_allocated(response.already_allocated() + drawn->already_allocated);
      response.set_rerandomisation_draws(response.rerandomisation_draws() + drawn->rerandomisation_draws);
      const std::vector<std::string>& order = drawn->ids;
      const auto now = ToProto(clock_.Now());
      const size_t chunks = (order.size() + kWriteChunk - 1) / kWriteChunk;
      for (size_t chunk = 0; chunk < chunks; ++chunk) {
        TrialWrite write;
        std::map<std::string, std::string> records;
        const size_t end = std::min(order.size(), (chunk + 1) * kWriteChunk);
        for (size_t i = chunk * kWriteChunk; i < end; ++i) {
          const TrialCache::Entry* entry = cache.Find(order[i]);
          Allocation& a = write.allocations.emplace_back();
          a.set_participant_id(order[i]);
          a.set_site(cache.text(entry->site));
          a.set_cohort(c);
          a.set_cluster(cache.text(entry->cluster));
          for (size_t f = 0; f < factors; ++f) {
            const fieldwork::v1::Assignment& assignment = drawn->assignments[drawn->drawn[i * factors + f]];
            (*response.mutable_counts())[absl::StrCat(assignment.factor(), "/", assignment.arm())] += 1;
            *a.add_assignments() = assignment;
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
        const int64_t allocated_before = response.newly_allocated();
        response.set_newly_allocated(allocated_before +
                                     static_cast<int64_t>(write.allocations.size()));
        if (absl::Status s = Commit(state, std::move(write)); !s.ok()) {
          if (allocated_before == 0) return s;
          // Storage failed after some parts were written: say what stands, as the caller
          // cannot tell from the error alone.
          return absl::Status(
              s.code(),
              absl::StrCat(s.message(), "; ", allocated_before,
                           " participant(s) were allocated before the failure, each in an audit "
                           "entry",
                           chunk == 0
                               ? ""
                               : absl::StrCat(", batch ", batch, c.empty() ? "" : " of cohort " + c,
                                              " only in part (", chunk * kWriteChunk, " of ",
                                              order.size(), ")"),
                           ": Randomise again allocates the others (a batch cut part-way is "
                           "finished as a new batch, balanced within itself)"));
        }
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
  const TrialCache& cache = state.cache;
  const TrialDesign& design = cache.trial().design();
  if (cache.trial().state() != fieldwork::v1::TRIAL_STATE_LOCKED) {
    return absl::FailedPreconditionError(absl::StrCat("trial \"", state.id(), "\" must be LOCKED to allocate"));
  }
  if (!IsSequentialDesign(design)) {
    return absl::FailedPreconditionError("this design is randomised in batches: use Randomise");
  }
  // The records of the enrolled arrivals, read together: the participants to allocate, and
  // the allocations (and statuses) to answer with for those already allocated.
  std::vector<std::string> to_allocate;
  std::vector<std::string> allocated;
  for (const Arrival* arrival : batch) {
    if (const TrialCache::Entry* entry = cache.Find(arrival->participant_id); entry != nullptr) {
      (entry->allocated() ? allocated : to_allocate).push_back(arrival->participant_id);
    } else if (!state.fresh) {
      // The cache may predate an enrolment made through another replica: look again.
      return absl::AbortedError("reload");
    }
  }
  absl::StatusOr<ParticipantRecords> arriving = store_.ReadRecords(state.id(), to_allocate, {.participants = true});
  if (!arriving.ok()) return arriving.status();
  absl::StatusOr<ParticipantRecords> answered =
      store_.ReadRecords(state.id(), allocated, {.allocations = true, .statuses = true});
  if (!answered.ok()) return answered.status();
  std::map<std::string, const Participant*> participants;
  for (size_t r = 0; r < to_allocate.size(); ++r) {
    if (arriving->participants[r].has_value()) participants.emplace(to_allocate[r], &*arriving->participants[r]);
  }
  std::map<std::string, size_t> answer_of;
  for (size_t r = 0; r < allocated.size(); ++r) answer_of.emplace(allocated[r], r);
  auto participant_of = [&](const std::string& id) -> const Participant* {
    auto it = participants.find(id);
    return it == participants.end() ? nullptr : it->second;
  };
  // Results are kept aside until the commit succeeds: a lost race recomputes the batch.
  std::vector<absl::Status> statuses(batch.size());
  std::vector<fieldwork::v1::AllocateNextResponse> responses(batch.size());
  std::map<std::string, Allocation> new_allocations;  // participant id -> allocation
  std::map<std::string, std::string> actor_of;        // participant id -> the arrival's actor
  std::map<std::string, size_t> first_arrival;        // actor -> its first allocating arrival
  for (size_t i = 0; i < batch.size(); ++i) {
    const std::string& participant_id = batch[i]->participant_id;
    const TrialCache::Entry* entry = cache.Find(participant_id);
    if (entry == nullptr) {
      statuses[i] = NotEnrolled(participant_id);
      continue;
    }
    if (entry->allocated()) {
      const size_t r = answer_of.at(participant_id);
      if (!answered->allocations[r].has_value()) return MissingRecord("allocation", participant_id);
      *responses[i].mutable_allocation() = View(*answered->allocations[r], answered->statuses[r]);
      continue;
    }
    if (auto it = new_allocations.find(participant_id); it != new_allocations.end()) {
      *responses[i].mutable_allocation() = it->second;  // the same arrival twice in one batch
      continue;
    }
    if (entry->gone()) {
      statuses[i] = absl::FailedPreconditionError(absl::StrCat("participant \"", participant_id, "\" has withdrawn or left"));
      continue;
    }
    const Participant* participant = participant_of(participant_id);
    if (participant == nullptr) return MissingRecord("enrolment", participant_id);
    const std::string& cohort = participant->cohort();
    absl::StatusOr<SequentialAllocator*> allocator = CohortAllocator(state, cohort, new_allocations, participant_of);
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
    actor_of.emplace(participant_id, batch[i]->actor);
    first_arrival.emplace(batch[i]->actor, i);
  }
  if (!new_allocations.empty()) {
    // One entry per actor, each covering the allocations its arrivals made: an entry names its
    // actor, so arrivals of different callers in one group are not recorded under one of them.
    // The entries are committed together (one script, one fsync).
    std::vector<std::string> actors;  // in order of their first arrival in the group
    std::map<std::string, std::vector<Allocation>> by_actor;
    for (auto& [id, allocation] : new_allocations) {
      const std::string& actor = actor_of.at(id);
      if (by_actor.find(actor) == by_actor.end()) actors.push_back(actor);
      by_actor[actor].push_back(std::move(allocation));
    }
    std::sort(actors.begin(), actors.end(), [&](const std::string& x, const std::string& y) {
      return first_arrival.at(x) < first_arrival.at(y);
    });
    std::vector<TrialWrite> writes;
    for (const std::string& actor : actors) {
      std::vector<Allocation>& ordered = by_actor[actor];
      TrialWrite& write = writes.emplace_back();
      std::map<std::string, std::string> content;
      for (const Allocation& allocation : ordered) content[allocation.participant_id()] = DeterministicBytes(allocation);
      write.entry = NewEntry(AuditEntry::KIND_ALLOCATION, actor,
                             absl::StrCat("allocated ", ordered.size(), " arrival(s) one at a time"));
      for (const auto& [id, bytes] : content) write.entry.add_participant_ids(id);
      write.entry.set_content_sha256(ContentHash(content));
      // Stored in arrival order, so a later rebuild replays them in the same order.
      std::sort(ordered.begin(), ordered.end(), [](const Allocation& x, const Allocation& y) {
        return std::make_pair(x.cohort(), x.batch()) < std::make_pair(y.cohort(), y.batch());
      });
      write.allocations = std::move(ordered);
    }
    if (absl::Status c = CommitWrites(state, absl::MakeSpan(writes)); !c.ok()) {
      state.sequential.clear();
      return c;
    }
  }
  // A new allocation has no withdrawal or leaving date to show (an arrival that has one is not
  // allocated), and an earlier one was shown with its status above.
  for (size_t i = 0; i < batch.size(); ++i) {
    state.ReportHead(responses[i].mutable_audit_head());
    batch[i]->status = statuses[i];
    batch[i]->response = std::move(responses[i]);
  }
  return absl::OkStatus();
}

absl::StatusOr<SequentialAllocator*> Randomiser::CohortAllocator(
    TrialState& state, const std::string& cohort, const std::map<std::string, Allocation>& pending,
    const std::function<const Participant*(const std::string& id)>& pending_participant) {
  std::unique_ptr<SequentialAllocator>& allocator = state.sequential[cohort];
  if (allocator != nullptr) return allocator.get();
  // Rebuild the running state by replaying the cohort's allocations (stored, then pending in
  // this batch) in arrival order, checking that the replay reproduces each of them. The stored
  // ones are read a page at a time (this happens once per cohort after a load).
  const TrialCache& cache = state.cache;
  allocator = std::make_unique<SequentialAllocator>(cache.secret(), cache.trial().design(), cohort);
  auto replay = [&](const Participant* participant, const Allocation& a) -> absl::Status {
    absl::StatusOr<std::vector<fieldwork::v1::Assignment>> replayed =
        participant == nullptr ? absl::DataLossError("no enrolment") : allocator->Next(*participant);
    if (!replayed.ok() || replayed->size() != static_cast<size_t>(a.assignments_size()) ||
        (*replayed)[0].arm() != a.assignments(0).arm()) {
      allocator.reset();
      return absl::DataLossError(absl::StrCat("stored allocation of ", a.participant_id(),
                                              " does not replay from the trial secret"));
    }
    return absl::OkStatus();
  };
  std::vector<std::pair<int64_t, std::string>> stored;  // (sequence, participant id)
  if (const std::optional<TrialCache::Text> text = cache.FindText(cohort); text.has_value()) {
    for (const auto& [id, entry] : cache.index()) {
      if (entry.cohort == *text && entry.allocated()) stored.emplace_back(entry.batch, id);
    }
  }
  std::sort(stored.begin(), stored.end());
  std::vector<std::string> stored_ids;
  stored_ids.reserve(stored.size());
  for (auto& [sequence, id] : stored) stored_ids.push_back(std::move(id));
  absl::Status replayed = ForEachRecordPage(
      store_, state.id(), stored_ids, {.participants = true, .allocations = true}, kReadPage,
      [&](const std::vector<std::string>& ids, ParticipantRecords& records) -> absl::Status {
        for (size_t i = 0; i < ids.size(); ++i) {
          if (!records.allocations[i].has_value()) return MissingRecord("allocation", ids[i]);
          const std::optional<Participant>& participant = records.participants[i];
          if (absl::Status s = replay(participant.has_value() ? &*participant : nullptr, *records.allocations[i]);
              !s.ok()) {
            return s;
          }
        }
        return absl::OkStatus();
      });
  if (!replayed.ok()) {
    allocator.reset();
    return replayed;
  }
  std::vector<const Allocation*> arrivals;
  for (const auto& [id, a] : pending) {
    if (a.cohort() == cohort) arrivals.push_back(&a);
  }
  std::sort(arrivals.begin(), arrivals.end(),
            [](const Allocation* a, const Allocation* b) { return a->batch() < b->batch(); });
  for (const Allocation* a : arrivals) {
    if (absl::Status s = replay(pending_participant(a->participant_id()), *a); !s.ok()) return s;
  }
  return allocator.get();
}

absl::StatusOr<Allocation> Randomiser::GetAllocation(const std::string& trial_id,
                                                     const std::string& participant_id) {
  if (absl::Status s = CheckParticipantId(participant_id); !s.ok()) return s;
  Allocation result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    const TrialCache::Entry* entry = state.cache.Find(participant_id);
    if (entry == nullptr || !entry->allocated()) {
      return absl::NotFoundError(absl::StrCat("participant \"", participant_id, "\" is not allocated"));
    }
    absl::StatusOr<ParticipantRecords> records =
        store_.ReadRecords(trial_id, {participant_id}, {.allocations = true, .statuses = true});
    if (!records.ok()) return records.status();
    if (!records->allocations[0].has_value()) return MissingRecord("allocation", participant_id);
    result = View(*std::move(records->allocations[0]), records->statuses[0]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::Status Randomiser::WalkParticipants(
    const std::string& trial_id, const std::function<bool(const TrialCache&, const TrialCache::Entry&)>& select,
    const std::function<absl::Status(TrialState&, const std::vector<std::string>& ids)>& read,
    const std::function<bool()>& visit_page) {
  std::optional<std::string> after;  // the last id of the pages visited
  bool done = false;
  while (!done) {
    std::optional<std::string> last;  // this page's; WithTrial may run the page again
    absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
      const TrialCache::Index& index = state.cache.index();
      auto it = after.has_value() ? index.upper_bound(*after) : index.begin();
      std::vector<std::string> ids;
      last = after;
      for (size_t looked = 0; it != index.end() && ids.size() < kListPage && looked < kListScan; ++it, ++looked) {
        if (select(state.cache, it->second)) ids.push_back(it->first);
        last = it->first;
      }
      done = it == index.end();
      return ids.empty() ? absl::OkStatus() : read(state, ids);
    });
    if (!status.ok()) return status;
    after = std::move(last);
    if (!visit_page()) return absl::OkStatus();
  }
  return absl::OkStatus();
}

namespace {

// The List calls' filters on what the cache knows of a participant.
bool InSiteAndCohort(const TrialCache& cache, const TrialCache::Entry& entry, const std::string& site,
                     const std::string& cohort) {
  return (site.empty() || cache.text(entry.site) == site) && (cohort.empty() || cache.text(entry.cohort) == cohort);
}

}  // namespace

absl::Status Randomiser::ListAllocations(const std::string& trial_id, const AllocationFilter& filter,
                                         const std::function<bool(Allocation&)>& visit) {
  std::vector<Allocation> page;
  return WalkParticipants(
      trial_id,
      [&](const TrialCache& cache, const TrialCache::Entry& entry) {
        return entry.allocated() && InSiteAndCohort(cache, entry, filter.site, filter.cohort);
      },
      [&](TrialState&, const std::vector<std::string>& ids) -> absl::Status {
        absl::StatusOr<ParticipantRecords> records =
            store_.ReadRecords(trial_id, ids, {.allocations = true, .statuses = true});
        if (!records.ok()) return records.status();
        for (size_t i = 0; i < ids.size(); ++i) {
          if (!records->allocations[i].has_value()) return MissingRecord("allocation", ids[i]);
          const Allocation& a = *records->allocations[i];
          if (!filter.factor.empty()) {
            bool match = false;
            for (const auto& assignment : a.assignments()) {
              match = match || (assignment.factor() == filter.factor &&
                                (filter.arm.empty() || assignment.arm() == filter.arm));
            }
            if (!match) continue;
          }
          page.push_back(View(*std::move(records->allocations[i]), records->statuses[i]));
        }
        return absl::OkStatus();
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
    const TrialCache::Entry* entry = state.cache.Find(participant_id);
    if (entry == nullptr) return NotEnrolled(participant_id);
    absl::StatusOr<ParticipantRecords> records =
        store_.ReadRecords(trial_id, {participant_id}, {.participants = true, .statuses = true});
    if (!records.ok()) return records.status();
    if (!records->participants[0].has_value()) return MissingRecord("enrolment", participant_id);
    result = StatusView(*std::move(records->participants[0]), records->statuses[0], entry->allocated());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::vector<fieldwork::v1::ParticipantLookup>> Randomiser::GetParticipants(
    const std::string& trial_id, const std::vector<std::string>& participant_ids,
    LookupDetail detail) {
  for (size_t i = 0; i < participant_ids.size(); ++i) {
    const std::string field = absl::StrCat("participant_ids[", i, "]");
    if (absl::Status s = CheckParticipantId(participant_ids[i], field); !s.ok()) return s;
  }
  std::vector<fieldwork::v1::ParticipantLookup> result;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    result.clear();  // a retry on a fresher state starts again
    result.reserve(participant_ids.size());
    // The enrolled ones (the cache knows them) are read from the store in one go.
    std::vector<std::string> known;
    std::vector<size_t> position;
    std::vector<bool> allocated;
    for (const std::string& id : participant_ids) {
      result.emplace_back().set_participant_id(id);
      const TrialCache::Entry* entry = state.cache.Find(id);
      if (entry == nullptr) continue;
      if (detail == LookupDetail::kRoster) {
        result.back().set_enrolled(true);
        *result.back().mutable_roster() = RosterFactsOf(state.cache, *entry);
        continue;
      }
      known.push_back(id);
      position.push_back(result.size() - 1);
      allocated.push_back(entry->allocated());
    }
    if (known.empty()) return absl::OkStatus();
    const bool with_allocations = detail == LookupDetail::kStatusAndAllocation;
    absl::StatusOr<ParticipantRecords> records = store_.ReadRecords(
        trial_id, known,
        {.participants = true, .allocations = with_allocations, .statuses = true});
    if (!records.ok()) return records.status();
    for (size_t k = 0; k < known.size(); ++k) {
      if (!records->participants[k].has_value()) return MissingRecord("enrolment", known[k]);
      fieldwork::v1::ParticipantLookup& found = result[position[k]];
      found.set_enrolled(true);
      *found.mutable_status() =
          StatusView(*std::move(records->participants[k]), records->statuses[k], allocated[k]);
      if (!with_allocations || !allocated[k]) continue;
      if (!records->allocations[k].has_value()) return MissingRecord("allocation", known[k]);
      *found.mutable_allocation() = View(*std::move(records->allocations[k]), records->statuses[k]);
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
  return WalkParticipants(
      trial_id,
      [&](const TrialCache& cache, const TrialCache::Entry& entry) {
        return InSiteAndCohort(cache, entry, site, cohort);
      },
      [&](TrialState& state, const std::vector<std::string>& ids) -> absl::Status {
        absl::StatusOr<ParticipantRecords> records =
            store_.ReadRecords(trial_id, ids, {.participants = true, .statuses = true});
        if (!records.ok()) return records.status();
        for (size_t i = 0; i < ids.size(); ++i) {
          if (!records->participants[i].has_value()) return MissingRecord("enrolment", ids[i]);
          const TrialCache::Entry* entry = state.cache.Find(ids[i]);
          page.push_back(StatusView(*std::move(records->participants[i]), records->statuses[i],
                                    entry != nullptr && entry->allocated()));
        }
        return absl::OkStatus();
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
  if (absl::Status s = CheckParticipantId(participant_id); !s.ok()) return s;
  std::string site;
  // The cache knows every participant's site: no record is read.
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    const TrialCache::Entry* entry = state.cache.Find(participant_id);
    if (entry == nullptr) return NotEnrolled(participant_id);
    site = state.cache.text(entry->site);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return site;
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
    const TrialCache& cache = state.cache;
    std::vector<std::string> targets;
    if (request.target_case() == fieldwork::v1::WithdrawRequest::kParticipantId) {
      if (cache.Find(request.participant_id()) == nullptr) return NotEnrolled(request.participant_id());
      targets.push_back(request.participant_id());
    } else {
      bool known = false;
      for (const auto& site : cache.trial().design().sites()) known = known || site.id() == request.site();
      if (!known) return absl::NotFoundError(absl::StrCat("site ", Excerpt(request.site()), " is not a site of the trial"));
      if (const std::optional<TrialCache::Text> site = cache.FindText(request.site()); site.has_value()) {
        for (const auto& [id, entry] : cache.index()) {
          if (entry.site == *site) targets.push_back(id);
        }
      }
    }
    TrialWrite write;
    // A status carries the whole participant record: read them a page at a time.
    absl::Status read = ForEachRecordPage(
        store_, state.id(), targets, {.participants = true, .statuses = true}, kReadPage,
        [&](const std::vector<std::string>& ids, ParticipantRecords& records) -> absl::Status {
          for (size_t i = 0; i < ids.size(); ++i) {
            if (!records.participants[i].has_value()) return MissingRecord("enrolment", ids[i]);
            if (records.statuses[i].has_value() && records.statuses[i]->has_withdrawal()) {
              continue;  // withdrawing twice changes nothing
            }
            ParticipantStatus updated =
                StatusView(*std::move(records.participants[i]), records.statuses[i], false);
            auto* w = updated.mutable_withdrawal();
            *w->mutable_date() = request.has_date() ? request.date() : Today(clock_.Now());
            w->set_reason(request.reason());
            w->set_with_site(request.target_case() == fieldwork::v1::WithdrawRequest::kSite);
            updated.clear_allocated();
            write.statuses.push_back(std::move(updated));
          }
          return absl::OkStatus();
        });
    if (!read.ok()) return read;
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
    const std::string& id = request.participant_id();
    if (state.cache.Find(id) == nullptr) return NotEnrolled(id);
    absl::StatusOr<ParticipantRecords> records =
        store_.ReadRecords(state.id(), {id}, {.participants = true, .statuses = true});
    if (!records.ok()) return records.status();
    if (!records->participants[0].has_value()) return MissingRecord("enrolment", id);
    ParticipantStatus status = StatusView(*std::move(records->participants[0]), records->statuses[0], false);
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
                                                                   const std::string& cohort,
                                                                   bool counts_only) {
  fieldwork::v1::BalanceResponse response;
  absl::Status status = WithTrial(trial_id, [&](TrialState& state) -> absl::Status {
    response.Clear();
    const TrialCache& cache = state.cache;
    const TrialDesign& design = cache.trial().design();
    bool found = factor_name.empty();
    // The allocated participants of the cohort (every cohort when empty), in id order: their
    // ids and index entries.
    std::vector<const TrialCache::Index::value_type*> allocated;
    const std::optional<TrialCache::Text> cohort_text = cache.FindText(cohort);
    for (const TrialCache::Index::value_type& participant : cache.index()) {
      const TrialCache::Entry& entry = participant.second;
      if (entry.allocated() && (cohort.empty() || (cohort_text.has_value() && entry.cohort == *cohort_text))) {
        allocated.push_back(&participant);
      }
    }
    // Their ids, for reading their records: only the covariates' balance reads them.
    std::vector<std::string> allocated_ids;
    if (!counts_only) {
      allocated_ids.reserve(allocated.size());
      for (const auto* participant : allocated) allocated_ids.push_back(participant->first);
    }
    // Each allocated participant's arm for factor `f`, site and cohort. The covariates'
    // balance needs the participants' records (`with_participants`), read a page at a time;
    // counts alone come from the trial's index, without reading any record (`participant` is
    // null then).
    using Visit = std::function<void(const Participant* participant, const std::string& arm,
                                     const std::string& site, const std::string& cohort)>;
    auto for_each_allocated = [&](bool with_participants, int f,
                                  const Visit& visit) -> absl::Status {
      if (!with_participants) {
        for (const auto* participant : allocated) {
          const TrialCache::Entry& entry = participant->second;
          if (static_cast<size_t>(f) >= entry.arms.size()) {
            return MissingRecord("allocation", participant->first);
          }
          visit(nullptr, cache.text(entry.arms[static_cast<size_t>(f)]), cache.text(entry.site),
                cache.text(entry.cohort));
        }
        return absl::OkStatus();
      }
      return ForEachRecordPage(
          store_, state.id(), allocated_ids, {.participants = true, .allocations = true}, kReadPage,
          [&](const std::vector<std::string>& ids, ParticipantRecords& records) -> absl::Status {
            for (size_t i = 0; i < ids.size(); ++i) {
              if (!records.participants[i].has_value()) return MissingRecord("enrolment", ids[i]);
              if (!records.allocations[i].has_value()) return MissingRecord("allocation", ids[i]);
              const Allocation& a = *records.allocations[i];
              visit(&*records.participants[i], a.assignments(f).arm(), a.site(), a.cohort());
            }
            return absl::OkStatus();
          });
    };
    for (int f = 0; f < design.factors_size(); ++f) {
      const auto& factor = design.factors(f);
      if (!factor_name.empty() && factor.name() != factor_name) continue;
      found = true;
      // Arms: the design's; for orders, the orders seen.
      std::vector<Arm> arms;
      for (const auto& arm : factor.arms()) arms.push_back(Arm{arm.name(), arm.weight()});
      // Order factors have no declared arms: their arms are the orders seen, equally likely.
      std::map<std::string, int> arm_index;
      if (factor.arms().empty()) {
        // The orders seen are on the allocations alone.
        auto note_order = [&](const Participant*, const std::string& order, const std::string&,
                              const std::string&) { arm_index.emplace(order, 0); };
        if (absl::Status s = for_each_allocated(false, f, note_order); !s.ok()) {
          return s;
        }
        for (auto& [name, index] : arm_index) {
          index = static_cast<int>(arms.size());
          arms.push_back(Arm{name, 1});
        }
      } else {
        for (size_t i = 0; i < arms.size(); ++i) arm_index[arms[i].name] = static_cast<int>(i);
      }
      std::vector<Unit> units;
      std::vector<int> arm_of;
      std::vector<int64_t> arm_counts(arms.size(), 0);
      auto* out = response.add_factors();
      out->set_factor(factor.name());
      std::map<std::string, fieldwork::v1::Stratum> strata;
      auto count = [&](const Participant* p, const std::string& arm, const std::string& site_id,
                       const std::string& cohort_id) {
        ++arm_counts[static_cast<size_t>(arm_index[arm])];
        (*out->mutable_count_by_arm())[arm] += 1;
        if (p != nullptr) {
          units.push_back(ToUnit(design, factor, *p));
          arm_of.push_back(arm_index[arm]);
          auto& stratum = strata[units.back().stratum];
          stratum.set_key(units.back().stratum);
          (*stratum.mutable_count_by_arm())[arm] += 1;
        }
        auto& site = (*out->mutable_by_site())[site_id];
        site.set_key(site_id);
        (*site.mutable_count_by_arm())[arm] += 1;
        auto& by_cohort = (*out->mutable_by_cohort())[cohort_id];
        by_cohort.set_key(cohort_id);
        (*by_cohort.mutable_count_by_arm())[arm] += 1;
      };
      if (absl::Status s = for_each_allocated(!counts_only, f, count); !s.ok()) {
        return s;
      }
      for (auto& [key, stratum] : strata) *out->add_strata() = std::move(stratum);
      if (allocated.empty()) continue;
      absl::StatusOr<SampleRatioMismatch> srm = SampleRatioTest(arm_counts, arms);
      if (!srm.ok()) return srm.status();
      out->set_srm_chi_squared(srm->chi_square);
      out->set_srm_p_value(srm->p_value);
      if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_ASSIGNED) {
        // Given arms have no ratio to mismatch: the test does not apply (NaN), so no SRM
        // warning fires for a pilot whose cohorts are unequal by choice.
        out->set_srm_chi_squared(std::numeric_limits<double>::quiet_NaN());
        out->set_srm_p_value(std::numeric_limits<double>::quiet_NaN());
      }
      if (counts_only) continue;
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
    }
    if (!found) return absl::NotFoundError(absl::StrCat("no factor \"", factor_name, "\""));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<fieldwork::v1::AuditHead> Randomiser::GetAuditHead(const std::string& trial_id) {
  // From the store, not through the trial's state: a version check (the analysis monitor,
  // `fieldwork status`) must neither wait behind the trial's writers and long reads nor make
  // this replica load a trial it does not hold.
  if (absl::Status s = CheckTrialId(trial_id); !s.ok()) return s;
  return store_.ReadAuditHead(trial_id);
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
    if (state.cache.trial().state() != fieldwork::v1::TRIAL_STATE_CLOSED) {
      return absl::FailedPreconditionError("the secret is revealed only after the trial is closed");
    }
    TrialWrite write;
    write.entry = NewEntry(AuditEntry::KIND_SECRET_REVEALED, actor, "trial secret revealed");
    if (absl::Status s = Commit(state, std::move(write)); !s.ok()) return s;
    state.ReportHead(response.mutable_audit_head());
    response.set_secret_hex(HexEncode(state.cache.secret()));
    response.set_secret_commitment(state.cache.trial().secret_commitment());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

}  // namespace fieldwork::randomisation

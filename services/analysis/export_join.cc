#include "services/analysis/export_join.h"

#include <memory>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/analysis/join.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

void TakeUp::Add(const std::string& participant, const std::string& campaign) {
  auto [it, inserted] = numbers_.emplace(campaign, static_cast<uint32_t>(campaigns_.size()));
  if (inserted) campaigns_.push_back(campaign);
  pairs_.emplace(participant, it->second);
}

namespace {

absl::Status Annotate(const absl::Status& status, absl::string_view source) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(source, ": ", status.message()));
}

// The head of a stream, checked to be in participant id order.
template <typename T>
class Cursor {
 public:
  using IdOf = const std::string& (*)(const T&);
  Cursor(std::unique_ptr<ItemStream<T>> stream, std::string source, IdOf id_of)
      : stream_(std::move(stream)), source_(std::move(source)), id_of_(id_of) {}

  // Reads the next item into head(); at the end, done() and the stream's status.
  absl::Status Advance() {
    if (!stream_->Next(head_)) {
      done_ = true;
      return Annotate(stream_->Finish(), source_);
    }
    const std::string& id = id_of_(head_);
    if (started_ && id < id_) {
      return absl::FailedPreconditionError(
          absl::StrCat(source_, ": participant ids out of order (\"", id, "\" after \"", id_,
                       "\"); the export's merge join needs them in participant id order"));
    }
    id_ = id;
    started_ = true;
    return absl::OkStatus();
  }
  bool done() const { return done_; }
  T& head() { return head_; }
  // The head's participant id.
  const std::string& id() const { return id_; }

  // Skips the items of participants before `id`, then calls `take` with each item of `id`.
  template <typename Take>
  absl::Status Match(const std::string& id, Take take) {
    while (!done_ && id_ < id) {
      if (absl::Status s = Advance(); !s.ok()) return s;
    }
    while (!done_ && id_ == id) {
      take(head_);
      if (absl::Status s = Advance(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<ItemStream<T>> stream_;
  std::string source_;
  IdOf id_of_;
  T head_;
  std::string id_;
  bool started_ = false;
  bool done_ = false;
};

const std::string& StatusId(const v1::ParticipantStatus& s) {
  return s.participant().participant_id();
}
const std::string& AllocationId(const v1::Allocation& a) { return a.participant_id(); }
const std::string& ResponseId(const v1::Response& r) { return r.participant_id(); }
const std::string& OutcomeId(const v1::Outcome& o) { return o.participant_id(); }

// The campaigns that some enrolled participant took up (LoadTrial's join drops the take-up of
// participants who are not enrolled, so their campaigns get no column). Campaigns other than
// the plan's are confirmed by walking the participants until each has an enrolled taker.
absl::Status TakenUpByEnrolled(const Sources& sources, const std::string& trial,
                               const v1::AnalysisPlan& plan, const TakeUp& take_up,
                               std::set<std::string>& taken_up) {
  std::vector<uint32_t> unconfirmed;
  for (uint32_t c = 0; c < take_up.campaigns().size(); ++c) {
    if (take_up.campaigns()[c] == plan.takeup_campaign()) {
      taken_up.insert(take_up.campaigns()[c]);
    } else {
      unconfirmed.push_back(c);
    }
  }
  if (unconfirmed.empty()) return absl::OkStatus();
  Cursor<v1::ParticipantStatus> participants(sources.allocations->StreamParticipants(trial),
                                             "randomisation ListParticipants", StatusId);
  while (!unconfirmed.empty()) {
    if (absl::Status s = participants.Advance(); !s.ok()) return s;
    if (participants.done()) break;
    std::erase_if(unconfirmed, [&](uint32_t c) {
      if (!take_up.Has(participants.id(), c)) return false;
      taken_up.insert(take_up.campaigns()[c]);
      return true;
    });
  }
  // A stream left before its end is cancelled when `participants` goes.
  return absl::OkStatus();
}

}  // namespace

absl::Status StreamDataset(const Sources& sources, const v1::AnalysisPlan& plan,
                           const std::string& trial,
                           const std::function<bool(const DatasetLayout& layout)>& start,
                           const std::function<bool(const std::string& line)>& write) {
  if (sources.allocations == nullptr) return absl::InternalError("no allocation source configured");
  absl::StatusOr<v1::Trial> trial_record = sources.allocations->GetTrial(trial);
  if (!trial_record.ok()) return trial_record.status();
  // One participant's join at a time, in the shape BuildDataset reads, so that the lines are
  // made by the very code that makes them from LoadTrial's join.
  JoinedTrial joined;
  joined.trial = std::move(*trial_record);
  if (sources.responses != nullptr) {
    absl::StatusOr<std::vector<v1::Wave>> waves = sources.responses->ListWaves(trial);
    if (!waves.ok()) return Annotate(waves.status(), "survey-ingest ListWaves");
    joined.waves = std::move(*waves);
    joined.has_responses = true;
  }
  joined.has_outcomes = sources.outcomes != nullptr;
  joined.has_engagement = sources.engagement != nullptr;
  TakeUp take_up;
  std::set<std::string> taken_up;
  if (sources.engagement != nullptr) {
    absl::Status read = sources.engagement->ForEachEngagement(
        trial,
        [&](const EngagementEvent& event) { take_up.Add(event.participant_id, event.campaign); });
    if (!read.ok()) return Annotate(read, "messaging engagement");
    if (absl::Status s = TakenUpByEnrolled(sources, trial, plan, take_up, taken_up); !s.ok())
      return s;
  }
  const DatasetLayout layout = LayoutDataset(plan, joined.trial, joined.waves,
                                             sources.engagement != nullptr ? &taken_up : nullptr);

  // One open stream per source; each is primed before the header goes, so that a source that
  // is down fails the export before any of it is sent.
  Cursor<v1::ParticipantStatus> participants(sources.allocations->StreamParticipants(trial),
                                             "randomisation ListParticipants", StatusId);
  Cursor<v1::Allocation> allocations(sources.allocations->StreamAllocations(trial),
                                     "randomisation ListAllocations", AllocationId);
  std::vector<std::unique_ptr<Cursor<v1::Response>>> responses;
  for (const v1::Wave& wave : joined.waves) {
    responses.push_back(std::make_unique<Cursor<v1::Response>>(
        sources.responses->StreamResponses(trial, wave.wave_id()),
        absl::StrCat("survey-ingest ListResponses (wave ", wave.wave_id(), ")"), ResponseId));
  }
  std::unique_ptr<Cursor<v1::Outcome>> outcomes;
  if (sources.outcomes != nullptr) {
    outcomes = std::make_unique<Cursor<v1::Outcome>>(sources.outcomes->StreamOutcomes(trial),
                                                     "survey-ingest ListOutcomes", OutcomeId);
  }
  if (absl::Status s = participants.Advance(); !s.ok()) return s;
  if (absl::Status s = allocations.Advance(); !s.ok()) return s;
  for (auto& cursor : responses) {
    if (absl::Status s = cursor->Advance(); !s.ok()) return s;
  }
  if (outcomes != nullptr) {
    if (absl::Status s = outcomes->Advance(); !s.ok()) return s;
  }
  if (!start(layout)) return absl::OkStatus();

  v1::ParticipantStatus& status = joined.statuses.Add();
  joined.participants.resize(1);
  JoinedParticipant& p = joined.participants[0];
  absl::flat_hash_map<std::string, std::tuple<int, int, int>> latest;  // period, by outcome
  while (!participants.done()) {
    status = std::move(participants.head());
    const std::string id = participants.id();
    if (absl::Status s = participants.Advance(); !s.ok()) return s;
    p = JoinedParticipant();
    SetEnrolment(status, p);
    joined.responses.Clear();
    absl::Status matched = allocations.Match(
        id, [&](const v1::Allocation& allocation) { ApplyAllocation(allocation, p); });
    if (!matched.ok()) return matched;
    for (auto& cursor : responses) {
      matched = cursor->Match(id, [&](v1::Response& response) {
        if (!response.counted()) return;
        // The first counted response of a wave wins, as in LoadTrial's join.
        if (p.response_by_wave.contains(response.wave_id())) return;
        const std::string wave = response.wave_id();
        JoinedTrial::AddResponse(p, wave, joined.responses.Add(std::move(response)));
      });
      if (!matched.ok()) return matched;
    }
    if (outcomes != nullptr) {
      latest.clear();
      // The latest period wins; of equal ends, the later listed, as in LoadTrial's join.
      matched = outcomes->Match(id, [&](const v1::Outcome& outcome) {
        const auto end = DateKey(outcome.period_end());
        auto [slot, inserted] = latest.emplace(outcome.outcome(), end);
        if (inserted || end >= slot->second) {
          slot->second = end;
          p.outcomes[outcome.outcome()] = outcome.value();
        }
      });
      if (!matched.ok()) return matched;
    }
    for (uint32_t c = 0; c < take_up.campaigns().size(); ++c) {
      if (take_up.Has(id, c)) p.took_up.insert(take_up.campaigns()[c]);
    }
    bool open = true;
    ForEachDatasetLine(plan, joined, layout, [&](const std::string& line) {
      open = write(line);
      return open;
    });
    if (!open) return absl::OkStatus();
  }
  // What the other streams still hold belongs to participants who are not enrolled, whom the
  // dataset leaves out; dropping the cursors cancels those streams.
  return absl::OkStatus();
}

}  // namespace fieldwork::analysis

// The data the analysis service reads from the other services, behind small interfaces so the
// join and the monitor can run over gRPC clients in production and in-memory data in tests.
#ifndef FIELDWORK_SERVICES_ANALYSIS_SOURCES_H_
#define FIELDWORK_SERVICES_ANALYSIS_SOURCES_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "fieldwork/v1/survey_ingest.pb.h"
#include "services/analysis/message_list.h"

namespace fieldwork::analysis {

// Items read one at a time, so that the export can hold a stream of each source open side by
// side (a merge join) instead of whole lists.
template <typename T>
class ItemStream {
 public:
  virtual ~ItemStream() = default;
  // Moves the next item into `item`; false at the end or on a failure (see Finish).
  virtual bool Next(T& item) = 0;
  // Once Next returned false: OK at the end of the stream, else the failure.
  virtual absl::Status Finish() = 0;
};

// A list read whole, served as a stream in participant id order (stable: items of one
// participant keep the list's order), optionally only the items `keep` accepts. The default of
// the Stream* methods below, for sources that cannot stream (in-memory data in tests).
template <typename T>
class SortedListStream final : public ItemStream<T> {
 public:
  template <typename IdOf>
  SortedListStream(
      absl::StatusOr<MessageList<T>> items, IdOf id_of,
      const std::function<bool(const T&)>& keep = [](const T&) { return true; })
      : items_(std::move(items)) {
    if (items_.ok()) {
      std::vector<T*>& order = items_->items();
      std::erase_if(order, [&](const T* item) { return !keep(*item); });
      std::stable_sort(order.begin(), order.end(),
                       [&](const T* a, const T* b) { return id_of(*a) < id_of(*b); });
    }
  }
  bool Next(T& item) override {
    if (!items_.ok() || next_ == items_->size()) return false;
    item = std::move((*items_)[next_++]);
    return true;
  }
  absl::Status Finish() override { return items_.status(); }

 private:
  absl::StatusOr<MessageList<T>> items_;
  size_t next_ = 0;
};

// Trials, participants and allocations (the randomisation service).
class AllocationSource {
 public:
  virtual ~AllocationSource() = default;
  // Every trial with its state (the monitor watches the LOCKED ones).
  virtual absl::StatusOr<std::vector<fieldwork::v1::Trial>> ListTrials() = 0;
  // NOT_FOUND for an unknown trial.
  virtual absl::StatusOr<fieldwork::v1::Trial> GetTrial(const std::string& trial) = 0;
  // Every enrolled participant with covariates, withdrawal and leaving date.
  virtual absl::StatusOr<MessageList<fieldwork::v1::ParticipantStatus>> ListParticipants(
      const std::string& trial) = 0;
  // A version of the trial's participants and allocations: equal versions mean neither
  // changed. Empty when the source cannot tell (the default): a caller that keeps what it read
  // must read again.
  virtual absl::StatusOr<std::string> DataVersion(const std::string& /*trial*/) {
    return std::string();
  }

  // Every allocation, in participant id order (the randomisation service lists them so). Only
  // streamed: the join applies each as it comes and never holds the list (LoadTrial).
  virtual std::unique_ptr<ItemStream<fieldwork::v1::Allocation>> StreamAllocations(
      const std::string& trial) = 0;

  // The participants as a stream in the same order. The default reads the list whole and
  // sorts it.
  virtual std::unique_ptr<ItemStream<fieldwork::v1::ParticipantStatus>> StreamParticipants(
      const std::string& trial) {
    return std::make_unique<SortedListStream<fieldwork::v1::ParticipantStatus>>(
        ListParticipants(trial), [](const fieldwork::v1::ParticipantStatus& s) -> const auto& {
          return s.participant().participant_id();
        });
  }
};

// Waves and scored responses (survey-ingest). Only counted responses are returned: one per
// participant and wave, chosen by the wave's response rule.
class ResponseSource {
 public:
  virtual ~ResponseSource() = default;
  virtual absl::StatusOr<std::vector<fieldwork::v1::Wave>> ListWaves(const std::string& trial) = 0;
  // Calls `each` with every response as it arrives (the callee may move from it): the join
  // keeps only what it reads of each, never the whole list of messages (JoinedResponse).
  virtual absl::Status ForEachResponse(const std::string& trial,
                                       absl::FunctionRef<void(fieldwork::v1::Response&)> each) = 0;
  // A version of the trial's waves and responses, as AllocationSource::DataVersion.
  virtual absl::StatusOr<std::string> DataVersion(const std::string& /*trial*/) {
    return std::string();
  }

  // The counted responses to one wave, in participant id order (survey-ingest lists a wave in
  // (participant, submitted_at, submission) order). The default filters ForEachResponse.
  virtual std::unique_ptr<ItemStream<fieldwork::v1::Response>> StreamResponses(
      const std::string& trial, const std::string& wave) {
    MessageList<fieldwork::v1::Response> listed;
    const absl::Status read =
        ForEachResponse(trial, [&](fieldwork::v1::Response& r) { listed.Add(std::move(r)); });
    return std::make_unique<SortedListStream<fieldwork::v1::Response>>(
        read.ok() ? absl::StatusOr<MessageList<fieldwork::v1::Response>>(std::move(listed)) : read,
        [](const fieldwork::v1::Response& r) -> const auto& { return r.participant_id(); },
        [&](const fieldwork::v1::Response& r) { return r.wave_id() == wave; });
  }
};

// Administrative outcomes recorded by partners (survey-ingest).
class OutcomeSource {
 public:
  virtual ~OutcomeSource() = default;
  virtual absl::StatusOr<MessageList<fieldwork::v1::Outcome>> ListOutcomes(
      const std::string& trial) = 0;
  // A version of the trial's outcomes, as AllocationSource::DataVersion.
  virtual absl::StatusOr<std::string> DataVersion(const std::string& /*trial*/) {
    return std::string();
  }

  // The same in participant id order (survey-ingest lists them in (participant, outcome,
  // period) order). The default reads the list whole and sorts it.
  virtual std::unique_ptr<ItemStream<fieldwork::v1::Outcome>> StreamOutcomes(
      const std::string& trial) {
    return std::make_unique<SortedListStream<fieldwork::v1::Outcome>>(
        ListOutcomes(trial),
        [](const fieldwork::v1::Outcome& o) -> const auto& { return o.participant_id(); });
  }
};

// One engagement with a campaign's message by a participant (messaging).
struct EngagementEvent {
  std::string participant_id;
  std::string campaign;
  enum class Kind { kOpened, kClicked } kind = Kind::kOpened;
  absl::Time time;
};

// Opens and clicks (messaging).
class EngagementSource {
 public:
  virtual ~EngagementSource() = default;
  virtual absl::StatusOr<std::vector<EngagementEvent>> ListEngagement(const std::string& trial) = 0;
  // A version of the trial's opens and clicks, as AllocationSource::DataVersion.
  virtual absl::StatusOr<std::string> DataVersion(const std::string& /*trial*/) {
    return std::string();
  }

  // The same events one at a time, without holding them (messaging lists them in time order,
  // not by participant). The default reads the list whole.
  virtual absl::Status ForEachEngagement(const std::string& trial,
                                         const std::function<void(const EngagementEvent&)>& visit) {
    absl::StatusOr<std::vector<EngagementEvent>> events = ListEngagement(trial);
    if (!events.ok()) return events.status();
    for (const EngagementEvent& event : *events) visit(event);
    return absl::OkStatus();
  }
};

// The versions of a trial's data as LoadTrial reads it: every configured source's DataVersion,
// joined. Equal answers mean none of it changed; empty when a source cannot tell (or fails to
// answer), in which case a caller that keeps what it read must read again. Ask it before
// reading the data: a write landing in between then moves it again.
struct Sources;
std::string TrialDataVersions(const Sources& sources, const std::string& trial);

// The sources a service instance has; any but allocations may be null (not configured), in which
// case the join has no responses, outcomes or take-up and says so in its warnings.
struct Sources {
  AllocationSource* allocations = nullptr;
  ResponseSource* responses = nullptr;
  OutcomeSource* outcomes = nullptr;
  EngagementSource* engagement = nullptr;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_SOURCES_H_

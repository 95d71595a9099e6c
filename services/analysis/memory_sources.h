// The four sources over data held in memory, for unit tests and benchmarks of the join and the
// monitor (production reads them over gRPC: grpc_sources.h).
#ifndef FIELDWORK_SERVICES_ANALYSIS_MEMORY_SOURCES_H_
#define FIELDWORK_SERVICES_ANALYSIS_MEMORY_SOURCES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/analysis/sources.h"

namespace fieldwork::analysis {

struct MemoryTrialData {
  fieldwork::v1::Trial trial;
  std::vector<fieldwork::v1::ParticipantStatus> participants;
  std::vector<fieldwork::v1::Allocation> allocations;
  std::vector<fieldwork::v1::Wave> waves;
  std::vector<fieldwork::v1::Response> responses;
  std::vector<fieldwork::v1::Outcome> outcomes;
  std::vector<EngagementEvent> engagement;
  // What each source's DataVersion answers (empty: cannot tell); tests move it with the data.
  std::string version;
};

class MemorySources final : public AllocationSource,
                            public ResponseSource,
                            public OutcomeSource,
                            public EngagementSource {
 public:
  // Not thread-safe against concurrent edits: fill, then read.
  std::map<std::string, MemoryTrialData>& trials() { return trials_; }

  Sources AsSources() { return Sources{this, this, this, this}; }

  absl::StatusOr<std::vector<fieldwork::v1::Trial>> ListTrials() override {
    std::vector<fieldwork::v1::Trial> out;
    for (const auto& [id, data] : trials_) out.push_back(data.trial);
    return out;
  }
  absl::StatusOr<fieldwork::v1::Trial> GetTrial(const std::string& trial) override {
    absl::StatusOr<const MemoryTrialData*> data = Find(trial);
    if (!data.ok()) return data.status();
    return (*data)->trial;
  }
  absl::StatusOr<MessageList<fieldwork::v1::ParticipantStatus>> ListParticipants(
      const std::string& trial) override {
    absl::StatusOr<const MemoryTrialData*> data = Find(trial);
    if (!data.ok()) return data.status();
    ++participant_lists_;
    return (*data)->participants;
  }
  // How many times ListParticipants was called: a trial's data read whole.
  int participant_lists() const { return participant_lists_; }
  // The one override of the three sources' DataVersion.
  absl::StatusOr<std::string> DataVersion(const std::string& trial) override {
    absl::StatusOr<const MemoryTrialData*> data = Find(trial);
    if (!data.ok()) return data.status();
    return (*data)->version;
  }
  std::unique_ptr<ItemStream<fieldwork::v1::Allocation>> StreamAllocations(
      const std::string& trial) override {
    absl::StatusOr<const MemoryTrialData*> data = Find(trial);
    absl::StatusOr<MessageList<fieldwork::v1::Allocation>> listed =
        data.ok() ? absl::StatusOr<MessageList<fieldwork::v1::Allocation>>((*data)->allocations)
                  : data.status();
    return std::make_unique<SortedListStream<fieldwork::v1::Allocation>>(
        std::move(listed),
        [](const fieldwork::v1::Allocation& a) -> const auto& { return a.participant_id(); });
  }
  absl::StatusOr<std::vector<fieldwork::v1::Wave>> ListWaves(const std::string& trial) override {
    absl::StatusOr<const MemoryTrialData*> data = Find(trial);
    if (!data.ok()) return data.status();
    return (*data)->waves;
  }
  absl::Status ForEachResponse(const std::string& trial,
                               absl::FunctionRef<void(fieldwork::v1::Response&)> each) override {
    absl::StatusOr<const MemoryTrialData*> data = Find(trial);
    if (!data.ok()) return data.status();
    for (fieldwork::v1::Response response : (*data)->responses) each(response);
    return absl::OkStatus();
  }
  absl::StatusOr<MessageList<fieldwork::v1::Outcome>> ListOutcomes(
      const std::string& trial) override {
    absl::StatusOr<const MemoryTrialData*> data = Find(trial);
    if (!data.ok()) return data.status();
    return (*data)->outcomes;
  }
  absl::StatusOr<std::vector<EngagementEvent>> ListEngagement(const std::string& trial) override {
    absl::StatusOr<const MemoryTrialData*> data = Find(trial);
    if (!data.ok()) return data.status();
    return (*data)->engagement;
  }

 private:
  absl::StatusOr<const MemoryTrialData*> Find(const std::string& trial) const {
    auto it = trials_.find(trial);
    if (it == trials_.end())
      return absl::NotFoundError(absl::StrCat("trial \"", trial, "\" not found"));
    return &it->second;
  }
  std::map<std::string, MemoryTrialData> trials_;
  int participant_lists_ = 0;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_MEMORY_SOURCES_H_

// The export's dataset made by a merge join of the sources' streams in participant id order, so
// that its memory does not grow with the trial: one participant's data and the streams' buffers.
#ifndef FIELDWORK_SERVICES_ANALYSIS_EXPORT_JOIN_H_
#define FIELDWORK_SERVICES_ANALYSIS_EXPORT_JOIN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "fieldwork/v1/analysis.pb.h"
#include "services/analysis/export.h"
#include "services/analysis/sources.h"

namespace fieldwork::analysis {

// Who opened or clicked which campaign's message. Messaging lists events in time order, not by
// participant, so they are read before the join into this set of (participant, campaign) pairs:
// one entry per pair with any event, about 40-90 bytes each (a 32-byte string holding ids of up
// to 15 characters inline, a campaign number, hash table slack), plus the id for longer ids.
class TakeUp {
 public:
  void Add(const std::string& participant, const std::string& campaign);
  bool Has(const std::string& participant, uint32_t campaign) const {
    return pairs_.contains(std::make_pair(participant, campaign));
  }
  // Campaign names by number.
  const std::vector<std::string>& campaigns() const { return campaigns_; }

 private:
  absl::flat_hash_map<std::string, uint32_t> numbers_;
  std::vector<std::string> campaigns_;
  absl::flat_hash_set<std::pair<std::string, uint32_t>> pairs_;
};

// Writes the dataset of `plan` for `trial` as ExportDataset sends it: `start` with the columns
// (before any line; the trial, its waves and take-up are read first), then `write` with each
// "\n"-terminated line in participant id order, each as soon as every stream has moved past its
// participant. Stops, OK, when either returns false. The lines are those BuildDataset makes of
// LoadTrial's join of the same data. Each participant, allocation, response and outcome stream
// must be in participant id order: one that goes back is FAILED_PRECONDITION naming it.
// NOT_FOUND for an unknown trial; a source's failure is returned naming the source (once lines
// were written, the caller has sent part of the dataset).
absl::Status StreamDataset(const Sources& sources, const fieldwork::v1::AnalysisPlan& plan,
                           const std::string& trial,
                           const std::function<bool(const DatasetLayout& layout)>& start,
                           const std::function<bool(const std::string& line)>& write);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_EXPORT_JOIN_H_

// Analyse's answers, kept while what they were computed from stays the same, so that asking
// again (`fieldwork status` and `fieldwork analyse` one after the other, a dashboard refreshing)
// costs a few version checks instead of reading and joining the whole trial again.
#ifndef FIELDWORK_SERVICES_ANALYSIS_ANALYSIS_CACHE_H_
#define FIELDWORK_SERVICES_ANALYSIS_ANALYSIS_CACHE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "fieldwork/v1/analysis.pb.h"

namespace fieldwork::analysis {

class AnalysisCache {
 public:
  // At most `capacity` answers (one per trial and plan); the least recently used goes first.
  explicit AnalysisCache(size_t capacity = 16) : capacity_(capacity) {}

  // The answer kept for (trial, plan) when it was computed from `fingerprint`: the plan record
  // as read and the trial's data versions (TrialDataVersions), both read before the data.
  std::optional<fieldwork::v1::AnalyseResponse> Find(const std::string& trial,
                                                     const std::string& plan,
                                                     const std::string& fingerprint);
  void Put(const std::string& trial, const std::string& plan, std::string fingerprint,
           fieldwork::v1::AnalyseResponse response);

 private:
  struct Entry {
    std::string fingerprint;
    fieldwork::v1::AnalyseResponse response;
    uint64_t last_used = 0;
  };
  const size_t capacity_;
  std::mutex mutex_;
  uint64_t uses_ = 0;
  std::map<std::pair<std::string, std::string>, Entry> entries_;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_ANALYSIS_CACHE_H_

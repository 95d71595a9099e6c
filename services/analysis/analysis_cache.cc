#include "services/analysis/analysis_cache.h"

#include <algorithm>

namespace fieldwork::analysis {

std::optional<fieldwork::v1::AnalyseResponse> AnalysisCache::Find(const std::string& trial,
                                                                  const std::string& plan,
                                                                  const std::string& fingerprint) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find({trial, plan});
  if (it == entries_.end() || it->second.fingerprint != fingerprint) return std::nullopt;
  it->second.last_used = ++uses_;
  return it->second.response;
}

void AnalysisCache::Put(const std::string& trial, const std::string& plan, std::string fingerprint,
                        fieldwork::v1::AnalyseResponse response) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_[{trial, plan}] = Entry{std::move(fingerprint), std::move(response), ++uses_};
  while (entries_.size() > capacity_) {
    entries_.erase(std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; }));
  }
}

}  // namespace fieldwork::analysis

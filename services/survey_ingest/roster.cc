#include "services/survey_ingest/roster.h"

namespace fieldwork::survey_ingest {

absl::StatusOr<RosterEntries> CachedRoster::Lookup(
    const std::string& trial, const std::vector<std::string>& participant_ids) {
  RosterEntries found;
  std::vector<std::string> missing;
  const absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& trial_cache = cache_[trial];
    for (const std::string& id : participant_ids) {
      auto it = trial_cache.find(id);
      if (it != trial_cache.end() && now - it->second.fetched < ttl_) {
        found[id] = it->second.entry;
      } else if (found.find(id) == found.end()) {
        missing.push_back(id);
      }
    }
  }
  if (missing.empty()) return found;
  absl::StatusOr<RosterEntries> fetched = source_.Lookup(trial, missing);
  if (!fetched.ok()) return fetched.status();
  std::lock_guard<std::mutex> lock(mutex_);
  auto& trial_cache = cache_[trial];
  for (auto& [id, entry] : *fetched) trial_cache[id] = Cached{entry, now};
  for (const std::string& id : missing) {
    auto it = fetched->find(id);
    found[id] = it == fetched->end() ? RosterEntry{} : it->second;  // unknown when not answered
    if (it == fetched->end()) trial_cache[id] = Cached{RosterEntry{}, now};
  }
  return found;
}

void CachedRoster::Invalidate(const std::string& trial) {
  std::lock_guard<std::mutex> lock(mutex_);
  cache_.erase(trial);
}

}  // namespace fieldwork::survey_ingest

#include "services/survey_ingest/roster.h"

namespace fieldwork::survey_ingest {

absl::StatusOr<RosterEntries> CachedRoster::Lookup(
    const std::string& trial, const std::vector<std::string>& participant_ids) {
  // The version is read before the answers are fetched: answers newer than the version they
  // are filed under only make the next change look earlier than it was, never later.
  absl::StatusOr<std::string> version = source_.Version(trial);
  if (absl::IsNotFound(version.status())) return source_.Lookup(trial, participant_ids);
  if (!version.ok()) return version.status();
  RosterEntries found;
  std::vector<std::string> missing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    TrialCache& cached = cache_[trial];
    if (cached.version != *version) cached = TrialCache{*version, {}};
    for (const std::string& id : participant_ids) {
      auto it = cached.entries.find(id);
      if (it != cached.entries.end()) {
        found[id] = it->second;
      } else {
        missing.push_back(id);
      }
    }
  }
  if (missing.empty()) return found;
  absl::StatusOr<RosterEntries> fetched = source_.Lookup(trial, missing);
  if (!fetched.ok()) return fetched.status();
  for (const std::string& id : missing) fetched->try_emplace(id);  // unknown when not answered
  for (const std::string& id : missing) found[id] = (*fetched)[id];
  std::lock_guard<std::mutex> lock(mutex_);
  TrialCache& cached = cache_[trial];
  if (cached.version != *version) return found;
  if (cached.entries.size() + fetched->size() > max_entries_) cached.entries.clear();
  if (fetched->size() <= max_entries_) cached.entries.merge(*fetched);
  return found;
}

}  // namespace fieldwork::survey_ingest

// Answers computed from a trial's data (Analyse's per plan, SummariseTrial's), kept while what
// they were computed from stays the same, so that asking again (`fieldwork status` and
// `fieldwork analyse` one after the other, a dashboard refreshing) costs a few version checks
// instead of reading and joining the whole trial again.
#ifndef FIELDWORK_SERVICES_ANALYSIS_ANALYSIS_CACHE_H_
#define FIELDWORK_SERVICES_ANALYSIS_ANALYSIS_CACHE_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace fieldwork::analysis {

template <typename Answer>
class AnswerCache {
 public:
  // At most `capacity` answers (one per trial and plan); the least recently used goes first.
  explicit AnswerCache(size_t capacity = 16) : capacity_(capacity) {}

  // The answer kept for (trial, plan) when it was computed from `fingerprint`: the trial's data
  // versions (TrialDataVersions) and whatever else the answer depends on (Analyse: the plan
  // record as read), all read before the data.
  std::optional<Answer> Find(const std::string& trial, const std::string& plan,
                             const std::string& fingerprint) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find({trial, plan});
    if (it == entries_.end() || it->second.fingerprint != fingerprint) return std::nullopt;
    it->second.last_used = ++uses_;
    return it->second.answer;
  }

  void Put(const std::string& trial, const std::string& plan, std::string fingerprint,
           Answer answer) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_[{trial, plan}] = Entry{std::move(fingerprint), std::move(answer), ++uses_};
    while (entries_.size() > capacity_) {
      entries_.erase(std::min_element(
          entries_.begin(), entries_.end(),
          [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; }));
    }
  }

 private:
  struct Entry {
    std::string fingerprint;
    Answer answer;
    uint64_t last_used = 0;
  };
  const size_t capacity_;
  std::mutex mutex_;
  uint64_t uses_ = 0;
  std::map<std::pair<std::string, std::string>, Entry> entries_;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_ANALYSIS_CACHE_H_

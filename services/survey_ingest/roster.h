// Who is enrolled in a trial, as the randomisation service says: an interface (so the domain
// needs no gRPC) and a cache in front of it that is never out of date.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_ROSTER_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_ROSTER_H_

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fieldwork::survey_ingest {

struct RosterEntry {
  bool enrolled = false;  // false: the trial does not know this participant
  bool withdrawn = false;
  std::string site;
};

using RosterEntries = std::map<std::string, RosterEntry, std::less<>>;

class Roster {
 public:
  virtual ~Roster() = default;
  // An entry for every id in `participant_ids` (enrolled = false for an unknown participant);
  // it may hold more (e.g. the whole roster, when that was cheaper to fetch). Fails only when the
  // roster cannot be asked (UNAVAILABLE) or the trial is unknown (NOT_FOUND).
  virtual absl::StatusOr<RosterEntries> Lookup(const std::string& trial,
                                               const std::vector<std::string>& participant_ids) = 0;
  // A value that changes whenever an answer of Lookup for `trial` may have changed (an
  // enrolment, a withdrawal). NOT_FOUND for an unknown trial.
  virtual absl::StatusOr<std::string> Version(const std::string& trial) = 0;
};

// Remembers answers (unknown participants included) for as long as the trial's Version stays
// the same, and asks for the version on every Lookup: one cheap call, then the source only for
// the ids not remembered, and never a stale answer. At most max_entries answers are kept per
// trial (more: the trial's are dropped and it starts again), so a trial of a million
// participants answering for weeks does not grow the service by its whole roster. Thread-safe.
class CachedRoster final : public Roster {
 public:
  static constexpr size_t kDefaultMaxEntries = 200'000;

  explicit CachedRoster(Roster& source, size_t max_entries = kDefaultMaxEntries)
      : source_(source), max_entries_(max_entries) {}

  absl::StatusOr<RosterEntries> Lookup(const std::string& trial,
                                       const std::vector<std::string>& participant_ids) override;
  absl::StatusOr<std::string> Version(const std::string& trial) override {
    return source_.Version(trial);
  }

 private:
  struct TrialCache {
    std::string version;
    RosterEntries entries;
  };
  Roster& source_;
  const size_t max_entries_;
  std::mutex mutex_;
  std::map<std::string, TrialCache, std::less<>> cache_;
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_ROSTER_H_

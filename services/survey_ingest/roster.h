// Who is enrolled in a trial, as the randomisation service says: an interface (so the domain
// needs no gRPC) and a short-lived cache in front of it.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_ROSTER_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_ROSTER_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/clock.h"

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
};

// Remembers answers for `ttl` (unknown participants included), so a batch or a stream of
// submissions asks the randomisation service about each participant once. Thread-safe.
class CachedRoster final : public Roster {
 public:
  CachedRoster(Roster& source, const Clock& clock, absl::Duration ttl)
      : source_(source), clock_(clock), ttl_(ttl) {}

  absl::StatusOr<RosterEntries> Lookup(const std::string& trial,
                                       const std::vector<std::string>& participant_ids) override;
  // Forgets what is cached for `trial` (before ReplayRejects: the roster may have changed).
  void Invalidate(const std::string& trial);

 private:
  struct Cached {
    RosterEntry entry;
    absl::Time fetched;
  };
  Roster& source_;
  const Clock& clock_;
  const absl::Duration ttl_;
  std::mutex mutex_;
  std::map<std::string, std::map<std::string, Cached, std::less<>>, std::less<>> cache_;
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_ROSTER_H_

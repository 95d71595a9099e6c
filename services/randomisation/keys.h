// The randomisation service's Redis keys. All of a trial's keys share the {trial} hash tag so
// that its multi-key scripts stay atomic on a Redis Cluster.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_KEYS_H_
#define FIELDWORK_SERVICES_RANDOMISATION_KEYS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fieldwork::randomisation::keys {

// fieldwork.v1.Trial
inline std::string Trial(absl::string_view trial) { return absl::StrCat("fw:{", trial, "}:rnd:trial"); }
// storage.TrialSecret
inline std::string Secret(absl::string_view trial) { return absl::StrCat("fw:{", trial, "}:rnd:secret"); }
// HASH participant id -> fieldwork.v1.Participant
inline std::string Participants(absl::string_view trial) { return absl::StrCat("fw:{", trial, "}:rnd:participants"); }
// HASH participant id -> fieldwork.v1.Allocation (written once, never overwritten; the
// withdrawal and leaver fields live in Status)
inline std::string Allocations(absl::string_view trial) { return absl::StrCat("fw:{", trial, "}:rnd:allocations"); }
// HASH participant id -> fieldwork.v1.ParticipantStatus (withdrawal, leaving date)
inline std::string Status(absl::string_view trial) { return absl::StrCat("fw:{", trial, "}:rnd:status"); }
// LIST of fieldwork.v1.AuditEntry, oldest first
inline std::string Audit(absl::string_view trial) { return absl::StrCat("fw:{", trial, "}:rnd:audit"); }
// STRING: the hash of the newest audit entry; every write to a trial compares-and-sets it
inline std::string AuditHead(absl::string_view trial) { return absl::StrCat("fw:{", trial, "}:rnd:audit_head"); }
// SET of every trial id (not trial-scoped: one key for the index)
inline std::string TrialIndex() { return "fw:{index}:rnd:trials"; }

}  // namespace fieldwork::randomisation::keys

#endif  // FIELDWORK_SERVICES_RANDOMISATION_KEYS_H_

// The hash-chained audit log: how entries are hashed and how a log is verified.
//
// hash = SHA-256 hex of (previous_hash as ASCII hex || the entry's deterministic protobuf
// serialisation with `hash` cleared). Changing, removing or reordering any entry breaks the
// chain from that entry on; changing a stored allocation or enrolment breaks its entry's
// content_sha256.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_AUDIT_H_
#define FIELDWORK_SERVICES_RANDOMISATION_AUDIT_H_

#include <map>
#include <string>
#include <vector>

#include "fieldwork/v1/randomisation.pb.h"
#include "services/common/deterministic_bytes.h"

namespace fieldwork::randomisation {

using ::fieldwork::DeterministicBytes;  // services/common/deterministic_bytes.h

// The hash an entry should carry (its own `hash` field is ignored).
std::string AuditEntryHash(const fieldwork::v1::AuditEntry& entry);

// SHA-256 hex over the sorted "participant_id \t deterministic bytes \n" lines of `records`.
std::string ContentHash(const std::map<std::string, std::string>& records_by_id);

// The design's SHA-256 (hex), as returned by LockDesign.
std::string DesignHash(const fieldwork::v1::TrialDesign& design);

// Checks sequence numbers, links and hashes only, not the records the entries cover: the check
// anyone holding the streamed log can make (fieldwork-replay). valid, entries,
// first_bad_sequence (-1 when valid) and reason are set.
fieldwork::v1::VerifyAuditLogResponse VerifyChain(const std::vector<fieldwork::v1::AuditEntry>& entries);

// Checks the chain and, for enrolment and allocation entries, that the stored records of the
// entry's participants still hash to its content_sha256.
fieldwork::v1::VerifyAuditLogResponse VerifyAudit(
    const std::vector<fieldwork::v1::AuditEntry>& entries,
    const std::map<std::string, const fieldwork::v1::Participant*>& participants,
    const std::map<std::string, const fieldwork::v1::Allocation*>& allocations);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_AUDIT_H_

#include "services/randomisation/audit.h"

#include "absl/strings/str_cat.h"
#include "services/randomisation/methods/generator.h"

namespace fieldwork::randomisation {

using fieldwork::v1::AuditEntry;

std::string AuditEntryHash(const AuditEntry& entry) {
  AuditEntry unhashed = entry;
  unhashed.clear_hash();
  return Sha256Hex(absl::StrCat(entry.previous_hash(), DeterministicBytes(unhashed)));
}

std::string ContentHash(const std::map<std::string, std::string>& records_by_id) {
  std::string text;
  for (const auto& [id, bytes] : records_by_id) absl::StrAppend(&text, id, "\t", bytes, "\n");
  return Sha256Hex(text);
}

std::string DesignHash(const fieldwork::v1::TrialDesign& design) {
  return Sha256Hex(DeterministicBytes(design));
}

namespace {

// Why entry `i` breaks the chain after `previous` (the hash before it), or "" when it holds.
std::string ChainError(const AuditEntry& entry, size_t i, const std::string& previous) {
  if (entry.sequence() != static_cast<int64_t>(i)) return absl::StrCat("entry ", i, " carries sequence ", entry.sequence());
  if (entry.previous_hash() != previous) return "previous_hash does not match the entry before it";
  if (entry.hash() != AuditEntryHash(entry)) return "the entry's content does not match its hash";
  return "";
}

}  // namespace

fieldwork::v1::VerifyAuditLogResponse VerifyChain(const std::vector<AuditEntry>& entries) {
  fieldwork::v1::VerifyAuditLogResponse result;
  result.set_entries(static_cast<int64_t>(entries.size()));
  std::string previous;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (std::string error = ChainError(entries[i], i, previous); !error.empty()) {
      result.set_valid(false);
      result.set_first_bad_sequence(static_cast<int64_t>(i));
      result.set_reason(std::move(error));
      return result;
    }
    previous = entries[i].hash();
  }
  result.set_valid(true);
  result.set_first_bad_sequence(-1);
  return result;
}

fieldwork::v1::VerifyAuditLogResponse VerifyAudit(
    const std::vector<AuditEntry>& entries,
    const std::map<std::string, const fieldwork::v1::Participant*>& participants,
    const std::map<std::string, const fieldwork::v1::Allocation*>& allocations) {
  fieldwork::v1::VerifyAuditLogResponse result;
  result.set_entries(static_cast<int64_t>(entries.size()));
  auto fail = [&](int64_t sequence, std::string reason) {
    result.set_valid(false);
    result.set_first_bad_sequence(sequence);
    result.set_reason(std::move(reason));
    return result;
  };
  std::string previous;
  for (size_t i = 0; i < entries.size(); ++i) {
    const AuditEntry& entry = entries[i];
    const auto sequence = static_cast<int64_t>(i);
    if (std::string error = ChainError(entry, i, previous); !error.empty()) return fail(sequence, std::move(error));
    if (entry.kind() == AuditEntry::KIND_ENROLMENT || entry.kind() == AuditEntry::KIND_ALLOCATION) {
      std::map<std::string, std::string> records;
      for (const std::string& id : entry.participant_ids()) {
        if (entry.kind() == AuditEntry::KIND_ENROLMENT) {
          auto it = participants.find(id);
          if (it == participants.end()) return fail(sequence, absl::StrCat("participant ", id, " is missing"));
          records[id] = DeterministicBytes(*it->second);
        } else {
          auto it = allocations.find(id);
          if (it == allocations.end()) return fail(sequence, absl::StrCat("allocation of ", id, " is missing"));
          records[id] = DeterministicBytes(*it->second);
        }
      }
      if (ContentHash(records) != entry.content_sha256()) {
        return fail(sequence, "the stored records no longer match what this entry recorded");
      }
    }
    previous = entry.hash();
  }
  result.set_valid(true);
  result.set_first_bad_sequence(-1);
  return result;
}

}  // namespace fieldwork::randomisation

// Identifier rules shared by the messaging domain.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_IDS_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_IDS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fieldwork::messaging {

inline constexpr size_t kMaxIdLength = 128;

// Ids (trial, campaign, template, arm, factor, site, cohort, wave, participant) end up inside
// Redis keys, idempotency keys, e-mail Message-IDs and signed tokens, where a ':' or a space
// would make two different tuples collide. So they are 1..128 characters of [A-Za-z0-9._-].
// Returns INVALID_ARGUMENT "<field>: ..." otherwise. The offending value is quoted only when it
// is short and printable, so the error is safe to log.
absl::Status ValidateId(absl::string_view field, absl::string_view id);

// True when ValidateId would accept `id`.
bool IsValidId(absl::string_view id);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_IDS_H_

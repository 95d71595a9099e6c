// SHA-256 content hashes (libsodium) for idempotent imports and hash-based submission ids.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CONTENT_HASH_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CONTENT_HASH_H_

#include <sodium.h>

#include <string>

#include "absl/strings/string_view.h"

namespace fieldwork::survey_ingest {

// The SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(absl::string_view data);

// Incremental SHA-256 of a sequence of parts. Each part is length-prefixed, so that
// ("ab", "c") and ("a", "bc") hash differently.
class PartsHasher {
 public:
  PartsHasher();
  PartsHasher& Add(absl::string_view part);
  // The digest as 64 lower-case hex digits; the hasher must not be used afterwards.
  std::string HexDigest();

 private:
  crypto_hash_sha256_state state_;
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CONTENT_HASH_H_

// The keys that seal and open survey links (survey_link_token.h), read from a Secret shared
// by messaging (which seals) and survey-ingest (which opens). The file, one key per line:
//
//   # survey link keys: the first line seals, every line opens until its `until`
//   3 8f1c...(64 hex digits)
//   2 <32-byte key as hex or base64> until 2027-02-01T00:00:00Z
//
// A line is: a key id (1..255, unique), the key (32 bytes as 64 hex digits or base64), and
// optionally `until` and an RFC 3339 time after which links sealed under that key are refused.
// Rotation: add the new key as the first line and give the old one an `until` (the overlap:
// at least the longest wave plus its grace, so every link already sent stays valid), then
// remove it once that time has passed. Blank lines and lines starting with '#' are ignored.
#ifndef FIELDWORK_SERVICES_SURVEY_LINK_KEY_RING_H_
#define FIELDWORK_SERVICES_SURVEY_LINK_KEY_RING_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fieldwork::survey_link {

inline constexpr size_t kSurveyLinkKeyBytes = 32;

struct SurveyLinkKey {
  uint8_t id = 0;
  std::array<unsigned char, kSurveyLinkKeyBytes> secret{};
  std::optional<absl::Time> until;  // none: accepted as long as it is in the ring
};

class SurveyLinkKeyRing {
 public:
  // Parses the file's text. INVALID_ARGUMENT naming `source` (the file name), the line and the
  // reason: a malformed line, a bad key, a duplicate id, no key at all, or a first (sealing) key
  // with an `until` (links sealed now must not die with their key). Never echoes key material.
  static absl::StatusOr<SurveyLinkKeyRing> Parse(absl::string_view text,
                                                 absl::string_view source);

  SurveyLinkKeyRing(SurveyLinkKeyRing&&) = default;
  SurveyLinkKeyRing& operator=(SurveyLinkKeyRing&&) = default;
  ~SurveyLinkKeyRing();  // wipes the key material

  const SurveyLinkKey& sealing_key() const { return keys_.front(); }
  // The key with `id` if the ring holds it and accepts it at `now`; nullptr otherwise.
  const SurveyLinkKey* OpeningKey(uint8_t id, absl::Time now) const;

 private:
  SurveyLinkKeyRing() = default;
  std::vector<SurveyLinkKey> keys_;  // the sealing key first
};

}  // namespace fieldwork::survey_link

#endif  // FIELDWORK_SERVICES_SURVEY_LINK_KEY_RING_H_

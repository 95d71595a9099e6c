#include "services/survey_link/key_ring.h"

#include <sodium.h>

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fieldwork::survey_link {
namespace {

// 32 raw bytes from 64 hex digits or any base64 variant; false otherwise.
bool DecodeKey(absl::string_view text, std::array<unsigned char, kSurveyLinkKeyBytes>& out) {
  size_t written = 0;
  if (text.size() == 2 * kSurveyLinkKeyBytes) {
    return sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &written,
                          nullptr) == 0 &&
           written == out.size();
  }
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    unsigned char decoded[kSurveyLinkKeyBytes + 3];
    if (sodium_base642bin(decoded, sizeof(decoded), text.data(), text.size(), nullptr, &written,
                          nullptr, variant) == 0 &&
        written == out.size()) {
      std::copy(decoded, decoded + written, out.begin());
      sodium_memzero(decoded, sizeof(decoded));
      return true;
    }
    sodium_memzero(decoded, sizeof(decoded));
  }
  return false;
}

}  // namespace

absl::StatusOr<SurveyLinkKeyRing> SurveyLinkKeyRing::Parse(absl::string_view text,
                                                           absl::string_view source) {
  if (sodium_init() < 0) return absl::InternalError("libsodium cannot be initialised");
  SurveyLinkKeyRing ring;
  std::set<int> ids;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_number;
    const absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](absl::string_view reason) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": line ", line_number, ": ", reason));
    };
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2 && fields.size() != 4) {
      return fail("expected `<key id> <key>` or `<key id> <key> until <RFC 3339 time>`");
    }
    SurveyLinkKey key;
    int id = 0;
    if (!absl::SimpleAtoi(fields[0], &id) || id < 1 || id > 255) {
      return fail("the key id must be a whole number from 1 to 255");
    }
    if (!ids.insert(id).second) return fail(absl::StrCat("key id ", id, " appears twice"));
    key.id = static_cast<uint8_t>(id);
    if (!DecodeKey(fields[1], key.secret)) {
      return fail(absl::StrCat("key ", id, ": expected 32 bytes as 64 hex digits or base64 (",
                               fields[1].size(), " characters given)"));
    }
    if (fields.size() == 4) {
      absl::Time until;
      std::string error;
      if (fields[2] != "until" ||
          !absl::ParseTime(absl::RFC3339_full, fields[3], &until, &error)) {
        return fail(absl::StrCat("key ", id,
                                 ": expected `until` and an RFC 3339 time such as "
                                 "2027-02-01T00:00:00Z after the key"));
      }
      if (ring.keys_.empty()) {
        return fail(absl::StrCat("key ", id,
                                 " seals new links, so it cannot have an `until`: put the new "
                                 "key first and give the old one the `until`"));
      }
      key.until = until;
    }
    ring.keys_.push_back(key);
    sodium_memzero(key.secret.data(), key.secret.size());
  }
  if (ring.keys_.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": no key"));
  return ring;
}

SurveyLinkKeyRing::~SurveyLinkKeyRing() {
  for (SurveyLinkKey& key : keys_) sodium_memzero(key.secret.data(), key.secret.size());
}

const SurveyLinkKey* SurveyLinkKeyRing::OpeningKey(uint8_t id, absl::Time now) const {
  for (const SurveyLinkKey& key : keys_) {
    if (key.id != id) continue;
    return key.until.has_value() && now >= *key.until ? nullptr : &key;
  }
  return nullptr;
}

}  // namespace fieldwork::survey_link

// Encryption at rest for contact records (the suite's only personal data), and key parsing.
//
// Choice: crypto_aead_xchacha20poly1305_ietf (libsodium), not crypto_secretbox. Both are
// authenticated encryption with a 24-byte random nonce (safe to pick at random for every
// record); the AEAD form also authenticates "additional data" that is not stored in the record.
// We pass the participant id there, so a record copied onto another participant's key fails
// to decrypt instead of silently handing out someone else's address.
//
// Record layout: version byte 0x01 | 24-byte nonce | ciphertext with its 16-byte tag.
// Additional data: "fieldwork-contact-v1" NUL | version byte | participant id.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_CONTACT_CRYPTO_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_CONTACT_CRYPTO_H_

#include <array>
#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fieldwork::messaging {

inline constexpr size_t kContactKeyBytes = 32;
inline constexpr size_t kContactNonceBytes = 24;

// Reads a 32-byte key written as 64 hex digits or as base64 (standard or URL-safe, padded or
// not), ignoring surrounding whitespace (a key file's trailing newline). INVALID_ARGUMENT
// naming `what` (e.g. "FIELDWORK_CONTACT_KEY") otherwise; the message never echoes the text.
absl::StatusOr<std::string> ParseKey32(absl::string_view text, absl::string_view what);

class ContactCipher {
 public:
  // `key`: exactly 32 raw bytes.
  static absl::StatusOr<ContactCipher> Create(absl::string_view key);

  ContactCipher(const ContactCipher&) = default;
  ContactCipher& operator=(const ContactCipher&) = default;
  ~ContactCipher();

  // Encrypts `plaintext` for `participant_id` under a fresh random nonce.
  absl::StatusOr<std::string> Seal(absl::string_view participant_id,
                                   absl::string_view plaintext) const;
  // As Seal with a given 24-byte nonce. For tests only: reusing a nonce under one key breaks
  // the encryption.
  absl::StatusOr<std::string> SealWithNonce(absl::string_view participant_id,
                                            absl::string_view plaintext,
                                            absl::string_view nonce) const;

  // Decrypts a record sealed for `participant_id`. DATA_LOSS when the record is truncated, of an
  // unknown version, altered, sealed under another key, or sealed for another participant; the
  // message says so without any of the record's content.
  absl::StatusOr<std::string> Open(absl::string_view participant_id,
                                   absl::string_view record) const;

 private:
  ContactCipher() = default;
  std::array<unsigned char, kContactKeyBytes> key_{};
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_CONTACT_CRYPTO_H_

#include "services/messaging/domain/contact_crypto.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/messaging/domain/encoding.h"
#include "services/messaging/domain/ids.h"

namespace fieldwork::messaging {
namespace {

constexpr unsigned char kRecordVersion = 1;
constexpr absl::string_view kAdLabel{"fieldwork-contact-v1\0", 21};

std::string AdditionalData(absl::string_view participant_id) {
  return absl::StrCat(kAdLabel, std::string(1, static_cast<char>(kRecordVersion)), participant_id);
}

}  // namespace

absl::StatusOr<std::string> ParseKey32(absl::string_view text, absl::string_view what) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  absl::StatusOr<std::string> key = absl::InvalidArgumentError("");
  if (trimmed.size() == 2 * kContactKeyBytes) {
    key = HexDecode(trimmed);
  } else {
    key = Base64DecodeAnyVariant(trimmed);
  }
  if (!key.ok() || key->size() != kContactKeyBytes) {
    if (key.ok()) sodium_memzero(key->data(), key->size());
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": expected a 32-byte key as 64 hex digits or base64 (", trimmed.size(),
                     " characters given)"));
  }
  return key;
}

absl::StatusOr<ContactCipher> ContactCipher::Create(absl::string_view key) {
  if (absl::Status s = EnsureSodium(); !s.ok()) return s;
  if (key.size() != kContactKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("contact key: must be ", kContactKeyBytes, " bytes, got ", key.size()));
  }
  ContactCipher cipher;
  std::memcpy(cipher.key_.data(), key.data(), kContactKeyBytes);
  return cipher;
}

ContactCipher::~ContactCipher() { sodium_memzero(key_.data(), key_.size()); }

absl::StatusOr<std::string> ContactCipher::Seal(absl::string_view participant_id,
                                                absl::string_view plaintext) const {
  std::string nonce(kContactNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  return SealWithNonce(participant_id, plaintext, nonce);
}

absl::StatusOr<std::string> ContactCipher::SealWithNonce(absl::string_view participant_id,
                                                         absl::string_view plaintext,
                                                         absl::string_view nonce) const {
  if (absl::Status s = ValidateId("participant_id", participant_id); !s.ok()) return s;
  if (nonce.size() != kContactNonceBytes) {
    return absl::InvalidArgumentError("nonce: must be 24 bytes");
  }
  std::string ad = AdditionalData(participant_id);
  std::string record;
  record.resize(1 + kContactNonceBytes + plaintext.size() +
                crypto_aead_xchacha20poly1305_ietf_ABYTES);
  record[0] = static_cast<char>(kRecordVersion);
  std::memcpy(record.data() + 1, nonce.data(), kContactNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(record.data()) + 1 + kContactNonceBytes, &written,
      SodiumBytes(plaintext), plaintext.size(), SodiumBytes(ad), ad.size(), /*nsec=*/nullptr, SodiumBytes(nonce),
      key_.data());
  record.resize(1 + kContactNonceBytes + static_cast<size_t>(written));
  return record;
}

absl::StatusOr<std::string> ContactCipher::Open(absl::string_view participant_id,
                                                absl::string_view record) const {
  constexpr size_t kOverhead = 1 + kContactNonceBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (record.size() < kOverhead) {
    return absl::DataLossError(absl::StrCat("contact record for participant ", participant_id,
                                            ": truncated (", record.size(), " bytes)"));
  }
  if (static_cast<unsigned char>(record[0]) != kRecordVersion) {
    return absl::DataLossError(
        absl::StrCat("contact record for participant ", participant_id, ": unknown format version ",
                     static_cast<int>(static_cast<unsigned char>(record[0]))));
  }
  absl::string_view nonce = record.substr(1, kContactNonceBytes);
  absl::string_view ciphertext = record.substr(1 + kContactNonceBytes);
  std::string ad = AdditionalData(participant_id);
  std::string plaintext(ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plaintext.data()),
                                                 &written, /*nsec=*/nullptr, SodiumBytes(ciphertext),
                                                 ciphertext.size(), SodiumBytes(ad), ad.size(),
                                                 SodiumBytes(nonce), key_.data()) != 0) {
    return absl::DataLossError(absl::StrCat(
        "contact record for participant ", participant_id,
        ": decryption failed (wrong key, an altered record, or a record of another participant)"));
  }
  plaintext.resize(static_cast<size_t>(written));
  return plaintext;
}

}  // namespace fieldwork::messaging

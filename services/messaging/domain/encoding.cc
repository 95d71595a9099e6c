#include "services/messaging/domain/encoding.h"

#include <sodium.h>

#include <cstdint>

namespace fieldwork::messaging {
namespace {

absl::StatusOr<std::string> Base64Decode(absl::string_view text, int variant) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t out_len = 0;
  const char* end = nullptr;
  int rc = sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                             text.size(), /*ignore=*/nullptr, &out_len, &end, variant);
  if (rc != 0 || end != text.data() + text.size()) {
    return absl::InvalidArgumentError("not valid base64");
  }
  out.resize(out_len);
  return out;
}

}  // namespace

absl::Status EnsureSodium() {
  // sodium_init() is itself thread-safe and idempotent; the static only saves the call.
  static const int rc = sodium_init();
  if (rc < 0) return absl::InternalError("libsodium failed to initialise");
  return absl::OkStatus();
}

std::string HexEncode(absl::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), SodiumBytes(bytes), bytes.size());
  out.resize(bytes.size() * 2);
  return out;
}

absl::StatusOr<std::string> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("odd number of hex digits");
  std::string out(hex.size() / 2, '\0');
  size_t out_len = 0;
  const char* end = nullptr;
  int rc = sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                          hex.size(), /*ignore=*/nullptr, &out_len, &end);
  if (rc != 0 || end != hex.data() + hex.size() || out_len != out.size()) {
    return absl::InvalidArgumentError("not valid hex");
  }
  return out;
}

std::string Base64UrlEncode(absl::string_view bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), SodiumBytes(bytes), bytes.size(), kVariant);
  out.resize(out.size() - 1);  // the encoded length counts the terminating NUL
  return out;
}

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text) {
  return Base64Decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

absl::StatusOr<std::string> Base64DecodeAnyVariant(absl::string_view text) {
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    absl::StatusOr<std::string> decoded = Base64Decode(text, variant);
    if (decoded.ok()) return decoded;
  }
  return absl::InvalidArgumentError("not valid base64");
}

std::string Sha256(absl::string_view bytes) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), SodiumBytes(bytes), bytes.size());
  return out;
}

}  // namespace fieldwork::messaging

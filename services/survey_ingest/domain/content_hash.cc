#include "services/survey_ingest/domain/content_hash.h"

#include <array>
#include <cstdint>

namespace fieldwork::survey_ingest {
namespace {

// libsodium asks for sodium_init() before first use; it is idempotent and thread-safe.
void EnsureSodium() {
  static const int kInit = sodium_init();
  (void)kInit;
}

std::string ToHex(const unsigned char* digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * crypto_hash_sha256_BYTES, '0');
  for (size_t i = 0; i < crypto_hash_sha256_BYTES; ++i) {
    out[2 * i] = kDigits[digest[i] >> 4];
    out[2 * i + 1] = kDigits[digest[i] & 0x0f];
  }
  return out;
}

const unsigned char* Bytes(absl::string_view data) {
  return reinterpret_cast<const unsigned char*>(data.data());
}

}  // namespace

std::string Sha256Hex(absl::string_view data) {
  EnsureSodium();
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), Bytes(data), data.size());
  return ToHex(digest.data());
}

PartsHasher::PartsHasher() {
  EnsureSodium();
  crypto_hash_sha256_init(&state_);
}

PartsHasher& PartsHasher::Add(absl::string_view part) {
  std::array<unsigned char, 8> length{};
  uint64_t n = part.size();
  for (size_t i = 0; i < length.size(); ++i) {
    length[i] = static_cast<unsigned char>(n & 0xff);
    n >>= 8;
  }
  crypto_hash_sha256_update(&state_, length.data(), length.size());
  crypto_hash_sha256_update(&state_, Bytes(part), part.size());
  return *this;
}

std::string PartsHasher::HexDigest() {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&state_, digest.data());
  return ToHex(digest.data());
}

}  // namespace fieldwork::survey_ingest

#include "services/randomisation/methods/generator.h"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {
namespace {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

void AppendLengthPrefixed(std::string& out, std::string_view s) {
  std::uint64_t n = s.size();
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(n & 0xffU));
    n >>= 8;
  }
  out.append(s);
}

void AppendPairs(std::string& out, const std::vector<std::pair<std::string, std::string>>& pairs) {
  for (const auto& [label, value] : pairs) {
    AppendLengthPrefixed(out, label);
    AppendLengthPrefixed(out, value);
  }
}

std::vector<std::pair<std::string, std::string>> ScopePairs(const Scope& scope) {
  return {{"scheme", std::string(kScheme)},
          {"trial", scope.trial},
          {"factor", scope.factor},
          {"cohort", scope.cohort}};
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// High 64 bits of the 128-bit product a * b, and its low 64 bits in *lo (portable: no
// __int128, so the arithmetic is spelled out for re-implementers).
std::uint64_t MulHiLo(std::uint64_t a, std::uint64_t b, std::uint64_t* lo) {
  const std::uint64_t a_lo = a & 0xffffffffU, a_hi = a >> 32;
  const std::uint64_t b_lo = b & 0xffffffffU, b_hi = b >> 32;
  const std::uint64_t p0 = a_lo * b_lo;
  const std::uint64_t p1 = a_lo * b_hi;
  const std::uint64_t p2 = a_hi * b_lo;
  const std::uint64_t p3 = a_hi * b_hi;
  const std::uint64_t mid = (p0 >> 32) + (p1 & 0xffffffffU) + (p2 & 0xffffffffU);
  *lo = (mid << 32) | (p0 & 0xffffffffU);
  return p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

}  // namespace

Context& Context::Add(std::string_view label, std::string_view value) {
  pairs_.emplace_back(std::string(label), std::string(value));
  return *this;
}

Context& Context::Add(std::string_view label, std::uint64_t value) {
  return Add(label, std::string_view(absl::StrCat(value)));
}

std::string EncodeContext(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  AppendPairs(out, pairs);
  return out;
}

std::vector<std::pair<std::string, std::string>> FullContext(const Scope& scope,
                                                             const Context& context) {
  auto pairs = ScopePairs(scope);
  pairs.insert(pairs.end(), context.pairs().begin(), context.pairs().end());
  return pairs;
}

Stream::Stream(const std::array<unsigned char, 32>& key) : key_(key) {}

void Stream::Refill() {
  // The first refill makes one ChaCha20 block (most contexts need a word or two); later
  // refills make eight. The words are the same either way: the keystream is contiguous.
  const std::size_t blocks = consumed_blocks_ == 0 ? 1 : 8;
  if (consumed_blocks_ + blocks > (std::uint64_t{1} << 32)) {
    throw std::runtime_error("randomisation stream exhausted (2^32 ChaCha20 blocks)");
  }
  std::array<unsigned char, 64 * 8> bytes{};
  static constexpr std::array<unsigned char, crypto_stream_chacha20_ietf_NONCEBYTES> kNonce{};
  crypto_stream_chacha20_ietf_xor_ic(bytes.data(), bytes.data(), 64 * blocks, kNonce.data(),
                                     static_cast<std::uint32_t>(consumed_blocks_), key_.data());
  for (std::size_t w = 0; w < blocks * 8; ++w) {
    std::uint64_t v = 0;
    for (std::size_t b = 0; b < 8; ++b) {
      v |= static_cast<std::uint64_t>(bytes[w * 8 + b]) << (8 * b);
    }
    buffer_[w] = v;
  }
  consumed_blocks_ += blocks;
  next_ = 0;
  filled_ = blocks * 8;
}

std::uint64_t Stream::Below(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("Stream::Below(0)");
  std::uint64_t lo = 0;
  std::uint64_t hi = MulHiLo(NextWord(), n, &lo);
  if (lo < n) {
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    while (lo < threshold) hi = MulHiLo(NextWord(), n, &lo);
  }
  return hi;
}

std::size_t Stream::WeightedIndex(absl::Span<const std::int64_t> weights) {
  std::uint64_t total = 0;
  for (const std::int64_t w : weights) {
    if (w <= 0) throw std::invalid_argument("Stream::WeightedIndex: non-positive weight");
    total += static_cast<std::uint64_t>(w);
  }
  if (total == 0) throw std::invalid_argument("Stream::WeightedIndex: no weights");
  std::uint64_t r = Below(total);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const auto w = static_cast<std::uint64_t>(weights[i]);
    if (r < w) return i;
    r -= w;
  }
  return weights.size() - 1;  // unreachable
}

absl::StatusOr<Generator> Generator::Create(std::string_view secret, Scope scope) {
  EnsureSodium();
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat("secret: must have at least ", kMinSecretBytes,
                                                   " bytes, has ", secret.size()));
  }
  if (scope.trial.empty()) return absl::InvalidArgumentError("scope.trial: empty");
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, Bytes(secret), secret.size());
  const std::string prefix = EncodeContext(ScopePairs(scope));
  crypto_auth_hmacsha256_update(&state, Bytes(prefix), prefix.size());
  return Generator(state, std::move(scope));
}

std::array<unsigned char, 32> Generator::Key(const Context& context) const {
  crypto_auth_hmacsha256_state state = state_;
  const std::string tail = EncodeContext(context.pairs());
  crypto_auth_hmacsha256_update(&state, Bytes(tail), tail.size());
  std::array<unsigned char, 32> key{};
  crypto_auth_hmacsha256_final(&state, key.data());
  return key;
}

std::array<unsigned char, 32> DeriveKey(
    std::string_view secret, const std::vector<std::pair<std::string, std::string>>& pairs) {
  EnsureSodium();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, Bytes(secret), secret.size());
  const std::string message = EncodeContext(pairs);
  crypto_auth_hmacsha256_update(&state, Bytes(message), message.size());
  std::array<unsigned char, 32> key{};
  crypto_auth_hmacsha256_final(&state, key.data());
  return key;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0fU]);
  }
  return out;
}

absl::StatusOr<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("hex: odd number of digits");
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat("hex: not a hex digit at offset ", i));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  EnsureSodium();
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), Bytes(bytes), bytes.size());
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string NewSecret() {
  EnsureSodium();
  std::string secret(kSecretBytes, '\0');
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

}  // namespace fieldwork::randomisation

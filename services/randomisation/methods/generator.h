// The keyed, reproducible generator behind every random draw of the randomisation methods.
//
// Every draw derives from a per-trial secret and a *context* naming what the draw is for
// (trial, factor, cohort, method, stratum, participant, block, draw number...). The context
// is encoded canonically (length-prefixed label/value pairs, so two different contexts never
// encode to the same bytes); the context's key is HMAC-SHA-256(secret, encoding); the key
// drives a ChaCha20 (IETF) keystream read as little-endian 64-bit words. Bounded integers
// (Lemire's multiply-and-reject), uniform doubles (53 bits) and Fisher–Yates shuffles are
// built on those words here, never with std:: distributions or std::shuffle, so the same
// secret and context give the same draws on every machine and standard library.
// services/randomisation/README.md specifies all of it byte for byte.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_METHODS_GENERATOR_H_
#define FIELDWORK_SERVICES_RANDOMISATION_METHODS_GENERATOR_H_

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace fieldwork::randomisation {

// The scheme label that opens every context; changing the generator means changing it.
inline constexpr std::string_view kScheme = "fieldwork.randomisation.v1";
// A fresh secret is this many random bytes; a supplied secret must have at least kMinSecretBytes.
inline constexpr std::size_t kSecretBytes = 32;
inline constexpr std::size_t kMinSecretBytes = 16;

// What every draw of one allocation is about: the trial, the factor being randomised (each
// factor of a multi-factor design is keyed separately, so factors are independent) and the
// cohort (cohorts randomised separately). Empty factor and cohort are allowed and encoded
// as empty values.
struct Scope {
  std::string trial;
  std::string factor;
  std::string cohort;
};

// An ordered list of (label, value) pairs. Integers are encoded as decimal ASCII without
// sign or leading zeros (0 is "0").
class Context {
 public:
  Context() = default;
  Context& Add(std::string_view label, std::string_view value);
  Context& Add(std::string_view label, std::uint64_t value);
  const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// The canonical encoding of a list of pairs: for each pair, LP(label) || LP(value), where
// LP(s) = the length of s as 8 bytes little-endian, then the bytes of s.
std::string EncodeContext(const std::vector<std::pair<std::string, std::string>>& pairs);

// The full context of a draw: ("scheme", kScheme), ("trial", ..), ("factor", ..),
// ("cohort", ..), then the method's own pairs.
std::vector<std::pair<std::string, std::string>> FullContext(const Scope& scope,
                                                             const Context& context);

// A ChaCha20-IETF keystream (nonce 0, block counter from 0) read as little-endian uint64
// words, with the samplers built on it. Deterministic; not thread-safe (one per thread).
class Stream {
 public:
  explicit Stream(const std::array<unsigned char, 32>& key);

  // The next 64-bit word of the keystream.
  std::uint64_t NextWord() {
    if (next_ == filled_) Refill();
    return buffer_[next_++];
  }
  // Uniform integer in [0, n), n >= 1, without bias (Lemire's multiply-shift with rejection).
  // Always consumes at least one word.
  std::uint64_t Below(std::uint64_t n);
  // Uniform double in [0, 1): the top 53 bits of one word times 2^-53.
  double Uniform() { return static_cast<double>(NextWord() >> 11) * 0x1.0p-53; }
  // Index i with probability weights[i] / sum(weights); weights positive. One Below(sum) draw:
  // the first i whose cumulative weight exceeds it.
  std::size_t WeightedIndex(absl::Span<const std::int64_t> weights);
  // Fisher–Yates: for i = n-1 down to 1, swap items[i] with items[Below(i + 1)].
  template <typename T>
  void Shuffle(absl::Span<T> items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const std::size_t j = Below(i);
      using std::swap;
      swap(items[i - 1], items[j]);
    }
  }
  // Words consumed so far.
  std::uint64_t words_used() const { return consumed_blocks_ * 8 - (filled_ - next_); }

 private:
  void Refill();

  std::array<unsigned char, 32> key_;
  std::array<std::uint64_t, 64> buffer_{};
  std::size_t next_ = 0;
  std::size_t filled_ = 0;
  std::uint64_t consumed_blocks_ = 0;  // ChaCha20 blocks (64 bytes = 8 words) generated
};

// Derives context keys and streams from a secret and a scope. The HMAC state keyed with the
// secret and fed with the scope's pairs is computed once; each context then costs one
// HMAC finalisation. Cheap to copy; safe to share between threads (const use only).
class Generator {
 public:
  // The secret must have at least kMinSecretBytes bytes; the scope must name a trial.
  static absl::StatusOr<Generator> Create(std::string_view secret, Scope scope);

  // HMAC-SHA-256(secret, EncodeContext(FullContext(scope, context))).
  std::array<unsigned char, 32> Key(const Context& context) const;
  Stream Open(const Context& context) const { return Stream(Key(context)); }
  const Scope& scope() const { return scope_; }

 private:
  Generator(crypto_auth_hmacsha256_state state, Scope scope)
      : state_(state), scope_(std::move(scope)) {}
  crypto_auth_hmacsha256_state state_;
  Scope scope_;
};

// HMAC-SHA-256(secret, EncodeContext(pairs)) for an arbitrary list of pairs (tests, tools).
std::array<unsigned char, 32> DeriveKey(
    std::string_view secret, const std::vector<std::pair<std::string, std::string>>& pairs);

// SHA-256 of bytes as 64 lower-case hex digits: the secret's commitment, the design hash.
std::string Sha256Hex(std::string_view bytes);
// The commitment published at CreateTrial: Sha256Hex(secret).
inline std::string SecretCommitment(std::string_view secret) { return Sha256Hex(secret); }
// Lower-case hex and back (for revealing a secret).
std::string HexEncode(std::string_view bytes);
absl::StatusOr<std::string> HexDecode(std::string_view hex);
// kSecretBytes bytes from the operating system's CSPRNG (randombytes_buf). The only
// non-deterministic function of the library.
std::string NewSecret();

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_METHODS_GENERATOR_H_

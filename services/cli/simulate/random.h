// The simulator's random numbers: deterministic from a seed on every machine. std::mt19937_64
// is fully specified by the standard, but its distributions (std::normal_distribution,
// std::uniform_int_distribution) are not, so the draws below are written out here. Uniforms and
// integers are exact bit arithmetic; normals use libm's log, sqrt, sin and cos, which IEEE 754
// platforms agree on only to within an ulp: with the same libm (e.g. Debian 12's glibc) the
// bytes are identical; across libms a rounded answer could, rarely, differ.
#ifndef FIELDWORK_SERVICES_CLI_SIMULATE_RANDOM_H_
#define FIELDWORK_SERVICES_CLI_SIMULATE_RANDOM_H_

#include <cstdint>
#include <random>

#include "absl/strings/string_view.h"

namespace fieldwork::cli::simulate {

// A 64-bit seed for one named stream (e.g. "responses/endline/p-0001") of a run seeded with
// `seed`: FNV-1a of the key, mixed with the seed by SplitMix64. Keying a stream by participant
// makes a participant's draws independent of the order and number of the others.
std::uint64_t StreamSeed(std::uint64_t seed, absl::string_view key);

class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  Random(std::uint64_t seed, absl::string_view key) : engine_(StreamSeed(seed, key)) {}

  // Uniform on [0, 1): the top 53 bits of one draw.
  double Uniform();
  // Standard normal by the Box–Muller transform (both values used, the second cached).
  double Normal();
  bool Bernoulli(double p) { return Uniform() < p; }
  // Uniform integer in [0, n), n > 0, by rejection (no modulo bias).
  std::uint64_t Index(std::uint64_t n);
  std::uint64_t Bits() { return engine_(); }

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0;
};

}  // namespace fieldwork::cli::simulate

#endif  // FIELDWORK_SERVICES_CLI_SIMULATE_RANDOM_H_

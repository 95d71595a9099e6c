// Helpers shared by the randomisation method tests.
#ifndef FIELDWORK_TESTS_UNIT_RANDOMISATION_TEST_UTIL_H_
#define FIELDWORK_TESTS_UNIT_RANDOMISATION_TEST_UTIL_H_

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "services/randomisation/methods/generator.h"
#include "services/randomisation/methods/types.h"

namespace fieldwork::randomisation::testing {

// A fixed, distinct 32-byte secret per index: tests are deterministic.
inline std::string TestSecret(std::uint64_t i) {
  return absl::StrCat("fieldwork-test-secret-", absl::Dec(i, absl::kZeroPad10));
}

inline Generator TestGenerator(std::uint64_t i = 0, std::string factor = "main") {
  return *Generator::Create(TestSecret(i), Scope{"trial-1", std::move(factor), ""});
}

// n units "u0000".. spread round-robin over `strata` strata named "s0", "s1", ...
inline std::vector<Unit> MakeUnits(int n, int strata = 1) {
  std::vector<Unit> units;
  for (int i = 0; i < n; ++i) {
    Unit u;
    u.id = absl::StrCat("u", absl::Dec(i, absl::kZeroPad4));
    u.stratum = absl::StrCat("s", i % strata);
    units.push_back(std::move(u));
  }
  return units;
}

// A deterministic permutation of `units` (made with the library's own shuffle).
inline std::vector<Unit> Permuted(std::vector<Unit> units, std::uint64_t seed) {
  Stream s = TestGenerator(seed, "permute-input").Open(Context().Add("test", "permute"));
  s.Shuffle(absl::MakeSpan(units));
  return units;
}

// Arm by participant id.
inline std::map<std::string, int> ById(absl::Span<const Unit> units, absl::Span<const int> arms) {
  std::map<std::string, int> m;
  for (std::size_t i = 0; i < units.size(); ++i) m[units[i].id] = arms[i];
  return m;
}

// Standard normal deviates from a stream (Box–Muller), for simulated covariates.
inline double Normal(Stream& s) {
  const double u1 = 1.0 - s.Uniform();  // (0, 1]
  const double u2 = s.Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

}  // namespace fieldwork::randomisation::testing

#endif  // FIELDWORK_TESTS_UNIT_RANDOMISATION_TEST_UTIL_H_

#include "services/randomisation/methods/types.h"

#include <limits>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {

absl::Status ValidateArms(absl::Span<const Arm> arms) {
  if (arms.empty()) return absl::InvalidArgumentError("arms: a factor needs at least one arm");
  absl::flat_hash_set<std::string_view> names;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < arms.size(); ++i) {
    const Arm& arm = arms[i];
    if (arm.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("arms[", i, "].name: empty"));
    }
    if (!names.insert(arm.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("arms[", i, "].name: duplicate arm name \"", arm.name, "\""));
    }
    if (arm.weight <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("arms[", i, "].weight: arm \"", arm.name,
                                                     "\" has weight ", arm.weight,
                                                     "; ratio weights must be positive"));
    }
    if (arm.weight > std::numeric_limits<std::int32_t>::max() - total) {
      return absl::InvalidArgumentError(
          absl::StrCat("arms[", i, "].weight: the weights add up to more than 2^31-1"));
    }
    total += arm.weight;
  }
  return absl::OkStatus();
}

namespace {

// The exact check: names the first repeated id (by its second position).
absl::Status ValidateIdsExact(absl::Span<const Unit> units) {
  absl::flat_hash_set<std::string_view> seen;
  seen.reserve(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (!seen.insert(units[i].id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("units[", i, "].id: duplicate participant id \"", units[i].id, "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateIds(absl::Span<const Unit> units) {
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (units[i].id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("units[", i, "].id: empty participant id"));
    }
  }
  // Fast path for large rosters: a set of 64-bit hashes of the ids (no string compares, no
  // pointer chasing). Any repeated hash — a duplicate id or, very rarely, a collision — falls
  // back to the exact check, which reports the duplicate or finds none.
  absl::flat_hash_set<std::uint64_t> hashes;
  hashes.reserve(units.size());
  const absl::Hash<std::string_view> hash;
  for (const Unit& u : units) {
    if (!hashes.insert(hash(u.id)).second) return ValidateIdsExact(units);
  }
  return absl::OkStatus();
}

std::vector<std::int64_t> Weights(absl::Span<const Arm> arms) {
  std::vector<std::int64_t> w;
  w.reserve(arms.size());
  for (const Arm& a : arms) w.push_back(a.weight);
  return w;
}

std::int64_t TotalWeight(absl::Span<const Arm> arms) {
  std::int64_t total = 0;
  for (const Arm& a : arms) total += a.weight;
  return total;
}

}  // namespace fieldwork::randomisation

#include "services/cli/simulate/roster_sim.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/cli/simulate/random.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli::simulate {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr int kTeamSize = 8;
constexpr const char* kFirstNames[] = {"Alex", "Sam", "Jo", "Priya", "Tom", "Aisha", "Ben", "Chloe",
                                       "Dan", "Femi", "Grace", "Hamid", "Isla", "Kofi", "Lena", "Niamh"};

// The factor, if any, whose arm the covariate holds (the ASSIGNED method).
const v1::Factor* AssignedFactor(const v1::TrialDesign& design, const std::string& covariate) {
  for (const v1::Factor& f : design.factors()) {
    if (f.method() == v1::RANDOMISATION_METHOD_ASSIGNED && f.name() == covariate) return &f;
  }
  return nullptr;
}

std::string WeightedArm(Random& random, const v1::Factor& factor) {
  int64_t total = 0;
  for (const auto& arm : factor.arms()) total += std::max<int64_t>(arm.weight(), 1);
  auto pick = static_cast<int64_t>(random.Index(static_cast<uint64_t>(total)));
  for (const auto& arm : factor.arms()) {
    pick -= std::max<int64_t>(arm.weight(), 1);
    if (pick < 0) return arm.name();
  }
  return factor.arms(factor.arms_size() - 1).name();
}

}  // namespace

absl::StatusOr<SimulatedRoster> SimulateRoster(const v1::TrialDesign& design, int64_t n, uint64_t seed) {
  if (n <= 0) return absl::InvalidArgumentError(absl::StrCat("--n must be positive, got ", n));
  // As even as possible, in order: cohort k holds rows [⌈k·n/C⌉, ⌈(k+1)·n/C⌉).
  const int64_t cohorts = std::max(design.cohorts_size(), 1);
  std::vector<int64_t> sizes;
  for (int64_t k = 0; k < cohorts; ++k) sizes.push_back(((k + 1) * n + cohorts - 1) / cohorts - (k * n + cohorts - 1) / cohorts);
  return SimulateRoster(design, sizes, seed);
}

absl::StatusOr<SimulatedRoster> SimulateRoster(const v1::TrialDesign& design, const std::vector<int64_t>& cohort_sizes,
                                               uint64_t seed) {
  const size_t cohorts = static_cast<size_t>(std::max(design.cohorts_size(), 1));
  if (cohort_sizes.size() != cohorts) {
    return absl::InvalidArgumentError(absl::StrCat("--n has ", cohort_sizes.size(), " size(s); trial ", design.trial_id(),
                                                   " has ", cohorts, " cohort(s): give one total or one size per cohort"));
  }
  int64_t n = 0;
  for (int64_t size : cohort_sizes) {
    if (size < 0) return absl::InvalidArgumentError(absl::StrCat("--n: a cohort size is negative (", size, ")"));
    n += size;
  }
  if (n <= 0) return absl::InvalidArgumentError("--n: no participants to simulate");
  const bool has_sites = !design.sites().empty();
  const bool has_cohorts = !design.cohorts().empty();
  const int64_t sites = std::max(design.sites_size(), 1);
  const int64_t teams_per_site =
      std::max<int64_t>(1, static_cast<int64_t>(std::llround(static_cast<double>(n) / static_cast<double>(sites * kTeamSize))));

  SimulatedRoster out;
  std::vector<std::string> header = {"participant_id"};
  if (has_sites) header.push_back("site");
  if (has_cohorts) header.push_back("cohort");
  header.push_back("cluster");
  for (const auto& c : design.covariates()) header.push_back(c.name());
  survey_ingest::AppendCsvRecord(out.roster_csv, header);
  const std::vector<std::string> contact_header = {"participant_id", "email", "phone", "first_name", "time_zone"};
  survey_ingest::AppendCsvRecord(out.contacts_csv, contact_header);

  size_t cohort = 0;
  int64_t left_in_cohort = cohort_sizes[0];
  for (int64_t i = 0; i < n; ++i) {
    while (left_in_cohort == 0) left_in_cohort = cohort_sizes[++cohort];
    --left_in_cohort;
    const std::string id = absl::StrFormat("%s-%06d", design.trial_id(), i + 1);
    Random random(seed, "roster/" + id);
    const std::string site = has_sites ? design.sites(static_cast<int>(random.Index(static_cast<uint64_t>(sites)))).id() : "";
    std::vector<std::string> row = {id};
    if (has_sites) row.push_back(site);
    if (has_cohorts) row.push_back(design.cohorts(static_cast<int>(cohort)));
    row.push_back(absl::StrCat(site.empty() ? "team" : site + "-team", "-",
                               random.Index(static_cast<uint64_t>(teams_per_site)) + 1));
    for (const auto& c : design.covariates()) {
      if (c.kind() == v1::Covariate::KIND_NUMERIC) {
        row.push_back(absl::StrFormat("%.3f", random.Normal()));
      } else if (const v1::Factor* factor = AssignedFactor(design, c.name())) {
        row.push_back(WeightedArm(random, *factor));
      } else if (!c.levels().empty()) {
        row.push_back(c.levels(static_cast<int>(random.Index(static_cast<uint64_t>(c.levels_size())))));
      } else {
        row.push_back(absl::StrCat(c.name(), "-", random.Index(3) + 1));
      }
    }
    survey_ingest::AppendCsvRecord(out.roster_csv, row);
    const std::vector<std::string> contact = {
        id, absl::StrCat(id, "@example.org"), absl::StrFormat("+447700900%03d", i % 1000),
        kFirstNames[random.Index(std::size(kFirstNames))], "Europe/London"};
    survey_ingest::AppendCsvRecord(out.contacts_csv, contact);
    ++out.participants;
  }
  return out;
}

}  // namespace fieldwork::cli::simulate

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

  for (int64_t i = 0; i < n; ++i) {
    const std::string id = absl::StrFormat("%s-%06d", design.trial_id(), i + 1);
    Random random(seed, "roster/" + id);
    const std::string site = has_sites ? design.sites(static_cast<int>(random.Index(static_cast<uint64_t>(sites)))).id() : "";
    std::vector<std::string> row = {id};
    if (has_sites) row.push_back(site);
    // Cohorts in order, as even as possible: cohort k holds rows [k·n/C, (k+1)·n/C).
    if (has_cohorts) row.push_back(design.cohorts(static_cast<int>(i * design.cohorts_size() / n)));
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

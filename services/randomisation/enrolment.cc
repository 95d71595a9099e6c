#include "services/randomisation/enrolment.h"

#include <cmath>
#include <set>

#include <google/protobuf/util/message_differencer.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/quote.h"
#include "services/randomisation/engine/design_validation.h"
#include "services/randomisation/engine/ids.h"

namespace fieldwork::randomisation {
namespace {

using fieldwork::v1::Covariate;
using fieldwork::v1::Participant;
using fieldwork::v1::RowError;

// The categorical variables a participant must carry: strata and minimisation variables.
std::set<std::string> RequiredCategoricals(const fieldwork::v1::TrialDesign& design) {
  std::set<std::string> required;
  for (const auto& factor : design.factors()) {
    for (const std::string& variable : factor.strata()) required.insert(variable);
    for (const auto& mf : factor.minimisation().factors()) required.insert(mf.variable());
  }
  required.erase("site");
  required.erase("cohort");
  return required;
}

class RowChecker {
 public:
  RowChecker(int64_t row, const Participant& p, std::vector<RowError>& errors)
      : row_(row), participant_(p), errors_(errors) {}

  // A long value is shown as an excerpt: the errors go back to the caller, some in a status.
  void Fail(absl::string_view field, absl::string_view reason, absl::string_view value = "") {
    RowError& error = errors_.emplace_back();
    error.set_row(row_);
    error.set_field(std::string(field));
    error.set_reason(std::string(reason));
    error.set_value(value.size() <= kExcerptBytes ? std::string(value) : Excerpt(value));
    failed_ = true;
  }
  bool failed() const { return failed_; }
  const Participant& participant() const { return participant_; }

 private:
  int64_t row_;
  const Participant& participant_;
  std::vector<RowError>& errors_;
  bool failed_ = false;
};

void CheckCovariates(const fieldwork::v1::TrialDesign& design,
                     const std::set<std::string>& required_categoricals, RowChecker& check) {
  std::map<std::string, const Covariate*> declared;
  for (const Covariate& c : design.covariates()) declared[c.name()] = &c;
  const Participant& p = check.participant();
  for (const auto& [name, value] : p.covariates()) {
    const std::string field = "covariates." + name;
    auto it = declared.find(name);
    if (it == declared.end()) {
      check.Fail(field, "is not a covariate of the design");
      continue;
    }
    const Covariate& covariate = *it->second;
    if (covariate.kind() == Covariate::KIND_NUMERIC) {
      if (value.kind_case() != fieldwork::v1::Value::kNumber) {
        check.Fail(field, "must be a number", value.category());
      } else if (!std::isfinite(value.number())) {
        check.Fail(field, "must be a finite number", absl::StrCat(value.number()));
      }
    } else {
      if (value.kind_case() != fieldwork::v1::Value::kCategory || value.category().empty()) {
        check.Fail(field, "must be a category", absl::StrCat(value.number()));
      } else if (value.category().size() > kMaxTextLength) {
        check.Fail(field, absl::StrCat("must be at most ", kMaxTextLength, " bytes"), value.category());
      } else if (covariate.levels_size() > 0 &&
                 std::find(covariate.levels().begin(), covariate.levels().end(),
                           value.category()) == covariate.levels().end()) {
        check.Fail(field, absl::StrCat(Excerpt(value.category()), " is not one of its levels (",
                                       absl::StrJoin(covariate.levels(), ", "), ")"),
                   value.category());
      }
    }
  }
  for (const Covariate& covariate : design.covariates()) {
    const bool needed = covariate.required() || required_categoricals.count(covariate.name()) > 0;
    if (needed && p.covariates().count(covariate.name()) == 0) {
      check.Fail("covariates." + covariate.name(),
                 required_categoricals.count(covariate.name()) > 0
                     ? "is missing; it is a stratification or minimisation variable"
                     : "is required by the design");
    }
  }
}

}  // namespace

bool SameEnrolment(const Participant& a, const Participant& b) {
  Participant left = a;
  Participant right = b;
  left.clear_enrolled_at();
  right.clear_enrolled_at();
  return google::protobuf::util::MessageDifferencer::Equals(left, right);
}

EnrolmentCheck CheckEnrolment(const fieldwork::v1::TrialDesign& design,
                              const std::vector<Participant>& rows,
                              const ExistingParticipants& existing,
                              const std::vector<int64_t>& row_numbers) {
  EnrolmentCheck result;
  std::set<std::string> sites;
  for (const auto& site : design.sites()) sites.insert(site.id());
  std::set<std::string> cohorts(design.cohorts().begin(), design.cohorts().end());
  const std::set<std::string> required_categoricals = RequiredCategoricals(design);
  const bool needs_cluster = NeedsClusters(design);
  // Cluster -> site of this batch's accepted rows; with the existing participants' (asked per
  // cluster) it refuses clusters that span sites unless the design allows it.
  std::map<std::string, std::string> cluster_site;
  // Views into `rows`, which outlive the check: a map of a million ids costs no copies of them.
  absl::flat_hash_map<absl::string_view, int64_t> first_row_of_id;

  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t row = row_numbers.empty() ? static_cast<int64_t>(i) + 1 : row_numbers[i];
    const Participant& p = rows[i];
    RowChecker check(row, p, result.errors);
    if (!ValidParticipantId(p.participant_id())) {
      check.Fail("participant_id", "must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
                 p.participant_id());
    } else if (auto [it, inserted] = first_row_of_id.emplace(p.participant_id(), row); !inserted) {
      check.Fail("participant_id", absl::StrCat("is repeated in this batch (first at row ", it->second, ")"),
                 p.participant_id());
    }
    if (sites.empty() ? !p.site().empty() : sites.count(p.site()) == 0) {
      check.Fail("site", sites.empty() ? "must be empty: the design declares no sites"
                                       : "is not a site of the design", p.site());
    }
    if (cohorts.empty() ? !p.cohort().empty() : cohorts.count(p.cohort()) == 0) {
      check.Fail("cohort", cohorts.empty() ? "must be empty: the design declares no cohorts"
                                           : "is not a cohort of the design", p.cohort());
    }
    if (needs_cluster && p.cluster().empty()) {
      check.Fail("cluster", "is required: the design randomises clusters");
    } else if (p.cluster().size() > kMaxClusterLength) {
      check.Fail("cluster", absl::StrCat("must be at most ", kMaxClusterLength, " bytes"), p.cluster());
    }
    CheckCovariates(design, required_categoricals, check);
    if (check.failed()) continue;

    if (const Participant* enrolled = existing.find ? existing.find(p.participant_id()) : nullptr) {
      if (SameEnrolment(*enrolled, p)) {
        ++result.unchanged;
      } else {
        check.Fail("participant_id", "is already enrolled with different data", p.participant_id());
      }
      continue;
    }
    if (!p.cluster().empty() && !design.allow_clusters_across_sites()) {
      const std::string* enrolled_site = existing.site_of_cluster ? existing.site_of_cluster(p.cluster()) : nullptr;
      auto [it, inserted] = cluster_site.emplace(p.cluster(), enrolled_site != nullptr ? *enrolled_site : p.site());
      if (it->second != p.site()) {
        check.Fail("cluster", absl::StrCat(Excerpt(p.cluster()), " is already in site \"", it->second,
                                           "\"; the design forbids clusters across sites"),
                   p.cluster());
        continue;
      }
    }
    result.accepted.push_back(i);
  }
  return result;
}

}  // namespace fieldwork::randomisation

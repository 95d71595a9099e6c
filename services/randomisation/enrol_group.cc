#include "services/randomisation/enrol_group.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {
namespace {

using fieldwork::v1::Participant;

// A refused batch: nothing enrolled, and the status (the only thing a failed call returns)
// lists the first errors and how many there are in all.
absl::Status BatchRejection(absl::StatusCode code, absl::string_view why,
                            const fieldwork::v1::EnrolResponse& response) {
  constexpr int kListed = 20;
  std::string message = absl::StrCat(why, ": nothing enrolled; ", response.rejected(),
                                     " bad row(s):");
  for (int i = 0; i < response.errors_size() && i < kListed; ++i) {
    const auto& e = response.errors(i);
    absl::StrAppend(&message, " row ", e.row(), " ", e.field(), ": ", e.reason(), ";");
  }
  if (response.errors_size() > kListed) {
    absl::StrAppend(&message, " ... (", response.errors_size(), " errors in all)");
  }
  return absl::Status(code, message);
}

EnrolCallOutcome CheckCall(const fieldwork::v1::TrialDesign& design, const EnrolCallRows& call,
                           const ExistingParticipants& existing) {
  static const std::vector<int64_t> kNone;
  const std::vector<int64_t>& forbidden = call.forbidden != nullptr ? *call.forbidden : kNone;
  EnrolCallOutcome outcome;
  fieldwork::v1::EnrolResponse& response = outcome.response;
  EnrolmentCheck check = CheckEnrolment(design, *call.rows, existing,
                                        call.row_numbers != nullptr ? *call.row_numbers : kNone);
  std::vector<fieldwork::v1::RowError> errors = std::move(check.errors);
  for (int64_t row : forbidden) {
    fieldwork::v1::RowError& error = errors.emplace_back();
    error.set_row(row);
    error.set_field("site");
    error.set_reason("not permitted");
  }
  std::stable_sort(errors.begin(), errors.end(),
                   [](const auto& a, const auto& b) { return a.row() < b.row(); });
  std::set<int64_t> bad_rows;
  for (auto& error : errors) {
    bad_rows.insert(error.row());
    *response.add_errors() = std::move(error);
  }
  response.set_rejected(static_cast<int64_t>(bad_rows.size()));
  if (!forbidden.empty()) {
    outcome.status = BatchRejection(absl::StatusCode::kPermissionDenied,
                                    "a row names a site this caller may not enrol at", response);
    return outcome;
  }
  if (call.all_or_nothing && !bad_rows.empty()) {
    outcome.status = BatchRejection(absl::StatusCode::kInvalidArgument, "all_or_nothing", response);
    return outcome;
  }
  response.set_unchanged(check.unchanged);
  if (check.accepted.empty()) return outcome;
  if (call.still_wanted && !call.still_wanted()) {
    outcome.status = absl::CancelledError("the caller went away before the batch was written: nothing enrolled");
    return outcome;
  }
  outcome.accepted = std::move(check.accepted);
  return outcome;
}

}  // namespace

std::vector<EnrolCallOutcome> CheckEnrolCalls(const fieldwork::v1::TrialDesign& design,
                                              const std::vector<const EnrolCallRows*>& calls,
                                              const ExistingParticipants& enrolled) {
  // The rows accepted from earlier calls of the group, seen by the later ones as enrolled.
  absl::flat_hash_map<std::string, const Participant*> pending;
  absl::flat_hash_map<std::string, std::string> pending_cluster_site;
  const ExistingParticipants existing{
      [&](const std::string& id) -> const Participant* {
        if (auto it = pending.find(id); it != pending.end()) return it->second;
        return enrolled.find ? enrolled.find(id) : nullptr;
      },
      [&](const std::string& cluster) -> const std::string* {
        if (const std::string* site = enrolled.site_of_cluster ? enrolled.site_of_cluster(cluster) : nullptr) {
          return site;
        }
        auto it = pending_cluster_site.find(cluster);
        return it == pending_cluster_site.end() ? nullptr : &it->second;
      }};
  std::vector<EnrolCallOutcome> outcomes;
  outcomes.reserve(calls.size());
  for (size_t c = 0; c < calls.size(); ++c) {
    const EnrolCallRows* call = calls[c];
    EnrolCallOutcome& outcome = outcomes.emplace_back(CheckCall(design, *call, existing));
    // The last call's rows are seen by no other: a large call alone (a million rows) is not
    // indexed a second time.
    if (c + 1 == calls.size()) break;
    for (size_t accepted : outcome.accepted) {
      const Participant& p = (*call->rows)[accepted];
      pending.emplace(p.participant_id(), &p);
      if (!p.cluster().empty()) pending_cluster_site.emplace(p.cluster(), p.site());
    }
  }
  return outcomes;
}

}  // namespace fieldwork::randomisation

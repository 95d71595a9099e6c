#include "services/analysis/service.h"

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/analysis/analyser.h"
#include "services/analysis/export.h"
#include "services/analysis/export_join.h"
#include "services/analysis/join.h"
#include "services/analysis/plan_validation.h"
#include "services/analysis/shared_load.h"
#include "services/analysis/trial_summary.h"
#include "services/common/deterministic_bytes.h"
#include "services/common/freed_memory.h"
#include "services/common/grpc_status.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

AnalysisMetrics::AnalysisMetrics(prometheus::Registry& registry)
    : analyses_(prometheus::BuildCounter()
                    .Name("fieldwork_analysis_analyses_total")
                    .Help("Analyse calls, by trial and status code.")
                    .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("fieldwork_analysis_analyse_seconds")
                   .Help("Time of one Analyse call, data loading included.")
                   .Register(registry)
                   .Add({}, prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.5, 1, 2.5, 5, 10,
                                                                    30, 60, 120})) {}

void AnalysisMetrics::ObserveAnalysis(const std::string& trial, const std::string& code,
                                      double seconds) {
  analyses_.Add({{"trial", trial}, {"code", code}}).Increment();
  seconds_.Observe(seconds);
}

namespace {

// An answer computed from the trial as joined now: the one kept for (trial, key) when neither the
// trial's data nor `depends_on` changed since it was computed, else `compute` over a load shared
// with the callers reading the same data at the moment (the monitor's pass, another call), then
// kept. The data versions are read before the data, so a write landing meanwhile makes the next
// call compute anew. A source that cannot tell its version: computed every time, not kept.
template <typename Answer, typename Compute>
absl::StatusOr<Answer> KeptOrComputed(const Sources& sources, AnswerCache<Answer>& kept,
                                      const std::string& trial, const std::string& key,
                                      const std::string& depends_on, Compute compute) {
  const std::string versions = TrialDataVersions(sources, trial);
  std::string fingerprint;
  if (!versions.empty()) {
    fingerprint = absl::StrCat(versions, depends_on);
    if (std::optional<Answer> answer = kept.Find(trial, key, fingerprint))
      return *std::move(answer);
  }
  absl::StatusOr<std::shared_ptr<const JoinedTrial>> joined =
      LoadTrialShared(sources, trial, versions);
  if (!joined.ok()) return joined.status();
  absl::StatusOr<Answer> answer = compute(**joined);
  if (answer.ok() && !fingerprint.empty()) kept.Put(trial, key, fingerprint, *answer);
  return answer;
}

}  // namespace

absl::StatusOr<Principal> AnalysisServiceImpl::Allow(grpc::ServerContext* context,
                                                     std::initializer_list<Role> roles,
                                                     const std::string& trial, bool whole_trial) {
  absl::StatusOr<Principal> principal = authenticator_.Authenticate(*context);
  if (!principal.ok()) return principal.status();
  const absl::Status allowed = whole_trial ? AuthorizeWholeTrial(*principal, roles, trial)
                                           : Authorize(*principal, roles, trial);
  if (!allowed.ok()) return allowed;
  return principal;
}

grpc::Status AnalysisServiceImpl::RegisterPlan(grpc::ServerContext* context,
                                               const v1::RegisterPlanRequest* request,
                                               v1::RegisterPlanResponse* response) {
  if (request->plan().trial_id().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("plan.trial_id: required"));
  }
  FW_GRPC_ASSIGN_OR_RETURN(principal,
                           Allow(context, {Role::kResearcher}, request->plan().trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(
      result, plans_.Register(principal.name, request->plan(), request->deviation_reason()));
  *response->mutable_record() = std::move(result.record);
  response->set_changed(result.changed);
  return grpc::Status::OK;
}

grpc::Status AnalysisServiceImpl::LockPlan(grpc::ServerContext* context,
                                           const v1::LockPlanRequest* request,
                                           v1::LockPlanResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(principal, Allow(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(record,
                           plans_.Lock(principal.name, request->trial_id(), request->plan_id()));
  *response->mutable_record() = std::move(record);
  return grpc::Status::OK;
}

grpc::Status AnalysisServiceImpl::GetPlan(grpc::ServerContext* context,
                                          const v1::GetPlanRequest* request,
                                          v1::GetPlanResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id(),
                      /*whole_trial=*/false));
  FW_GRPC_ASSIGN_OR_RETURN(record, plans_.Get(request->trial_id(), request->plan_id()));
  *response->mutable_record() = std::move(record);
  return grpc::Status::OK;
}

grpc::Status AnalysisServiceImpl::ListPlans(grpc::ServerContext* context,
                                            const v1::ListPlansRequest* request,
                                            v1::ListPlansResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id(),
                      /*whole_trial=*/false));
  FW_GRPC_ASSIGN_OR_RETURN(records, plans_.List(request->trial_id()));
  for (v1::PlanRecord& record : records) *response->add_plans() = std::move(record);
  return grpc::Status::OK;
}

grpc::Status AnalysisServiceImpl::Analyse(grpc::ServerContext* context,
                                          const v1::AnalyseRequest* request,
                                          v1::AnalyseResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  const auto started = std::chrono::steady_clock::now();
  absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<v1::PlanRecord> record = plans_.Get(request->trial_id(), request->plan_id());
    if (!record.ok()) return record.status();
    if (record->state() != v1::PLAN_STATE_LOCKED && !request->allow_unlocked()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "plan \"", record->plan().plan_id(), "\" of trial \"", request->trial_id(),
          "\" is not locked; lock it (LockPlan) or set allow_unlocked for a provisional analysis"));
    }
    // The same plan over the same data gives the same answer (with the computed_at of when it
    // was computed). allow_unlocked is not part of what it depends on: it only lets an unlocked
    // plan through (above).
    absl::StatusOr<v1::AnalyseResponse> result = KeptOrComputed(
        sources_, answers_, request->trial_id(), record->plan().plan_id(),
        DeterministicBytes(*record),
        [&](const JoinedTrial& joined) { return RunPlan(*record, joined, clock_.Now()); });
    if (!result.ok()) return result.status();
    *response = std::move(*result);
    return absl::OkStatus();
  }();
  // The joined trial is gone (or goes with the last of the callers sharing it): its memory back
  // to the system, not kept by this thread's arena.
  ReleaseFreedMemory();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_.ObserveAnalysis(request->trial_id(), absl::StatusCodeToString(status.code()), seconds);
  return ToGrpcStatus(status);
}

grpc::Status AnalysisServiceImpl::SummariseTrial(grpc::ServerContext* context,
                                                 const v1::SummariseTrialRequest* request,
                                                 v1::SummariseTrialResponse* response) {
  if (request->trial_id().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("trial_id: required"));
  }
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  // `fieldwork status` asks for this and for each plan's analysis at once: one load of the
  // trial serves both.
  absl::StatusOr<v1::SummariseTrialResponse> summary =
      KeptOrComputed(sources_, summaries_, request->trial_id(), /*key=*/"", /*depends_on=*/"",
                     [](const JoinedTrial& joined) -> absl::StatusOr<v1::SummariseTrialResponse> {
                       return fieldwork::analysis::SummariseTrial(joined);
                     });
  ReleaseFreedMemory();  // as after Analyse
  if (!summary.ok()) return ToGrpcStatus(summary.status());
  *response = std::move(*summary);
  return grpc::Status::OK;
}

absl::StatusOr<v1::PowerResponse> ComputePower(const v1::PowerRequest& request) {
  v1::AnalysisPlan plan;
  *plan.mutable_power() = request.assumptions();
  plan.set_alpha(0.05);
  v1::Trial none;
  NormalisePlan(none, plan);
  std::vector<std::string> errors;
  // Reuse the plan's checks of the assumptions; only the power fields matter here.
  absl::Status valid = ValidatePlan(none, plan);
  if (!valid.ok()) {
    for (absl::string_view part : absl::StrSplit(valid.message(), "; ")) {
      if (absl::StartsWith(part, "plan.power.")) errors.push_back(std::string(part.substr(5)));
    }
  }
  if (!(request.effect_size() >= 0)) errors.push_back("effect_size: must not be negative");
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  const v1::PowerAssumptions& power = plan.power();
  absl::StatusOr<Mdes> mdes = PlannedMdesOf(power);
  if (!mdes.ok()) return mdes.status();
  v1::PowerResponse response;
  response.set_mdes(mdes->mdes);
  response.set_multiplier(mdes->multiplier);
  response.set_df(mdes->df);
  response.set_standard_error(mdes->standard_error);
  response.set_effective_n(mdes->effective_n);
  if (request.effect_size() > 0) {
    absl::StatusOr<double> p =
        IsClusterPower(power) ? PowerForEffect(ToClusterDesign(power), request.effect_size())
                              : PowerForEffect(ToIndividualDesign(power), request.effect_size());
    if (!p.ok()) return p.status();
    response.set_power(*p);
  }
  return response;
}

grpc::Status AnalysisServiceImpl::Power(grpc::ServerContext* context,
                                        const v1::PowerRequest* request,
                                        v1::PowerResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(principal, authenticator_.Authenticate(*context));
  FW_GRPC_ASSIGN_OR_RETURN(result, ComputePower(*request));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status AnalysisServiceImpl::ExportDataset(
    grpc::ServerContext* context, const v1::ExportDatasetRequest* request,
    grpc::ServerWriter<v1::ExportDatasetResponse>* writer) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(record, plans_.Get(request->trial_id(), request->plan_id()));
  // A merge join of the sources' streams: each line is made as soon as every source has moved
  // past its participant, and sent in messages of kLinesPerMessage lines.
  constexpr size_t kLinesPerMessage = 1000;
  v1::ExportDatasetResponse message;
  size_t lines = 0;  // in `message`
  bool open = true;  // false once the client went away
  absl::Status status = StreamDataset(
      sources_, record.plan(), request->trial_id(),
      [&](const DatasetLayout& layout) {
        for (const auto& column : layout.codebook) *message.add_codebook() = column;
        message.set_csv(layout.header);
        open = writer->Write(message);
        message.Clear();
        return open;
      },
      [&](const std::string& line) {
        message.mutable_csv()->append(line);
        if (++lines < kLinesPerMessage) return true;
        open = writer->Write(message);
        message.Clear();
        lines = 0;
        return open;
      });
  if (!status.ok()) return ToGrpcStatus(status);
  if (open && lines > 0) writer->Write(message);
  return grpc::Status::OK;
}

}  // namespace fieldwork::analysis

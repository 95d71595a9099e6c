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
    // The same plan over the same data gives the same answer: kept, it is answered again (with
    // the computed_at of when it was computed) without reading the trial. The versions are
    // read before the data, so a write landing meanwhile makes the next call compute anew.
    const std::string& plan_id = record->plan().plan_id();
    const std::string versions = TrialDataVersions(sources_, request->trial_id());
    std::string fingerprint;
    if (!versions.empty()) {
      // allow_unlocked is not part of it: it only lets an unlocked plan through (above).
      fingerprint = absl::StrCat(versions, DeterministicBytes(*record));
      if (std::optional<v1::AnalyseResponse> kept =
              answers_.Find(request->trial_id(), plan_id, fingerprint)) {
        *response = std::move(*kept);
        return absl::OkStatus();
      }
    }
    // Shared with the monitor's pass (or another Analyse) reading the same data at the moment.
    absl::StatusOr<std::shared_ptr<const JoinedTrial>> joined =
        LoadTrialShared(sources_, request->trial_id(), versions);
    if (!joined.ok()) return joined.status();
    absl::StatusOr<v1::AnalyseResponse> result = RunPlan(*record, **joined, clock_.Now());
    if (!result.ok()) return result.status();
    if (!fingerprint.empty()) answers_.Put(request->trial_id(), plan_id, fingerprint, *result);
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
  absl::Status status = [&]() -> absl::Status {
    // Kept and shared as Analyse's answers are (above): `fieldwork status` asks for this and
    // for each plan's analysis at once, so one load of the trial serves both.
    const std::string versions = TrialDataVersions(sources_, request->trial_id());
    if (!versions.empty()) {
      if (std::optional<v1::SummariseTrialResponse> kept =
              summaries_.Find(request->trial_id(), "", versions)) {
        *response = std::move(*kept);
        return absl::OkStatus();
      }
    }
    absl::StatusOr<std::shared_ptr<const JoinedTrial>> joined =
        LoadTrialShared(sources_, request->trial_id(), versions);
    if (!joined.ok()) return joined.status();
    *response = fieldwork::analysis::SummariseTrial(**joined);
    if (!versions.empty()) summaries_.Put(request->trial_id(), "", versions, *response);
    return absl::OkStatus();
  }();
  ReleaseFreedMemory();  // as after Analyse
  return ToGrpcStatus(status);
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

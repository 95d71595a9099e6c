// The gRPC adapter of the analysis service: authenticates and authorises each call, translates
// between protos and the domain (PlanRegistry, LoadTrial + RunPlan or SummariseTrial, the power
// calculator, BuildDataset), and records the service's metrics.
#ifndef FIELDWORK_SERVICES_ANALYSIS_SERVICE_H_
#define FIELDWORK_SERVICES_ANALYSIS_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <initializer_list>
#include <string>

#include "fieldwork/v1/analysis.grpc.pb.h"
#include "services/analysis/analysis_cache.h"
#include "services/analysis/plan_registry.h"
#include "services/analysis/sources.h"
#include "services/common/access.h"
#include "services/common/clock.h"
#include "services/common/grpc_auth.h"

namespace fieldwork::analysis {

// fieldwork_analysis_analyses_total{trial,code} and fieldwork_analysis_analyse_seconds (the
// time of one Analyse, data loading included).
class AnalysisMetrics {
 public:
  explicit AnalysisMetrics(prometheus::Registry& registry);
  void ObserveAnalysis(const std::string& trial, const std::string& code, double seconds);

 private:
  prometheus::Family<prometheus::Counter>& analyses_;
  prometheus::Histogram& seconds_;
};

class AnalysisServiceImpl final : public fieldwork::v1::AnalysisService::Service {
 public:
  AnalysisServiceImpl(PlanRegistry& plans, Sources sources, const Authenticator& authenticator,
                      const Clock& clock, AnalysisMetrics& metrics)
      : plans_(plans),
        sources_(sources),
        authenticator_(authenticator),
        clock_(clock),
        metrics_(metrics) {}

  grpc::Status RegisterPlan(grpc::ServerContext*, const fieldwork::v1::RegisterPlanRequest*,
                            fieldwork::v1::RegisterPlanResponse*) override;
  grpc::Status LockPlan(grpc::ServerContext*, const fieldwork::v1::LockPlanRequest*,
                        fieldwork::v1::LockPlanResponse*) override;
  grpc::Status GetPlan(grpc::ServerContext*, const fieldwork::v1::GetPlanRequest*,
                       fieldwork::v1::GetPlanResponse*) override;
  grpc::Status ListPlans(grpc::ServerContext*, const fieldwork::v1::ListPlansRequest*,
                         fieldwork::v1::ListPlansResponse*) override;
  grpc::Status Analyse(grpc::ServerContext*, const fieldwork::v1::AnalyseRequest*,
                       fieldwork::v1::AnalyseResponse*) override;
  grpc::Status SummariseTrial(grpc::ServerContext*, const fieldwork::v1::SummariseTrialRequest*,
                              fieldwork::v1::SummariseTrialResponse*) override;
  grpc::Status Power(grpc::ServerContext*, const fieldwork::v1::PowerRequest*,
                     fieldwork::v1::PowerResponse*) override;
  grpc::Status ExportDataset(grpc::ServerContext*, const fieldwork::v1::ExportDatasetRequest*,
                             grpc::ServerWriter<fieldwork::v1::ExportDatasetResponse>*) override;

 private:
  // The caller, if it holds one of `roles` on `trial`. Plans, analyses and exports cover every
  // site's participants (whole_trial: refused to a site-scoped caller, access.h); reading the
  // plan itself does not.
  absl::StatusOr<Principal> Allow(grpc::ServerContext* context, std::initializer_list<Role> roles,
                                  const std::string& trial, bool whole_trial = true);

  PlanRegistry& plans_;
  Sources sources_;
  const Authenticator& authenticator_;
  const Clock& clock_;
  AnalysisMetrics& metrics_;
  AnswerCache<fieldwork::v1::AnalyseResponse> answers_;
  AnswerCache<fieldwork::v1::SummariseTrialResponse> summaries_;
};

// The power calculator alone: INVALID_ARGUMENT naming the field for bad assumptions.
absl::StatusOr<fieldwork::v1::PowerResponse> ComputePower(
    const fieldwork::v1::PowerRequest& request);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_SERVICE_H_

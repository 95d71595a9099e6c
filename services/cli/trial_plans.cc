#include "services/cli/trial_plans.h"

namespace fieldwork::cli {

grpc::Status ListPlanIds(CliContext& cli, const std::string& trial, const CommandOptions& options,
                         std::vector<std::string>& ids) {
  ids.clear();
  if (!options.plan.empty()) {
    ids.push_back(options.plan);
    return grpc::Status::OK;
  }
  fieldwork::v1::ListPlansRequest request;
  request.set_trial_id(trial);
  fieldwork::v1::ListPlansResponse listed;
  if (grpc::Status s = cli.analysis().ListPlans(cli.Call().get(), request, &listed); !s.ok()) {
    return s;
  }
  for (const fieldwork::v1::PlanRecord& record : listed.plans()) ids.push_back(record.plan().plan_id());
  if (ids.empty()) ids.emplace_back();
  return grpc::Status::OK;
}

std::variant<std::vector<std::string>, int> PlansToAnalyse(CliContext& cli, const std::string& trial,
                                                           const CommandOptions& options) {
  std::vector<std::string> ids;
  if (grpc::Status s = ListPlanIds(cli, trial, options, ids); !s.ok()) {
    return ReportFailure("ListPlans", s);
  }
  return ids;
}

}  // namespace fieldwork::cli

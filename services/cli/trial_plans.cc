#include "services/cli/trial_plans.h"

namespace fieldwork::cli {

std::variant<std::vector<std::string>, int> PlansToAnalyse(CliContext& cli, const std::string& trial,
                                                           const CommandOptions& options) {
  if (!options.plan.empty()) return std::vector<std::string>{options.plan};
  fieldwork::v1::ListPlansRequest request;
  request.set_trial_id(trial);
  fieldwork::v1::ListPlansResponse listed;
  if (grpc::Status s = cli.analysis().ListPlans(cli.Call().get(), request, &listed); !s.ok()) {
    return ReportFailure("ListPlans", s);
  }
  std::vector<std::string> ids;
  for (const fieldwork::v1::PlanRecord& record : listed.plans()) ids.push_back(record.plan().plan_id());
  if (ids.empty()) ids.emplace_back();
  return ids;
}

}  // namespace fieldwork::cli

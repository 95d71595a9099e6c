// analyse: runs the trial's analysis plans on the analysis service and prints the report's
// tables: the plan --plan names, or every plan of the trial (a protocol may pre-register
// several analyses, e.g. one per experiment) in plan id order.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "services/cli/analysis_tables.h"
#include "services/cli/commands.h"

namespace fieldwork::cli {
namespace {

// The plans to analyse: --plan, else every registered plan, else "" (the service's default
// plan, whose absence it reports).
std::optional<std::vector<std::string>> PlansToAnalyse(CliContext& cli, const std::string& trial,
                                                       const CommandOptions& options, int& failure) {
  if (!options.plan.empty()) return std::vector<std::string>{options.plan};
  fieldwork::v1::ListPlansRequest request;
  request.set_trial_id(trial);
  fieldwork::v1::ListPlansResponse listed;
  if (grpc::Status s = cli.analysis().ListPlans(cli.Call().get(), request, &listed); !s.ok()) {
    failure = ReportFailure("ListPlans", s);
    return std::nullopt;
  }
  std::vector<std::string> ids;
  for (const fieldwork::v1::PlanRecord& record : listed.plans()) ids.push_back(record.plan().plan_id());
  if (ids.empty()) ids.emplace_back();
  return ids;
}

}  // namespace

int Analyse(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 1) {
    std::cerr << "usage: fieldwork analyse TRIAL [--plan=P] [--allow_unlocked]\n";
    return kUsage;
  }
  int failure = kOk;
  const std::optional<std::vector<std::string>> plans = PlansToAnalyse(cli, args[0], options, failure);
  if (!plans.has_value()) return failure;
  for (size_t i = 0; i < plans->size(); ++i) {
    fieldwork::v1::AnalyseRequest request;
    request.set_trial_id(args[0]);
    request.set_plan_id((*plans)[i]);
    request.set_allow_unlocked(options.allow_unlocked);
    fieldwork::v1::AnalyseResponse analysis;
    if (grpc::Status s = cli.analysis().Analyse(cli.Call().get(), request, &analysis); !s.ok()) {
      return ReportFailure((*plans)[i].empty() ? "Analyse" : "Analyse " + (*plans)[i], s);
    }
    if (i > 0) std::cout << "\n" << std::string(78, '=') << "\n\n";
    PrintAnalysis(analysis, std::cout);
  }
  return kOk;
}

}  // namespace fieldwork::cli

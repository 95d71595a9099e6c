// analyse: runs the trial's analysis plans on the analysis service and prints the report's
// tables: the plan --plan names, or every plan of the trial in plan id order.
#include <iostream>
#include <string>
#include <vector>

#include "services/cli/analysis_tables.h"
#include "services/cli/commands.h"
#include "services/cli/trial_plans.h"

namespace fieldwork::cli {

int Analyse(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 1) {
    std::cerr << "usage: fieldwork analyse TRIAL [--plan=P] [--allow_unlocked]\n";
    return kUsage;
  }
  const auto plans = PlansToAnalyse(cli, args[0], options);
  if (const int* failure = std::get_if<int>(&plans)) return *failure;
  const std::vector<std::string>& ids = std::get<std::vector<std::string>>(plans);
  for (size_t i = 0; i < ids.size(); ++i) {
    fieldwork::v1::AnalyseRequest request;
    request.set_trial_id(args[0]);
    request.set_plan_id(ids[i]);
    request.set_allow_unlocked(options.allow_unlocked);
    fieldwork::v1::AnalyseResponse analysis;
    if (grpc::Status s = cli.analysis().Analyse(cli.Call().get(), request, &analysis); !s.ok()) {
      return ReportFailure(ids[i].empty() ? "Analyse" : "Analyse " + ids[i], s);
    }
    if (i > 0) std::cout << "\n" << std::string(78, '=') << "\n\n";
    PrintAnalysis(analysis, std::cout);
  }
  return kOk;
}

}  // namespace fieldwork::cli

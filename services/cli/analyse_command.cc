// analyse: runs the trial's analysis plan on the analysis service and prints the report's tables.
#include <iostream>

#include "services/cli/analysis_tables.h"
#include "services/cli/commands.h"

namespace fieldwork::cli {

int Analyse(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 1) {
    std::cerr << "usage: fieldwork analyse TRIAL [--plan=P] [--allow_unlocked]\n";
    return kUsage;
  }
  fieldwork::v1::AnalyseRequest request;
  request.set_trial_id(args[0]);
  request.set_plan_id(options.plan);
  request.set_allow_unlocked(options.allow_unlocked);
  fieldwork::v1::AnalyseResponse analysis;
  if (grpc::Status s = cli.analysis().Analyse(cli.Call().get(), request, &analysis); !s.ok()) {
    return ReportFailure("Analyse", s);
  }
  PrintAnalysis(analysis, std::cout);
  return kOk;
}

}  // namespace fieldwork::cli

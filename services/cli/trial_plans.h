// Which analysis plans a command works on: the one --plan names, else every plan of the trial
// (a protocol may pre-register several, e.g. one per experiment), in plan id order.
#ifndef FIELDWORK_SERVICES_CLI_TRIAL_PLANS_H_
#define FIELDWORK_SERVICES_CLI_TRIAL_PLANS_H_

#include <string>
#include <variant>
#include <vector>

#include "services/cli/cli_context.h"
#include "services/cli/commands.h"

namespace fieldwork::cli {

// The plan ids into `ids`, or ListPlans' failure (unreported: `status` words an unreachable
// analysis service its own way). A trial without plans gives {""}: the service's default plan,
// whose absence Analyse then reports.
grpc::Status ListPlanIds(CliContext& cli, const std::string& trial, const CommandOptions& options,
                         std::vector<std::string>& ids);

// The plan ids to analyse, or the exit code of a failed ListPlans (reported).
std::variant<std::vector<std::string>, int> PlansToAnalyse(CliContext& cli, const std::string& trial,
                                                           const CommandOptions& options);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_TRIAL_PLANS_H_

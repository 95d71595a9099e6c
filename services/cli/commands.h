// The fieldwork commands. Each takes its positional arguments, prints what it did, and
// returns an ExitCode.
#ifndef FIELDWORK_SERVICES_CLI_COMMANDS_H_
#define FIELDWORK_SERVICES_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "services/cli/cli_context.h"

namespace fieldwork::cli {

struct CommandOptions {
  bool dry_run = false;         // apply: print the changes, make none
  std::string deviation_reason;  // apply: change a locked analysis plan, recorded as a deviation
  bool all_or_nothing = false;  // enrol: reject the whole roster if a row is bad
  std::string cohort;           // randomise, status: one cohort only
  bool keep_unfinished = false;  // responses import
  std::string participant_column;  // responses import: the column of participant ids
  std::string token_column;        // responses import: the column of survey link tokens
  std::string ignore_columns;      // responses import: "a,b,Q7_*", columns not to import
  bool long_format = false;        // responses import --long: one row per decision
  std::string wave;                // responses replay: one wave only
  std::string plan;              // analyse, report: the analysis plan (default "main")
  bool allow_unlocked = false;   // analyse, report: analyse a plan that is not locked
  std::string html;              // report: the HTML file to write
  std::string candidate_groups;  // report: "name01=white_british,..." for the CV experiment
};

using Args = std::vector<std::string>;

int Apply(CliContext& cli, const Args& args, const CommandOptions& options);
int Enrol(CliContext& cli, const Args& args, const CommandOptions& options);
int Randomise(CliContext& cli, const Args& args, const CommandOptions& options);
int Balance(CliContext& cli, const Args& args, const CommandOptions& options);
int ExportAllocations(CliContext& cli, const Args& args, const CommandOptions& options);
int ImportResponses(CliContext& cli, const Args& args, const CommandOptions& options);
// responses replay TRIAL [--wave=W]: validates the stored rejects again
int ReplayResponses(CliContext& cli, const Args& args, const CommandOptions& options);
// responses decisions TRIAL [--wave=W]: an online experiment's decisions, long format, as CSV
int ExportDecisions(CliContext& cli, const Args& args, const CommandOptions& options);
int ImportOutcomes(CliContext& cli, const Args& args, const CommandOptions& options);
int Status(CliContext& cli, const Args& args, const CommandOptions& options);
int ImportContacts(CliContext& cli, const Args& args, const CommandOptions& options);
int CampaignStart(CliContext& cli, const Args& args, const CommandOptions& options);
int CampaignPause(CliContext& cli, const Args& args, const CommandOptions& options);
int CampaignResume(CliContext& cli, const Args& args, const CommandOptions& options);
int CampaignStatus(CliContext& cli, const Args& args, const CommandOptions& options);
int Analyse(CliContext& cli, const Args& args, const CommandOptions& options);
int Report(CliContext& cli, const Args& args, const CommandOptions& options);
// simulate roster|responses|outcomes|clicks (services/cli/simulate_commands.cc)
int Simulate(CliContext& cli, const Args& args, const CommandOptions& options);
// leavers import TRIAL LEAVERS.csv
int Leavers(CliContext& cli, const Args& args, const CommandOptions& options);
// audit anchor TRIAL [--out=FILE], audit verify TRIAL [--anchors=FILE] (audit_commands.cc)
int AuditAnchor(CliContext& cli, const Args& args, const CommandOptions& options);
int AuditVerify(CliContext& cli, const Args& args, const CommandOptions& options);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_COMMANDS_H_

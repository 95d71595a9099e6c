// fieldwork: runs a trial from the command line — protocol files and CSV files in, tables out.
//
// Usage: fieldwork [flags] COMMAND [ARGS]
//   apply PROTOCOL.yaml [--dry_run] [--deviation_reason=WHY]   create or update the trial,
//                                       instruments, waves, templates, campaigns, analysis plan
//   enrol TRIAL ROSTER.csv [--all_or_nothing]
//   randomise TRIAL [--cohort=C]
//   balance TRIAL [--cohort=C]
//   export TRIAL                        allocations as CSV on stdout
//   responses import TRIAL WAVE FILE.csv [--keep_unfinished] [--participant_column=NAME |
//                    --token_column=NAME] [--ignore_columns=A,B,...]   (Qualtrics or plain CSV)
//   responses import TRIAL WAVE FILE.csv --long [--keep_unfinished] [--participant_column=NAME]
//                    [--ignore_columns=A,B,...]   per-decision data, as responses decisions writes
//   responses replay TRIAL [--wave=W]   validate the rejects again (after the roster changed)
//   responses decisions TRIAL [--wave=W]   an online experiment's decisions (long format) as CSV
//   outcomes import TRIAL FILE.csv
//   status TRIAL
//   contacts TRIAL CONTACTS.csv
//   campaign start|pause|resume|status TRIAL CAMPAIGN
//   leavers import TRIAL LEAVERS.csv   participant_id,left_on[,withdraw_reason]
//   simulate roster PROTOCOL.yaml --n=N --seed=S --out=DIR
//   simulate responses PROTOCOL.yaml ALLOCATIONS.csv --wave=W --seed=S --effect=D --response_rate=R
//            --differential_attrition=PP --out=FILE.csv
//   simulate outcomes PROTOCOL.yaml ALLOCATIONS.csv --seed=S --leaver_rate=R --out=DIR
//   simulate clicks MAIL_DIR --rate=R --seed=S
//   analyse TRIAL [--plan=P] [--allow_unlocked]   the report's tables, attrition, MDES ledger
//   report TRIAL --html OUT.html [--plan=P] [--candidate_groups=NAME=GROUP,...]
//   audit anchor TRIAL [--out=FILE]     append the audit log's head to FILE (TRIAL.audit-anchors)
//   audit verify TRIAL [--anchors=FILE]   verify the audit log against the heads in FILE
// Flags (or FIELDWORK_<FLAG> environment variables): --randomisation_address,
// --survey_ingest_address, --messaging_address, --analysis_address, --token, --tls_ca_file.
// Exit codes: 0 done; 1 rows rejected or a change refused; 2 bad command line or input file;
// 3 a service unavailable (retry); 4 a service refused the request.
#include <iostream>
#include <map>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "services/cli/commands.h"
#include "services/cli/help.h"
#include "services/common/flags.h"

ABSL_FLAG(std::string, randomisation_address, "127.0.0.1:50051", "randomisation service");
ABSL_FLAG(std::string, survey_ingest_address, "127.0.0.1:50053", "survey-ingest service");
ABSL_FLAG(std::string, messaging_address, "127.0.0.1:50052", "messaging service");
ABSL_FLAG(std::string, analysis_address, "127.0.0.1:50054", "analysis service");
ABSL_FLAG(std::string, token, "", "bearer token (or FIELDWORK_TOKEN)");
ABSL_FLAG(std::string, tls_ca_file, "", "CA certificate to verify the services' TLS (plaintext when empty)");
ABSL_FLAG(bool, dry_run, false, "apply: print the changes, make none");
ABSL_FLAG(std::string, deviation_reason, "", "apply: change a locked analysis plan, recorded as a deviation with this reason");
ABSL_FLAG(bool, all_or_nothing, false, "enrol: reject the whole roster if any row is bad");
ABSL_FLAG(std::string, cohort, "", "randomise, balance, export: one cohort only");
ABSL_FLAG(bool, keep_unfinished, false, "responses import: keep unfinished responses, flagged partial");
ABSL_FLAG(std::string, participant_column, "",
          "responses import: the column holding the participant id (default ExternalReference; "
          "participant_id with --long)");
ABSL_FLAG(std::string, token_column, "",
          "responses import: the column holding each row's survey link token ({survey_token} "
          "passed back by an external survey) instead of a participant id");
ABSL_FLAG(bool, long, false,
          "responses import: the file is per-decision data in long format, one row per "
          "decision, as `responses decisions` exports it");
ABSL_FLAG(std::string, ignore_columns, "",
          "responses import: columns not to import, comma-separated: names, or a prefix and '*'");
ABSL_DECLARE_FLAG(std::string, wave);  // simulate_commands.cc
ABSL_FLAG(std::string, plan, "", "analyse, report: the analysis plan (default: every plan of the trial)");
ABSL_FLAG(bool, allow_unlocked, false, "analyse, report: analyse a plan that is not locked");
ABSL_FLAG(std::string, html, "", "report: the HTML file to write");
ABSL_FLAG(std::string, candidate_groups, "", "report: CV names' groups, e.g. name01=white_british,name02=minority_ethnic");

namespace {

using Command = int (*)(fieldwork::cli::CliContext&, const fieldwork::cli::Args&,
                        const fieldwork::cli::CommandOptions&);

const std::map<std::string, Command>& Commands() {
  static const auto* commands = new std::map<std::string, Command>{
      {"apply", &fieldwork::cli::Apply},
      {"enrol", &fieldwork::cli::Enrol},
      {"randomise", &fieldwork::cli::Randomise},
      {"balance", &fieldwork::cli::Balance},
      {"export", &fieldwork::cli::ExportAllocations},
      {"responses import", &fieldwork::cli::ImportResponses},
      {"responses replay", &fieldwork::cli::ReplayResponses},
      {"responses decisions", &fieldwork::cli::ExportDecisions},
      {"outcomes import", &fieldwork::cli::ImportOutcomes},
      {"status", &fieldwork::cli::Status},
      {"contacts", &fieldwork::cli::ImportContacts},
      {"campaign start", &fieldwork::cli::CampaignStart},
      {"campaign pause", &fieldwork::cli::CampaignPause},
      {"campaign resume", &fieldwork::cli::CampaignResume},
      {"campaign status", &fieldwork::cli::CampaignStatus},
      {"analyse", &fieldwork::cli::Analyse},
      {"report", &fieldwork::cli::Report},
      {"simulate", &fieldwork::cli::Simulate},  // roster|responses|outcomes|clicks as its first argument
      {"leavers", &fieldwork::cli::Leavers},    // leavers import TRIAL LEAVERS.csv
      {"audit anchor", &fieldwork::cli::AuditAnchor},
      {"audit verify", &fieldwork::cli::AuditVerify},
  };
  return *commands;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("fieldwork [flags] COMMAND [ARGS]; fieldwork --help lists the commands");
  // Per-command help, before Abseil's own --help (which lists flags, not commands).
  if (std::vector<std::string> help_words; fieldwork::cli::HelpRequested(argc, argv, help_words)) {
    return fieldwork::cli::PrintHelp(help_words, std::cout) ? fieldwork::cli::kOk : fieldwork::cli::kUsage;
  }
  std::vector<char*> positional = fieldwork::ParseFlagsWithEnvironment(argc, argv);
  std::vector<std::string> words(positional.begin() + 1, positional.end());
  if (words.empty()) {
    fieldwork::cli::PrintHelp({}, std::cerr);
    return fieldwork::cli::kUsage;
  }
  std::string name = words[0];
  size_t consumed = 1;
  if ((name == "responses" || name == "outcomes" || name == "campaign" || name == "audit") && words.size() > 1) {
    name += " " + words[1];
    consumed = 2;
  }
  auto it = Commands().find(name);
  if (it == Commands().end()) {
    std::cerr << "fieldwork: unknown command \"" << name << "\"\n";
    fieldwork::cli::PrintHelp({}, std::cerr);
    return fieldwork::cli::kUsage;
  }
  fieldwork::cli::ServiceAddresses addresses;
  addresses.randomisation = absl::GetFlag(FLAGS_randomisation_address);
  addresses.survey_ingest = absl::GetFlag(FLAGS_survey_ingest_address);
  addresses.messaging = absl::GetFlag(FLAGS_messaging_address);
  addresses.analysis = absl::GetFlag(FLAGS_analysis_address);
  fieldwork::cli::CliContext cli(addresses, absl::GetFlag(FLAGS_token), absl::GetFlag(FLAGS_tls_ca_file));
  fieldwork::cli::CommandOptions options;
  options.dry_run = absl::GetFlag(FLAGS_dry_run);
  options.deviation_reason = absl::GetFlag(FLAGS_deviation_reason);
  options.all_or_nothing = absl::GetFlag(FLAGS_all_or_nothing);
  options.cohort = absl::GetFlag(FLAGS_cohort);
  options.keep_unfinished = absl::GetFlag(FLAGS_keep_unfinished);
  options.participant_column = absl::GetFlag(FLAGS_participant_column);
  options.token_column = absl::GetFlag(FLAGS_token_column);
  options.ignore_columns = absl::GetFlag(FLAGS_ignore_columns);
  options.long_format = absl::GetFlag(FLAGS_long);
  options.wave = absl::GetFlag(FLAGS_wave);
  options.plan = absl::GetFlag(FLAGS_plan);
  options.allow_unlocked = absl::GetFlag(FLAGS_allow_unlocked);
  options.html = absl::GetFlag(FLAGS_html);
  options.candidate_groups = absl::GetFlag(FLAGS_candidate_groups);
  return it->second(cli, fieldwork::cli::Args(words.begin() + static_cast<long>(consumed), words.end()), options);
}

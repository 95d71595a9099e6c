#include "services/cli/help.h"

#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_join.h"

namespace fieldwork::cli {
namespace {

struct CommandHelp {
  const char* name;   // the command words, e.g. "campaign start"
  const char* usage;  // its arguments
  const char* what;   // one paragraph
  std::vector<const char*> flags;  // the flags it reads, besides the global ones
};

const std::vector<CommandHelp>& Commands() {
  static const auto* commands = new std::vector<CommandHelp>{
      {"apply", "PROTOCOL.yaml",
       "Creates or updates the trial the protocol describes across the four services: design, "
       "instruments, waves, templates, campaigns and analysis plan. First checks the whole file "
       "with the services' rules (the same with --dry_run) and lists every problem as FILE: "
       "FIELD.PATH reason; then nothing is written. Prints what will change; a second run "
       "changes nothing. Refuses changes a locked design or plan forbids, naming them.",
       {"dry_run", "deviation_reason"}},
      {"enrol", "TRIAL ROSTER.csv",
       "Enrols the roster (participant_id, site, cohort, cluster, strata and covariate columns). "
       "Every bad row is reported with its line and field; good rows are kept.",
       {"all_or_nothing"}},
      {"contacts", "TRIAL CONTACTS.csv",
       "Uploads contact details (participant_id, email, phone, first_name, preferred_channel, "
       "time_zone) to the messaging service, which stores them encrypted.",
       {}},
      {"randomise", "TRIAL", "Allocates every enrolled, unallocated participant (batch methods).",
       {"cohort"}},
      {"balance", "TRIAL", "Allocation counts by arm, site and stratum, the sample-ratio test and "
                           "baseline balance.", {"cohort"}},
      {"export", "TRIAL", "The allocations as CSV on stdout.", {"cohort"}},
      {"responses import", "TRIAL WAVE FILE.csv",
       "Imports survey responses, a Qualtrics export or a plain CSV (docs/responses-import.md); "
       "prints accepted, duplicate and rejected rows with the reason for each rejected one, the "
       "Survey Preview rows skipped and every column not imported. A file imported before "
       "changes nothing: its rows still rejected are shown, and the exit code is 1 while any "
       "remain. With --long the file is per-decision data, one row per decision, as `responses "
       "decisions` writes it (participant_id, block, decision, value; optionally wave_id, "
       "item_id, stimulus, stimulus_text and attribute columns): each participant's rows make "
       "one response, rejected whole when any row is bad (docs/responses-import.md).",
       {"long", "keep_unfinished", "participant_column", "token_column", "ignore_columns"}},
      {"responses replay", "TRIAL [--wave=W]",
       "Validates the trial's rejected responses again (e.g. once the roster is complete); the "
       "accepted ones are stored. Exit 1 while some are still rejected.",
       {"wave"}},
      {"responses decisions", "TRIAL [--wave=W]",
       "An online experiment's decisions as CSV on stdout, one row per decision (long format): "
       "participant, wave, block, decision index, item, answer, the stimulus shown and its "
       "attributes (docs/surveys.md).",
       {"wave"}},
      {"outcomes import", "TRIAL FILE.csv",
       "Imports administrative outcomes. The header must be "
       "participant_id,outcome,period_start,period_end,value (dates YYYY-MM-DD); every bad row is "
       "reported with its line and field.",
       {}},
      {"leavers import", "TRIAL LEAVERS.csv",
       "Records leavers (participant_id, left_on) and, with a withdraw_reason, withdrawals.", {}},
      {"campaign start", "TRIAL CAMPAIGN", "Starts a campaign the protocol created.", {}},
      {"campaign pause", "TRIAL CAMPAIGN", "Holds a campaign's unsent messages.", {}},
      {"campaign resume", "TRIAL CAMPAIGN", "Sends a paused campaign's messages again.", {}},
      {"campaign status", "TRIAL CAMPAIGN",
       "Per step and arm: scheduled, sent, failed, dead, skipped, opened, clicked.", {}},
      {"status", "TRIAL",
       "Enrolment, allocation, sends and engagement by arm, response by arm and wave, leavers, "
       "differential attrition and MDES planned vs achieved of every analysis plan (or --plan's), "
       "with warnings when the trial drifts below its power assumptions.",
       {"cohort", "plan"}},
      {"analyse", "TRIAL",
       "The pre-registered analyses (every plan of the trial, or --plan's): per outcome n, M and "
       "SE per arm, estimate, CI, p and adjusted p (a long-format outcome: the interaction's "
       "terms, contrasts and cell means, clustered by participant); then attrition and the MDES "
       "ledger.",
       {"plan", "allow_unlocked"}},
      {"report", "TRIAL --html OUT.html",
       "Writes a self-contained HTML report of every plan of the trial, or --plan's (tables and "
       "SVG figures; nothing fetched from the network).",
       {"html", "plan", "allow_unlocked", "candidate_groups"}},
      {"audit anchor", "TRIAL [--out=FILE]",
       "Verifies the trial's audit log (against the anchors already in FILE) and appends its "
       "head, RECORDED_AT TRIAL LENGTH SHA256, to FILE (default TRIAL.audit-anchors). Keep the "
       "file, or the printed line, where the Redis administrators cannot write: a later verify "
       "then detects a log cut back (rolled back) or rewritten behind it. Exit 1 when the log "
       "already fails verification (nothing is recorded).",
       {"out"}},
      {"audit verify", "TRIAL [--anchors=FILE]",
       "Verifies the trial's audit log: the hash chain, the records its entries cover, and every "
       "anchor in FILE (default TRIAL.audit-anchors when it exists). Prints each anchor as "
       "matched, TRUNCATED (the log is shorter: rolled back) or REWRITTEN. Exit 1 when any "
       "check fails.",
       {"anchors"}},
      {"simulate roster", "PROTOCOL.yaml --out=DIR",
       "Writes DIR/roster.csv and DIR/contacts.csv for a trial without real people.",
       {"n", "seed", "out"}},
      {"simulate responses",
       "PROTOCOL.yaml ALLOCATIONS.csv --wave=W (--out=FILE.csv | --via_links=MAIL_DIR "
       "--contacts=CONTACTS.csv)",
       "Simulates one wave's answers with the chosen effect, response rate and differential "
       "attrition (ALLOCATIONS.csv is `fieldwork export` output): writes them as a "
       "Qualtrics-format export, or with --via_links answers on the hosted form through each "
       "participant's newest survey link in the delivered mails (a quarter of respondents leave "
       "part-way and come back; of the others one in ten opens the link only and one in ten "
       "leaves part-way for good).",
       {"wave", "seed", "effect", "response_rate", "differential_attrition", "outcome", "out",
        "via_links", "contacts"}},
      {"simulate outcomes", "PROTOCOL.yaml ALLOCATIONS.csv --out=DIR",
       "Writes DIR/outcomes.csv (the plan's administrative outcomes) and DIR/leavers.csv.",
       {"seed", "effect", "leaver_rate", "out"}},
      {"simulate clicks", "MAIL_DIR",
       "Follows a deterministic share of the tracked links in the delivered mails.",
       {"seed", "rate"}},
  };
  return *commands;
}

constexpr const char* kGlobalFlags[] = {"randomisation_address", "survey_ingest_address",
                                        "messaging_address",     "analysis_address",
                                        "token",                 "tls_ca_file"};

void PrintFlag(const char* name, std::ostream& out) {
  // Abseil 20220623 has no FindCommandFlag; GetAllFlags is the registry's one public view.
  static const auto* flags = new absl::flat_hash_map<absl::string_view, absl::CommandLineFlag*>(
      absl::GetAllFlags());
  const auto it = flags->find(name);
  if (it == flags->end()) return;
  const absl::CommandLineFlag* flag = it->second;
  out << "  --" << name << "  " << flag->Help();
  if (const std::string fallback = flag->DefaultValue(); !fallback.empty() && fallback != "false") {
    out << " (default " << fallback << ")";
  }
  out << "\n";
}

void PrintCommandList(std::ostream& out) {
  out << "usage: fieldwork [flags] COMMAND [ARGS]   (fieldwork COMMAND --help for one command)\n"
         "commands:\n";
  for (const CommandHelp& c : Commands()) out << "  " << c.name << " " << c.usage << "\n";
}

void PrintGlobal(std::ostream& out) {
  out << "global flags (or environment variables FIELDWORK_<FLAG IN CAPITALS>):\n";
  for (const char* name : kGlobalFlags) PrintFlag(name, out);
  out << "exit codes: 0 done; 1 rows rejected or a change refused; 2 bad command line or input "
         "file; 3 a service unavailable (retry); 4 a service refused the request\n";
}

}  // namespace

bool HelpRequested(int argc, char** argv, std::vector<std::string>& words) {
  bool asked = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "-help" || (i == 1 && arg == "help")) {
      asked = true;
    } else if (!arg.empty() && arg[0] != '-') {
      words.emplace_back(arg);
    }
  }
  return asked;
}

bool PrintHelp(const std::vector<std::string>& words, std::ostream& out) {
  // The longest command the words start with: "campaign start" before "campaign".
  const CommandHelp* found = nullptr;
  for (size_t n = std::min<size_t>(words.size(), 2); n > 0 && found == nullptr; --n) {
    const std::string name =
        absl::StrJoin(std::vector<std::string>(words.begin(), words.begin() + static_cast<long>(n)), " ");
    for (const CommandHelp& c : Commands()) {
      if (name == c.name) found = &c;
    }
  }
  if (found == nullptr) {
    PrintCommandList(out);
    PrintGlobal(out);
    return words.empty();
  }
  out << "usage: fieldwork [flags] " << found->name << " " << found->usage << "\n\n"
      << found->what << "\n";
  if (!found->flags.empty()) {
    out << "\nflags:\n";
    for (const char* name : found->flags) PrintFlag(name, out);
  }
  out << "\n";
  PrintGlobal(out);
  return true;
}

}  // namespace fieldwork::cli

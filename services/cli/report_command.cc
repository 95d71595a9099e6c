// report: gathers a trial's analysis (analysis service), allocations (randomisation) and
// responses (survey-ingest) and writes the self-contained HTML report.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/str_split.h"
#include "services/cli/analysis_tables.h"
#include "services/cli/commands.h"
#include "services/cli/consort_flow.h"
#include "services/cli/drift_warnings.h"
#include "services/cli/report_html.h"
#include "services/cli/trial_snapshot.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

// "name01=white_british,name02=minority_ethnic" → {name01: white_british, ...}.
bool ParseGroups(const std::string& text, std::map<std::string, std::string>& groups) {
  for (absl::string_view pair : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::vector<std::string> parts = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      std::cerr << "fieldwork report: --candidate_groups: \"" << pair << "\" is not NAME=GROUP\n";
      return false;
    }
    groups[parts[0]] = parts[1];
  }
  return true;
}

}  // namespace

int Report(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 1 || options.html.empty()) {
    std::cerr << "usage: fieldwork report TRIAL --html OUT.html [--plan=P] "
                 "[--candidate_groups=NAME=GROUP,...]\n";
    return kUsage;
  }
  std::map<std::string, std::string> groups;
  if (!ParseGroups(options.candidate_groups, groups)) return kUsage;
  const std::string& trial_id = args[0];
  TrialSnapshot snapshot;
  if (grpc::Status s = LoadAllocations(cli, trial_id, snapshot); !s.ok())
    return ReportFailure("ListAllocations", s);
  if (grpc::Status s = LoadResponses(cli, trial_id, snapshot); !s.ok())
    return ReportFailure("ListResponses", s);

  ReportData report;
  report.trial_id = trial_id;
  report.title = snapshot.trial.design().title();
  v1::AnalyseRequest request;
  request.set_trial_id(trial_id);
  request.set_plan_id(options.plan);
  request.set_allow_unlocked(options.allow_unlocked);
  v1::AnalyseResponse analysis;
  std::string factor;
  const grpc::Status analysed = cli.analysis().Analyse(cli.Call().get(), request, &analysis);
  if (analysed.ok()) {
    AddAnalysisToReport(analysis, report);
    for (const std::string& w : AnalysisWarnings(analysis))
      report.warnings.push_back("drift: " + w);
    factor = analysis.plan().plan().factor();
  } else if (analysed.error_code() == grpc::StatusCode::UNAVAILABLE ||
             analysed.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return ReportFailure("Analyse", analysed);
  } else {
    // No plan, or a plan the data cannot support yet (e.g. the CV experiment's long design):
    // the descriptive parts of the report are still worth having.
    report.warnings.push_back("no analysis: " + analysed.error_message());
    std::cerr << "fieldwork report: no analysis (" << analysed.error_message()
              << "); writing the rest\n";
  }
  v1::BalanceRequest balance_request;
  balance_request.set_trial_id(trial_id);
  v1::BalanceResponse balance;
  if (cli.randomisation().Balance(cli.Call(60).get(), balance_request, &balance).ok()) {
    for (const std::string& w : SrmWarnings(balance, snapshot.trial.allocated())) {
      report.warnings.push_back("allocation: " + w);
    }
  }
  factor = ComparisonFactor(snapshot.trial.design(), factor);
  report.consort = ConsortFlow(snapshot, factor);
  // The analysed numbers and take-up belong to the plan's factor (empty: the design's first);
  // the flow of another factor (the plan's is not one the design has) gets neither.
  const std::string& plan_factor = analysis.plan().plan().factor();
  if (report.consort.has_value() && analysed.ok() &&
      (plan_factor.empty() || plan_factor == factor)) {
    AddAnalysisToConsort(analysis, *report.consort);
  }
  report.response_over_time = ResponseOverTime(snapshot, factor);
  if (!analysed.ok() || !AddInteractionProgression(analysis, report)) {
    // Without the analysis' long-format model: rates tallied from the responses (± SE).
    report.progression = ProgressionRates(snapshot, "", groups);
    if (!report.progression.empty()) {
      report.progression_title = ComparisonFactor(snapshot.trial.design(), "") + " x candidate group";
    }
  }

  // Written beside the target and renamed, so a failed write never leaves half a report.
  const std::string partial = options.html + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  out << RenderReportHtml(report);
  out.close();
  if (!out || std::rename(partial.c_str(), options.html.c_str()) != 0) {
    std::remove(partial.c_str());
    std::cerr << "fieldwork report: cannot write " << options.html << "\n";
    return kUsage;
  }
  std::cout << "wrote " << options.html << ": " << report.outcomes.size() << " outcome(s), "
            << report.response_over_time.size() << " response series, " << report.progression.size()
            << " progression bar(s)\n";
  return kOk;
}

}  // namespace fieldwork::cli

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
#include "services/cli/trial_plans.h"
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
  // Every plan of the trial (or --plan's), each analysed; a plan the data cannot support yet
  // leaves a warning and the rest of the report.
  const auto plans = PlansToAnalyse(cli, trial_id, options);
  if (const int* failure = std::get_if<int>(&plans)) return *failure;
  const std::vector<std::string>& plan_ids = std::get<std::vector<std::string>>(plans);
  std::vector<v1::AnalyseResponse> analyses;
  for (const std::string& plan_id : plan_ids) {
    v1::AnalyseRequest request;
    request.set_trial_id(trial_id);
    request.set_plan_id(plan_id);
    request.set_allow_unlocked(options.allow_unlocked);
    v1::AnalyseResponse analysis;
    const grpc::Status analysed = cli.analysis().Analyse(cli.Call().get(), request, &analysis);
    if (analysed.error_code() == grpc::StatusCode::UNAVAILABLE ||
        analysed.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return ReportFailure("Analyse", analysed);
    }
    if (!analysed.ok()) {
      const std::string which = plan_id.empty() ? "" : " of plan " + plan_id;
      report.warnings.push_back("no analysis" + which + ": " + analysed.error_message());
      std::cerr << "fieldwork report: no analysis" << which << " (" << analysed.error_message()
                << "); writing the rest\n";
      continue;
    }
    AddAnalysisToReport(analysis, report, plan_ids.size() > 1);
    for (const std::string& w : AnalysisWarnings(analysis)) report.warnings.push_back("drift: " + w);
    analyses.push_back(std::move(analysis));
  }
  v1::BalanceRequest balance_request;
  balance_request.set_trial_id(trial_id);
  v1::BalanceResponse balance;
  if (cli.randomisation().Balance(cli.Call(60).get(), balance_request, &balance).ok()) {
    for (const std::string& w : SrmWarnings(balance, snapshot.trial.allocated())) {
      report.warnings.push_back("allocation: " + w);
    }
  }
  // The flow and the figures follow the first analysed plan's factor (else the design's first
  // with arms); the analysed numbers and take-up come from the plans of that factor.
  const std::string factor = ComparisonFactor(
      snapshot.trial.design(), analyses.empty() ? std::string() : analyses.front().plan().plan().factor());
  report.consort = ConsortFlow(snapshot, factor);
  for (const v1::AnalyseResponse& analysis : analyses) {
    const std::string& plan_factor = analysis.plan().plan().factor();
    if (report.consort.has_value() && (plan_factor.empty() || plan_factor == factor)) {
      AddAnalysisToConsort(analysis, *report.consort);
    }
  }
  report.response_over_time = ResponseOverTime(snapshot, factor);
  bool modelled = false;
  for (const v1::AnalyseResponse& analysis : analyses) modelled = modelled || AddInteractionProgression(analysis, report);
  if (!modelled) {
    // Without a long-format model: rates tallied from the responses (± SE).
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

// status: a terminal summary of one trial across the four services — enrolment and allocation
// by arm and site (randomisation); withdrawals, leavers and the response rate by arm and wave
// (counted by analysis on its join of randomisation's and survey-ingest's data, or here from
// theirs when analysis does not answer); sends, opens and clicks by arm (messaging);
// the hosted form's funnel by wave and arm (invited, opened, started, completed);
// differential attrition and the MDES planned vs achieved of every analysis plan, or --plan's
// (analysis) — with warnings when the trial drifts below its power assumptions. A part whose
// service cannot be reached is named and skipped; the rest is still printed and the exit code
// is then 3.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "services/cli/commands.h"
#include "services/cli/drift_warnings.h"
#include "services/cli/form_funnel.h"
#include "services/cli/people_counts.h"
#include "services/cli/report_format.h"
#include "services/cli/trial_plans.h"
#include "services/cli/trial_snapshot.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

bool Unreachable(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// Randomisation's balance of the trial's allocations (fetched meanwhile: `fetched` is its status).
void PrintAllocation(const grpc::Status& fetched, const v1::BalanceResponse& balance,
                     int64_t allocated, bool& failed) {
  if (!fetched.ok()) {
    std::cout << "  allocation: Balance failed (" << fetched.error_message() << ")\n";
    failed = failed || Unreachable(fetched);
    return;
  }
  for (const auto& factor : balance.factors()) {
    if (factor.count_by_arm().empty()) continue;
    std::map<std::string, int64_t> totals(factor.count_by_arm().begin(),
                                          factor.count_by_arm().end());
    std::cout << "  allocation by arm (" << factor.factor() << "):";
    for (const auto& [arm, n] : totals) std::cout << " " << arm << "=" << n;
    std::cout << "\n  allocation by arm and site (" << factor.factor() << "):\n";
    std::map<std::string, v1::Stratum> sites(factor.by_site().begin(), factor.by_site().end());
    for (const auto& [site, counts] : sites) {
      std::cout << "    " << (site.empty() ? "(no site)" : site) << ":";
      std::map<std::string, int64_t> arms(counts.count_by_arm().begin(),
                                          counts.count_by_arm().end());
      for (const auto& [arm, n] : arms) std::cout << " " << arm << "=" << n;
      std::cout << "\n";
    }
  }
  for (const std::string& w : SrmWarnings(balance, allocated)) {
    std::cout << "  WARNING: " << w << "\n";
  }
}

void PrintWithdrawalsAndLeavers(const PeopleCounts& counts) {
  std::cout << "  withdrawn " << counts.withdrawn << " (" << counts.withdrawn_with_site
            << " with their site), leavers " << counts.leavers << " (kept in the analysis)\n";
  for (const auto& [reason, n] : counts.withdrawn_by_reason)
    std::cout << "    withdrawn: " << (reason.empty() ? "(no reason)" : reason) << ": " << n
              << "\n";
}

void PrintResponses(const PeopleCounts& counts, const std::string& factor) {
  const auto& by_wave = counts.response_by_wave;
  if (by_wave.empty()) {
    std::cout << "  responses: no waves\n";
    return;
  }
  std::cout << "  response rate by arm and wave (" << factor << "):\n";
  int width = 14;  // the waves' names in one column
  for (const auto& [wave, arms] : by_wave) width = std::max(width, static_cast<int>(wave.size()));
  for (const auto& [wave, arms] : by_wave) {
    int64_t responded = 0, randomised = 0;
    std::cout << absl::StrFormat("    %-*s", width, wave);
    for (const auto& [arm, c] : arms) {
      responded += c.responded;
      randomised += c.randomised;
      const double rate = c.randomised > 0
                              ? static_cast<double>(c.responded) / static_cast<double>(c.randomised)
                              : 0;
      std::cout << absl::StrFormat(" %s %d/%d (%s)", arm, c.responded, c.randomised,
                                   FormatPercent(rate));
    }
    const double overall =
        randomised > 0 ? static_cast<double>(responded) / static_cast<double>(randomised) : 0;
    std::cout << "; overall " << FormatPercent(overall) << "\n";
  }
}

// Sends, opens and clicks by campaign and arm from the trial's message events; fills
// `reached_by_campaign` with the participants each campaign sent a message to.
bool PrintMessaging(CliContext& cli, TrialSnapshot& snapshot, const std::string& factor,
                    std::map<std::string, std::set<std::string>>& reached_by_campaign) {
  const std::string trial_id = snapshot.trial.design().trial_id();
  // Participant → arm, for events recorded without one: built at the first such event, since
  // most carry their arm and a trial has 100,000s of allocations (read then, when status has
  // not read them; when they cannot be read, such events count under "(no arm)").
  absl::flat_hash_map<absl::string_view, std::string> arm_of;
  bool arms_read = false;
  auto arm_without_event_arm = [&](const std::string& participant) -> std::string {
    if (!arms_read) {
      arms_read = true;
      (void)EnsureAllocations(cli, snapshot);
      arm_of.reserve(snapshot.allocations.size());
      for (const v1::Allocation& a : snapshot.allocations)
        arm_of[a.participant_id()] = ArmOf(a, factor);
    }
    auto it = arm_of.find(participant);
    return it == arm_of.end() ? "" : it->second;
  };
  v1::ListEventsRequest request;
  request.set_trial_id(trial_id);
  request.add_kinds(v1::EVENT_KIND_SENT);
  request.add_kinds(v1::EVENT_KIND_OPENED);
  request.add_kinds(v1::EVENT_KIND_CLICKED);
  struct Counts {
    int64_t sent = 0;
    std::set<std::string> reached, opened, clicked;
  };
  std::map<std::string, std::map<std::string, Counts>> campaigns;  // campaign → arm → counts
  auto context = cli.Call(120);
  auto reader = cli.messaging().ListEvents(context.get(), request);
  v1::ListEventsResponse page;
  while (reader->Read(&page)) {
    for (const v1::MessageEvent& e : page.events()) {
      std::string arm = e.arm().empty() ? arm_without_event_arm(e.participant_id()) : e.arm();
      Counts& c = campaigns[e.campaign_id()][arm.empty() ? "(no arm)" : arm];
      switch (e.kind()) {
        case v1::EVENT_KIND_SENT:
          ++c.sent;
          c.reached.insert(e.participant_id());
          reached_by_campaign[e.campaign_id()].insert(e.participant_id());
          break;
        case v1::EVENT_KIND_OPENED:
          c.opened.insert(e.participant_id());
          break;
        case v1::EVENT_KIND_CLICKED:
          c.clicked.insert(e.participant_id());
          break;
        default:
          break;
      }
    }
  }
  const grpc::Status s = reader->Finish();
  if (!s.ok()) {
    std::cout << "  messaging: " << (Unreachable(s) ? "unavailable" : "failed") << " ("
              << s.error_message() << ")\n";
    return !Unreachable(s);
  }
  if (campaigns.empty()) std::cout << "  messaging: nothing sent yet\n";
  for (const auto& [campaign, arms] : campaigns) {
    std::cout << "  campaign " << campaign << ": sends / opened / clicked by arm\n";
    for (const auto& [arm, c] : arms) {
      const double reached = std::max<double>(1, static_cast<double>(c.reached.size()));
      std::cout << absl::StrFormat("    %-16s sent %6d to %6d, opened %6d (%s), clicked %6d (%s)\n",
                                   arm, c.sent, c.reached.size(), c.opened.size(),
                                   FormatPercent(static_cast<double>(c.opened.size()) / reached),
                                   c.clicked.size(),
                                   FormatPercent(static_cast<double>(c.clicked.size()) / reached));
    }
  }
  return true;
}

// One plan's part of the analysis: differential attrition and the MDES ledger of every outcome,
// with the warnings. Returns false when the analysis service cannot be reached; sets `factor`
// to the plan's comparison factor when it is known.
bool PrintPlanAnalysis(CliContext& cli, const std::string& trial_id, const std::string& plan_id,
                       std::string& factor, std::ostream& out) {
  const std::string name = plan_id.empty() ? "main" : plan_id;
  v1::AnalyseRequest request;
  request.set_trial_id(trial_id);
  request.set_plan_id(plan_id);
  request.set_allow_unlocked(true);  // a summary, not the confirmatory analysis
  v1::AnalyseResponse analysis;
  const grpc::Status s = cli.analysis().Analyse(cli.Call().get(), request, &analysis);
  if (!s.ok()) {
    if (Unreachable(s)) {
      out << "  analysis: unavailable (" << s.error_message() << ")\n";
      return false;
    }
    out << "  analysis plan " << name << ": not run (" << s.error_message() << ")\n";
    // Without an analysis the planned MDES still comes from the plan's power assumptions.
    v1::GetPlanRequest get;
    get.set_trial_id(trial_id);
    get.set_plan_id(plan_id);
    v1::GetPlanResponse plan;
    if (cli.analysis().GetPlan(cli.Call(30).get(), get, &plan).ok() &&
        plan.record().plan().has_power()) {
      factor = plan.record().plan().factor();
      v1::PowerRequest power_request;
      *power_request.mutable_assumptions() = plan.record().plan().power();
      v1::PowerResponse power;
      if (cli.analysis().Power(cli.Call(30).get(), power_request, &power).ok()) {
        out << "  MDES planned " << FormatFixed(power.mdes(), 3)
                  << " (achieved: not yet known)\n";
      }
    }
    return true;
  }
  factor = analysis.plan().plan().factor();
  out << "  analysis plan "
            << (analysis.plan().plan().plan_id().empty() ? name : analysis.plan().plan().plan_id())
            << (analysis.plan().state() == v1::PLAN_STATE_LOCKED ? " (locked)" : " (NOT locked)")
            << "\n";
  int width = 24;  // the outcomes' names in one column
  for (const v1::OutcomeResult& outcome : analysis.outcomes()) {
    width = std::max(width, static_cast<int>(outcome.outcome().size()));
  }
  for (const v1::OutcomeResult& outcome : analysis.outcomes()) {
    const v1::Attrition& a = outcome.attrition();
    const v1::MdesLedger& m = outcome.mdes();
    out << absl::StrFormat(
        "    %-*s response %s, differential attrition %s points (p = %s); MDES planned %s, "
        "achieved %s\n",
        width, outcome.outcome(), FormatPercent(a.overall_rate()),
        FormatFixed(a.differential_points(), 1), FormatP(a.p_value()),
        FormatPlannedMdes(analysis.plan().plan().has_power(), m.planned()),
        FormatAchievedMdes(m.achieved()));
  }
  if (analysis.descriptive()) {
    out << "  " << DescriptiveNote(analysis.plan().plan().factor()) << "\n";
  }
  for (const std::string& w : AnalysisWarnings(analysis)) out << "  WARNING: " << w << "\n";
  for (const std::string& w : analysis.warnings()) out << "    note: " << w << "\n";
  return true;
}

// The analysis part, written to `out`: every plan of the trial (PlansToAnalyse's choice, as
// `analyse` and `report` make it), in plan id order. Returns false when the analysis service cannot be
// reached; sets `factor` to the first plan's comparison factor, the one response rates are shown
// by.
bool PrintAnalysis(CliContext& cli, const std::string& trial_id, const CommandOptions& options,
                   std::string& factor, std::ostream& out) {
  std::vector<std::string> plans;
  if (const grpc::Status s = ListPlanIds(cli, trial_id, options, plans); !s.ok()) {
    out << "  analysis: " << (Unreachable(s) ? "unavailable" : "not run") << " ("
              << s.error_message() << ")\n";
    return !Unreachable(s);
  }
  for (const std::string& plan : plans) {
    std::string plan_factor;
    if (!PrintPlanAnalysis(cli, trial_id, plan, plan_factor, out)) return false;
    if (factor.empty()) factor = plan_factor;
  }
  return true;
}

}  // namespace

int Status(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 1) {
    std::cerr << "usage: fieldwork status TRIAL\n";
    return kUsage;
  }
  // The analysis (printed last), the count of the trial's people and the allocations' balance
  // are asked for at once, while the trial record is read here: the longest of the four is the
  // wait, not their sum. The analysis service counts the people on the same load of the trial
  // as the analysis. The plan's factor is the one response rates are shown by (when known, else
  // the design's first factor), so they are printed once all are done.
  std::string plan_factor;
  std::ostringstream analysis_part;
  bool analysis_reached = true;
  std::thread analysis([&] {
    analysis_reached = PrintAnalysis(cli, args[0], options, plan_factor, analysis_part);
  });
  v1::SummariseTrialResponse summary;
  grpc::Status summarised;
  std::thread summary_call([&] {
    v1::SummariseTrialRequest request;
    request.set_trial_id(args[0]);
    summarised = cli.analysis().SummariseTrial(cli.Call().get(), request, &summary);
  });
  v1::BalanceResponse balance;
  grpc::Status balanced;
  std::thread balance_call([&] {
    v1::BalanceRequest request;
    request.set_trial_id(args[0]);
    request.set_cohort(options.cohort);
    request.set_counts_only(true);  // status prints the counts and the sample-ratio test only
    balanced = cli.randomisation().Balance(cli.Call(60).get(), request, &balance);
  });
  TrialSnapshot snapshot;
  const grpc::Status trial_read = LoadTrialRecord(cli, args[0], snapshot);
  balance_call.join();
  summary_call.join();
  if (!trial_read.ok()) {
    analysis.join();
    return ReportFailure("randomisation", trial_read);
  }
  // Without the service's count (analysis unavailable, older, or the caller not allowed the
  // whole trial), every allocation and respondent is read and counted here.
  grpc::Status responses;
  if (!summarised.ok()) {
    TrialSnapshot respondents;
    std::thread survey([&] { responses = LoadRespondents(cli, args[0], respondents); });
    const grpc::Status allocations = EnsureAllocations(cli, snapshot);
    survey.join();
    if (!allocations.ok()) {
      analysis.join();
      return ReportFailure("randomisation", allocations);
    }
    snapshot.waves = std::move(respondents.waves);
    snapshot.respondents = std::move(respondents.respondents);
  }
  const v1::Trial& trial = snapshot.trial;
  std::cout << "trial " << args[0] << " (" << trial.design().title()
            << "): " << v1::TrialState_Name(trial.state()) << "\n"
            << "  enrolled " << trial.enrolled() << ", allocated " << trial.allocated() << "\n";
  bool unavailable = false;
  PrintAllocation(balanced, balance, trial.allocated(), unavailable);
  analysis.join();
  unavailable = unavailable || !analysis_reached;
  const std::string factor = ComparisonFactor(trial.design(), plan_factor);
  const PeopleCounts people = summarised.ok() ? PeopleCountsFromSummary(summary, factor)
                                              : PeopleCountsFromSnapshot(snapshot, factor);
  PrintWithdrawalsAndLeavers(people);

  if (!responses.ok()) {
    std::cout << "  responses: survey-ingest " << (Unreachable(responses) ? "unavailable" : "failed")
              << " (" << responses.error_message() << ")\n";
    unavailable = unavailable || Unreachable(responses);
  } else {
    PrintResponses(people, factor);
  }
  std::map<std::string, std::set<std::string>> reached_by_campaign;
  unavailable = !PrintMessaging(cli, snapshot, factor, reached_by_campaign) || unavailable;
  unavailable = !PrintFormFunnel(cli, snapshot, factor, reached_by_campaign) || unavailable;
  std::cout << analysis_part.str();
  if (unavailable) std::cout << "(incomplete: a service was unavailable)\n";
  return unavailable ? kUnavailable : kOk;
}

}  // namespace fieldwork::cli

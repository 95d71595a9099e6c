// status: a terminal summary of one trial across the services.
#include <iostream>
#include <map>

#include "absl/strings/str_format.h"
#include "services/cli/commands.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

}  // namespace

int Status(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 1) {
    std::cerr << "usage: fieldwork status TRIAL\n";
    return kUsage;
  }
  v1::GetTrialRequest get;
  get.set_trial_id(args[0]);
  v1::GetTrialResponse trial;
  if (auto s = cli.randomisation().GetTrial(cli.Call().get(), get, &trial); !s.ok()) return ReportFailure("GetTrial", s);
  std::cout << "trial " << args[0] << " (" << trial.trial().design().title() << "): "
            << v1::TrialState_Name(trial.trial().state()) << "\n"
            << "  enrolled " << trial.trial().enrolled() << ", allocated " << trial.trial().allocated() << "\n";
  v1::BalanceRequest balance_request;
  balance_request.set_trial_id(args[0]);
  balance_request.set_cohort(options.cohort);
  v1::BalanceResponse balance;
  if (auto s = cli.randomisation().Balance(cli.Call().get(), balance_request, &balance); !s.ok()) return ReportFailure("Balance", s);
  for (const auto& factor : balance.factors()) {
    std::cout << "  allocation by arm and site (" << factor.factor() << "):\n";
    std::map<std::string, v1::Stratum> sites(factor.by_site().begin(), factor.by_site().end());
    for (const auto& [site, counts] : sites) {
      std::cout << "    " << (site.empty() ? "(no site)" : site) << ":";
      std::map<std::string, int64_t> arms(counts.count_by_arm().begin(), counts.count_by_arm().end());
      for (const auto& [arm, n] : arms) std::cout << " " << arm << "=" << n;
      std::cout << "\n";
    }
    if (factor.srm_p_value() < 0.001 && trial.trial().allocated() > 0) {
      std::cout << "  WARNING: sample ratio mismatch (p = " << factor.srm_p_value() << ")\n";
    }
  }
  v1::ResponseCountsRequest counts_request;
  counts_request.set_trial_id(args[0]);
  v1::ResponseCountsResponse counts;
  const grpc::Status counted = cli.survey_ingest().ResponseCounts(cli.Call(30).get(), counts_request, &counts);
  if (!counted.ok()) {
    std::cout << "  responses: survey-ingest unavailable (" << counted.error_message() << ")\n";
    return kOk;
  }
  std::map<std::string, int64_t> respondents;
  for (const auto& c : counts.counts()) respondents[c.wave_id()] += c.respondents();
  for (const auto& [wave, n] : respondents) {
    const double rate = trial.trial().allocated() > 0 ? 100.0 * static_cast<double>(n) / static_cast<double>(trial.trial().allocated()) : 0;
    std::cout << absl::StrFormat("  wave %-12s respondents %6d (%.1f%% of allocated)\n", wave, n, rate);
  }
  return kOk;
}

}  // namespace fieldwork::cli

#include "services/cli/form_funnel.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/str_format.h"
#include "services/cli/report_format.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr char kNoArm[] = "(no arm)";

bool Unreachable(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

std::string ShareOf(int64_t part, int64_t whole) {
  return whole > 0 ? FormatPercent(static_cast<double>(part) / static_cast<double>(whole)) : "-";
}

}  // namespace

std::map<std::string, std::map<std::string, FunnelCounts>> FunnelByWaveAndArm(
    const std::map<std::string, std::set<std::string>>& invited_by_wave,
    const std::vector<FormStageOf>& stages, const std::map<std::string, std::string>& arm_of,
    const std::vector<std::string>& arms) {
  std::map<std::string, std::map<std::string, FunnelCounts>> funnel;
  auto counts = [&](const std::string& wave, const std::string& participant) -> FunnelCounts& {
    std::map<std::string, FunnelCounts>& by_arm = funnel[wave];
    for (const std::string& arm : arms) by_arm[arm];
    auto arm = arm_of.find(participant);
    return by_arm[arm == arm_of.end() || arm->second.empty() ? kNoArm : arm->second];
  };
  for (const auto& [wave, participants] : invited_by_wave) {
    for (const std::string& p : participants) ++counts(wave, p).invited;
  }
  for (const FormStageOf& s : stages) {
    FunnelCounts& c = counts(s.wave, s.participant);
    ++c.opened;
    if (s.stage >= v1::FORM_STAGE_STARTED) ++c.started;
    if (s.stage >= v1::FORM_STAGE_COMPLETED) ++c.completed;
  }
  return funnel;
}

bool PrintFormFunnel(CliContext& cli, TrialSnapshot& snapshot, const std::string& factor,
                     const std::map<std::string, std::set<std::string>>& reached_by_campaign) {
  const std::string trial_id = snapshot.trial.design().trial_id();
  bool reached = true;
  // Which campaigns invite to which wave: their definitions, from messaging.
  std::map<std::string, std::set<std::string>> invited_by_wave;
  for (const auto& [campaign, participants] : reached_by_campaign) {
    v1::GetCampaignStatusRequest request;
    request.set_trial_id(trial_id);
    request.set_campaign_id(campaign);
    v1::GetCampaignStatusResponse status;
    const grpc::Status s = cli.messaging().GetCampaignStatus(cli.Call(30).get(), request, &status);
    if (!s.ok()) {
      reached = reached && !Unreachable(s);
      continue;
    }
    if (status.campaign().kind() != v1::CAMPAIGN_KIND_SURVEY_INVITATION) continue;
    invited_by_wave[status.campaign().wave_id()].insert(participants.begin(), participants.end());
  }

  std::vector<FormStageOf> stages;
  v1::ListFormProgressRequest request;
  request.set_trial_id(trial_id);
  auto context = cli.Call(120);
  auto reader = cli.survey_ingest().ListFormProgress(context.get(), request);
  v1::ListFormProgressResponse page;
  while (reader->Read(&page)) {
    for (const auto& p : page.participants())
      stages.push_back({p.wave_id(), p.participant_id(), p.stage()});
  }
  if (const grpc::Status s = reader->Finish(); !s.ok()) {
    std::cout << "  survey form: " << (Unreachable(s) ? "unavailable" : "failed") << " ("
              << s.error_message() << ")\n";
    return reached && !Unreachable(s);
  }
  if (invited_by_wave.empty() && stages.empty()) return reached;

  if (const grpc::Status s = EnsureAllocations(cli, snapshot); !s.ok()) {
    std::cout << "  survey form: randomisation " << (Unreachable(s) ? "unavailable" : "failed")
              << " (" << s.error_message() << ")\n";
    return reached && !Unreachable(s);
  }
  std::map<std::string, std::string> arm_of;
  for (const v1::Allocation& a : snapshot.allocations)
    arm_of[a.participant_id()] = ArmOf(a, factor);
  const auto funnel =
      FunnelByWaveAndArm(invited_by_wave, stages, arm_of, ArmsOf(snapshot.trial.design(), factor));
  std::cout << "  survey form by wave and arm (" << factor
            << "): invited, opened the link, started, completed (share of invited)\n";
  for (const auto& [wave, arms] : funnel) {
    std::cout << "    " << wave << "\n";
    for (const auto& [arm, c] : arms) {
      std::cout << absl::StrFormat(
          "      %-16s invited %6d, opened %6d (%s), started %6d (%s), "
          "completed %6d (%s)\n",
          arm, c.invited, c.opened, ShareOf(c.opened, c.invited), c.started,
          ShareOf(c.started, c.invited), c.completed, ShareOf(c.completed, c.invited));
    }
  }
  return reached;
}

}  // namespace fieldwork::cli

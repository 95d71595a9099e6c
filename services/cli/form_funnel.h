// The hosted form's response funnel for `fieldwork status`: per wave and arm, how many were
// invited (a survey invitation or reminder for the wave was sent to them), opened their link,
// started (stored a page) and completed. survey-ingest knows the stages but not the arms,
// messaging the invitations: both are joined here with the allocations.
#ifndef FIELDWORK_SERVICES_CLI_FORM_FUNNEL_H_
#define FIELDWORK_SERVICES_CLI_FORM_FUNNEL_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fieldwork/v1/survey_ingest.pb.h"
#include "services/cli/cli_context.h"
#include "services/cli/trial_snapshot.h"

namespace fieldwork::cli {

// Each participant counts in every stage up to the furthest one reached: completed ⊆ started
// ⊆ opened.
struct FunnelCounts {
  int64_t invited = 0;
  int64_t opened = 0;
  int64_t started = 0;
  int64_t completed = 0;
};

struct FormStageOf {
  std::string wave;
  std::string participant;
  fieldwork::v1::FormStage stage = fieldwork::v1::FORM_STAGE_UNSPECIFIED;
};

// wave → arm → counts, for the waves with an invitation or a stage; every arm in `arms`
// appears. Participants without an arm (not allocated) count under "(no arm)".
std::map<std::string, std::map<std::string, FunnelCounts>> FunnelByWaveAndArm(
    const std::map<std::string, std::set<std::string>>& invited_by_wave,
    const std::vector<FormStageOf>& stages, const std::map<std::string, std::string>& arm_of,
    const std::vector<std::string>& arms);

// Prints the funnel. `reached_by_campaign`: the participants each campaign sent a message to
// (from messaging's events). The snapshot's allocations are read when there is a funnel to
// print (EnsureAllocations). Returns false when survey-ingest, messaging or randomisation cannot
// be reached.
bool PrintFormFunnel(CliContext& cli, TrialSnapshot& snapshot, const std::string& factor,
                     const std::map<std::string, std::set<std::string>>& reached_by_campaign);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_FORM_FUNNEL_H_

#include "services/analysis/trial_summary.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

namespace {

struct ArmTally {
  int64_t randomised = 0;
  std::map<std::string, int64_t> responded_by_wave;
};

// One factor's arms: the design's in its order, then any seen only in allocations.
struct FactorTally {
  std::vector<std::string> order;
  std::map<std::string, ArmTally> arms;

  ArmTally& Arm(const std::string& arm) {
    auto [it, inserted] = arms.try_emplace(arm);
    if (inserted) order.push_back(arm);
    return it->second;
  }
};

}  // namespace

v1::SummariseTrialResponse SummariseTrial(const JoinedTrial& joined) {
  v1::SummariseTrialResponse summary;
  std::vector<std::string> factor_names;
  std::map<std::string, FactorTally> factors;
  for (const v1::Factor& factor : joined.trial.design().factors()) {
    if (factor.arms().empty() || factors.count(factor.name())) continue;
    factor_names.push_back(factor.name());
    FactorTally& tally = factors[factor.name()];
    for (const v1::Arm& arm : factor.arms()) tally.Arm(arm.name());
  }
  for (const v1::Wave& wave : joined.waves) summary.add_wave_ids(wave.wave_id());
  auto note_wave = [&summary](const std::string& wave) {
    const auto& known = summary.wave_ids();
    if (std::find(known.begin(), known.end(), wave) == known.end()) summary.add_wave_ids(wave);
  };

  for (const JoinedParticipant& p : joined.participants) {
    for (const auto& [wave, index] : p.response_by_wave) note_wave(wave);
    if (!p.allocated) continue;
    if (p.left) summary.set_leavers(summary.leavers() + 1);
    if (p.withdrawn) {
      summary.set_withdrawn(summary.withdrawn() + 1);
      const bool has_details = p.status != nullptr && p.status->has_withdrawal();
      if (has_details && p.status->withdrawal().with_site()) {
        summary.set_withdrawn_with_site(summary.withdrawn_with_site() + 1);
      }
      ++(*summary.mutable_withdrawn_by_reason())[has_details ? p.status->withdrawal().reason()
                                                             : std::string()];
      continue;
    }
    for (auto& [name, tally] : factors) {
      const std::string* arm = p.Arm(name);
      if (arm == nullptr || arm->empty()) continue;
      ArmTally& counts = tally.Arm(*arm);
      ++counts.randomised;
      for (const auto& [wave, index] : p.response_by_wave) ++counts.responded_by_wave[wave];
    }
  }

  for (const std::string& name : factor_names) {
    FactorTally& tally = factors[name];
    v1::SummariseTrialResponse::FactorCount* factor = summary.add_factors();
    factor->set_factor(name);
    for (const std::string& arm : tally.order) {
      const ArmTally& counts = tally.arms[arm];
      v1::SummariseTrialResponse::ArmCount* out = factor->add_arms();
      out->set_arm(arm);
      out->set_randomised(counts.randomised);
      out->mutable_responded_by_wave()->insert(counts.responded_by_wave.begin(),
                                               counts.responded_by_wave.end());
    }
  }
  return summary;
}

}  // namespace fieldwork::analysis

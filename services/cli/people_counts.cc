#include "services/cli/people_counts.h"

namespace fieldwork::cli {

namespace v1 = ::fieldwork::v1;

PeopleCounts PeopleCountsFromSummary(const v1::SummariseTrialResponse& summary,
                                     const std::string& factor) {
  PeopleCounts counts;
  counts.withdrawn = summary.withdrawn();
  counts.withdrawn_with_site = summary.withdrawn_with_site();
  counts.withdrawn_by_reason.insert(summary.withdrawn_by_reason().begin(),
                                    summary.withdrawn_by_reason().end());
  counts.leavers = summary.leavers();
  const v1::SummariseTrialResponse::FactorCount* arms = nullptr;
  for (const auto& f : summary.factors()) {
    if (f.factor() == factor) arms = &f;
  }
  for (const std::string& wave : summary.wave_ids()) {
    std::map<std::string, ArmCount>& by_arm = counts.response_by_wave[wave];
    if (arms == nullptr) continue;
    for (const auto& arm : arms->arms()) {
      ArmCount& c = by_arm[arm.arm()];
      c.randomised = arm.randomised();
      auto responded = arm.responded_by_wave().find(wave);
      c.responded = responded == arm.responded_by_wave().end() ? 0 : responded->second;
    }
  }
  return counts;
}

PeopleCounts PeopleCountsFromSnapshot(const TrialSnapshot& snapshot, const std::string& factor) {
  PeopleCounts counts;
  for (const v1::Allocation& a : snapshot.allocations) {
    if (a.has_withdrawal()) {
      ++counts.withdrawn;
      if (a.withdrawal().with_site()) ++counts.withdrawn_with_site;
      ++counts.withdrawn_by_reason[a.withdrawal().reason()];
    }
    if (a.has_left_on()) ++counts.leavers;
  }
  counts.response_by_wave = ResponseByArmAndWave(snapshot, factor);
  return counts;
}

}  // namespace fieldwork::cli

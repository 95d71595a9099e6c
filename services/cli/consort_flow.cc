#include "services/cli/consort_flow.h"

#include <map>
#include <set>
#include <utility>
#include <vector>

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

// The trial's waves in order: the configured ones, then any that only responses name.
std::vector<std::string> ConsortWaves(const TrialSnapshot& snapshot) {
  std::vector<std::string> waves;
  std::set<std::string> seen;
  for (const v1::Wave& w : snapshot.waves) {
    if (seen.insert(w.wave_id()).second) waves.push_back(w.wave_id());
  }
  for (const v1::Response& r : snapshot.responses) {
    if (seen.insert(r.wave_id()).second) waves.push_back(r.wave_id());
  }
  return waves;
}

}  // namespace

std::optional<ReportConsort> ConsortFlow(const TrialSnapshot& snapshot, const std::string& factor) {
  ReportConsort flow;
  flow.factor = factor;
  flow.enrolled = snapshot.trial.enrolled();
  std::map<std::string, size_t> column;
  for (const std::string& arm : ArmsOf(snapshot.trial.design(), factor)) {
    column.emplace(arm, flow.arms.size());
    flow.arms.push_back({arm, 0, std::nullopt, {}, {}});
  }
  std::set<std::pair<std::string, std::string>> responded;  // (wave, participant)
  for (const v1::Response& r : snapshot.responses)
    responded.emplace(r.wave_id(), r.participant_id());
  const std::vector<std::string> waves = ConsortWaves(snapshot);
  for (ReportConsortArm& arm : flow.arms) {
    for (const std::string& wave : waves) arm.waves.push_back({wave, 0, 0, 0, 0});
  }
  int64_t allocated = 0;
  for (const v1::Allocation& a : snapshot.allocations) {
    const std::string arm = ArmOf(a, factor);
    auto it = column.find(arm);
    if (it == column.end()) {
      // An arm the design no longer lists still has people in it: give it a column.
      if (arm.empty()) continue;
      it = column.emplace(arm, flow.arms.size()).first;
      flow.arms.push_back({arm, 0, std::nullopt, {}, {}});
      for (const std::string& wave : waves) flow.arms.back().waves.push_back({wave, 0, 0, 0, 0});
    }
    ReportConsortArm& column_arm = flow.arms[it->second];
    ++column_arm.allocated;
    ++allocated;
    for (ReportConsortWave& wave : column_arm.waves) {
      if (a.has_withdrawal()) {
        ++wave.withdrawn;
      } else if (responded.count({wave.wave, a.participant_id()}) > 0) {
        ++wave.responded;
      } else if (a.has_left_on()) {
        ++wave.left;
      } else {
        ++wave.non_response;
      }
    }
  }
  if (allocated == 0) return std::nullopt;
  // A trial whose enrolment count lags (or an old record without it) never shows fewer enrolled
  // than allocated.
  if (flow.enrolled < allocated) flow.enrolled = allocated;
  return flow;
}

}  // namespace fieldwork::cli

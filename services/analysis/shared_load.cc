#include "services/analysis/shared_load.h"

#include <future>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

namespace fieldwork::analysis {
namespace {

using SharedResult = absl::StatusOr<std::shared_ptr<const JoinedTrial>>;
// The sources by identity (tests run several sets in one process), the trial, the versions.
using LoadKey =
    std::tuple<const void*, const void*, const void*, const void*, std::string, std::string>;

// The loads running now, each with the future its waiters share.
struct RunningLoad {
  std::shared_future<SharedResult> result;
  int waiting = 0;  // callers other than the one loading
};
struct RunningLoads {
  std::mutex mutex;
  std::map<LoadKey, RunningLoad> running;
};

RunningLoads& Running() {
  static RunningLoads* loads = new RunningLoads;
  return *loads;
}

SharedResult LoadAlone(const Sources& sources, const std::string& trial) {
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources, trial);
  if (!joined.ok()) return joined.status();
  return std::make_shared<const JoinedTrial>(*std::move(joined));
}

}  // namespace

SharedResult LoadTrialShared(const Sources& sources, const std::string& trial,
                             const std::string& versions) {
  if (versions.empty()) return LoadAlone(sources, trial);
  const LoadKey key{sources.allocations,
                    sources.responses,
                    sources.outcomes,
                    sources.engagement,
                    trial,
                    versions};
  RunningLoads& loads = Running();
  std::promise<SharedResult> mine;
  std::shared_future<SharedResult> theirs;
  {
    std::lock_guard<std::mutex> lock(loads.mutex);
    if (auto it = loads.running.find(key); it != loads.running.end()) {
      theirs = it->second.result;
      ++it->second.waiting;
    } else {
      loads.running.emplace(key, RunningLoad{mine.get_future().share()});
    }
  }
  if (theirs.valid()) return theirs.get();
  SharedResult result = LoadAlone(sources, trial);
  mine.set_value(result);
  std::lock_guard<std::mutex> lock(loads.mutex);
  loads.running.erase(key);
  return result;
}

namespace internal {

int CallersWaitingForRunningLoads() {
  RunningLoads& loads = Running();
  std::lock_guard<std::mutex> lock(loads.mutex);
  int waiting = 0;
  for (const auto& [key, load] : loads.running) waiting += load.waiting;
  return waiting;
}

}  // namespace internal

}  // namespace fieldwork::analysis

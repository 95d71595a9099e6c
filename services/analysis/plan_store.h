// Where analysis plans are kept: an interface (Redis in production, memory in tests and
// benchmarks) with compare-and-set writes, so two concurrent edits cannot lose one another.
#ifndef FIELDWORK_SERVICES_ANALYSIS_PLAN_STORE_H_
#define FIELDWORK_SERVICES_ANALYSIS_PLAN_STORE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fieldwork/v1/analysis.pb.h"

namespace fieldwork::analysis {

class PlanStore {
 public:
  virtual ~PlanStore() = default;
  // The stored record, or nullopt when there is none.
  virtual absl::StatusOr<std::optional<fieldwork::v1::PlanRecord>> Get(const std::string& trial,
                                                                       const std::string& plan) = 0;
  // Writes `record` (trial and plan id from record.plan()) if the stored version is still
  // `expected_version` (0: no record yet); ABORTED otherwise, and nothing is written.
  virtual absl::Status Put(const fieldwork::v1::PlanRecord& record, int64_t expected_version) = 0;
  // Every stored record of the trial, in plan id order.
  virtual absl::StatusOr<std::vector<fieldwork::v1::PlanRecord>> List(const std::string& trial) = 0;
};

// A PlanStore in memory, for tests and benchmarks.
class MemoryPlanStore final : public PlanStore {
 public:
  absl::StatusOr<std::optional<fieldwork::v1::PlanRecord>> Get(const std::string& trial,
                                                               const std::string& plan) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = records_.find({trial, plan});
    if (it == records_.end()) return std::nullopt;
    return it->second;
  }
  absl::Status Put(const fieldwork::v1::PlanRecord& record, int64_t expected_version) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto key = std::make_pair(record.plan().trial_id(), record.plan().plan_id());
    auto it = records_.find(key);
    const int64_t stored = it == records_.end() ? 0 : it->second.version();
    if (stored != expected_version) return absl::AbortedError("plan changed concurrently");
    records_[key] = record;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<fieldwork::v1::PlanRecord>> List(const std::string& trial) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<fieldwork::v1::PlanRecord> out;
    for (auto it = records_.lower_bound({trial, ""}); it != records_.end() && it->first.first == trial; ++it) {
      out.push_back(it->second);
    }
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, fieldwork::v1::PlanRecord> records_;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_PLAN_STORE_H_

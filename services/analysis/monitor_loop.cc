#include "services/analysis/monitor_loop.h"

#include <google/protobuf/util/message_differencer.h>

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "services/analysis/join.h"
#include "services/analysis/plan_validation.h"
#include "services/analysis/shared_load.h"
#include "services/common/freed_memory.h"
#include "services/common/logging.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

namespace {

struct GaugeHelp {
  const char* name;
  const char* help;
};

constexpr GaugeHelp kGauges[] = {
    {"fieldwork_trial_participants",
     "Active (allocated, not withdrawn) participants by arm and site."},
    {"fieldwork_trial_responses",
     "Active participants with a counted response, by wave, arm and site."},
    {"fieldwork_trial_response_rate",
     "Share of active participants with a counted response, by wave and arm."},
    {"fieldwork_trial_leavers", "Active participants who left the organisation, by arm."},
    {"fieldwork_trial_withdrawn", "Withdrawn participants, by arm."},
    {"fieldwork_trial_differential_attrition",
     "Difference between arms' response rates in percentage points (treated minus control)."},
    {"fieldwork_trial_differential_attrition_pvalue",
     "Chi-square p-value of arm x responded, by wave."},
    {"fieldwork_trial_mdes",
     "Minimum detectable effect size (SDs): planned, and achieved if the wave closed now."},
    {"fieldwork_trial_srm_pvalue",
     "Sample ratio mismatch: chi-square p-value of allocations against the design's weights."},
    {"fieldwork_trial_takeup_rate",
     "Share of active participants who opened or clicked the campaign's message."},
    {"fieldwork_trial_expected_response_rate",
     "The analysis plan's assumed response rate (fraction), by wave."},
    {"fieldwork_trial_wave_open_seconds",
     "Seconds since the wave opened, on the trial clock (absent before it opens)."},
};

}  // namespace

MonitorMetrics::MonitorMetrics(prometheus::Registry& registry)
    : registry_(registry),
      run_seconds_(prometheus::BuildHistogram()
                       .Name("fieldwork_analysis_monitor_run_seconds")
                       .Help("Time of one monitor pass over every active trial.")
                       .Register(registry)
                       .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.5, 1,
                                                                        2.5, 5, 10, 30, 60})),
      errors_(prometheus::BuildCounter()
                  .Name("fieldwork_analysis_monitor_errors_total")
                  .Help("Monitor passes in which a trial's data could not be read.")
                  .Register(registry)),
      trials_(prometheus::BuildGauge()
                  .Name("fieldwork_analysis_monitor_trials")
                  .Help("Active trials the monitor watches.")
                  .Register(registry)
                  .Add({})),
      trials_read_(prometheus::BuildGauge()
                       .Name("fieldwork_analysis_monitor_trials_read")
                       .Help("Active trials whose data the last monitor pass read again (the "
                             "others had not changed since they were last read).")
                       .Register(registry)
                       .Add({})),
      leader_(prometheus::BuildGauge()
                  .Name("fieldwork_analysis_monitor_leader")
                  .Help("1 in the replica whose monitor publishes the trials' gauges, else 0.")
                  .Register(registry)
                  .Add({})) {
  for (const GaugeHelp& gauge : kGauges) {
    families_[gauge.name] =
        &prometheus::BuildGauge().Name(gauge.name).Help(gauge.help).Register(registry_);
  }
}

void MonitorMetrics::Publish(const std::vector<MonitorSample>& samples) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::set<std::pair<prometheus::Family<prometheus::Gauge>*, prometheus::Gauge*>> now;
  for (const MonitorSample& sample : samples) {
    auto family = families_.find(sample.metric);
    if (family == families_.end()) continue;
    prometheus::Gauge& gauge = family->second->Add(sample.labels);
    gauge.Set(sample.value);
    now.emplace(family->second, &gauge);
  }
  for (const auto& [family, gauge] : published_) {
    if (now.count({family, gauge}) == 0) family->Remove(gauge);
  }
  published_ = std::move(now);
}

void MonitorMetrics::ObserveRun(double seconds, int64_t trials, int64_t read) {
  run_seconds_.Observe(seconds);
  trials_.Set(static_cast<double>(trials));
  trials_read_.Set(static_cast<double>(read));
}

void MonitorMetrics::WatchTrials(const std::set<std::string>& trials) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = trial_errors_.begin(); it != trial_errors_.end();) {
    if (trials.count(it->first) == 0) {
      errors_.Remove(it->second);
      it = trial_errors_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& trial : trials) {
    if (trial_errors_.count(trial) == 0) trial_errors_[trial] = &errors_.Add({{"trial", trial}});
  }
}

void MonitorMetrics::CountError(const std::string& trial) {
  errors_.Add({{"trial", trial}}).Increment();
}

void MonitorMetrics::SetLeader(bool leader) { leader_.Set(leader ? 1 : 0); }

absl::Status MonitorLoop::RunOnce() {
  std::lock_guard<std::mutex> pass(pass_mutex_);
  const auto started = std::chrono::steady_clock::now();
  auto seconds_since_start = [&started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  if (sources_.allocations == nullptr) return absl::InternalError("no allocation source");
  if (lease_ != nullptr) {
    absl::StatusOr<bool> held = lease_->Hold();
    if (!held.ok()) return held.status();
    metrics_.SetLeader(*held);
    if (!*held) {
      snapshots_.clear();  // the leader's data moves on meanwhile
      metrics_.WatchTrials({});
      metrics_.Publish({});
      // Counted as a pass watching no trial, so a standby's passes show on its /metrics.
      metrics_.ObserveRun(seconds_since_start(), 0, 0);
      return absl::OkStatus();
    }
  } else {
    metrics_.SetLeader(true);
  }
  absl::StatusOr<std::vector<v1::Trial>> trials = sources_.allocations->ListTrials();
  if (!trials.ok()) {
    metrics_.CountError("");
    return trials.status();
  }
  absl::Status first_error;
  std::vector<MonitorSample> samples;
  int64_t active = 0;
  int64_t read = 0;
  std::set<std::string> watched;
  const absl::Time now = clock_.Now();
  for (const v1::Trial& trial : *trials) {
    if (trial.state() != v1::TRIAL_STATE_LOCKED) continue;  // closed trials drop their series
    ++active;
    const std::string& id = trial.design().trial_id();
    watched.insert(id);
    absl::StatusOr<v1::PlanRecord> plan = plans_.Get(id, kDefaultPlanId);
    const v1::PlanRecord* plan_record = plan.ok() ? &*plan : nullptr;
    // Read before the data: a write landing between the two moves the versions again, so the
    // next pass reads the trial again rather than keeping a stale snapshot.
    const std::string data_versions = TrialDataVersions(sources_, id);
    std::string versions = data_versions;
    if (!versions.empty()) {
      // Plan versions start at 1: -1 is no plan.
      absl::StrAppend(&versions, "plan ", plan_record == nullptr ? -1 : plan_record->version());
    }
    auto kept = snapshots_.find(id);
    const bool unchanged =
        !versions.empty() && kept != snapshots_.end() && kept->second.versions == versions &&
        google::protobuf::util::MessageDifferencer::Equals(kept->second.trial, trial);
    if (!unchanged) {
      if (kept != snapshots_.end()) snapshots_.erase(kept);
      ++read;
      TrialSnapshot snapshot{std::move(versions), trial, {}, {}};
      {
        // Shared with an Analyse reading the same data at the moment (a researcher's status).
        absl::StatusOr<std::shared_ptr<const JoinedTrial>> joined =
            LoadTrialShared(sources_, id, data_versions);
        if (!joined.ok()) {
          metrics_.CountError(id);
          logging::Warning("monitor: cannot load trial",
                           {{"trial", id}, {"error", joined.status().ToString()}});
          if (first_error.ok()) first_error = joined.status();
          continue;
        }
        snapshot.samples = ComputeMonitor(**joined, plan_record);
        snapshot.waves = (*joined)->waves;
      }
      // Each trial's join is freed before the next is loaded; give its memory back (the pass
      // repeats every interval, on a thread of its own with an arena of its own).
      ReleaseFreedMemory();
      kept = snapshots_.emplace(id, std::move(snapshot)).first;
    }
    samples.insert(samples.end(), kept->second.samples.begin(), kept->second.samples.end());
    std::vector<MonitorSample> clock_samples = WaveOpenSamples(id, kept->second.waves, now);
    samples.insert(samples.end(), std::make_move_iterator(clock_samples.begin()),
                   std::make_move_iterator(clock_samples.end()));
    if (kept->second.versions.empty()) snapshots_.erase(kept);  // nothing to compare next pass
  }
  std::erase_if(snapshots_, [&](const auto& entry) { return watched.count(entry.first) == 0; });
  metrics_.WatchTrials(watched);
  metrics_.Publish(samples);
  metrics_.ObserveRun(seconds_since_start(), active, read);
  return first_error;
}

void MonitorLoop::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> wait_lock(mutex_);
    while (!stopping_) {
      wait_lock.unlock();
      const absl::Time started = clock_.Now();
      absl::Status status = RunOnce();
      if (!status.ok()) logging::Warning("monitor pass incomplete", {{"error", status.ToString()}});
      logging::Debug("monitor pass", {{"started", absl::FormatTime(started)}});
      wait_lock.lock();
      wake_.wait_for(wait_lock, absl::ToChronoMilliseconds(interval_),
                     [this] { return stopping_; });
    }
  });
}

void MonitorLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  thread_.join();
  if (lease_ != nullptr) {
    if (absl::Status s = lease_->Release(); !s.ok()) {
      logging::Warning("monitor lease not released", {{"error", s.ToString()}});
    }
  }
}

}  // namespace fieldwork::analysis

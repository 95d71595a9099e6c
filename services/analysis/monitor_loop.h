// The live monitor's loop: every interval, over every active (LOCKED) trial, loads and joins the
// trial's data, computes its gauges (monitor.h) and publishes them; series of trials that are no
// longer active (closed, archived, gone) and of label sets that vanished are removed.
#ifndef FIELDWORK_SERVICES_ANALYSIS_MONITOR_LOOP_H_
#define FIELDWORK_SERVICES_ANALYSIS_MONITOR_LOOP_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/analysis/monitor.h"
#include "services/analysis/plan_registry.h"
#include "services/analysis/sources.h"
#include "services/common/clock.h"
#include "services/common/redis_lease.h"

namespace fieldwork::analysis {

// The gauges of monitor.h as Prometheus families, plus the monitor's own
// fieldwork_analysis_monitor_run_seconds histogram, fieldwork_analysis_monitor_errors_total
// {trial}, fieldwork_analysis_monitor_trials (active trials watched),
// fieldwork_analysis_monitor_trials_read (those whose data the last pass read again) and
// fieldwork_analysis_monitor_leader (1 in the replica that publishes the trials' gauges).
class MonitorMetrics {
 public:
  explicit MonitorMetrics(prometheus::Registry& registry);

  // Replaces the published series with `samples` (of the trials in `trials`): series of other
  // trials, and label sets not in `samples`, are removed.
  void Publish(const std::vector<MonitorSample>& samples);
  // `trials` watched; `read` of them read again (the others' data had not changed).
  void ObserveRun(double seconds, int64_t trials, int64_t read);
  // Creates the error counters of the active trials at 0 (so that the alert's increase() sees
  // a trial's first error as a rise from 0) and removes those of trials no longer active.
  void WatchTrials(const std::set<std::string>& trials);
  void CountError(const std::string& trial);
  void SetLeader(bool leader);

 private:
  prometheus::Registry& registry_;
  std::mutex mutex_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> families_;
  std::set<std::pair<prometheus::Family<prometheus::Gauge>*, prometheus::Gauge*>> published_;
  prometheus::Histogram& run_seconds_;
  prometheus::Family<prometheus::Counter>& errors_;
  std::map<std::string, prometheus::Counter*> trial_errors_;  // by active trial
  prometheus::Gauge& trials_;
  prometheus::Gauge& trials_read_;
  prometheus::Gauge& leader_;
};

class MonitorLoop {
 public:
  // `plans` gives each trial's "main" plan (for the planned MDES), when it has one. With a
  // `lease`, only the replica holding it publishes the trials' gauges (several would double
  // every sum() over them); the others stand by and take over once it lapses.
  MonitorLoop(Sources sources, PlanRegistry& plans, MonitorMetrics& metrics, const Clock& clock,
              absl::Duration interval, Lease* lease = nullptr)
      : sources_(sources),
        plans_(plans),
        metrics_(metrics),
        clock_(clock),
        interval_(interval),
        lease_(lease) {}
  ~MonitorLoop() { Stop(); }

  // One pass over every active trial. A trial's data is read again only when it may have
  // changed: the versions its sources give (DataVersion), its record or its plan moved since the
  // pass that last read it, or a source cannot tell; otherwise the gauges computed then are
  // published again, with the wave-open gauge taken on the clock now. A trial whose data cannot
  // be read keeps its previous series out (they are removed) and is counted in the errors; the
  // status is the first error.
  // Without the lease (another replica holds it) nothing is read and this replica's trial
  // series are removed; when the lease cannot be asked (Redis unreachable) the pass is skipped
  // and what was published stays, so a blip does not blank the dashboards.
  absl::Status RunOnce();

  // Runs RunOnce every interval on a thread until Stop(), which releases the lease.
  void Start();
  void Stop();

 private:
  Sources sources_;
  PlanRegistry& plans_;
  MonitorMetrics& metrics_;
  const Clock& clock_;
  const absl::Duration interval_;
  Lease* const lease_;

  // What a pass computed for a trial, kept while what it was computed from stays the same.
  struct TrialSnapshot {
    std::string versions;  // TrialDataVersions and the plan's version
    fieldwork::v1::Trial trial;
    std::vector<MonitorSample> samples;      // all but the clock's gauge
    std::vector<fieldwork::v1::Wave> waves;  // for the clock's gauge (WaveOpenSamples)
  };
  std::mutex pass_mutex_;                           // one pass at a time
  std::map<std::string, TrialSnapshot> snapshots_;  // by watched trial id
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_MONITOR_LOOP_H_

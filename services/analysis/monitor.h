// The live trial monitor's computation: from a trial's joined data (and its analysis plan, for
// the planned MDES) the gauge values of issue 7, as a pure function so that every figure can
// be checked against hand-computed values. monitor_loop.h publishes them.
#ifndef FIELDWORK_SERVICES_ANALYSIS_MONITOR_H_
#define FIELDWORK_SERVICES_ANALYSIS_MONITOR_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fieldwork/v1/analysis.pb.h"
#include "services/analysis/join.h"

namespace fieldwork::analysis {

// One gauge value: the metric's name (e.g. "fieldwork_trial_response_rate") and its labels.
// Labels are trial, arm, site, wave, factor, campaign, kind: never a participant id.
struct MonitorSample {
  std::string metric;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The gauges of one trial. The arms are those of the plan's factor (the design's first factor
// without a plan); "active" participants are those allocated to it and not withdrawn.
//   fieldwork_trial_participants{trial,arm,site}         active participants
//   fieldwork_trial_withdrawn{trial,arm}                 withdrawn (alone or with their site)
//   fieldwork_trial_leavers{trial,arm}                   active participants who left
//   fieldwork_trial_responses{trial,wave,arm,site}       active participants with a counted
//                                                        response in the wave
//   fieldwork_trial_response_rate{trial,wave,arm}        responses / active participants
//   fieldwork_trial_differential_attrition{trial,wave}   in percentage points: first treated
//       arm's rate minus control's (two arms), highest minus lowest arm's rate (more arms)
//   fieldwork_trial_differential_attrition_pvalue{trial,wave}  Pearson chi-square of arm x
//       responded (no continuity correction); absent when undefined (nobody or everybody
//       responded)
//   fieldwork_trial_mdes{trial,wave,kind="planned"}      the plan's planned MDES
//   fieldwork_trial_mdes{trial,wave,kind="achieved"}     the same formula with what the wave
//       has now: active participants of control and the first treated arm, their actual
//       treated share and the wave's actual response rate (and actual clusters for cluster
//       designs): the MDES if the wave closed now
//   fieldwork_trial_srm_pvalue{trial,factor}             chi-square goodness of fit of every
//       allocated participant's arm against the design's arm weights, per factor
//   fieldwork_trial_takeup_rate{trial,campaign,arm}      active participants who opened or
//       clicked the campaign's message / active participants (with an engagement source)
//   fieldwork_trial_expected_response_rate{trial,wave}   the plan's assumed response rate
//       (power.response_rate, a fraction; 1 when the plan's power section leaves it unset),
//       for every wave; absent without a plan or without a power section
//   fieldwork_trial_wave_open_seconds{trial,wave}        `now` minus the wave's opens_at, for
//       the survey's waves that have opened (absent before, without opens_at, or without `now`)
// The last two feed the response-rate alert (deploy/prometheus/rules). `now` is the trial
// clock's time (the services may run on the simulated clock). `plan` may be null (no planned
// or achieved MDES, no expected response rate then).
std::vector<MonitorSample> ComputeMonitor(const JoinedTrial& joined,
                                          const fieldwork::v1::PlanRecord* plan,
                                          std::optional<absl::Time> now = std::nullopt);

// ComputeMonitor's fieldwork_trial_wave_open_seconds alone: the one gauge that moves with the
// clock while the data stays the same (the monitor loop keeps the rest between passes).
std::vector<MonitorSample> WaveOpenSamples(const std::string& trial,
                                           const std::vector<fieldwork::v1::Wave>& waves,
                                           absl::Time now);

// Pearson's chi-square statistic and upper-tail p-value of a table of counts (rows x columns),
// as chisq.test(correct = FALSE); p is NaN when a row or column total is 0.
struct ChiSquare {
  double statistic = 0;
  int df = 0;
  double p_value = 0;
};
ChiSquare PearsonChiSquare(const std::vector<std::vector<double>>& table);

// Goodness of fit of `observed` counts to `weights` (chisq.test(x, p = weights / sum)).
ChiSquare GoodnessOfFit(const std::vector<double>& observed, const std::vector<double>& weights);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_MONITOR_H_

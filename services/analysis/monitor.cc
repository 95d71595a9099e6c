#include "services/analysis/monitor.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "services/analysis/analyser.h"
#include "services/analysis/plan_validation.h"
#include "services/analysis/stats/distributions.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

ChiSquare PearsonChiSquare(const std::vector<std::vector<double>>& table) {
  ChiSquare result;
  const size_t rows = table.size();
  const size_t columns = rows == 0 ? 0 : table[0].size();
  std::vector<double> row_total(rows, 0), column_total(columns, 0);
  double total = 0;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < columns; ++c) {
      row_total[r] += table[r][c];
      column_total[c] += table[r][c];
      total += table[r][c];
    }
  }
  result.df = static_cast<int>((rows > 0 ? rows - 1 : 0) * (columns > 0 ? columns - 1 : 0));
  const bool degenerate =
      total <= 0 || result.df == 0 ||
      std::any_of(row_total.begin(), row_total.end(), [](double t) { return t <= 0; }) ||
      std::any_of(column_total.begin(), column_total.end(), [](double t) { return t <= 0; });
  if (degenerate) {
    result.statistic = std::numeric_limits<double>::quiet_NaN();
    result.p_value = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < columns; ++c) {
      const double expected = row_total[r] * column_total[c] / total;
      const double d = table[r][c] - expected;
      result.statistic += d * d / expected;
    }
  }
  result.p_value = ChiSquareUpperTail(result.statistic, result.df);
  return result;
}

ChiSquare GoodnessOfFit(const std::vector<double>& observed, const std::vector<double>& weights) {
  ChiSquare result;
  double total = 0;
  double weight_total = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    total += observed[i];
    weight_total += weights[i];
  }
  result.df = static_cast<int>(observed.size()) - 1;
  if (total <= 0 || weight_total <= 0 || result.df < 1) {
    result.statistic = std::numeric_limits<double>::quiet_NaN();
    result.p_value = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  for (size_t i = 0; i < observed.size(); ++i) {
    const double expected = total * weights[i] / weight_total;
    const double d = observed[i] - expected;
    result.statistic += d * d / expected;
  }
  result.p_value = ChiSquareUpperTail(result.statistic, result.df);
  return result;
}

namespace {

struct ArmCounts {
  double active = 0;
  double withdrawn = 0;
  double leavers = 0;
  std::map<std::string, double> active_by_site;
  std::map<std::string, double> responses;                                 // by wave
  std::map<std::string, std::map<std::string, double>> responses_by_site;  // wave -> site
  std::map<std::string, double> took_up;                                   // by campaign
  std::set<std::string> clusters;
};

}  // namespace

std::vector<MonitorSample> WaveOpenSamples(const std::string& trial,
                                           const std::vector<v1::Wave>& waves, absl::Time now) {
  std::vector<MonitorSample> out;
  for (const v1::Wave& wave : waves) {
    if (!wave.has_opens_at()) continue;
    const absl::Time opened_at = absl::FromUnixSeconds(wave.opens_at().seconds()) +
                                 absl::Nanoseconds(wave.opens_at().nanos());
    if (now < opened_at) continue;
    out.push_back({"fieldwork_trial_wave_open_seconds",
                   {{"trial", trial}, {"wave", wave.wave_id()}},
                   absl::ToDoubleSeconds(now - opened_at)});
  }
  return out;
}

std::vector<MonitorSample> ComputeMonitor(const JoinedTrial& joined, const v1::PlanRecord* plan,
                                          std::optional<absl::Time> now) {
  std::vector<MonitorSample> out;
  if (now.has_value()) out = WaveOpenSamples(joined.trial.design().trial_id(), joined.waves, *now);
  const v1::TrialDesign& design = joined.trial.design();
  const std::string& trial = design.trial_id();
  if (design.factors_size() == 0) return out;
  std::string factor_name = design.factors(0).name();
  if (plan != nullptr && !plan->plan().factor().empty()) factor_name = plan->plan().factor();
  const v1::Factor* factor = FindFactor(design, factor_name);
  if (factor == nullptr) return out;

  // Arms in design order; control first when the plan names it.
  std::vector<std::string> arms;
  for (const auto& arm : factor->arms()) arms.push_back(arm.name());
  if (plan != nullptr) {
    auto it = std::find(arms.begin(), arms.end(), plan->plan().control_arm());
    if (it != arms.end()) std::rotate(arms.begin(), it, it + 1);
  }

  // Waves: the survey's, then any seen only in responses.
  std::vector<std::string> waves;
  for (const auto& wave : joined.waves) waves.push_back(wave.wave_id());
  std::set<std::string> campaigns;
  if (plan != nullptr && !plan->plan().takeup_campaign().empty())
    campaigns.insert(plan->plan().takeup_campaign());

  std::map<std::string, ArmCounts> counts;
  for (const std::string& arm : arms) counts[arm];
  for (const JoinedParticipant& p : joined.participants) {
    const std::string* arm = p.Arm(factor_name);
    if (arm == nullptr) continue;
    ArmCounts& c = counts[*arm];
    if (p.withdrawn) {
      c.withdrawn += 1;
      continue;
    }
    c.active += 1;
    c.active_by_site[p.site] += 1;
    if (p.left) c.leavers += 1;
    c.clusters.insert(p.cluster);
    for (const auto& [wave, index] : p.response_by_wave) {
      c.responses[wave] += 1;
      c.responses_by_site[wave][p.site] += 1;
      if (std::find(waves.begin(), waves.end(), wave) == waves.end()) waves.push_back(wave);
    }
    for (const std::string& campaign : p.took_up) {
      c.took_up[campaign] += 1;
      campaigns.insert(campaign);
    }
  }
  for (const auto& [arm, c] : counts) {
    if (std::find(arms.begin(), arms.end(), arm) == arms.end()) arms.push_back(arm);
  }

  auto add = [&out](std::string metric, std::map<std::string, std::string> labels, double value) {
    out.push_back({std::move(metric), std::move(labels), value});
  };
  for (const std::string& arm : arms) {
    const ArmCounts& c = counts[arm];
    for (const auto& [site, n] : c.active_by_site) {
      add("fieldwork_trial_participants", {{"trial", trial}, {"arm", arm}, {"site", site}}, n);
    }
    add("fieldwork_trial_withdrawn", {{"trial", trial}, {"arm", arm}}, c.withdrawn);
    add("fieldwork_trial_leavers", {{"trial", trial}, {"arm", arm}}, c.leavers);
  }

  std::optional<Mdes> planned;
  if (plan != nullptr && plan->plan().has_power()) {
    absl::StatusOr<Mdes> mdes = PlannedMdesOf(plan->plan().power());
    if (mdes.ok()) planned = *mdes;
  }

  // What the response-rate alert compares with: the plan's assumption and the wave's age.
  std::optional<double> expected_rate;
  if (plan != nullptr && plan->plan().has_power()) {
    const double assumed = plan->plan().power().response_rate();
    expected_rate = assumed > 0 ? assumed : 1.0;  // the proto's default: everyone responds
  }
  for (const std::string& wave : waves) {
    if (expected_rate.has_value()) {
      add("fieldwork_trial_expected_response_rate", {{"trial", trial}, {"wave", wave}},
          *expected_rate);
    }
    std::vector<double> rates;
    std::vector<std::vector<double>> table;
    for (const std::string& arm : arms) {
      const ArmCounts& c = counts[arm];
      auto responded_it = c.responses.find(wave);
      const double responded = responded_it == c.responses.end() ? 0 : responded_it->second;
      for (const auto& [site, n] : c.active_by_site) {
        auto by_site = c.responses_by_site.find(wave);
        double r = 0;
        if (by_site != c.responses_by_site.end()) {
          auto s = by_site->second.find(site);
          if (s != by_site->second.end()) r = s->second;
        }
        add("fieldwork_trial_responses",
            {{"trial", trial}, {"wave", wave}, {"arm", arm}, {"site", site}}, r);
      }
      if (c.active > 0) {
        const double rate = responded / c.active;
        add("fieldwork_trial_response_rate", {{"trial", trial}, {"wave", wave}, {"arm", arm}},
            rate);
        rates.push_back(rate);
        table.push_back({responded, c.active - responded});
      }
    }
    if (rates.size() >= 2) {
      const double difference = rates.size() == 2
                                    ? rates[1] - rates[0]
                                    : *std::max_element(rates.begin(), rates.end()) -
                                          *std::min_element(rates.begin(), rates.end());
      add("fieldwork_trial_differential_attrition", {{"trial", trial}, {"wave", wave}},
          100.0 * difference);
      const ChiSquare test = PearsonChiSquare(table);
      if (std::isfinite(test.p_value)) {
        add("fieldwork_trial_differential_attrition_pvalue", {{"trial", trial}, {"wave", wave}},
            test.p_value);
      }
    }
    if (planned.has_value() && arms.size() >= 2) {
      add("fieldwork_trial_mdes", {{"trial", trial}, {"wave", wave}, {"kind", "planned"}},
          planned->mdes);
      const ArmCounts& control = counts[arms[0]];
      const ArmCounts& treated = counts[arms[1]];
      const double n = control.active + treated.active;
      auto responded_in = [&wave](const ArmCounts& c) {
        auto it = c.responses.find(wave);
        return it == c.responses.end() ? 0.0 : it->second;
      };
      const double responded = responded_in(control) + responded_in(treated);
      if (n > 0 && responded > 0 && control.active > 0 && treated.active > 0) {
        v1::PowerAssumptions current = plan->plan().power();
        current.set_treated_share(treated.active / n);
        current.set_response_rate(responded / n);
        if (IsClusterPower(current)) {
          std::set<std::string> clusters = control.clusters;
          clusters.insert(treated.clusters.begin(), treated.clusters.end());
          current.set_clusters(static_cast<int64_t>(clusters.size()));
          current.set_cluster_size(n / static_cast<double>(clusters.size()));
        } else {
          current.set_n(static_cast<int64_t>(n));
        }
        absl::StatusOr<Mdes> achieved = PlannedMdesOf(current);
        if (achieved.ok()) {
          add("fieldwork_trial_mdes", {{"trial", trial}, {"wave", wave}, {"kind", "achieved"}},
              achieved->mdes);
        }
      }
    }
  }

  // Sample ratio mismatch per factor, over every allocated participant (withdrawn included:
  // the allocation is what is tested).
  for (const v1::Factor& f : design.factors()) {
    // Given (non-random) arms have no ratio to mismatch: unequal pilot cohorts are by design.
    if (f.arms_size() < 2 || f.method() == v1::RANDOMISATION_METHOD_ASSIGNED) continue;
    std::map<std::string, double> allocated;
    for (const JoinedParticipant& p : joined.participants) {
      const std::string* arm = p.Arm(f.name());
      if (arm != nullptr) allocated[*arm] += 1;
    }
    std::vector<double> observed, weights;
    for (const auto& arm : f.arms()) {
      observed.push_back(allocated[arm.name()]);
      weights.push_back(arm.weight() > 0 ? static_cast<double>(arm.weight()) : 1.0);
    }
    const ChiSquare srm = GoodnessOfFit(observed, weights);
    if (std::isfinite(srm.p_value)) {
      add("fieldwork_trial_srm_pvalue", {{"trial", trial}, {"factor", f.name()}}, srm.p_value);
    }
  }

  if (joined.has_engagement) {
    for (const std::string& campaign : campaigns) {
      for (const std::string& arm : arms) {
        const ArmCounts& c = counts[arm];
        if (c.active <= 0) continue;
        auto it = c.took_up.find(campaign);
        const double took = it == c.took_up.end() ? 0 : it->second;
        add("fieldwork_trial_takeup_rate", {{"trial", trial}, {"campaign", campaign}, {"arm", arm}},
            took / c.active);
      }
    }
  }
  return out;
}

}  // namespace fieldwork::analysis

// Builders of small trials for the analysis service's tests: a design with one two-arm factor,
// participants with sites and covariates, allocations, responses and outcomes.
#ifndef FIELDWORK_TESTS_UNIT_ANALYSIS_TEST_TRIALS_H_
#define FIELDWORK_TESTS_UNIT_ANALYSIS_TEST_TRIALS_H_

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "services/analysis/memory_sources.h"

namespace fieldwork::analysis::testing {

inline google::protobuf::Timestamp Ts(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

// `plan` on factor "arm" at alpha 0.05, locked: what the analyser takes.
inline fieldwork::v1::PlanRecord LockedRecord(fieldwork::v1::AnalysisPlan plan) {
  plan.set_factor("arm");
  plan.set_alpha(0.05);
  fieldwork::v1::PlanRecord record;
  *record.mutable_plan() = std::move(plan);
  record.set_state(fieldwork::v1::PLAN_STATE_LOCKED);
  return record;
}

// Trial `id`: factor "arm" with arms "control" and "treatment" (1:1), sites LA1 and LA2, a
// numeric covariate "age" and a categorical "grade" (levels junior, senior); LOCKED.
inline fieldwork::v1::Trial MakeTrial(const std::string& id) {
  fieldwork::v1::Trial trial;
  trial.set_state(fieldwork::v1::TRIAL_STATE_LOCKED);
  auto& design = *trial.mutable_design();
  design.set_trial_id(id);
  auto& factor = *design.add_factors();
  factor.set_name("arm");
  factor.set_method(fieldwork::v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA);
  for (const char* name : {"control", "treatment"}) {
    auto& arm = *factor.add_arms();
    arm.set_name(name);
    arm.set_weight(1);
  }
  factor.add_strata("site");
  for (const char* site : {"LA1", "LA2"}) design.add_sites()->set_id(site);
  auto& age = *design.add_covariates();
  age.set_name("age");
  age.set_kind(fieldwork::v1::Covariate::KIND_NUMERIC);
  auto& grade = *design.add_covariates();
  grade.set_name("grade");
  grade.set_kind(fieldwork::v1::Covariate::KIND_CATEGORICAL);
  grade.add_levels("junior");
  grade.add_levels("senior");
  return trial;
}

// Adds an enrolled and allocated participant.
inline fieldwork::v1::ParticipantStatus& AddParticipant(MemoryTrialData& data,
                                                        const std::string& id,
                                                        const std::string& site,
                                                        const std::string& arm, double age = 40,
                                                        const std::string& grade = "junior") {
  fieldwork::v1::ParticipantStatus& status = data.participants.emplace_back();
  auto& p = *status.mutable_participant();
  p.set_participant_id(id);
  p.set_site(site);
  p.set_cluster("team-" + site);
  (*p.mutable_covariates())["age"].set_number(age);
  (*p.mutable_covariates())["grade"].set_category(grade);
  status.set_allocated(true);
  fieldwork::v1::Allocation& allocation = data.allocations.emplace_back();
  allocation.set_participant_id(id);
  allocation.set_site(site);
  auto& assignment = *allocation.add_assignments();
  assignment.set_factor("arm");
  assignment.set_arm(arm);
  return status;
}

inline void Withdraw(fieldwork::v1::ParticipantStatus& status) {
  status.mutable_withdrawal()->set_reason("site withdrew");
}
inline void Leave(fieldwork::v1::ParticipantStatus& status) {
  auto& date = *status.mutable_left_on();
  date.set_year(2021);
  date.set_month(6);
  date.set_day(1);
}

inline void AddWave(MemoryTrialData& data, const std::string& wave) {
  auto& w = data.waves.emplace_back();
  w.set_trial_id(data.trial.design().trial_id());
  w.set_wave_id(wave);
}

// A counted response with one scale score.
inline fieldwork::v1::Response& AddResponse(MemoryTrialData& data, const std::string& id,
                                            const std::string& wave, const std::string& scale,
                                            double value,
                                            absl::Time submitted = absl::UnixEpoch()) {
  fieldwork::v1::Response& r = data.responses.emplace_back();
  r.set_trial_id(data.trial.design().trial_id());
  r.set_wave_id(wave);
  r.set_participant_id(id);
  r.set_counted(true);
  auto& score = *r.add_scales();
  score.set_id(scale);
  score.set_present(true);
  score.set_value(value);
  *r.mutable_submitted_at() = Ts(submitted);
  return r;
}

// A plan for MakeTrial: outcome "wellbeing" = scale "wellbeing" of wave "endline".
inline fieldwork::v1::AnalysisPlan MakePlan(const std::string& trial) {
  fieldwork::v1::AnalysisPlan plan;
  plan.set_trial_id(trial);
  plan.set_control_arm("control");
  auto& outcome = *plan.add_outcomes();
  outcome.set_name("wellbeing");
  outcome.set_primary(true);
  outcome.mutable_source()->mutable_survey()->set_wave_id("endline");
  outcome.mutable_source()->mutable_survey()->set_score_id("wellbeing");
  return plan;
}

// `inner`'s randomisation part with its allocations streamed as stored (not sorted by
// participant id), reversed when `reversed`, and failing UNAVAILABLE after `fail_after` of
// them when set: for the joins' handling of the stream's order and failures.
class StoredOrderAllocations final : public AllocationSource {
 public:
  StoredOrderAllocations(MemorySources& inner, bool reversed = false,
                         std::optional<size_t> fail_after = std::nullopt)
      : inner_(inner), reversed_(reversed), fail_after_(fail_after) {}
  absl::StatusOr<std::vector<fieldwork::v1::Trial>> ListTrials() override {
    return inner_.ListTrials();
  }
  absl::StatusOr<fieldwork::v1::Trial> GetTrial(const std::string& t) override {
    return inner_.GetTrial(t);
  }
  absl::StatusOr<MessageList<fieldwork::v1::ParticipantStatus>> ListParticipants(
      const std::string& t) override {
    return inner_.ListParticipants(t);
  }
  std::unique_ptr<ItemStream<fieldwork::v1::Allocation>> StreamAllocations(
      const std::string& t) override {
    std::vector<fieldwork::v1::Allocation> items = inner_.trials().at(t).allocations;
    if (reversed_) std::reverse(items.begin(), items.end());
    return std::make_unique<Listed>(std::move(items), fail_after_);
  }

 private:
  class Listed final : public ItemStream<fieldwork::v1::Allocation> {
   public:
    Listed(std::vector<fieldwork::v1::Allocation> items, std::optional<size_t> fail_after)
        : items_(std::move(items)), fail_after_(fail_after) {}
    bool Next(fieldwork::v1::Allocation& item) override {
      if (next_ == items_.size() || failed()) return false;
      item = items_[next_++];
      return true;
    }
    absl::Status Finish() override {
      return failed() ? absl::UnavailableError("connection reset") : absl::OkStatus();
    }

   private:
    bool failed() const { return fail_after_.has_value() && next_ == *fail_after_; }
    std::vector<fieldwork::v1::Allocation> items_;
    std::optional<size_t> fail_after_;
    size_t next_ = 0;
  };
  MemorySources& inner_;
  const bool reversed_;
  const std::optional<size_t> fail_after_;
};

}  // namespace fieldwork::analysis::testing

#endif  // FIELDWORK_TESTS_UNIT_ANALYSIS_TEST_TRIALS_H_

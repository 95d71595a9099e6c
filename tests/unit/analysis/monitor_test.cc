// The monitor's gauges on a small trial whose every figure is computed by hand in the comments,
// and the loop's publishing: series appear for active trials and vanish when a trial closes.
#include "services/analysis/monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cmath>

#include "services/analysis/analyser.h"
#include "services/analysis/memory_sources.h"
#include "services/analysis/monitor_loop.h"
#include "services/analysis/plan_registry.h"
#include "services/analysis/stats/power.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;
using ::testing::Not;

// control: c1 LA1, c2 LA1, c3 LA2, c4 LA2 (withdrawn), c5 LA1 (left)
// treatment: t1 LA1, t2 LA2, t3 LA2, t4 LA1
// endline responses: c1, c3, c4 (withdrawn: not counted), t1, t2, t3
// engagement with "video": t1 opened, t2 clicked and opened, c1 opened
MemoryTrialData HandTrial() {
  MemoryTrialData data;
  data.trial = testing::MakeTrial("t1");
  testing::AddParticipant(data, "c1", "LA1", "control");
  testing::AddParticipant(data, "c2", "LA1", "control");
  testing::AddParticipant(data, "c3", "LA2", "control");
  testing::Withdraw(testing::AddParticipant(data, "c4", "LA2", "control"));
  testing::Leave(testing::AddParticipant(data, "c5", "LA1", "control"));
  testing::AddParticipant(data, "t1", "LA1", "treatment");
  testing::AddParticipant(data, "t2", "LA2", "treatment");
  testing::AddParticipant(data, "t3", "LA2", "treatment");
  testing::AddParticipant(data, "t4", "LA1", "treatment");
  testing::AddWave(data, "baseline");
  testing::AddWave(data, "endline");
  for (const char* id : {"c1", "c3", "c4", "t1", "t2", "t3"})
    testing::AddResponse(data, id, "endline", "wb", 1);
  data.engagement.push_back({"t1", "video", EngagementEvent::Kind::kOpened, absl::UnixEpoch()});
  data.engagement.push_back({"t2", "video", EngagementEvent::Kind::kClicked, absl::UnixEpoch()});
  data.engagement.push_back({"t2", "video", EngagementEvent::Kind::kOpened, absl::UnixEpoch()});
  data.engagement.push_back({"c1", "video", EngagementEvent::Kind::kOpened, absl::UnixEpoch()});
  return data;
}

v1::PlanRecord HandPlan() {
  v1::PlanRecord record;
  *record.mutable_plan() = testing::MakePlan("t1");
  record.mutable_plan()->set_factor("arm");
  v1::PowerAssumptions& power = *record.mutable_plan()->mutable_power();
  power.set_n(100);
  power.set_treated_share(0.5);
  power.set_alpha(0.05);
  power.set_power(0.8);
  power.set_response_rate(0.6);
  return record;
}

const MonitorSample* Find(const std::vector<MonitorSample>& samples, const std::string& metric,
                          const std::map<std::string, std::string>& labels) {
  for (const MonitorSample& s : samples) {
    if (s.metric == metric && s.labels == labels) return &s;
  }
  return nullptr;
}

double Value(const std::vector<MonitorSample>& samples, const std::string& metric,
             const std::map<std::string, std::string>& labels) {
  const MonitorSample* s = Find(samples, metric, labels);
  EXPECT_NE(s, nullptr) << metric;
  return s == nullptr ? std::nan("") : s->value;
}

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MemorySources sources;
    sources.trials()["t1"] = HandTrial();
    absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
    ASSERT_TRUE(joined.ok()) << joined.status();
    plan_ = HandPlan();
    samples_ = ComputeMonitor(*joined, &plan_);
  }
  v1::PlanRecord plan_;
  std::vector<MonitorSample> samples_;
};

TEST_F(MonitorTest, ParticipantsLeaversAndWithdrawals) {
  // Active control: c1, c2, c5 in LA1 and c3 in LA2; treatment: t1, t4 in LA1 and t2, t3 in LA2.
  EXPECT_EQ(Value(samples_, "fieldwork_trial_participants",
                  {{"trial", "t1"}, {"arm", "control"}, {"site", "LA1"}}),
            3);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_participants",
                  {{"trial", "t1"}, {"arm", "control"}, {"site", "LA2"}}),
            1);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_participants",
                  {{"trial", "t1"}, {"arm", "treatment"}, {"site", "LA1"}}),
            2);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_participants",
                  {{"trial", "t1"}, {"arm", "treatment"}, {"site", "LA2"}}),
            2);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_withdrawn", {{"trial", "t1"}, {"arm", "control"}}), 1);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_withdrawn", {{"trial", "t1"}, {"arm", "treatment"}}),
            0);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_leavers", {{"trial", "t1"}, {"arm", "control"}}), 1);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_leavers", {{"trial", "t1"}, {"arm", "treatment"}}), 0);
}

TEST_F(MonitorTest, ResponsesRatesAndDifferentialAttrition) {
  EXPECT_EQ(Value(samples_, "fieldwork_trial_responses",
                  {{"trial", "t1"}, {"wave", "endline"}, {"arm", "control"}, {"site", "LA1"}}),
            1);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_responses",
                  {{"trial", "t1"}, {"wave", "endline"}, {"arm", "treatment"}, {"site", "LA2"}}),
            2);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_responses",
                  {{"trial", "t1"}, {"wave", "baseline"}, {"arm", "treatment"}, {"site", "LA2"}}),
            0);
  // 2 of 4 active control participants, 3 of 4 treated.
  EXPECT_EQ(Value(samples_, "fieldwork_trial_response_rate",
                  {{"trial", "t1"}, {"wave", "endline"}, {"arm", "control"}}),
            0.5);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_response_rate",
                  {{"trial", "t1"}, {"wave", "endline"}, {"arm", "treatment"}}),
            0.75);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_response_rate",
                  {{"trial", "t1"}, {"wave", "baseline"}, {"arm", "control"}}),
            0);
  EXPECT_DOUBLE_EQ(Value(samples_, "fieldwork_trial_differential_attrition",
                         {{"trial", "t1"}, {"wave", "endline"}}),
                   25.0);
  // Table [[2, 2], [3, 1]]: expected 2.5, 1.5 per row, chi-square = 2 (0.25/2.5 + 0.25/1.5)
  // = 0.5333; with 1 df, p = erfc(sqrt(x / 2)).
  const double x = 2 * (0.25 / 2.5 + 0.25 / 1.5);
  EXPECT_NEAR(Value(samples_, "fieldwork_trial_differential_attrition_pvalue",
                    {{"trial", "t1"}, {"wave", "endline"}}),
              std::erfc(std::sqrt(x / 2)), 1e-12);
  // Nobody responded at baseline: the test is undefined and its series absent.
  EXPECT_EQ(Find(samples_, "fieldwork_trial_differential_attrition_pvalue",
                 {{"trial", "t1"}, {"wave", "baseline"}}),
            nullptr);
}

TEST_F(MonitorTest, SampleRatioMismatchAndTakeUp) {
  // 5 control (c4 included: allocation is what is tested) vs 4 treated at 1:1: chi-square
  // = 2 * 0.5^2 / 4.5.
  const double x = 2 * 0.25 / 4.5;
  EXPECT_NEAR(Value(samples_, "fieldwork_trial_srm_pvalue", {{"trial", "t1"}, {"factor", "arm"}}),
              std::erfc(std::sqrt(x / 2)), 1e-12);
  // t1 and t2 of 4 treated; c1 of 4 active control.
  EXPECT_EQ(Value(samples_, "fieldwork_trial_takeup_rate",
                  {{"trial", "t1"}, {"campaign", "video"}, {"arm", "treatment"}}),
            0.5);
  EXPECT_EQ(Value(samples_, "fieldwork_trial_takeup_rate",
                  {{"trial", "t1"}, {"campaign", "video"}, {"arm", "control"}}),
            0.25);
}

TEST(MonitorAssignedTest, GivenArmsHaveNoSampleRatioMismatchSeries) {
  // The pilots' cohorts are unequal by choice (method ASSIGNED): a sample ratio test would
  // fire the SRM alert on every pilot.
  MemorySources sources;
  MemoryTrialData data = HandTrial();
  data.trial.mutable_design()->mutable_factors(0)->set_method(
      v1::RANDOMISATION_METHOD_ASSIGNED);
  sources.trials()["t1"] = data;
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok()) << joined.status();
  const v1::PlanRecord plan = HandPlan();
  const std::vector<MonitorSample> samples = ComputeMonitor(*joined, &plan);
  EXPECT_EQ(Find(samples, "fieldwork_trial_srm_pvalue", {{"trial", "t1"}, {"factor", "arm"}}),
            nullptr);
  // Everything else is still there.
  EXPECT_NE(Find(samples, "fieldwork_trial_participants",
                 {{"trial", "t1"}, {"arm", "control"}, {"site", "LA1"}}),
            nullptr);
}

TEST_F(MonitorTest, PlannedAndAchievedMdes) {
  IndividualDesign planned;
  planned.n = 100;
  planned.response_rate = 0.6;
  EXPECT_DOUBLE_EQ(Value(samples_, "fieldwork_trial_mdes",
                         {{"trial", "t1"}, {"wave", "endline"}, {"kind", "planned"}}),
                   PlannedMdes(planned)->mdes);
  // Now: 8 active participants, 4 treated, 5 responded.
  IndividualDesign now;
  now.n = 8;
  now.treated_share = 0.5;
  now.response_rate = 5.0 / 8.0;
  EXPECT_DOUBLE_EQ(Value(samples_, "fieldwork_trial_mdes",
                         {{"trial", "t1"}, {"wave", "endline"}, {"kind", "achieved"}}),
                   PlannedMdes(now)->mdes);
  EXPECT_EQ(Find(samples_, "fieldwork_trial_mdes",
                 {{"trial", "t1"}, {"wave", "baseline"}, {"kind", "achieved"}}),
            nullptr);
}

// The two gauges of the response-rate alert: the plan's assumed rate for every wave, and how
// long each wave has been open on the trial clock.
TEST(MonitorAlertInputsTest, ExpectedResponseRateAndWaveOpenSeconds) {
  MemorySources sources;
  MemoryTrialData data = HandTrial();
  const absl::Time endline_opens = absl::UnixEpoch() + absl::Hours(24 * 10);
  *data.waves[1].mutable_opens_at() = testing::Ts(endline_opens);                         // endline
  *data.waves[0].mutable_opens_at() = testing::Ts(endline_opens + absl::Hours(24 * 30));  // later
  sources.trials()["t1"] = std::move(data);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok()) << joined.status();
  const v1::PlanRecord plan = HandPlan();
  // 14 days and 1.5 s after the endline opened.
  const absl::Time now = endline_opens + absl::Hours(24 * 14) + absl::Milliseconds(1500);
  const std::vector<MonitorSample> samples = ComputeMonitor(*joined, &plan, now);

  EXPECT_EQ(Value(samples, "fieldwork_trial_expected_response_rate",
                  {{"trial", "t1"}, {"wave", "endline"}}),
            0.6);
  EXPECT_EQ(Value(samples, "fieldwork_trial_expected_response_rate",
                  {{"trial", "t1"}, {"wave", "baseline"}}),
            0.6);
  EXPECT_EQ(
      Value(samples, "fieldwork_trial_wave_open_seconds", {{"trial", "t1"}, {"wave", "endline"}}),
      14 * 86400 + 1.5);
  // The baseline opens in the future here: no series until it does.
  EXPECT_EQ(
      Find(samples, "fieldwork_trial_wave_open_seconds", {{"trial", "t1"}, {"wave", "baseline"}}),
      nullptr);

  // Without a time there is no wave age; without a plan no expected rate.
  const std::vector<MonitorSample> timeless = ComputeMonitor(*joined, &plan);
  EXPECT_EQ(
      Find(timeless, "fieldwork_trial_wave_open_seconds", {{"trial", "t1"}, {"wave", "endline"}}),
      nullptr);
  const std::vector<MonitorSample> planless = ComputeMonitor(*joined, nullptr, now);
  EXPECT_EQ(Find(planless, "fieldwork_trial_expected_response_rate",
                 {{"trial", "t1"}, {"wave", "endline"}}),
            nullptr);
  EXPECT_NE(
      Find(planless, "fieldwork_trial_wave_open_seconds", {{"trial", "t1"}, {"wave", "endline"}}),
      nullptr);

  // A power section without a response rate assumes everyone responds.
  v1::PlanRecord full_response = plan;
  full_response.mutable_plan()->mutable_power()->clear_response_rate();
  EXPECT_EQ(Value(ComputeMonitor(*joined, &full_response, now),
                  "fieldwork_trial_expected_response_rate", {{"trial", "t1"}, {"wave", "endline"}}),
            1.0);
}

TEST_F(MonitorTest, NoParticipantIdInAnyLabel) {
  for (const MonitorSample& s : samples_) {
    for (const auto& [name, value] : s.labels) {
      EXPECT_NE(name, "participant_id");
      for (const char* id : {"c1", "c2", "c3", "c4", "c5", "t2", "t3", "t4"})
        EXPECT_NE(value, id) << s.metric;
    }
  }
}

TEST(ChiSquareTest, MatchesTheTextbookTwoByTwo) {
  // [[10, 20], [30, 40]]: expected [[12, 18], [28, 42]]; chi-square = 4/12 + 4/18 + 4/28 + 4/42.
  const ChiSquare c = PearsonChiSquare({{10, 20}, {30, 40}});
  EXPECT_NEAR(c.statistic, 4.0 / 12 + 4.0 / 18 + 4.0 / 28 + 4.0 / 42, 1e-12);
  EXPECT_EQ(c.df, 1);
  EXPECT_TRUE(std::isnan(PearsonChiSquare({{0, 5}, {0, 7}}).p_value));
}

TEST(MonitorLoopTest, PublishesActiveTrialsAndDropsClosedOnes) {
  MemorySources sources;
  sources.trials()["t1"] = HandTrial();
  MemoryPlanStore store;
  ManualClock clock;
  PlanRegistry plans(store, sources, clock);
  prometheus::Registry registry;
  MonitorMetrics metrics(registry);
  MonitorLoop loop(sources.AsSources(), plans, metrics, clock, absl::Seconds(30));
  ASSERT_TRUE(loop.RunOnce().ok());
  prometheus::TextSerializer serializer;
  std::string text = serializer.Serialize(registry.Collect());
  EXPECT_THAT(
      text,
      HasSubstr(
          "fieldwork_trial_response_rate{arm=\"treatment\",trial=\"t1\",wave=\"endline\"} 0.75"));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_run_seconds_count 1"));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_trials 1"));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_errors_total{trial=\"t1\"} 0"));
  // The plan registry has no plan for t1: no expected rate; the waves have no opening time.
  EXPECT_THAT(text, Not(HasSubstr("fieldwork_trial_expected_response_rate{")));

  // The loop reads the wave's age from its clock (the trial clock, simulated in e2e runs).
  *sources.trials()["t1"].waves[1].mutable_opens_at() = testing::Ts(clock.Now());
  clock.Advance(absl::Hours(24 * 15));
  ASSERT_TRUE(loop.RunOnce().ok());
  text = serializer.Serialize(registry.Collect());
  EXPECT_THAT(
      text, HasSubstr("fieldwork_trial_wave_open_seconds{trial=\"t1\",wave=\"endline\"} 1296000"));

  sources.trials()["t1"].trial.set_state(v1::TRIAL_STATE_CLOSED);
  ASSERT_TRUE(loop.RunOnce().ok());
  text = serializer.Serialize(registry.Collect());
  EXPECT_THAT(text, Not(HasSubstr("trial=\"t1\"")));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_run_seconds_count 3"));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_trials 0"));
}

// A trial is read again only when a version it was computed from moves; meanwhile its gauges
// are published as computed, except the wave's age, which follows the clock.
TEST(MonitorLoopTest, ReadsATrialAgainOnlyWhenItsDataMayHaveChanged) {
  MemorySources sources;
  sources.trials()["t1"] = HandTrial();
  sources.trials()["t1"].version = "v1";
  *sources.trials()["t1"].waves[1].mutable_opens_at() = testing::Ts(absl::UnixEpoch());
  MemoryPlanStore store;
  ManualClock clock;
  clock.Set(absl::UnixEpoch() + absl::Seconds(100));
  PlanRegistry plans(store, sources, clock);
  prometheus::Registry registry;
  MonitorMetrics metrics(registry);
  MonitorLoop loop(sources.AsSources(), plans, metrics, clock, absl::Seconds(30));
  prometheus::TextSerializer serializer;
  const std::string rate =
      "fieldwork_trial_response_rate{arm=\"treatment\",trial=\"t1\",wave=\"endline\"} ";
  auto pass = [&] {
    EXPECT_TRUE(loop.RunOnce().ok());
    return serializer.Serialize(registry.Collect());
  };

  std::string text = pass();
  EXPECT_EQ(sources.participant_lists(), 1);
  EXPECT_THAT(text, HasSubstr(rate + "0.75"));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_trials_read 1"));

  // Unchanged versions: nothing read, the same gauges, the wave a pass older.
  testing::AddResponse(sources.trials()["t1"], "t4", "endline", "wb", 1);  // unseen: version kept
  clock.Advance(absl::Seconds(30));
  text = pass();
  EXPECT_EQ(sources.participant_lists(), 1);
  EXPECT_THAT(text, HasSubstr(rate + "0.75"));
  EXPECT_THAT(text,
              HasSubstr("fieldwork_trial_wave_open_seconds{trial=\"t1\",wave=\"endline\"} 130"));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_trials_read 0"));

  // The version moved: read again, and t4's response counts.
  sources.trials()["t1"].version = "v2";
  text = pass();
  EXPECT_EQ(sources.participant_lists(), 2);
  EXPECT_THAT(text, HasSubstr(rate + "1"));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_trials_read 1"));

  // A plan registered since: read again (the planned MDES and the expected rate appear).
  v1::PlanRecord plan = HandPlan();
  ASSERT_TRUE(plans.Register("researcher", plan.plan(), "").ok());
  text = pass();
  EXPECT_EQ(sources.participant_lists(), 3);
  EXPECT_THAT(text, HasSubstr("fieldwork_trial_expected_response_rate{trial=\"t1\""));

  // The trial's record changed (closed): its series go, nothing is kept for it.
  sources.trials()["t1"].trial.set_state(v1::TRIAL_STATE_CLOSED);
  text = pass();
  EXPECT_THAT(text, Not(HasSubstr("trial=\"t1\"")));
  sources.trials()["t1"].trial.set_state(v1::TRIAL_STATE_LOCKED);
  pass();
  EXPECT_EQ(sources.participant_lists(), 4);

  // A source that cannot tell: read every pass.
  sources.trials()["t1"].version = "";
  pass();
  pass();
  EXPECT_EQ(sources.participant_lists(), 6);
}

// A lease the test hands out or withholds; counts releases.
class FakeLease : public Lease {
 public:
  absl::StatusOr<bool> Hold() override { return held; }
  absl::Status Release() override {
    ++released;
    return absl::OkStatus();
  }
  absl::StatusOr<bool> held = true;
  int released = 0;
};

// Two replicas: only the lease holder publishes the trials' gauges (else every sum() over
// them doubles); one that loses the lease drops its series; Redis unreachable keeps them.
TEST(MonitorLoopTest, OnlyTheLeaseHolderPublishes) {
  MemorySources sources;
  sources.trials()["t1"] = HandTrial();
  MemoryPlanStore store;
  ManualClock clock;
  PlanRegistry plans(store, sources, clock);
  prometheus::Registry registry;
  MonitorMetrics metrics(registry);
  FakeLease lease;
  MonitorLoop loop(sources.AsSources(), plans, metrics, clock, absl::Seconds(30), &lease);
  prometheus::TextSerializer serializer;
  const std::string rate =
      "fieldwork_trial_response_rate{arm=\"treatment\",trial=\"t1\",wave=\"endline\"} 0.75";

  ASSERT_TRUE(loop.RunOnce().ok());
  std::string text = serializer.Serialize(registry.Collect());
  EXPECT_THAT(text, HasSubstr(rate));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_leader 1"));

  lease.held = absl::UnavailableError("redis down");
  EXPECT_EQ(loop.RunOnce().code(), absl::StatusCode::kUnavailable);
  text = serializer.Serialize(registry.Collect());
  EXPECT_THAT(text, HasSubstr(rate)) << "a Redis blip blanked the gauges";

  lease.held = false;
  ASSERT_TRUE(loop.RunOnce().ok());
  text = serializer.Serialize(registry.Collect());
  EXPECT_THAT(text, Not(HasSubstr("trial=\"t1\"")));
  EXPECT_THAT(text, HasSubstr("fieldwork_analysis_monitor_leader 0"));

  lease.held = true;
  ASSERT_TRUE(loop.RunOnce().ok());
  EXPECT_THAT(serializer.Serialize(registry.Collect()), HasSubstr(rate));
  EXPECT_EQ(lease.released, 0);
  // A replica shutting down gives the lease up, so another takes over at its next pass.
  loop.Start();
  loop.Stop();
  EXPECT_EQ(lease.released, 1);
}

}  // namespace
}  // namespace fieldwork::analysis

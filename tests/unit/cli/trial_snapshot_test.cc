// The client-side figures of status and report: response rate by arm and wave, the cumulative
// response rate over time, and the CV experiment's progression rates.
#include "services/cli/trial_snapshot.h"

#include <gtest/gtest.h>

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

v1::Allocation Allocated(const std::string& id, const std::string& arm, bool withdrawn = false) {
  v1::Allocation a;
  a.set_participant_id(id);
  auto* assignment = a.add_assignments();
  assignment->set_factor("f");
  assignment->set_arm(arm);
  if (withdrawn) a.mutable_withdrawal()->set_reason("asked");
  return a;
}

v1::Response Responded(const std::string& id, const std::string& wave, int64_t day) {
  v1::Response r;
  r.set_participant_id(id);
  r.set_wave_id(wave);
  r.set_counted(true);
  r.mutable_submitted_at()->set_seconds(1'600'000'000 + day * 86'400 + 3600);
  return r;
}

TrialSnapshot Snapshot() {
  TrialSnapshot s;
  auto* factor = s.trial.mutable_design()->add_factors();
  factor->set_name("f");
  factor->add_arms()->set_name("control");
  factor->add_arms()->set_name("treatment");
  s.waves.emplace_back();
  s.waves[0].set_wave_id("endline");
  s.waves[0].mutable_opens_at()->set_seconds(1'600'000'000);
  s.waves.emplace_back();
  s.waves[1].set_wave_id("midline");
  for (int i = 0; i < 4; ++i)
    s.allocations.push_back(Allocated("c" + std::to_string(i), "control"));
  for (int i = 0; i < 4; ++i)
    s.allocations.push_back(Allocated("t" + std::to_string(i), "treatment"));
  s.allocations.push_back(Allocated("gone", "treatment", /*withdrawn=*/true));
  s.responses = {Responded("c0", "endline", 0), Responded("c1", "endline", 2),
                 Responded("c1", "endline", 3), Responded("t0", "endline", 0),
                 Responded("gone", "endline", 0)};
  for (const v1::Response& r : s.responses) s.respondents.push_back({r.wave_id(), r.participant_id()});
  return s;
}

TEST(TrialSnapshotTest, ResponseByArmAndWaveCountsPeopleNotWithdrawn) {
  const auto by_wave = ResponseByArmAndWave(Snapshot(), "f");
  ASSERT_EQ(by_wave.size(), 2u);
  EXPECT_EQ(by_wave.at("endline").at("control").randomised, 4);
  EXPECT_EQ(by_wave.at("endline").at("control").responded,
            2);  // c1's second response not counted twice
  EXPECT_EQ(by_wave.at("endline").at("treatment").randomised, 4);
  EXPECT_EQ(by_wave.at("endline").at("treatment").responded, 1);
  EXPECT_EQ(by_wave.at("midline").at("treatment").responded, 0);
}

TEST(TrialSnapshotTest, ResponseOverTimeIsCumulativeByDaySinceOpening) {
  const auto series = ResponseOverTime(Snapshot(), "f");
  ASSERT_EQ(series.size(), 2u);  // endline × two arms; midline has no responses
  EXPECT_EQ(series[0].arm, "control");
  ASSERT_EQ(series[0].points.size(), 2u);
  EXPECT_DOUBLE_EQ(series[0].points[0].first, 1);
  EXPECT_DOUBLE_EQ(series[0].points[0].second, 0.25);
  EXPECT_DOUBLE_EQ(series[0].points[1].first, 3);  // c1's first response, day 2 → "day 3"
  EXPECT_DOUBLE_EQ(series[0].points[1].second, 0.5);
  EXPECT_DOUBLE_EQ(series[1].points.back().second, 0.25);
}

TEST(TrialSnapshotTest, ProgressionRatesByConditionAndCandidateGroup) {
  TrialSnapshot s;
  auto* condition = s.trial.mutable_design()->add_factors();
  condition->set_name("exp1_evaluation");
  condition->add_arms()->set_name("joint");
  condition->add_arms()->set_name("separate");
  auto* square = s.trial.mutable_design()->add_factors();
  square->set_name("cv_names");
  square->set_method(v1::RANDOMISATION_METHOD_LATIN_SQUARE);
  auto participant = [&](const std::string& id, const std::string& arm,
                         std::vector<std::string> order, std::vector<std::string> answers) {
    v1::Allocation a;
    a.set_participant_id(id);
    auto* c = a.add_assignments();
    c->set_factor("exp1_evaluation");
    c->set_arm(arm);
    auto* o = a.add_assignments();
    o->set_factor("cv_names");
    for (auto& name : order) o->add_order(name);
    s.allocations.push_back(a);
    v1::Response r;
    r.set_participant_id(id);
    r.set_counted(true);
    for (size_t i = 0; i < answers.size(); ++i)
      (*r.mutable_answers())["progress_cv0" + std::to_string(i + 1)] = answers[i];
    s.responses.push_back(r);
  };
  participant("p1", "joint", {"n1", "n2"}, {"1", "0"});
  participant("p2", "joint", {"n2", "n1"}, {"1", "1"});
  participant("p3", "separate", {"n1", "n2"}, {"0", "1"});
  const auto rates = ProgressionRates(s, "", {{"n1", "white_british"}, {"n2", "minority_ethnic"}});
  ASSERT_EQ(rates.size(), 4u);
  EXPECT_EQ(rates[0].condition, "joint");
  EXPECT_EQ(rates[0].group, "minority_ethnic");
  EXPECT_EQ(rates[0].n, 2);
  EXPECT_DOUBLE_EQ(rates[0].rate, 0.5);  // p1 did not progress n2; p2 did
  EXPECT_EQ(rates[1].group, "white_british");
  EXPECT_DOUBLE_EQ(rates[1].rate, 1.0);
  EXPECT_EQ(rates[2].condition, "separate");
  EXPECT_DOUBLE_EQ(rates[2].rate, 1.0);  // minority_ethnic
  EXPECT_DOUBLE_EQ(rates[3].rate, 0.0);
  EXPECT_TRUE(ProgressionRates(Snapshot(), "", {}).empty());  // no Latin square
}

}  // namespace
}  // namespace fieldwork::cli

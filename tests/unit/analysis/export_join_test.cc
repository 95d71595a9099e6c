// StreamDataset, the export's merge join, against BuildDataset over LoadTrial's whole join of
// the same data: the same header and the same lines, byte for byte, with the awkward cases
// (participants, responses and outcomes of people who are not enrolled, several periods of an
// outcome, take-up of a campaign only a stranger opened, unallocated and withdrawn people).
#include "services/analysis/export_join.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/analysis/export.h"
#include "services/analysis/join.h"
#include "services/analysis/memory_sources.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

struct Streamed {
  absl::Status status;
  std::string header;
  std::vector<std::string> lines;
};

Streamed Stream(const Sources& sources, const v1::AnalysisPlan& plan, size_t stop_after = 0) {
  Streamed out;
  out.status = StreamDataset(
      sources, plan, "t1",
      [&](const DatasetLayout& layout) {
        out.header = layout.header;
        return true;
      },
      [&](const std::string& line) {
        out.lines.push_back(line);
        return stop_after == 0 || out.lines.size() < stop_after;
      });
  return out;
}

void AddOutcome(MemoryTrialData& data, const std::string& id, const std::string& name, int month,
                double value) {
  v1::Outcome& o = data.outcomes.emplace_back();
  o.set_participant_id(id);
  o.set_outcome(name);
  o.mutable_period_start()->set_year(2021);
  o.mutable_period_start()->set_month(month);
  o.mutable_period_start()->set_day(1);
  o.mutable_period_end()->set_year(2021);
  o.mutable_period_end()->set_month(month);
  o.mutable_period_end()->set_day(28);
  o.set_value(value);
}

void AddEvent(MemoryTrialData& data, const std::string& id, const std::string& campaign) {
  EngagementEvent& e = data.engagement.emplace_back();
  e.participant_id = id;
  e.campaign = campaign;
}

// A trial whose lists are deliberately not in participant id order (the memory sources sort
// them for the stream, as the services list them).
v1::AnalysisPlan FillTrial(MemorySources& sources) {
  MemoryTrialData& data = sources.trials()["t1"];
  data.trial = testing::MakeTrial("t1");
  testing::AddWave(data, "endline");
  testing::AddWave(data, "baseline");
  testing::AddParticipant(data, "p3", "LA2", "treatment", 30, "senior");
  testing::AddParticipant(data, "p1,x", "LA1", "control", 41.5);
  testing::Withdraw(testing::AddParticipant(data, "p2", "LA2", "treatment"));
  testing::Leave(testing::AddParticipant(data, "p10", "LA1", "control"));
  // Enrolled, not allocated: no row.
  v1::ParticipantStatus& waiting = data.participants.emplace_back();
  waiting.mutable_participant()->set_participant_id("p0");
  waiting.mutable_participant()->set_site("LA1");
  // An allocation of nobody enrolled.
  data.allocations.emplace_back().set_participant_id("p05");
  testing::AddResponse(data, "p3", "endline", "wellbeing", 0.5);
  testing::AddResponse(data, "p1,x", "endline", "wellbeing", -1.25);
  testing::AddResponse(data, "p1,x", "baseline", "wellbeing", 2);
  testing::AddResponse(data, "p10", "baseline", "wellbeing", 3);
  testing::AddResponse(data, "ghost", "endline", "wellbeing", 9);
  testing::AddResponse(data, "p10", "endline", "wellbeing", 7).set_counted(false);
  AddOutcome(data, "p3", "absence", 5, 2);
  AddOutcome(data, "p3", "absence", 3, 8);
  AddOutcome(data, "stranger", "absence", 3, 8);
  AddOutcome(data, "p1,x", "absence", 1, 4);
  AddEvent(data, "p3", "video");
  AddEvent(data, "p3", "video");
  AddEvent(data, "p10", "reminder");
  AddEvent(data, "stranger", "only-strangers");
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  plan.set_factor("arm");
  plan.add_covariates("age");
  plan.add_covariates("grade");
  plan.set_takeup_campaign("video");
  v1::PlannedOutcome& absence = *plan.add_outcomes();
  absence.set_name("absence");
  absence.mutable_source()->mutable_administrative()->set_outcome("absence");
  plan.mutable_outcomes(0)->mutable_baseline()->mutable_survey()->set_wave_id("baseline");
  plan.mutable_outcomes(0)->mutable_baseline()->mutable_survey()->set_score_id("wellbeing");
  return plan;
}

TEST(ExportJoinTest, StreamsTheSameBytesAsTheWholeJoin) {
  MemorySources sources;
  const v1::AnalysisPlan plan = FillTrial(sources);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok()) << joined.status();
  const Dataset whole = BuildDataset(plan, *joined);
  const Streamed streamed = Stream(sources.AsSources(), plan);
  ASSERT_TRUE(streamed.status.ok()) << streamed.status;
  EXPECT_EQ(streamed.header, whole.header);
  EXPECT_EQ(streamed.lines, whole.lines);
  // What the lines say, so that the comparison is not between two empty datasets.
  EXPECT_EQ(whole.header,
            "participant_id,site,cohort,cluster,arm,withdrawn,left,age,grade,wellbeing,"
            "wellbeing_baseline,absence,responded_endline,responded_baseline,took_up_reminder,"
            "took_up_video\n");
  EXPECT_THAT(whole.lines, ::testing::ElementsAre(
                               "\"p1,x\",LA1,,team-LA1,control,0,0,41.5,junior,-1.25,2,4,1,1,0,0\n",
                               "p10,LA1,,team-LA1,control,0,1,40,junior,,3,,0,1,1,0\n",
                               "p2,LA2,,team-LA2,treatment,1,0,40,junior,,,,0,0,0,0\n",
                               "p3,LA2,,team-LA2,treatment,0,0,30,senior,0.5,,2,1,0,0,1\n"));
}

TEST(ExportJoinTest, WithoutOptionalSourcesHasNoSuchColumns) {
  MemorySources sources;
  const v1::AnalysisPlan plan = FillTrial(sources);
  Sources only_allocations;
  only_allocations.allocations = &sources;
  absl::StatusOr<JoinedTrial> joined = LoadTrial(only_allocations, "t1");
  ASSERT_TRUE(joined.ok());
  const Dataset whole = BuildDataset(plan, *joined);
  const Streamed streamed = Stream(only_allocations, plan);
  ASSERT_TRUE(streamed.status.ok()) << streamed.status;
  EXPECT_EQ(streamed.header, whole.header);
  EXPECT_EQ(streamed.lines, whole.lines);
  EXPECT_EQ(streamed.lines.size(), 4u);
}

TEST(ExportJoinTest, StopsWhenTheWriterDoes) {
  MemorySources sources;
  const v1::AnalysisPlan plan = FillTrial(sources);
  const Streamed streamed = Stream(sources.AsSources(), plan, /*stop_after=*/2);
  ASSERT_TRUE(streamed.status.ok()) << streamed.status;
  EXPECT_EQ(streamed.lines.size(), 2u);
}

TEST(ExportJoinTest, UnknownTrialIsNotFound) {
  MemorySources sources;
  FillTrial(sources);
  absl::Status missing = StreamDataset(
      sources.AsSources(), testing::MakePlan("nope"), "nope",
      [](const DatasetLayout&) { return true; }, [](const std::string&) { return true; });
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
}

TEST(ExportJoinTest, AStreamOutOfOrderIsRefusedNamingIt) {
  MemorySources sources;
  const v1::AnalysisPlan plan = FillTrial(sources);
  testing::StoredOrderAllocations unsorted(sources);
  Sources with_unsorted = sources.AsSources();
  with_unsorted.allocations = &unsorted;
  const Streamed streamed = Stream(with_unsorted, plan);
  EXPECT_EQ(streamed.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(streamed.status.message(), HasSubstr("randomisation ListAllocations"));
  EXPECT_THAT(streamed.status.message(), HasSubstr("out of order"));
}

}  // namespace
}  // namespace fieldwork::analysis

// GetDataVersion over real gRPC and a real redis-server: the version the analysis monitor keeps
// a trial's gauges by must move with every write that changes what it reads (a wave, an
// accepted response, a changed outcome), and only then, or the monitor would either show stale
// figures or read every trial every pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/survey_ingest/ingest_fixture.h"

// A namespace of its own: each test file here names its helpers alike (unity build).
namespace fieldwork::survey_ingest::data_version {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr char kTrial[] = "versioned";

class DataVersionTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();
    CreateTrial(kTrial);
    Enrol(kTrial, {{"A1", "LA1"}, {"A2", "LA1"}, {"B1", "LA2"}});
    PutInstrument(kTrial, kWellbeingYaml);
  }

  std::string Version(const std::string& token = kAnalyst) {
    v1::GetDataVersionRequest request;
    request.set_trial_id(kTrial);
    v1::GetDataVersionResponse response;
    const grpc::Status status =
        ingest().GetDataVersion(ContextWith(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.version().empty());
    return response.version();
  }

  void Submit(const std::string& participant, const std::string& submission_id) {
    v1::SubmitResponseRequest request;
    *request.mutable_submission() = WellbeingSubmission(kTrial, participant, submission_id);
    v1::SubmitResponseResponse response;
    const grpc::Status status =
        ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void Record(const std::string& participant, double value) {
    v1::RecordOutcomesRequest request;
    request.set_trial_id(kTrial);
    v1::Outcome& o = *request.add_outcomes();
    o.set_trial_id(kTrial);
    o.set_participant_id(participant);
    o.set_outcome("sickness_absence_days");
    for (v1::CivilDate* date : {o.mutable_period_start(), o.mutable_period_end()}) {
      date->set_year(2021);
      date->set_month(1);
      date->set_day(1);
    }
    o.mutable_period_end()->set_month(6);
    o.set_value(value);
    v1::RecordOutcomesResponse response;
    const grpc::Status status =
        ingest().RecordOutcomes(ContextWith(kResearcher).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.rejected(), 0);
  }
};

TEST_F(DataVersionTest, MovesWithEveryChangeAndOnlyThen) {
  const std::string empty = Version();
  EXPECT_EQ(Version(), empty) << "reading moved it";

  PutWave(kTrial, "baseline", "wb");
  const std::string with_wave = Version();
  EXPECT_NE(with_wave, empty);

  ASSERT_NO_FATAL_FAILURE(Submit("A1", "s1"));
  const std::string with_response = Version();
  EXPECT_NE(with_response, with_wave);
  ASSERT_NO_FATAL_FAILURE(Submit("A1", "s1"));  // the same submission again: a duplicate
  EXPECT_EQ(Version(), with_response);
  ASSERT_NO_FATAL_FAILURE(Submit("A1", "s2"));  // a second response, stored
  const std::string with_second = Version();
  EXPECT_NE(with_second, with_response);

  ASSERT_NO_FATAL_FAILURE(Record("A2", 3));
  const std::string with_outcome = Version();
  EXPECT_NE(with_outcome, with_second);
  ASSERT_NO_FATAL_FAILURE(Record("A2", 3));  // unchanged
  EXPECT_EQ(Version(), with_outcome);
  ASSERT_NO_FATAL_FAILURE(Record("A2", 4));  // corrected
  EXPECT_NE(Version(), with_outcome);

  // Kept in Redis: a fresh replica answers the same.
  const std::string before = Version();
  RestartIngest();
  EXPECT_EQ(Version(kResearcher), before);
}

// Whole-trial callers only: a partner scoped to a site is refused, as for ResponseCounts.
TEST_F(DataVersionTest, ASiteScopedPartnerIsRefused) {
  v1::GetDataVersionRequest request;
  request.set_trial_id(kTrial);
  v1::GetDataVersionResponse response;
  EXPECT_EQ(ingest().GetDataVersion(ContextWith(kPartnerLa1).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  request.set_trial_id("no such trial!");
  EXPECT_EQ(ingest().GetDataVersion(ContextWith(kAnalyst).get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace fieldwork::survey_ingest::data_version

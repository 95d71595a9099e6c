// An enrolment batch is all or nothing where the API promises one batch: an EnrolStream cut
// by the client (cancel, deadline) enrols none of its rows, and a partner's roster with a row
// at another site enrols nothing but reports every row's errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tests/integration/randomisation/randomisation_fixture.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kRows = 3000;
constexpr int kChunk = 500;

v1::TrialDesign TwoSites(const std::string& id) {
  v1::TrialDesign design;
  design.set_trial_id(id);
  design.add_sites()->set_id("LA1");
  design.add_sites()->set_id("LA2");
  *design.add_factors() = TwoArms("intervention", v1::RANDOMISATION_METHOD_COMPLETE);
  return design;
}

// Writes kRows valid rows to an EnrolStream without half-closing it.
void WriteRows(grpc::ClientWriter<v1::EnrolRequest>& writer, const std::string& trial) {
  for (int start = 0; start < kRows; start += kChunk) {
    v1::EnrolRequest chunk;
    chunk.set_trial_id(trial);
    for (int i = start; i < start + kChunk; ++i) {
      *chunk.add_participants() = MakeParticipant(absl::StrFormat("p%05d", i), "LA1");
    }
    ASSERT_TRUE(writer.Write(chunk));
  }
}

class EnrolBatchTest : public RandomisationTest {
 protected:
  // The server counts a call as handled once its handler has returned: only then may the
  // test look at what it wrote (a cut call returns to the client before the handler ends).
  void WaitUntilEnrolStreamHandled() {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!EnrolStreamHandled() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
    ASSERT_TRUE(EnrolStreamHandled()) << GrpcMetricsText();
  }

  bool EnrolStreamHandled() const {
    std::istringstream text(GrpcMetricsText());
    for (std::string line; std::getline(text, line);) {
      if (absl::StartsWith(line, "grpc_server_handled_total{") &&
          absl::StrContains(line, "grpc_method=\"EnrolStream\"")) {
        return true;
      }
    }
    return false;
  }
};

TEST_F(EnrolBatchTest, CancelledStreamEnrolsNothing) {
  ASSERT_TRUE(CreateTrial(TwoSites("cut")).ok());
  auto context = ContextWith(kResearcher);
  v1::EnrolResponse response;
  auto writer = stub().EnrolStream(context.get(), &response);
  WriteRows(*writer, "cut");
  context->TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  WaitUntilEnrolStreamHandled();
  EXPECT_EQ(Enrolled(stub(), "cut"), 0);
  EXPECT_THAT(GrpcMetricsText(), Not(HasSubstr("grpc_code=\"OK\",grpc_method=\"EnrolStream\"")));
}

TEST_F(EnrolBatchTest, StreamPastItsDeadlineEnrolsNothing) {
  ASSERT_TRUE(CreateTrial(TwoSites("late")).ok());
  auto context = ContextWith(kResearcher);
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  v1::EnrolResponse response;
  auto writer = stub().EnrolStream(context.get(), &response);
  WriteRows(*writer, "late");
  // The client neither half-closes nor cancels: the deadline cuts the stream.
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  WaitUntilEnrolStreamHandled();
  EXPECT_EQ(Enrolled(stub(), "late"), 0);
}

TEST_F(EnrolBatchTest, CompletedStreamEnrolsEveryRow) {
  ASSERT_TRUE(CreateTrial(TwoSites("whole")).ok());
  auto context = ContextWith(kResearcher);
  v1::EnrolResponse response;
  auto writer = stub().EnrolStream(context.get(), &response);
  WriteRows(*writer, "whole");
  ASSERT_TRUE(writer->WritesDone());
  const grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.enrolled(), kRows);
  EXPECT_EQ(Enrolled(stub(), "whole"), kRows);
}

// One other-site row used to refuse the roster naming that row only: the partner fixed it,
// resent, and only then learnt of the other rows' errors.
TEST_F(EnrolBatchTest, OtherSiteRowRefusesTheRosterButEveryRowsErrorIsReported) {
  ASSERT_TRUE(CreateTrial(TwoSites("roster")).ok());
  grpc::Status status;
  Enrol("roster",
        {MakeParticipant("ok-1", "LA1"), MakeParticipant("elsewhere", "LA2"),
         MakeParticipant("bad id!", "LA1"), MakeParticipant("ok-1", "LA1")},
        kPartnerLa1, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("3 bad row(s)"));
  EXPECT_THAT(status.error_message(), HasSubstr("row 2 site: not permitted;"));
  EXPECT_THAT(status.error_message(), HasSubstr("row 3 participant_id: must be"));
  EXPECT_THAT(status.error_message(), HasSubstr("row 4 participant_id: is repeated in this batch (first at row 1)"));
  // Nothing about the other site: neither its name nor whether it is one of the trial's.
  EXPECT_THAT(status.error_message(), Not(HasSubstr("LA2")));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("elsewhere")));
  EXPECT_EQ(Enrolled(stub(), "roster"), 0) << "nothing half-way";
  // A site the trial does not have reads the same as another partner's site.
  Enrol("roster", {MakeParticipant("x", "LA9")}, kPartnerLa1, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("row 1 site: not permitted;"));
}

}  // namespace
}  // namespace fieldwork::randomisation

// Randomiser::Enrol's guards on their own (the gRPC service adds its own checks around them,
// so a guard broken here could hide behind those): a batch its caller no longer wants once it
// is checked is not written, and a row at a site the caller may not enrol at fails the batch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/civil_time.h"
#include "services/common/clock.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/trial_designs.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::testing::EnrolmentAt;
using ::fieldwork::testing::TwoArmsNorthAndSouth;
using ::testing::HasSubstr;

class EnrolGuardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(randomiser_.CreateTrial(TwoArmsNorthAndSouth("guards"), "researcher").ok());
  }
  int64_t Enrolled() { return randomiser_.GetTrial("guards")->enrolled(); }
  size_t AuditEntries() { return randomiser_.AuditLog("guards")->size(); }

  fieldwork::testing::RedisServer redis_;
  std::unique_ptr<RedisClient> client_ = redis_.NewClient();
  RedisRandomisationStore store_{*client_};
  ManualClock clock_{absl::FromCivil(absl::CivilSecond(2021, 3, 1, 9, 0, 0), absl::UTCTimeZone())};
  Randomiser randomiser_{store_, clock_};
};

TEST_F(EnrolGuardsTest, ABatchNoLongerWantedOnceCheckedIsNotWritten) {
  const size_t entries = AuditEntries();
  int asked = 0;
  EnrolGuards guards;
  guards.still_wanted = [&asked] {
    ++asked;
    return false;
  };
  absl::StatusOr<v1::EnrolResponse> cut = randomiser_.Enrol(
      "guards", {EnrolmentAt("p1", "north"), EnrolmentAt("p2", "south")}, false, "partner", guards);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kCancelled) << cut.status();
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(Enrolled(), 0);
  EXPECT_EQ(AuditEntries(), entries);

  // Still wanted: the same batch is written whole.
  guards.still_wanted = [] { return true; };
  absl::StatusOr<v1::EnrolResponse> kept = randomiser_.Enrol(
      "guards", {EnrolmentAt("p1", "north"), EnrolmentAt("p2", "south")}, false, "partner", guards);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->enrolled(), 2);
  EXPECT_EQ(Enrolled(), 2);
}

TEST_F(EnrolGuardsTest, ARowAtASiteNotPermittedFailsTheWholeBatch) {
  EnrolGuards guards;
  guards.may_enrol_at = [](const std::string& site) { return site == "north"; };
  absl::StatusOr<v1::EnrolResponse> refused = randomiser_.Enrol(
      "guards", {EnrolmentAt("p1", "north"), EnrolmentAt("p2", "south")}, false, "partner", guards);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("site"));
  EXPECT_EQ(Enrolled(), 0);
}

}  // namespace
}  // namespace fieldwork::randomisation

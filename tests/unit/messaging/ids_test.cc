#include "services/messaging/domain/ids.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldwork::messaging {
namespace {

using ::testing::HasSubstr;

TEST(IdsTest, AcceptsTheSafeAlphabet) {
  EXPECT_TRUE(ValidateId("f", "Trial_2024-v1.0").ok());
  EXPECT_TRUE(ValidateId("f", std::string(128, 'a')).ok());
  EXPECT_TRUE(IsValidId("a"));
}

TEST(IdsTest, RejectsEmptyLongAndUnsafeNamingTheField) {
  EXPECT_THAT(std::string(ValidateId("trial_id", "").message()), HasSubstr("trial_id: required"));
  EXPECT_THAT(std::string(ValidateId("trial_id", std::string(129, 'a')).message()),
              HasSubstr("trial_id: 129 characters"));
  for (const char* bad : {"a:b", "a b", "a/b", "{a}", "é", "a\nb", "a*"}) {
    absl::Status status = ValidateId("participant_id", bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(status.message()), HasSubstr("participant_id: character")) << bad;
    EXPECT_FALSE(IsValidId(bad));
  }
}

}  // namespace
}  // namespace fieldwork::messaging

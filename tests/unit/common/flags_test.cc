// The environment sets a flag; the command line overrides it.
#include "services/common/flags.h"

#include <cstdlib>

#include <gtest/gtest.h>

#include "absl/flags/flag.h"

ABSL_FLAG(int, test_metrics_port, 9464, "a flag for this test");
ABSL_FLAG(std::string, test_redis_url, "redis://default", "a flag for this test");

namespace fieldwork {
namespace {

TEST(FlagsTest, EnvironmentVariableName) {
  EXPECT_EQ(EnvironmentVariableForFlag("metrics_port"), "FIELDWORK_METRICS_PORT");
}

TEST(FlagsTest, EnvironmentSetsAndCommandLineWins) {
  setenv("FIELDWORK_TEST_METRICS_PORT", "9999", 1);
  setenv("FIELDWORK_TEST_REDIS_URL", "redis://from-env:1", 1);
  std::string program = "prog";
  std::string override_flag = "--test_redis_url=redis://from-command-line:2";
  std::string positional = "positional";
  char* argv[] = {program.data(), override_flag.data(), positional.data()};
  std::vector<char*> rest = ParseFlagsWithEnvironment(3, argv);
  EXPECT_EQ(absl::GetFlag(FLAGS_test_metrics_port), 9999);
  EXPECT_EQ(absl::GetFlag(FLAGS_test_redis_url), "redis://from-command-line:2");
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_STREQ(rest[1], "positional");
  unsetenv("FIELDWORK_TEST_METRICS_PORT");
  unsetenv("FIELDWORK_TEST_REDIS_URL");
}

TEST(FlagsTest, BadEnvironmentValueNamesTheVariable) {
  setenv("FIELDWORK_TEST_METRICS_PORT", "not-a-number", 1);
  const absl::Status status = ApplyFlagsFromEnvironment();
  unsetenv("FIELDWORK_TEST_METRICS_PORT");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("FIELDWORK_TEST_METRICS_PORT"), absl::string_view::npos);
  EXPECT_NE(status.message().find("--test_metrics_port"), absl::string_view::npos);
}

}  // namespace
}  // namespace fieldwork

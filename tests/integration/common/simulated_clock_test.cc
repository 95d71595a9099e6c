// Two processes on the simulated clock see the same time after one of them advances it.
#include "services/common/simulated_clock.h"

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::BinaryPath;
using ::fieldwork::testing::ChildProcess;
using ::fieldwork::testing::RedisTest;
using ::fieldwork::testing::TempDir;

class SimulatedClockTest : public RedisTest {
 protected:
  // Runs fieldwork-simclock in its own process and returns what it printed.
  std::string RunTool(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {BinaryPath("fieldwork-simclock"),
                                     "--redis_url=" + redis_server().url()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess tool(argv, {}, dir_.path() + "/simclock.log");
    EXPECT_EQ(tool.WaitForExit(absl::Seconds(30)), 0) << tool.ReadLog();
    std::string out = tool.ReadLog();
    std::remove((dir_.path() + "/simclock.log").c_str());
    return std::string(absl::StripAsciiWhitespace(out));
  }
  TempDir dir_;
};

absl::Time Parse(const std::string& text) {
  absl::Time time;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &time, &error)) << text << ": " << error;
  return time;
}

TEST_F(SimulatedClockTest, AnotherProcessAdvancingIsSeenHere) {
  const absl::Time start = absl::FromCivil(absl::CivilSecond(2021, 1, 4, 9, 0, 0), absl::UTCTimeZone());
  SimulatedClock clock(redis(), absl::UnixEpoch());
  ASSERT_TRUE(clock.Set(start).ok());
  EXPECT_EQ(Parse(RunTool({"get"})), start);

  EXPECT_EQ(Parse(RunTool({"advance", "168h"})), start + absl::Hours(168));
  EXPECT_EQ(clock.Now(), start + absl::Hours(168));

  ASSERT_TRUE(clock.Advance(absl::Hours(24)).ok());
  EXPECT_EQ(Parse(RunTool({"get"})), start + absl::Hours(192));
}

TEST_F(SimulatedClockTest, FirstReaderStartsTheClockOnce) {
  const absl::Time first = absl::FromUnixSeconds(1'700'000'000);
  SimulatedClock a(redis(), first);
  SimulatedClock b(redis(), first + absl::Hours(5));
  EXPECT_EQ(a.Now(), first);
  EXPECT_EQ(b.Now(), first) << "the second reader must not reset the shared time";
}

TEST_F(SimulatedClockTest, ConcurrentAdvancesAllCount) {
  SimulatedClock clock(redis(), absl::UnixEpoch());
  ASSERT_TRUE(clock.Set(absl::UnixEpoch()).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      SimulatedClock mine(redis(), absl::UnixEpoch());
      for (int i = 0; i < 25; ++i) ASSERT_TRUE(mine.Advance(absl::Seconds(1)).ok());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(clock.Now(), absl::UnixEpoch() + absl::Seconds(100));
}

TEST_F(SimulatedClockTest, ToolRejectsBadInput) {
  std::vector<std::string> argv = {BinaryPath("fieldwork-simclock"),
                                   "--redis_url=" + redis_server().url(), "advance", "a week"};
  ChildProcess tool(argv, {}, dir_.path() + "/bad.log");
  EXPECT_EQ(tool.WaitForExit(absl::Seconds(30)), 2);
  EXPECT_NE(tool.ReadLog().find("a week"), std::string::npos);
  EXPECT_FALSE(SimulatedClock(redis(), absl::UnixEpoch()).Advance(absl::Seconds(-1)).ok());
}

}  // namespace
}  // namespace fieldwork

#include "services/messaging/domain/opt_out.h"

#include <string>

#include "gtest/gtest.h"

namespace fieldwork::messaging {
namespace {

TEST(OptOutTest, StopAndItsVariants) {
  const std::pair<const char*, const char*> cases[] = {
      {"STOP", "STOP"},
      {"stop", "STOP"},
      {"  Stop \n", "STOP"},
      {"STOP.", "STOP"},
      {"Stop!", "STOP"},
      {"STOPALL", "STOPALL"},
      {"stop all", "STOP ALL"},
      {"Stop   All", "STOP ALL"},
      {"UNSUBSCRIBE", "UNSUBSCRIBE"},
      {"unsubscribe please", "UNSUBSCRIBE"},
      {"CANCEL", "CANCEL"},
      {"end", "END"},
      {"Quit", "QUIT"},
      {"opt out", "OPT OUT"},
      {"Opt-Out", "OPT-OUT"},
      {"optout", "OPTOUT"},
      {"revoke", "REVOKE"},
      {"Stop please", "STOP"},
      {"STOP texting me", "STOP"},
      {"stop, thanks", "STOP"},
      {"\xC2\xA0STOP\xC2\xA0", "STOP"},  // non-breaking spaces
      {"\xEF\xBB\xBFStop", "STOP"},      // a byte-order mark
      {"STOP\xE2\x80\x8B", "STOP"},      // a zero-width space
      {"\tcancel\r\n", "CANCEL"},
  };
  for (const auto& [body, keyword] : cases) {
    OptOutMatch match = RecogniseSmsOptOut(body);
    EXPECT_TRUE(match.opt_out) << body;
    EXPECT_EQ(match.keyword, keyword) << body;
  }
}

TEST(OptOutTest, OrdinaryRepliesAreNotOptOuts) {
  for (const char* body :
       {"", "   ", "Thanks!", "Can't stop smiling after that video", "End of the week is busy",
        "Please cancel my meeting", "quite good", "STOPPED", "unstoppable", "Not now", "S T O P",
        "START", "YES", "I will quit my job"}) {
    EXPECT_FALSE(RecogniseSmsOptOut(body).opt_out) << body;
  }
}

}  // namespace
}  // namespace fieldwork::messaging

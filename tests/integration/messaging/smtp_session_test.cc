// SMTP sessions reused (services/messaging/smtp_channel.h) against a real SMTP server
// (tests/integration/messaging/smtp_sink.py, which numbers the connection each message came
// on): several messages per connection, a new one after the message limit, after the idle
// limit (on the manual clock), after a refusal and after the server restarted; and a worker
// process whose connection the server drops mid-session delivers every message exactly once.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tests/integration/messaging/smtp_fixture.h"

namespace fieldwork::messaging {
namespace {

namespace v1 = ::fieldwork::v1;

OutgoingMessage Mail(int i) {
  OutgoingMessage m;
  m.to = absl::StrCat("p", i, "@example.org");
  m.message_id = absl::StrCat("<fw.session", i, "@fieldwork.example>");
  m.subject = "Weekly tip";
  m.text_body = "Hello";
  return m;
}

class SmtpSessionTest : public SmtpTest {
 protected:
  std::unique_ptr<SmtpChannel> Channel(int max_sessions, int per_session) {
    SmtpOptions options;
    options.url = absl::StrCat("smtp://127.0.0.1:", port_);
    options.from_address = "Study team <study@fieldwork.example>";
    options.timeout = absl::Seconds(30);
    options.max_sessions = max_sessions;
    options.max_messages_per_session = per_session;
    options.max_idle = absl::Seconds(10);
    return std::make_unique<SmtpChannel>(options, clock_);
  }

  // The connection number of each message received, in order.
  std::vector<int> ConnectionOfEach() const {
    std::vector<int> out;
    for (const nlohmann::json& m : Received()) out.push_back(m["connection"].get<int>());
    return out;
  }

  void RestartSink() {
    sink_->Signal(SIGKILL);
    ASSERT_TRUE(sink_->WaitForExit(absl::Seconds(10)).has_value());
    sink_ = std::make_unique<fieldwork::testing::ChildProcess>(
        std::vector<std::string>{
            "/usr/bin/python3",
            fieldwork::testing::SourcePath("tests/integration/messaging/smtp_sink.py"),
            absl::StrCat(port_), sink_path_, control_path_},
        std::map<std::string, std::string>{}, dir_.path() + "/smtp-restarted.log");
    for (int i = 0; i < 200 && !Accepts(port_); ++i) absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(Accepts(port_)) << sink_->ReadLog();
  }
};

TEST_F(SmtpSessionTest, MessagesShareAConnectionUpToTheMessageLimit) {
  std::unique_ptr<SmtpChannel> channel = Channel(1, 5);
  for (int i = 0; i < 12; ++i) ASSERT_EQ(channel->Deliver(Mail(i)).code, 250) << i;
  EXPECT_EQ(ConnectionOfEach(), (std::vector<int>{1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3}));
}

TEST_F(SmtpSessionTest, AnIdleOrRefusedSessionIsReplacedByANewConnection) {
  std::unique_ptr<SmtpChannel> channel = Channel(1, 100);
  ASSERT_EQ(channel->Deliver(Mail(0)).code, 250);
  clock_.Advance(absl::Seconds(9));
  ASSERT_EQ(channel->Deliver(Mail(1)).code, 250);
  clock_.Advance(absl::Seconds(11));  // past the idle limit
  ASSERT_EQ(channel->Deliver(Mail(2)).code, 250);
  Answer("451 4.3.0 try again later");
  EXPECT_EQ(channel->Deliver(Mail(3)).code, 451);
  Answer("");
  ASSERT_EQ(channel->Deliver(Mail(3)).code, 250);
  ASSERT_EQ(channel->Deliver(Mail(4)).code, 250);
  EXPECT_EQ(ConnectionOfEach(), (std::vector<int>{1, 1, 2, 3, 3}));
}

// The server goes away while sessions sit idle in the pool: the next messages find their
// connections closed and go out on new ones, each exactly once.
TEST_F(SmtpSessionTest, AServerRestartBetweenMessagesLosesAndRepeatsNothing) {
  std::unique_ptr<SmtpChannel> channel = Channel(2, 100);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(channel->Deliver(Mail(i)).code, 250) << i;
  RestartSink();
  for (int i = 4; i < 8; ++i) ASSERT_EQ(channel->Deliver(Mail(i)).code, 250) << i;
  const std::vector<nlohmann::json> received = Received();
  ASSERT_EQ(received.size(), 8u);
  std::set<std::string> ids;
  for (const nlohmann::json& m : received) ids.insert(m["message_id"].get<std::string>());
  EXPECT_EQ(ids.size(), 8u);
  // The restarted server numbers its connections from 1 again: one before, one after.
  EXPECT_EQ(ConnectionOfEach(), (std::vector<int>{1, 1, 1, 1, 1, 1, 1, 1}));
}

// A worker process (2 threads) delivers a campaign over a few reused connections; the server
// drops one of them in the middle of a transaction (after MAIL, at RCPT): that message fails,
// is retried on a new connection, and every message arrives exactly once.
TEST_F(SmtpSessionTest, WorkerRecoversAConnectionDroppedMidSession) {
  const int n = StartCampaignNow("drop-trial", 300, absl::Now());
  ASSERT_EQ(n, 300);
  ASSERT_TRUE(scheduler_->RunOnce().ok());
  BackgroundScheduler scheduler(*queue_);  // moves the retried send back when it is due
  std::unique_ptr<fieldwork::testing::ChildProcess> worker = StartWorkerProcess("w");
  ASSERT_TRUE(WaitFor([&] { return Received().size() >= 50; }, absl::Seconds(60)))
      << worker->ReadLog();
  Answer("drop");
  const auto dropped = [&] {
    std::ifstream in(control_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str().empty();
  };
  ASSERT_TRUE(WaitFor(dropped, absl::Seconds(30)));
  EXPECT_TRUE(WaitFor([&] { return SentCount("drop-trial") >= n; }, absl::Seconds(120)))
      << worker->ReadLog();
  absl::SleepFor(absl::Seconds(1));  // anything sent twice would arrive now
  ExpectEachMessageExactlyOnce("drop-trial", n);

  const std::vector<int> connections = ConnectionOfEach();
  const std::set<int> distinct(connections.begin(), connections.end());
  EXPECT_LE(distinct.size(), 10u) << "300 messages, 100 per session, 2 threads, one drop";
  int failed = 0;
  for (const v1::MessageEvent& e : Events("drop-trial")) {
    if (e.kind() == v1::EVENT_KIND_FAILED) ++failed;
  }
  EXPECT_EQ(failed, 1) << "the message whose connection was dropped";
}

}  // namespace
}  // namespace fieldwork::messaging

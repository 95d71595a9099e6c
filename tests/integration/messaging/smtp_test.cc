// Delivery through a real SMTP server (aiosmtpd, tests/integration/messaging/smtp_sink.py):
// 4xx answers are retried with backoff and then delivered once; 5xx answers dead-letter the
// send with the reason, and RetryDeadLetters delivers it once the server accepts; the shared
// token bucket holds the send rate to the configured limit (measured on the manual clock).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/messaging/convert.h"
#include "services/messaging/domain/schedule.h"
#include "services/messaging/smtp_channel.h"
#include "tests/integration/messaging/messaging_fixture.h"
#include "tests/testing/ports.h"

namespace fieldwork::messaging {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// A scheduler on the real clock in a thread of its own, for tests with worker processes.
class BackgroundScheduler {
 public:
  explicit BackgroundScheduler(SendQueue& queue)
      : scheduler_(queue, RealClock::Get(), nullptr),
        thread_([this] { scheduler_.Run(stop_, absl::Milliseconds(100)); }) {}
  ~BackgroundScheduler() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  Scheduler scheduler_;
  std::thread thread_;
};

class SmtpTest : public MessagingTest {
 protected:
  void SetUp() override {
    MessagingTest::SetUp();
    port_ = fieldwork::testing::PickFreePort();
    sink_path_ = dir_.path() + "/smtp.jsonl";
    control_path_ = dir_.path() + "/smtp.control";
    sink_ = std::make_unique<fieldwork::testing::ChildProcess>(
        std::vector<std::string>{
            "/usr/bin/python3",
            fieldwork::testing::SourcePath("tests/integration/messaging/smtp_sink.py"),
            absl::StrCat(port_), sink_path_, control_path_},
        std::map<std::string, std::string>{}, dir_.path() + "/smtp.log");
    for (int i = 0; i < 200 && !Accepts(port_); ++i) absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(Accepts(port_)) << sink_->ReadLog();
    SmtpOptions options;
    options.url = absl::StrCat("smtp://127.0.0.1:", port_);
    options.from_address = "Study team <study@fieldwork.example>";
    options.timeout = absl::Seconds(30);
    smtp_ = std::make_unique<SmtpChannel>(options);
  }

  void Answer(const std::string& reply) { std::ofstream(control_path_, std::ios::trunc) << reply; }

  std::vector<nlohmann::json> Received() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(sink_path_);
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  // A one-step e-mail campaign to both arms, due now. Returns the number of sends.
  int StartCampaignNow(const std::string& trial, int n,
                       absl::Time now = absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0),
                                                        absl::UTCTimeZone())) {
    CreateTwoArmTrial(trial, n);
    SaveTemplate(trial, "hello");
    clock_.Set(now);
    v1::CreateCampaignRequest create;
    create.set_trial_id(trial);
    v1::CampaignDefinition& c = *create.mutable_campaign();
    c.set_campaign_id("invite");
    c.set_kind(v1::CAMPAIGN_KIND_INTERVENTION);
    c.add_steps()->set_template_id("hello");
    c.mutable_audience()->set_factor("messages");
    c.mutable_audience()->add_arms("treatment");
    c.mutable_audience()->add_arms("control");
    c.set_channel(v1::MESSAGE_CHANNEL_EMAIL);
    for (int d = 1; d <= 7; ++d) c.mutable_window()->add_days(d);
    c.mutable_window()->set_start_hour(0);
    c.mutable_window()->set_end_hour(24);
    c.set_trial_time_zone("UTC");
    c.mutable_window()->set_zone(v1::ZONE_SOURCE_TRIAL);
    *c.mutable_start() = ToTimestamp(clock_.Now());
    EXPECT_TRUE(messenger_->CreateCampaign(create).ok());
    v1::StartCampaignRequest start;
    start.set_trial_id(trial);
    start.set_campaign_id("invite");
    absl::StatusOr<v1::StartCampaignResponse> started = messenger_->StartCampaign(start);
    EXPECT_TRUE(started.ok()) << started.status();
    return static_cast<int>(started->planned());
  }

  // A separate fieldwork-messaging --role=worker process on the real clock, delivering to the
  // sink; lease and reclaim idle time are short so a successor takes over quickly.
  std::unique_ptr<fieldwork::testing::ChildProcess> StartWorkerProcess(const std::string& name) {
    const std::string token_file = dir_.path() + "/service.token";
    const std::string contact_key = dir_.path() + "/contact.key";
    const std::string link_key = dir_.path() + "/link.key";
    std::ofstream(token_file) << kAnalystToken << "\n";
    std::ofstream(contact_key) << kContactKeyHex << "\n";
    std::ofstream(link_key) << kLinkKeyHex << "\n";
    return std::make_unique<fieldwork::testing::ChildProcess>(
        std::vector<std::string>{
            fieldwork::testing::BinaryPath("fieldwork-messaging"), "--role=worker",
            "--redis_url=" + redis_server_->url(), "--insecure_no_auth", "--metrics_port=0",
            "--randomisation_address=" + randomisation_->address(),
            "--service_token_file=" + token_file, "--contact_key_file=" + contact_key,
            "--link_key_file=" + link_key, absl::StrCat("--smtp_url=smtp://127.0.0.1:", port_),
            "--from_address=Study team <study@fieldwork.example>", "--worker_threads=2",
            "--lease=3s", "--reclaim_idle=3s", "--retry_initial_delay=1s", "--worker_name=" + name},
        std::map<std::string, std::string>{}, dir_.path() + "/worker-" + name + ".log");
  }

  int64_t SentCount(const std::string& trial) {
    v1::GetCampaignStatusRequest request;
    request.set_trial_id(trial);
    request.set_campaign_id("invite");
    absl::StatusOr<v1::GetCampaignStatusResponse> status = messenger_->GetCampaignStatus(request);
    return status.ok() ? status->steps(0).sent() : -1;
  }

  // Polls `done` every 100 ms for up to `limit`.
  template <typename F>
  bool WaitFor(F done, absl::Duration limit) {
    for (absl::Time end = absl::Now() + limit; absl::Now() < end;) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return done();
  }

  void ExpectEachMessageExactlyOnce(const std::string& trial, int n) {
    const std::vector<nlohmann::json> received = Received();
    std::map<std::string, int> by_id;
    for (const nlohmann::json& m : received) by_id[m["message_id"].get<std::string>()] += 1;
    EXPECT_EQ(received.size(), static_cast<size_t>(n));
    EXPECT_EQ(by_id.size(), static_cast<size_t>(n));
    for (const auto& [id, count] : by_id) EXPECT_EQ(count, 1) << id;
    EXPECT_EQ(SentCount(trial), n);
  }

  int port_ = 0;
  std::string sink_path_;
  std::string control_path_;
  std::unique_ptr<fieldwork::testing::ChildProcess> sink_;
  std::unique_ptr<SmtpChannel> smtp_;
};

TEST_F(SmtpTest, TemporaryFailuresAreRetriedThenEachMessageDeliveredOnce) {
  const int n = StartCampaignNow("retry-trial", 12);
  ASSERT_EQ(n, 12);
  std::unique_ptr<Worker> worker = NewWorker("w1", smtp_.get());
  Answer("451 4.3.0 try again later");
  EXPECT_EQ(DrainNow(*worker), n);  // every send attempted once and rescheduled
  EXPECT_TRUE(Received().empty());
  clock_.Advance(absl::Seconds(40));  // past the first backoff (30 s minus jitter)
  EXPECT_EQ(DrainNow(*worker), n);    // second attempt, still refused
  Answer("");
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(DrainNow(*worker), n);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(DrainNow(*worker), 0);  // nothing left

  const std::vector<nlohmann::json> received = Received();
  ASSERT_EQ(received.size(), static_cast<size_t>(n));
  std::set<std::string> recipients;
  for (const nlohmann::json& m : received) {
    const std::string to = m["rcpt"][0].get<std::string>();
    recipients.insert(to);
    const std::string participant = to.substr(0, to.find('@'));
    EXPECT_EQ(m["message_id"].get<std::string>(),
              *EmailMessageId(IdempotencyKey("retry-trial", "invite", 0, participant),
                              "fieldwork.example"));
    EXPECT_THAT(m["list_unsubscribe"].get<std::string>(), HasSubstr("/u/"));
    EXPECT_EQ(m["mail_from"].get<std::string>(), "study@fieldwork.example");
  }
  EXPECT_EQ(recipients.size(), static_cast<size_t>(n));
  int failed = 0;
  for (const v1::MessageEvent& e : Events("retry-trial")) {
    if (e.kind() == v1::EVENT_KIND_FAILED) {
      ++failed;
      EXPECT_THAT(e.detail(), HasSubstr("451"));
    }
    if (e.kind() == v1::EVENT_KIND_SENT) {
      EXPECT_EQ(e.attempt(), 3);
    }
  }
  EXPECT_EQ(failed, 2 * n);
}

TEST_F(SmtpTest, PermanentFailureIsDeadLetteredWithTheReasonAndCanBeRetried) {
  const int n = StartCampaignNow("dead-trial", 6);
  std::unique_ptr<Worker> worker = NewWorker("w1", smtp_.get());
  Answer("550 5.1.1 mailbox unavailable");
  EXPECT_EQ(DrainNow(*worker), n);
  EXPECT_TRUE(Received().empty());

  v1::ListDeadLettersRequest list;
  list.set_trial_id("dead-trial");
  absl::StatusOr<v1::ListDeadLettersResponse> dead = messenger_->ListDeadLetters(list);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->dead_letters_size(), n);
  for (const v1::DeadLetter& d : dead->dead_letters()) {
    EXPECT_THAT(d.last_error(), HasSubstr("550"));
    EXPECT_EQ(d.attempts(), 1);
    EXPECT_EQ(d.campaign_id(), "invite");
    EXPECT_EQ(d.channel(), v1::MESSAGE_CHANNEL_EMAIL);
  }
  v1::GetCampaignStatusRequest status_request;
  status_request.set_trial_id("dead-trial");
  status_request.set_campaign_id("invite");
  absl::StatusOr<v1::GetCampaignStatusResponse> status =
      messenger_->GetCampaignStatus(status_request);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->steps(0).dead(), n);
  EXPECT_EQ(status->steps(0).sent(), 0);

  Answer("");
  v1::RetryDeadLettersRequest retry;
  retry.set_trial_id("dead-trial");
  retry.set_all(true);
  absl::StatusOr<v1::RetryDeadLettersResponse> requeued = messenger_->RetryDeadLetters(retry);
  ASSERT_TRUE(requeued.ok()) << requeued.status();
  EXPECT_EQ(requeued->requeued(), n);
  EXPECT_EQ(DrainNow(*worker), n);
  EXPECT_EQ(Received().size(), static_cast<size_t>(n));
  // Retrying again finds nothing to requeue and sends nothing twice.
  absl::StatusOr<v1::RetryDeadLettersResponse> again = messenger_->RetryDeadLetters(retry);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->requeued(), 0);
  EXPECT_EQ(DrainNow(*worker), 0);
  EXPECT_EQ(Received().size(), static_cast<size_t>(n));
}

// The token bucket runs on the injected clock, so the rate is measured in manual-clock time:
// a worker thread delivers while this thread moves the clock in 1 ms ticks.
TEST_F(SmtpTest, SendRateStaysWithinTenPercentOfTheLimit) {
  const int n = StartCampaignNow("rate-trial", 60);
  WorkerOptions options;
  options.email_rate = TokenBucketConfig::PerSecond(20.0, 1);
  options.batch = 1;
  std::unique_ptr<Worker> worker = NewWorker("w1", smtp_.get(), options);
  ASSERT_TRUE(scheduler_->RunOnce().ok());
  std::atomic<bool> stop{false};
  std::thread run([&] { worker->Run(stop); });
  for (int i = 0; i < 2000000 && (i % 100 != 0 || Received().size() < static_cast<size_t>(n));
       ++i) {
    clock_.Advance(absl::Milliseconds(1));
    absl::SleepFor(absl::Milliseconds(1));
  }
  stop = true;
  run.join();
  ASSERT_EQ(Received().size(), static_cast<size_t>(n));
  std::vector<absl::Time> times;
  for (const v1::MessageEvent& e : Events("rate-trial")) {
    if (e.kind() == v1::EVENT_KIND_SENT) times.push_back(FromTimestamp(e.time()));
  }
  ASSERT_EQ(times.size(), static_cast<size_t>(n));
  std::sort(times.begin(), times.end());
  // The first message uses the full bucket; the other n-1 each waited for a token.
  const double seconds = absl::ToDoubleSeconds(times.back() - times.front());
  const double rate = static_cast<double>(n - 1) / seconds;
  std::printf("measured rate %.2f/s against a limit of 20/s\n", rate);
  EXPECT_GT(rate, 18.0);
  EXPECT_LT(rate, 22.0);
}

// Kill -9 of a worker process mid-campaign, then a new worker process: the new one reclaims
// the dead one's stream entries (XAUTOCLAIM) and takes over its expired claims, and every
// message reaches the SMTP server exactly once. The kill comes while the dead worker's
// deliveries are held at RCPT (before DATA), the crash point of README window 4; window 5
// (after the server's 250, before the record) is the one the README bounds rather than closes.
TEST_F(SmtpTest, KilledWorkerProcessAndItsSuccessorDeliverEveryMessageExactlyOnce) {
  const int n = StartCampaignNow("crash-trial", 2000, absl::Now());
  ASSERT_EQ(n, 2000);
  ASSERT_TRUE(scheduler_->RunOnce().ok());
  BackgroundScheduler scheduler(*queue_);  // for any send rescheduled after a failed check
  std::unique_ptr<fieldwork::testing::ChildProcess> first = StartWorkerProcess("first");
  ASSERT_TRUE(WaitFor([&] { return Received().size() >= 400; }, absl::Seconds(90)))
      << first->ReadLog();
  Answer("hold");
  ASSERT_TRUE(
      WaitFor([&] { return std::ifstream(control_path_ + ".held").good(); }, absl::Seconds(30)));
  first->Signal(SIGKILL);
  ASSERT_TRUE(first->WaitForExit(absl::Seconds(10)).has_value());
  const size_t before = Received().size();
  EXPECT_LT(before, static_cast<size_t>(n));
  Answer("");
  std::unique_ptr<fieldwork::testing::ChildProcess> second = StartWorkerProcess("second");
  EXPECT_TRUE(WaitFor([&] { return SentCount("crash-trial") >= n; }, absl::Seconds(120)))
      << second->ReadLog();
  absl::SleepFor(absl::Seconds(1));  // anything still in flight would show up as a duplicate
  ExpectEachMessageExactlyOnce("crash-trial", n);
}

// Redis killed (SIGKILL) and restarted from its AOF (appendfsync always) in the middle of a
// campaign: workers ride out the outage, and nothing is lost or sent twice.
TEST_F(SmtpTest, RedisRestartedMidCampaignLosesAndDuplicatesNothing) {
  const int n = StartCampaignNow("redis-trial", 2000, absl::Now());
  ASSERT_EQ(n, 2000);
  ASSERT_TRUE(scheduler_->RunOnce().ok());
  std::unique_ptr<fieldwork::testing::ChildProcess> worker = StartWorkerProcess("w");
  // Sends whose guard checks fail while Redis is down are rescheduled: a scheduler on the real
  // clock moves them back when due.
  BackgroundScheduler scheduler(*queue_);
  ASSERT_TRUE(WaitFor([&] { return Received().size() >= 400; }, absl::Seconds(90)))
      << worker->ReadLog();
  redis_server_->Restart();
  EXPECT_TRUE(WaitFor([&] { return SentCount("redis-trial") >= n; }, absl::Seconds(120)))
      << worker->ReadLog();
  absl::SleepFor(absl::Seconds(1));
  ExpectEachMessageExactlyOnce("redis-trial", n);
}

}  // namespace
}  // namespace fieldwork::messaging

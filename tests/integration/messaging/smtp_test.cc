// Delivery through a real SMTP server (aiosmtpd, tests/integration/messaging/smtp_sink.py):
// 4xx answers are retried with backoff and then delivered once; 5xx answers dead-letter the
// send with the reason, and RetryDeadLetters delivers it once the server accepts; the shared
// token bucket follows its schedule on the manual clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
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
#include "tests/integration/messaging/smtp_fixture.h"

namespace fieldwork::messaging {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

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

// The token bucket runs on the injected clock, so its schedule is checked on the manual clock
// and never against wall time (a busy machine only makes the test slower): with a limit of
// L per second and a burst of B, once the clock has moved T past the start at most B + L·T
// messages have gone (the safety property), and with enough work waiting exactly that many.
TEST_F(SmtpTest, SendsFollowTheTokenBucketScheduleOnTheManualClock) {
  constexpr int kBurst = 5;
  constexpr double kRate = 20.0;                        // per second: one token per 50 ms
  const absl::Duration kTick = absl::Milliseconds(50);  // exactly one token
  const int n = StartCampaignNow("rate-trial", 40);
  WorkerOptions options;
  options.email_rate = TokenBucketConfig::PerSecond(kRate, kBurst);
  options.batch = 1;
  std::unique_ptr<Worker> worker = NewWorker("w1", smtp_.get(), options);
  ASSERT_TRUE(scheduler_->RunOnce().ok());
  const absl::Time start = clock_.Now();
  std::atomic<bool> stop{false};
  std::thread run([&] { worker->Run(stop); });
  auto sent = [&] { return static_cast<int>(Received().size()); };

  // The bucket starts full: the burst goes at once, and nothing more while the clock stands.
  EXPECT_TRUE(WaitFor([&] { return sent() >= kBurst; }, absl::Seconds(60)));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(sent(), kBurst);
  // Each tick refills one token: one more message, never two.
  for (int tick = 1; kBurst + tick <= n; ++tick) {
    clock_.Advance(kTick);
    const int allowed = kBurst + tick;
    EXPECT_TRUE(WaitFor([&] { return sent() >= allowed; }, absl::Seconds(60)));
    ASSERT_EQ(sent(), allowed) << "after " << absl::FormatDuration(clock_.Now() - start);
  }
  stop = true;
  run.join();
  EXPECT_EQ(sent(), n);

  // The same bound over every window of the recorded send times (manual-clock times).
  std::vector<absl::Time> times;
  for (const v1::MessageEvent& e : Events("rate-trial")) {
    if (e.kind() == v1::EVENT_KIND_SENT) times.push_back(FromTimestamp(e.time()));
  }
  ASSERT_EQ(times.size(), static_cast<size_t>(n));
  std::sort(times.begin(), times.end());
  for (size_t a = 0; a < times.size(); ++a) {
    for (size_t b = a; b < times.size(); ++b) {
      const double window = absl::ToDoubleSeconds(times[b] - times[a]);
      EXPECT_LE(static_cast<double>(b - a + 1), kBurst + kRate * window + 1e-9)
          << "sends " << a << ".." << b << " within " << window << " s";
    }
  }
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

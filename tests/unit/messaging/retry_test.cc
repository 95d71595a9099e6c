#include "services/messaging/domain/retry.h"

#include <cmath>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldwork::messaging {
namespace {

using ::testing::HasSubstr;
using Kind = DeliveryOutcome::Kind;

DeliveryOutcome Smtp(int code, std::string detail = "") { return {Kind::kSmtpReply, code, detail}; }
DeliveryOutcome Http(int code) { return {Kind::kHttpStatus, code, ""}; }

TEST(ClassifyTest, Smtp) {
  EXPECT_EQ(ClassifyOutcome(Smtp(250)), OutcomeClass::kDelivered);
  for (int code : {421, 450, 451, 452, 454}) {
    EXPECT_EQ(ClassifyOutcome(Smtp(code)), OutcomeClass::kTransient) << code;
  }
  for (int code : {500, 501, 550, 552, 553, 554}) {
    EXPECT_EQ(ClassifyOutcome(Smtp(code)), OutcomeClass::kPermanent) << code;
  }
}

TEST(ClassifyTest, Http) {
  for (int code : {200, 201, 202, 204}) {
    EXPECT_EQ(ClassifyOutcome(Http(code)), OutcomeClass::kDelivered) << code;
  }
  for (int code : {429, 408, 500, 502, 503, 504}) {
    EXPECT_EQ(ClassifyOutcome(Http(code)), OutcomeClass::kTransient) << code;
  }
  for (int code : {400, 401, 403, 404, 410, 422, 301, 302}) {
    EXPECT_EQ(ClassifyOutcome(Http(code)), OutcomeClass::kPermanent) << code;
  }
}

TEST(ClassifyTest, TimeoutsNetworkAndAddresses) {
  EXPECT_EQ(ClassifyOutcome({Kind::kTimeout, 0, ""}), OutcomeClass::kTransient);
  EXPECT_EQ(ClassifyOutcome({Kind::kNetworkError, 0, ""}), OutcomeClass::kTransient);
  EXPECT_EQ(ClassifyOutcome({Kind::kInvalidAddress, 0, ""}), OutcomeClass::kPermanent);
}

TEST(ClassifyTest, Describe) {
  EXPECT_EQ(DescribeOutcome(Smtp(451, "try later")), "SMTP 451: try later");
  EXPECT_EQ(DescribeOutcome(Http(503)), "HTTP 503");
  EXPECT_EQ(DescribeOutcome({Kind::kTimeout, 0, "after 30s"}), "timeout: after 30s");
}

RetryPolicy Policy() {
  RetryPolicy p;
  p.initial_delay = absl::Seconds(30);
  p.multiplier = 2.0;
  p.max_delay = absl::Minutes(30);
  p.jitter = 0.25;
  p.max_attempts = 8;
  return p;
}

TEST(BackoffTest, StaysWithinBoundsAndIsCapped) {
  RetryPolicy p = Policy();
  for (int k = 0; k < 200; ++k) {
    std::string key = absl::StrCat("trial:campaign:0:p", k);
    for (int attempt = 1; attempt <= 12; ++attempt) {
      double base_ms = std::min(30000.0 * std::pow(2.0, attempt - 1), 30.0 * 60 * 1000);
      double ms = absl::ToDoubleMilliseconds(BackoffDelay(p, key, attempt));
      EXPECT_LE(ms, base_ms) << key << " attempt " << attempt;
      EXPECT_GE(ms, std::floor(base_ms * 0.75)) << key << " attempt " << attempt;
      EXPECT_EQ(ms, std::floor(ms));  // whole milliseconds
    }
  }
}

TEST(BackoffTest, DeterministicPerKeyAndAttempt) {
  RetryPolicy p = Policy();
  EXPECT_EQ(BackoffDelay(p, "k", 3), BackoffDelay(p, "k", 3));
  // Pinned (and cross-checked with Python's hashlib) so that every machine and standard
  // library computes the same schedule.
  EXPECT_EQ(BackoffDelay(p, "moding:weekly-emails:0:p0", 1), absl::Milliseconds(27189));
  EXPECT_EQ(BackoffDelay(p, "moding:weekly-emails:0:p0", 4), absl::Milliseconds(187566));
}

TEST(BackoffTest, JitterSpreadsDifferentSendsApart) {
  RetryPolicy p = Policy();
  std::set<absl::Duration> delays;
  for (int k = 0; k < 100; ++k) delays.insert(BackoffDelay(p, absl::StrCat("p", k), 2));
  EXPECT_GT(delays.size(), 90u);
  // Different attempts of one send draw differently too.
  EXPECT_NE(BackoffDelay(p, "k", 2) / 2, BackoffDelay(p, "k", 1));
}

TEST(BackoffTest, NoJitterGivesTheExactExponentialSchedule) {
  RetryPolicy p = Policy();
  p.jitter = 0;
  EXPECT_EQ(BackoffDelay(p, "k", 1), absl::Seconds(30));
  EXPECT_EQ(BackoffDelay(p, "k", 2), absl::Seconds(60));
  EXPECT_EQ(BackoffDelay(p, "k", 5), absl::Seconds(480));
  EXPECT_EQ(BackoffDelay(p, "k", 7), absl::Minutes(30));  // 32 min capped at 30
  EXPECT_EQ(BackoffDelay(p, "k", 60), absl::Minutes(30));
}

TEST(DecideRetryTest, TransientFailuresAreRetriedThenDeadLettered) {
  RetryPolicy p = Policy();
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  for (int attempt = 1; attempt < p.max_attempts; ++attempt) {
    RetryDecision d = DecideRetry(p, "k", attempt, Smtp(451, "greylisted"), now);
    ASSERT_EQ(d.action, RetryDecision::Action::kRetry) << attempt;
    EXPECT_EQ(d.retry_at, now + BackoffDelay(p, "k", attempt));
  }
  RetryDecision last = DecideRetry(p, "k", p.max_attempts, Smtp(451, "greylisted"), now);
  EXPECT_EQ(last.action, RetryDecision::Action::kDeadLetter);
  EXPECT_EQ(last.reason, "gave up after 8 attempts; last error: SMTP 451: greylisted");
}

TEST(DecideRetryTest, PermanentFailuresAreDeadLetteredAtOnce) {
  RetryDecision d = DecideRetry(Policy(), "k", 1, Smtp(550, "no such user"), absl::UnixEpoch());
  EXPECT_EQ(d.action, RetryDecision::Action::kDeadLetter);
  EXPECT_EQ(d.reason, "permanent failure: SMTP 550: no such user");
  EXPECT_EQ(DecideRetry(Policy(), "k", 1, {Kind::kInvalidAddress, 0, ""}, absl::UnixEpoch()).action,
            RetryDecision::Action::kDeadLetter);
  EXPECT_EQ(DecideRetry(Policy(), "k", 1, Http(400), absl::UnixEpoch()).action,
            RetryDecision::Action::kDeadLetter);
}

TEST(DecideRetryTest, DeliveredIsDone) {
  EXPECT_EQ(DecideRetry(Policy(), "k", 3, Smtp(250), absl::UnixEpoch()).action,
            RetryDecision::Action::kDone);
  EXPECT_EQ(DecideRetry(Policy(), "k", 3, Http(202), absl::UnixEpoch()).action,
            RetryDecision::Action::kDone);
}

TEST(RetryPolicyTest, Validation) {
  EXPECT_TRUE(ValidateRetryPolicy(Policy()).ok());
  struct Case {
    void (*change)(RetryPolicy&);
    const char* field;
  };
  const Case cases[] = {
      {[](RetryPolicy& p) { p.initial_delay = absl::ZeroDuration(); }, "initial_delay:"},
      {[](RetryPolicy& p) { p.multiplier = 0.5; }, "multiplier:"},
      {[](RetryPolicy& p) { p.multiplier = std::nan(""); }, "multiplier:"},
      {[](RetryPolicy& p) { p.multiplier = HUGE_VAL; }, "multiplier:"},
      {[](RetryPolicy& p) { p.max_delay = absl::Seconds(1); }, "max_delay:"},
      {[](RetryPolicy& p) { p.max_delay = absl::InfiniteDuration(); }, "max_delay:"},
      {[](RetryPolicy& p) { p.jitter = -0.1; }, "jitter:"},
      {[](RetryPolicy& p) { p.jitter = 1.0; }, "jitter:"},
      {[](RetryPolicy& p) { p.max_attempts = 0; }, "max_attempts:"},
      {[](RetryPolicy& p) { p.max_attempts = 101; }, "max_attempts:"},
  };
  for (const Case& c : cases) {
    RetryPolicy p = Policy();
    c.change(p);
    absl::Status status = ValidateRetryPolicy(p);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.field));
  }
}

}  // namespace
}  // namespace fieldwork::messaging

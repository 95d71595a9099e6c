#include "services/http/connection_limiter.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace fieldwork::http {
namespace {

using Verdict = ConnectionLimiter::Verdict;

TEST(ConnectionLimiterTest, CapsEachAddressAndLetsOthersIn) {
  ConnectionLimiter limiter(/*max_total=*/10, /*max_per_address=*/2);
  Verdict verdict = Verdict::kAdmitted;
  ConnectionLimiter::Ticket a1 = limiter.Admit("10.0.0.1", &verdict);
  ConnectionLimiter::Ticket a2 = limiter.Admit("10.0.0.1", &verdict);
  EXPECT_TRUE(a1.admitted());
  EXPECT_TRUE(a2.admitted());
  ConnectionLimiter::Ticket a3 = limiter.Admit("10.0.0.1", &verdict);
  EXPECT_FALSE(a3.admitted());
  EXPECT_EQ(verdict, Verdict::kTooManyFromAddress);
  ConnectionLimiter::Ticket b1 = limiter.Admit("10.0.0.2", &verdict);
  EXPECT_TRUE(b1.admitted());
  EXPECT_EQ(limiter.total(), 3);
  EXPECT_EQ(limiter.from("10.0.0.1"), 2);

  a1.Release();
  EXPECT_EQ(limiter.from("10.0.0.1"), 1);
  EXPECT_TRUE(limiter.Admit("10.0.0.1", &verdict).admitted());  // the freed place, then back
  EXPECT_EQ(limiter.total(), 2);
}

TEST(ConnectionLimiterTest, CapsTheTotal) {
  ConnectionLimiter limiter(/*max_total=*/3, /*max_per_address=*/0);
  Verdict verdict = Verdict::kAdmitted;
  std::vector<ConnectionLimiter::Ticket> held;
  for (int i = 0; i < 3; ++i) held.push_back(limiter.Admit("10.0.0.1", &verdict));
  for (const auto& t : held) EXPECT_TRUE(t.admitted());  // no per-address cap
  EXPECT_FALSE(limiter.Admit("10.0.0.9", &verdict).admitted());
  EXPECT_EQ(verdict, Verdict::kTooManyInAll);
  held.pop_back();
  EXPECT_TRUE(limiter.Admit("10.0.0.9", &verdict).admitted());
}

TEST(ConnectionLimiterTest, TicketsReleaseOnceAndForgetIdleAddresses) {
  ConnectionLimiter limiter(5, 5);
  Verdict verdict = Verdict::kAdmitted;
  {
    ConnectionLimiter::Ticket t = limiter.Admit("::1", &verdict);
    ConnectionLimiter::Ticket moved = std::move(t);
    EXPECT_FALSE(t.admitted());  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_TRUE(moved.admitted());
    moved.Release();
    moved.Release();
    EXPECT_EQ(limiter.total(), 0);
  }
  EXPECT_EQ(limiter.total(), 0);
  EXPECT_EQ(limiter.from("::1"), 0);
}

}  // namespace
}  // namespace fieldwork::http

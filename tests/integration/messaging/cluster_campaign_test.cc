// A campaign delivered on a Redis Cluster (3 masters, 3 replicas) while its trial's slot is
// moved to another master (as `redis-cli --cluster reshard` moves a slot) and then that master
// is killed with SIGKILL so its replica takes over: every message reaches the SMTP server
// exactly once, counted at the server, and the campaign's "sent" count agrees. Always a cluster
// (so not registered for the cluster runs again).
#include <gtest/gtest.h>

#include <cstdlib>

#include "services/common/redis_slots.h"
#include "tests/integration/messaging/smtp_fixture.h"
#include "tests/testing/redis_cluster.h"

namespace fieldwork::messaging {
namespace {

class ClusterCampaignTest : public SmtpTest {
 protected:
  void SetUp() override {
    ::setenv("FIELDWORK_TEST_REDIS", "cluster", 1);  // the fixture's Redis is then a cluster
    SmtpTest::SetUp();
  }
};

TEST_F(ClusterCampaignTest, ReshardingAndAMasterFailoverMidCampaignLoseAndRepeatNothing) {
  fieldwork::testing::RedisCluster* cluster = redis_server_->cluster();
  ASSERT_NE(cluster, nullptr);
  const std::string trial = "resharded";
  const uint16_t slot = RedisKeySlot(trial);
  const int n = StartCampaignNow(trial, 900, absl::Now());
  ASSERT_EQ(n, 900);
  BackgroundScheduler scheduler(*queue_);
  // The default lease and reclaim idle time, as a deployment runs; batches of 50, so that the
  // worker claims and records batches across the move and the failover, as it would in a
  // campaign many batches long (one default batch of 1,000 would hold all 900 sends).
  std::unique_ptr<fieldwork::testing::ChildProcess> worker =
      StartWorkerProcess("worker", {"--worker_batch=50"}, /*short_lease=*/false);

  ASSERT_TRUE(WaitFor([&] { return Received().size() >= 150; }, absl::Seconds(90)))
      << worker->ReadLog();
  const int before_move = cluster->MasterOf(slot).port();
  const int moved_to = cluster->MigrateSlot(slot).port();
  EXPECT_NE(moved_to, before_move);
  const size_t at_move = Received().size();
  EXPECT_LT(at_move, static_cast<size_t>(n)) << "the move came after the campaign";

  ASSERT_TRUE(WaitFor([&] { return Received().size() >= at_move + 150; }, absl::Seconds(90)))
      << worker->ReadLog();
  const int failed_over_to = cluster->FailOver(slot).port();
  EXPECT_NE(failed_over_to, moved_to);
  const size_t at_failover = Received().size();
  EXPECT_LT(at_failover, static_cast<size_t>(n)) << "the failover came after the campaign";

  EXPECT_TRUE(WaitFor([&] { return SentCount(trial) >= n; }, absl::Seconds(120)))
      << worker->ReadLog();
  absl::SleepFor(absl::Seconds(2));  // anything arriving now would be a repeat
  std::printf("slot %u moved at %zu of %d messages, failed over at %zu\n", slot, at_move, n,
              at_failover);
  ExpectEachMessageExactlyOnce(trial, n);
}

}  // namespace
}  // namespace fieldwork::messaging

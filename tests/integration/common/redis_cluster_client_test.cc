// The Redis client against a real Redis Cluster (3 masters, 3 replicas, on loopback): calls
// reach the master of their keys' slot, multi-slot pipelines, transactions and scripts are
// refused before anything is sent, and the client follows a slot migrated under it (ASK while
// it moves, MOVED after) and a master killed with SIGKILL (its replica takes over) with nothing
// acknowledged lost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/redis_client.h"
#include "services/common/redis_durability.h"
#include "services/common/redis_slots.h"
#include "tests/testing/redis_cluster.h"

namespace fieldwork {
namespace {

using ::testing::HasSubstr;
using testing::RedisCluster;
using testing::RedisServer;

std::string Key(absl::string_view trial, absl::string_view name) {
  return absl::StrCat("fw:{", trial, "}:", name);
}

std::string NodeId(const RedisServer& node) {
  return std::string(node.NewClient()->Command({"CLUSTER", "MYID"})->str());
}

class RedisClusterClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<RedisCluster>();
    ASSERT_FALSE(HasFatalFailure());
    client_ = cluster_->NewClient();
    ASSERT_NE(client_, nullptr);
  }
  std::unique_ptr<RedisCluster> cluster_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(RedisClusterClientTest, EveryKindOfCallReachesItsSlotsMaster) {
  const LuaScript script("redis.call('HSET', KEYS[1], 'n', ARGV[1]); "
                         "return redis.call('HGET', KEYS[1], 'n')");
  std::set<int> masters_used;
  for (int t = 0; t < 30; ++t) {
    const std::string trial = absl::StrCat("trial", t);
    ASSERT_TRUE(client_->Command({"SET", Key(trial, "k"), trial}).ok());
    absl::StatusOr<std::vector<RedisReply>> done =
        client_->Transaction({{"HSET", Key(trial, "h"), "f", "v"}, {"SADD", Key(trial, "s"), "m"}});
    ASSERT_TRUE(done.ok()) << done.status();
    absl::StatusOr<RedisReply> ran = client_->Eval(script, {Key(trial, "e")}, {trial});
    ASSERT_TRUE(ran.ok()) << ran.status();
    EXPECT_EQ(ran->str(), trial);
    absl::StatusOr<std::vector<RedisReply>> read = client_->Pipeline(
        {{"GET", Key(trial, "k")}, {"HGET", Key(trial, "h"), "f"}, {"SISMEMBER", Key(trial, "s"), "m"}});
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ((*read)[0].str(), trial);
    EXPECT_EQ((*read)[1].str(), "v");
    EXPECT_EQ((*read)[2].integer(), 1);
    masters_used.insert(cluster_->MasterOf(RedisKeySlot(trial)).port());
  }
  EXPECT_EQ(masters_used.size(), 3u) << "30 trials should spread over the 3 masters";
  // Each master holds exactly its own trials' keys (4 per trial).
  for (int port : masters_used) {
    for (const auto& node : cluster_->nodes()) {
      if (node->port() != port) continue;
      int expected = 0;
      for (int t = 0; t < 30; ++t) {
        if (cluster_->MasterOf(RedisKeySlot(absl::StrCat("trial", t))).port() == port) {
          expected += 4;
        }
      }
      EXPECT_EQ(node->NewClient()->Command({"DBSIZE"})->integer(), expected) << port;
    }
  }
  EXPECT_TRUE(client_->Ping().ok());
}

TEST_F(RedisClusterClientTest, CallsSpanningTwoSlotsAreRefusedBeforeAnythingIsSent) {
  const std::vector<std::vector<std::string>> two_trials = {{"SET", Key("a", "x"), "1"},
                                                            {"SET", Key("b", "x"), "1"}};
  for (const absl::Status& refused :
       {client_->Transaction(two_trials).status(), client_->Pipeline(two_trials).status(),
        client_->Eval(LuaScript("return 1"), {Key("a", "x"), Key("b", "x")}, {}).status()}) {
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
    EXPECT_TRUE(absl::StartsWith(refused.message(), "CROSSSLOT")) << refused;
  }
  EXPECT_TRUE(client_->Command({"GET", Key("a", "x")})->is_nil()) << "nothing was written";
}

TEST_F(RedisClusterClientTest, FollowsASlotMigratedUnderIt) {
  const std::string trial = "moving";
  const uint16_t slot = RedisKeySlot(trial);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client_->Command({"SET", Key(trial, absl::StrCat("k", i)), absl::StrCat(i)}).ok());
  }
  RedisServer& source = cluster_->MasterOf(slot);
  RedisServer* target = nullptr;
  for (int other_slot : {0, 8000, 16000}) {
    RedisServer& candidate = cluster_->MasterOf(static_cast<uint16_t>(other_slot));
    if (candidate.port() != source.port()) target = &candidate;
  }
  ASSERT_NE(target, nullptr);
  std::unique_ptr<RedisClient> on_source = source.NewClient();
  std::unique_ptr<RedisClient> on_target = target->NewClient();
  const std::string slot_text = absl::StrCat(slot);
  ASSERT_TRUE(on_target->Command({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", NodeId(source)}).ok());
  ASSERT_TRUE(on_source->Command({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", NodeId(*target)}).ok());
  // Half the keys move: the source answers ASK for them, the client follows.
  std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", absl::StrCat(target->port()), "",
                                      "0", "5000", "KEYS"};
  for (int i = 0; i < 10; ++i) migrate.push_back(Key(trial, absl::StrCat("k", i)));
  absl::StatusOr<RedisReply> migrated = on_source->Command(absl::MakeConstSpan(migrate));
  ASSERT_TRUE(migrated.ok()) << migrated.status();

  EXPECT_EQ(client_->Command({"GET", Key(trial, "k3")})->str(), "3");    // ASK
  EXPECT_EQ(client_->Command({"GET", Key(trial, "k13")})->str(), "13");  // still on the source
  absl::StatusOr<std::vector<RedisReply>> mixed =
      client_->Pipeline({{"GET", Key(trial, "k4")}, {"GET", Key(trial, "k14")},
                         {"SET", Key(trial, "new"), "n"}});
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ((*mixed)[0].str(), "4");
  EXPECT_EQ((*mixed)[1].str(), "14");
  EXPECT_EQ(on_target->Command({"ASKING"})->str(), "OK");
  EXPECT_EQ(on_target->Command({"GET", Key(trial, "new")})->str(), "n")
      << "a new key during the migration goes to the importing node";

  // The rest moves and the slot is handed over: the source now answers MOVED.
  migrate.resize(7);
  for (int i = 10; i < 20; ++i) migrate.push_back(Key(trial, absl::StrCat("k", i)));
  ASSERT_TRUE(on_source->Command(absl::MakeConstSpan(migrate)).ok());
  for (const auto& node : cluster_->nodes()) {
    (void)node->NewClient()->Command({"CLUSTER", "SETSLOT", slot_text, "NODE", NodeId(*target)});
  }
  EXPECT_EQ(client_->Command({"GET", Key(trial, "k19")})->str(), "19");  // MOVED
  absl::StatusOr<std::vector<RedisReply>> moved = client_->Transaction(
      {{"INCR", Key(trial, "counter")}, {"GET", Key(trial, "k0")}});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ((*moved)[1].str(), "0");
  EXPECT_EQ(on_target->Command({"GET", Key(trial, "counter")})->str(), "1");
}

TEST_F(RedisClusterClientTest, AMasterKilledLosesNothingItAcknowledged) {
  const std::string trial = "failover";
  const uint16_t slot = RedisKeySlot(trial);
  std::vector<std::string> acknowledged;
  auto push = [&](int i) {
    const std::string value = absl::StrCat(i);
    absl::StatusOr<RedisReply> pushed = client_->Command({"RPUSH", Key(trial, "log"), value});
    if (pushed.ok()) acknowledged.push_back(value);
    return pushed.status();
  };
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(push(i).ok());
  RedisServer& master = cluster_->MasterOf(slot);
  const int old_master = master.port();
  master.Kill();
  // A write while the replica takes over: acknowledged only once a replica has it (WAIT 1),
  // which the promoted replica cannot confirm until the old master is back as its replica.
  // Either way, what is acknowledged must survive.
  (void)push(200);
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (cluster_->MasterOf(slot).port() == old_master && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_NE(cluster_->MasterOf(slot).port(), old_master) << "no replica took over";
  master.Start();  // rejoins as the new master's replica (its nodes.conf is kept)
  cluster_->AwaitHealthy();
  for (int i = 201; i < 260; ++i) ASSERT_TRUE(push(i).ok()) << "write " << i;

  absl::StatusOr<RedisReply> log = client_->Command({"LRANGE", Key(trial, "log"), "0", "-1"});
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<std::string> stored;
  for (size_t i = 0; i < log->size(); ++i) stored.emplace_back((*log)[i].str());
  EXPECT_EQ(stored, acknowledged);
}

TEST_F(RedisClusterClientTest, AScriptPipelineRunsOnEveryMasterNotOnlyWhereItWasLoaded) {
  // The script is first loaded (SCRIPT LOAD) on slot 0's master; a pipeline for a trial on
  // another master once met NOSCRIPT there for every run, so messaging's "sent" records were
  // not written before the worker moved on (found by the messaging suite's cluster run).
  const LuaScript script("return redis.call('INCR', KEYS[1])");
  std::set<int> masters_used;
  for (int t = 0; t < 12; ++t) {
    const std::string trial = absl::StrCat("trial", t);
    masters_used.insert(cluster_->MasterOf(RedisKeySlot(trial)).port());
    RedisClient::ScriptPipeline pipeline = client_->OpenScriptPipeline(script);
    for (int run = 0; run < 5; ++run) {
      ASSERT_TRUE(pipeline.Send({Key(trial, "runs")}, {}).ok()) << trial;
    }
    for (const absl::Status& run : pipeline.Finish()) EXPECT_TRUE(run.ok()) << trial << ": " << run;
    EXPECT_EQ(client_->Command({"GET", Key(trial, "runs")})->str(), "5") << trial;
  }
  EXPECT_EQ(masters_used.size(), 3u) << "12 trials should spread over the 3 masters";
}

TEST_F(RedisClusterClientTest, TheDurabilityCheckAsksEveryMaster) {
  absl::StatusOr<std::vector<RedisClient::ServerReply>> every =
      client_->CommandOnEveryMaster({"CONFIG", "GET", "appendfsync"});
  ASSERT_TRUE(every.ok()) << every.status();
  EXPECT_EQ(every->size(), 3u) << "one reply per master";
  absl::StatusOr<RedisDurability> checked = CheckRedisDurability(*client_);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_TRUE(checked->durable) << checked->reason;

  // One master that is not slot 0's (which the check once asked alone) fsyncs every second:
  // its trials' acknowledged writes could be lost, so the cluster is not durable.
  RedisServer& lax = cluster_->MasterOf(16000);
  ASSERT_NE(lax.port(), cluster_->MasterOf(0).port());
  ASSERT_TRUE(lax.NewClient()->Command({"CONFIG", "SET", "appendfsync", "everysec"}).ok());
  checked = CheckRedisDurability(*client_);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_FALSE(checked->durable);
  EXPECT_THAT(checked->reason, HasSubstr("appendfsync is everysec, not always"));
  EXPECT_THAT(checked->reason, HasSubstr(absl::StrCat("127.0.0.1:", lax.port())));

  EXPECT_EQ(client_->CommandOnEveryMaster({"GET", Key("a", "x")}).status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a keyed command belongs to one slot";
}

TEST_F(RedisClusterClientTest, TheHarnessFlushEmptiesEveryMaster) {
  for (int t = 0; t < 30; ++t) {
    ASSERT_TRUE(client_->Command({"SET", Key(absl::StrCat("trial", t), "k"), "v"}).ok());
  }
  // What the `cluster` runs' RedisTest does before every test (FlushAll on every master).
  absl::StatusOr<std::vector<RedisClient::ServerReply>> flushed =
      client_->CommandOnEveryMaster({"FLUSHALL"});
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  // The masters (the replicas follow asynchronously): one per third of the slots.
  for (int slot : {0, 8000, 16000}) {
    RedisServer& master = cluster_->MasterOf(static_cast<uint16_t>(slot));
    absl::StatusOr<RedisReply> keys = master.NewClient()->Command({"DBSIZE"});
    ASSERT_TRUE(keys.ok()) << keys.status();
    EXPECT_EQ(keys->integer(), 0) << "master " << master.port();
  }
}

}  // namespace
}  // namespace fieldwork

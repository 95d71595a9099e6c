#include "tests/testing/redis_cluster.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"

namespace fieldwork::testing {
namespace {

constexpr int kNodes = 6;  // 3 masters, each with a replica
// Far above what the cluster needs on a healthy machine: bounds the wait, times nothing.
constexpr absl::Duration kPatience = absl::Seconds(60);

std::unique_ptr<RedisClient> NodeClient(const RedisServer& node) { return node.NewClient(); }

}  // namespace

RedisCluster::RedisCluster() { Create(); }

void RedisCluster::Create() {
  for (int i = 0; i < kNodes; ++i) {
    // A short node timeout so that a killed master's replica takes over within seconds.
    nodes_.push_back(std::make_unique<RedisServer>(
        RedisServerOptions{.durable = true, .single_node = true},
        // The cluster bus on a free port of its own: the default, port + 10000, may be taken
        // or beyond 65535.
        std::vector<std::string>{"--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
                                 "--cluster-port", std::to_string(PickFreePort()),
                                 // A replica's first sync at once, not after the default 5 s
                                 // wait for more replicas: each cluster run starts a cluster.
                                 "--repl-diskless-sync-delay", "0"}));
  }
  std::vector<std::string> argv = {"redis-cli", "--cluster", "create"};
  for (const auto& node : nodes_) argv.push_back(absl::StrCat("127.0.0.1:", node->port()));
  for (const char* arg : {"--cluster-replicas", "1", "--cluster-yes"}) argv.push_back(arg);
  ChildProcess create(argv, {}, absl::StrCat(nodes_.front()->dir(), "/cluster-create.log"));
  std::optional<int> exit_code = create.WaitForExit(kPatience);
  ASSERT_EQ(exit_code, 0) << create.ReadLog();
  AwaitHealthy();
}

void RedisCluster::Kill() {
  for (const auto& node : nodes_) node->Kill();
}

void RedisCluster::Start() {
  for (const auto& node : nodes_) node->Start();
  AwaitHealthy();
}

void RedisCluster::AwaitHealthy() {
  const absl::Time give_up = absl::Now() + kPatience;
  for (const auto& node : nodes_) {
    std::unique_ptr<RedisClient> client = NodeClient(*node);
    for (;;) {
      absl::StatusOr<RedisReply> info = client->Command({"CLUSTER", "INFO"});
      if (!info.ok() && absl::Now() > give_up) break;  // a killed node: skip it
      // Healthy: every slot served, and a master's replica in sync (WAIT counts on it).
      absl::StatusOr<RedisReply> replication = client->Command({"INFO", "replication"});
      const bool in_sync =
          replication.ok() && (!absl::StrContains(replication->str(), "role:master") ||
                               absl::StrContains(replication->str(), "state=online"));
      if (info.ok() && absl::StrContains(info->str(), "cluster_state:ok") &&
          absl::StrContains(info->str(), "cluster_slots_ok:16384") && in_sync) {
        break;
      }
      ASSERT_LT(absl::Now(), give_up) << "cluster not healthy: "
                                      << (info.ok() ? std::string(info->str())
                                                    : info.status().ToString());
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
}

std::string RedisCluster::url() const {
  std::vector<std::string> addresses;
  for (const auto& node : nodes_) addresses.push_back(absl::StrCat("127.0.0.1:", node->port()));
  return absl::StrCat("redis-cluster://", absl::StrJoin(addresses, ","));
}

std::unique_ptr<RedisClient> RedisCluster::NewClient() const {
  absl::StatusOr<std::unique_ptr<RedisClient>> client =
      RedisClient::Create({.url = url(), .command_timeout = absl::Seconds(10), .pool_size = 4});
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

namespace {

std::string NodeIdOf(const RedisServer& node) {
  absl::StatusOr<RedisReply> id = NodeClient(node)->Command({"CLUSTER", "MYID"});
  EXPECT_TRUE(id.ok()) << id.status();
  return id.ok() ? std::string(id->str()) : "";
}

}  // namespace

RedisServer& RedisCluster::MigrateSlot(uint16_t slot) {
  RedisServer& source = MasterOf(slot);
  RedisServer* target = nullptr;
  for (uint16_t other : {uint16_t{0}, uint16_t{8000}, uint16_t{16000}}) {
    RedisServer& candidate = MasterOf(other);
    if (candidate.port() != source.port()) target = &candidate;
  }
  if (target == nullptr) {
    ADD_FAILURE() << "no other master to move slot " << slot << " to";
    return source;
  }
  const std::string slot_text = absl::StrCat(slot);
  std::unique_ptr<RedisClient> on_source = NodeClient(source);
  EXPECT_TRUE(NodeClient(*target)
                  ->Command({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", NodeIdOf(source)})
                  .ok());
  EXPECT_TRUE(
      on_source->Command({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", NodeIdOf(*target)}).ok());
  for (;;) {
    absl::StatusOr<RedisReply> keys =
        on_source->Command({"CLUSTER", "GETKEYSINSLOT", slot_text, "100"});
    if (!keys.ok() || keys->size() == 0) break;
    std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", absl::StrCat(target->port()),
                                        "",        "0",         "10000",
                                        "KEYS"};
    for (size_t i = 0; i < keys->size(); ++i) migrate.emplace_back((*keys)[i].str());
    absl::StatusOr<RedisReply> moved = on_source->Command(absl::MakeConstSpan(migrate));
    if (!moved.ok()) {
      ADD_FAILURE() << "MIGRATE: " << moved.status();
      break;
    }
  }
  const std::string target_id = NodeIdOf(*target);
  for (const auto& node : nodes_) {
    (void)NodeClient(*node)->Command({"CLUSTER", "SETSLOT", slot_text, "NODE", target_id});
  }
  return *target;
}

RedisServer& RedisCluster::FailOver(uint16_t slot) {
  RedisServer& master = MasterOf(slot);
  const int old_port = master.port();
  master.Kill();
  const absl::Time give_up = absl::Now() + kPatience;
  while (MasterOf(slot).port() == old_port && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_NE(MasterOf(slot).port(), old_port) << "no replica took over slot " << slot;
  master.Start();  // rejoins as the new master's replica (its nodes.conf is kept)
  AwaitHealthy();
  return MasterOf(slot);
}

RedisServer& RedisCluster::MasterOf(uint16_t slot) {
  for (const auto& node : nodes_) {
    absl::StatusOr<RedisReply> slots = NodeClient(*node)->Command({"CLUSTER", "SLOTS"});
    if (!slots.ok()) continue;
    for (size_t i = 0; i < slots->size(); ++i) {
      const RedisReply range = (*slots)[i];
      if (range[0].integer() <= slot && slot <= range[1].integer()) {
        const long long port = range[2][1].integer();
        for (const auto& candidate : nodes_) {
          if (candidate->port() == port) return *candidate;
        }
      }
    }
  }
  ADD_FAILURE() << "no node serves slot " << slot;
  return *nodes_.front();
}

}  // namespace fieldwork::testing

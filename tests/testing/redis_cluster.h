// A real Redis Cluster on loopback for tests: 3 masters and 3 replicas (redis-server
// --cluster-enabled yes each, joined by `redis-cli --cluster create --cluster-replicas 1`),
// durable like the default stack, on free ports; stopped with the object.
#ifndef FIELDWORK_TESTS_TESTING_REDIS_CLUSTER_H_
#define FIELDWORK_TESTS_TESTING_REDIS_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "services/common/redis_client.h"
#include "tests/testing/redis_server.h"

namespace fieldwork::testing {

class RedisCluster {
 public:
  // Starts the nodes, creates the cluster and waits until it is healthy (AwaitHealthy). Fails the current test (ASSERT-style: check HasFatalFailure) if not.
  RedisCluster();

  // redis-cluster://127.0.0.1:<port>,... over every node.
  std::string url() const;
  std::unique_ptr<RedisClient> NewClient() const;
  const std::vector<std::unique_ptr<RedisServer>>& nodes() const { return nodes_; }
  // The node serving `slot` as master now, asked of the cluster (not of our client's map).
  RedisServer& MasterOf(uint16_t slot);
  // Moves `slot` and every key in it from its master to another master, as
  // `redis-cli --cluster reshard` moves each slot (IMPORTING/MIGRATING, MIGRATE in batches, then
  // SETSLOT NODE on every master), while clients go on using it. Returns the new master.
  RedisServer& MigrateSlot(uint16_t slot);
  // SIGKILL to `slot`'s master; waits until its replica has taken over, starts the old master
  // again (it rejoins as the new master's replica) and waits until the cluster is healthy.
  // Returns the new master.
  RedisServer& FailOver(uint16_t slot);
  // SIGKILL to every node at once: the whole store crashes, nothing flushed beyond what
  // appendfsync always already wrote.
  void Kill();
  // Starts every node again on its port and directory (its AOF and nodes.conf) and waits until
  // the cluster is healthy.
  void Start();
  // Waits (bounded) until every live node reports cluster_state:ok with all slots served,
  // and every master's replica is in sync.
  void AwaitHealthy();

 private:
  void Create();
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_REDIS_CLUSTER_H_

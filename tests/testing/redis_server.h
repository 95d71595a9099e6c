// A real Redis for tests: one redis-server on a free loopback port in a temporary directory, or,
// when FIELDWORK_TEST_REDIS=cluster (CTest's `cluster` runs), a Redis Cluster behind the same API.
#ifndef FIELDWORK_TESTS_TESTING_REDIS_SERVER_H_
#define FIELDWORK_TESTS_TESTING_REDIS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "services/common/redis_client.h"
#include "tests/testing/process.h"

namespace fieldwork::testing {

class RedisCluster;

// Whether the suites run on one redis-server (FIELDWORK_TEST_REDIS unset or "single") or on a
// 3-master, 3-replica Redis Cluster ("cluster"). Throws on any other value.
bool TestsRunOnRedisCluster();

struct RedisServerOptions {
  // AOF persistence with appendfsync always: what a durability test needs (acknowledged
  // writes survive a crash). Off, the server keeps everything in memory only. A cluster is
  // always durable (its nodes are).
  bool durable = false;
  // One redis-server whatever FIELDWORK_TEST_REDIS says: a cluster's own nodes.
  bool single_node = false;
};

// In cluster mode (TestsRunOnRedisCluster() and not `single_node`) the object is a RedisCluster:
// url() is its redis-cluster:// URL, NewClient() a cluster client, FlushAll() empties every
// master, and Kill/Start crash and restart every node. What only one server has (extra
// redis-server arguments, port, dir) throws there: such tests are excluded from the cluster
// runs in tests/cluster_runs.cmake.
class RedisServer {
 public:
  // `extra_args` go to redis-server after the persistence ones (so they win): e.g.
  // {"--rename-command", "CONFIG", ""} for a managed Redis that hides CONFIG.
  explicit RedisServer(RedisServerOptions options = {}, std::vector<std::string> extra_args = {});
  ~RedisServer();

  int port() const;
  // The server's working directory: its AOF (appendonlydir/) is there, e.g. for a test that
  // restores an older copy of it.
  const std::string& dir() const;
  std::string url() const;
  // A client with short timeouts, for test code (a cluster's waits for a replica, WAIT 1).
  std::unique_ptr<RedisClient> NewClient() const;

  // SIGKILL: a crash, nothing flushed beyond what the fsync policy already wrote (on a cluster:
  // every node at once).
  void Kill();
  // Starts the server again on the same port and directory (loading its AOF) and waits
  // until it answers (on a cluster: every node, until the cluster is healthy).
  void Start();
  void Restart() {
    Kill();
    Start();
  }
  // Empties the one server, or every master of the cluster.
  void FlushAll();
  // The cluster in cluster mode (to move a slot or fail a master over under a test), else null.
  RedisCluster* cluster() const { return cluster_.get(); }

 private:
  void WaitUntilReady();
  // Throws, naming `what`, when this object is a cluster.
  void RequireSingleNode(const char* what) const;
  RedisServerOptions options_;
  std::vector<std::string> extra_args_;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  std::unique_ptr<RedisCluster> cluster_;  // set in cluster mode, instead of process_
};

// A fixture with one redis-server per test suite, emptied before every test.
class RedisTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  static RedisServer& redis_server() { return *server_; }
  RedisClient& redis() { return *client_; }

 private:
  static RedisServer* server_;
  std::unique_ptr<RedisClient> client_;
};

// What `redis-benchmark -p PORT -n 200000 -c 50 -q COMMAND` measures against the Redis on
// loopback PORT (requests per second; 0 when it cannot run or its output has no rate), for the
// benchmarks to print beside their own rates. COMMAND: "-t set", or a command of its own such
// as "xadd key '*' k v" (Redis 7's redis-benchmark has no XADD test).
double RedisBenchmarkRate(int port, const std::string& command);

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_REDIS_SERVER_H_

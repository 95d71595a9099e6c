// A real redis-server for tests, on a free loopback port in a temporary directory.
#ifndef FIELDWORK_TESTS_TESTING_REDIS_SERVER_H_
#define FIELDWORK_TESTS_TESTING_REDIS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "services/common/redis_client.h"
#include "tests/testing/process.h"

namespace fieldwork::testing {

struct RedisServerOptions {
  // AOF persistence with appendfsync always: what a durability test needs (acknowledged
  // writes survive a crash). Off, the server keeps everything in memory only.
  bool durable = false;
};

class RedisServer {
 public:
  // `extra_args` go to redis-server after the persistence ones (so they win): e.g.
  // {"--rename-command", "CONFIG", ""} for a managed Redis that hides CONFIG.
  explicit RedisServer(RedisServerOptions options = {}, std::vector<std::string> extra_args = {});
  ~RedisServer();

  int port() const { return port_; }
  // The server's working directory: its AOF (appendonlydir/) is there, e.g. for a test that
  // restores an older copy of it.
  const std::string& dir() const { return dir_.path(); }
  std::string url() const;
  // A client with short timeouts, for test code.
  std::unique_ptr<RedisClient> NewClient() const;

  // SIGKILL: a crash, nothing flushed beyond what the fsync policy already wrote.
  void Kill();
  // Starts the server again on the same port and directory (loading its AOF) and waits
  // until it answers.
  void Start();
  void Restart() {
    Kill();
    Start();
  }
  void FlushAll();

 private:
  void WaitUntilReady();
  RedisServerOptions options_;
  std::vector<std::string> extra_args_;
  TempDir dir_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
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

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_REDIS_SERVER_H_

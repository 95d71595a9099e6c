#include "tests/testing/redis_server.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testing/ports.h"
#include "tests/testing/redis_cluster.h"

namespace fieldwork::testing {

bool TestsRunOnRedisCluster() {
  const char* value = std::getenv("FIELDWORK_TEST_REDIS");
  if (value == nullptr || std::string(value).empty() || std::string(value) == "single") {
    return false;
  }
  if (std::string(value) == "cluster") return true;
  throw std::runtime_error(absl::StrCat("FIELDWORK_TEST_REDIS is '", value,
                                        "': expected 'single' (the default) or 'cluster'"));
}

RedisServer::RedisServer(RedisServerOptions options, std::vector<std::string> extra_args)
    : options_(options), extra_args_(std::move(extra_args)) {
  if (!options_.single_node && TestsRunOnRedisCluster()) {
    if (!extra_args_.empty()) {
      throw std::runtime_error(
          "a RedisServer with extra redis-server arguments needs one redis-server, not the "
          "Redis Cluster of FIELDWORK_TEST_REDIS=cluster: exclude the test from the cluster runs "
          "(tests/cluster_runs.cmake)");
    }
    cluster_ = std::make_unique<RedisCluster>();
    if (::testing::Test::HasFatalFailure()) {
      throw std::runtime_error("the test Redis Cluster did not start (see the failure above)");
    }
    return;
  }
  // PickFreePort's port may be taken by a test running beside this one before redis-server
  // binds it: then another port, a few times.
  for (int attempt = 1;; ++attempt) {
    port_ = PickFreePort();
    try {
      Start();
      return;
    } catch (const std::runtime_error& e) {
      if (attempt == 3 || !absl::StrContains(e.what(), "Address already in use")) throw;
      process_.reset();
    }
  }
}

RedisServer::~RedisServer() {
  if (process_ != nullptr) Kill();
}

void RedisServer::RequireSingleNode(const char* what) const {
  if (cluster_ == nullptr) return;
  throw std::runtime_error(absl::StrCat(
      "RedisServer::", what, " needs one redis-server, not the Redis Cluster of "
      "FIELDWORK_TEST_REDIS=cluster: exclude the test from the cluster runs "
      "(tests/cluster_runs.cmake)"));
}

int RedisServer::port() const {
  RequireSingleNode("port()");
  return port_;
}

const std::string& RedisServer::dir() const {
  RequireSingleNode("dir()");
  return dir_.path();
}

std::string RedisServer::url() const {
  if (cluster_ != nullptr) return cluster_->url();
  return absl::StrCat("redis://127.0.0.1:", port_);
}

std::unique_ptr<RedisClient> RedisServer::NewClient() const {
  if (cluster_ != nullptr) {
    std::unique_ptr<RedisClient> client = cluster_->NewClient();
    if (client == nullptr) throw std::runtime_error("no client for the test Redis Cluster");
    return client;
  }
  RedisClientOptions options;
  options.url = url();
  options.connect_timeout = absl::Milliseconds(500);
  options.command_timeout = absl::Seconds(2);
  options.pool_size = 4;
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(options);
  if (!client.ok()) throw std::runtime_error(client.status().ToString());
  return *std::move(client);
}

void RedisServer::Start() {
  if (cluster_ != nullptr) {
    cluster_->Start();
    if (::testing::Test::HasFatalFailure()) {
      throw std::runtime_error("the test Redis Cluster did not restart (see the failure above)");
    }
    return;
  }
  std::vector<std::string> argv = {
      "redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
      "--dir", dir_.path(), "--save", "", "--daemonize", "no", "--protected-mode", "yes",
      "--logfile", ""};
  if (options_.durable) {
    argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    argv.insert(argv.end(), {"--appendonly", "no"});
  }
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  process_ = std::make_unique<ChildProcess>(argv, std::map<std::string, std::string>{},
                                            dir_.path() + "/redis.log");
  WaitUntilReady();
}

void RedisServer::WaitUntilReady() {
  std::unique_ptr<RedisClient> client = NewClient();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Status last;
  while (absl::Now() < deadline) {
    last = client->Ping();
    if (last.ok()) return;
    if (!process_->running()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  throw std::runtime_error(absl::StrCat("redis-server on port ", port_,
                                        " did not come up: ", last.ToString(), "\n",
                                        process_->ReadLog()));
}

void RedisServer::Kill() {
  if (cluster_ != nullptr) {
    cluster_->Kill();
    return;
  }
  if (process_ == nullptr) return;
  process_->Signal(SIGKILL);
  process_->WaitForExit(absl::Seconds(10));
  process_.reset();
}

void RedisServer::FlushAll() {
  std::unique_ptr<RedisClient> client = NewClient();
  absl::StatusOr<std::vector<RedisClient::ServerReply>> replies =
      client->CommandOnEveryMaster({"FLUSHALL"});
  if (!replies.ok()) throw std::runtime_error(replies.status().ToString());
  for (const RedisClient::ServerReply& flushed : *replies) {
    if (flushed.reply.type() == RedisReply::Type::kError) {
      throw std::runtime_error(absl::StrCat("FLUSHALL on ", flushed.server, ": ",
                                            flushed.reply.str()));
    }
  }
}

RedisServer* RedisTest::server_ = nullptr;

void RedisTest::SetUpTestSuite() {
  if (server_ == nullptr) server_ = new RedisServer();
}

void RedisTest::TearDownTestSuite() {
  delete server_;
  server_ = nullptr;
}

void RedisTest::SetUp() {
  server_->FlushAll();
  client_ = server_->NewClient();
}

double RedisBenchmarkRate(int port, const std::string& command) {
  const std::string line =
      absl::StrCat("redis-benchmark -p ", port, " -n 200000 -c 50 -q ", command);
  std::FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) return 0;
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  ::pclose(pipe);
  // The -q output ends "<test>: <rate> requests per second, p50=...", after \r-separated
  // progress lines.
  const size_t end = output.rfind(" requests per second");
  const size_t begin = end == std::string::npos ? end : output.rfind(": ", end);
  double rate = 0;
  if (begin == std::string::npos ||
      !absl::SimpleAtod(output.substr(begin + 2, end - begin - 2), &rate)) {
    return 0;
  }
  return rate;
}

}  // namespace fieldwork::testing

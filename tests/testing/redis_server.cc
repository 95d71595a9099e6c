#include "tests/testing/redis_server.h"

#include <signal.h>

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/testing/ports.h"

namespace fieldwork::testing {

RedisServer::RedisServer(RedisServerOptions options, std::vector<std::string> extra_args)
    : options_(options), extra_args_(std::move(extra_args)), port_(PickFreePort()) {
  Start();
}

RedisServer::~RedisServer() { Kill(); }

std::string RedisServer::url() const { return absl::StrCat("redis://127.0.0.1:", port_); }

std::unique_ptr<RedisClient> RedisServer::NewClient() const {
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
  if (process_ == nullptr) return;
  process_->Signal(SIGKILL);
  process_->WaitForExit(absl::Seconds(10));
  process_.reset();
}

void RedisServer::FlushAll() {
  std::unique_ptr<RedisClient> client = NewClient();
  absl::StatusOr<RedisReply> reply = client->Command({"FLUSHALL"});
  if (!reply.ok()) throw std::runtime_error(reply.status().ToString());
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

}  // namespace fieldwork::testing

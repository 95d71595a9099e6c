// The Redis client against a real redis-server: commands, pipelines, transactions, scripts,
// and recovery from a Redis crash and restart.
#include "services/common/redis_client.h"

#include <signal.h>

#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "absl/time/clock.h"
#include "tests/testing/redis_server.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::RedisServer;
using ::fieldwork::testing::RedisServerOptions;
using ::fieldwork::testing::RedisTest;
using ::testing::HasSubstr;

class RedisClientTest : public RedisTest {};

TEST_F(RedisClientTest, CommandsReturnTypedReplies) {
  ASSERT_TRUE(redis().Command({"SET", "fw:{t}:k", std::string("a\0b", 3)}).ok());
  absl::StatusOr<RedisReply> value = redis().Command({"GET", "fw:{t}:k"});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->type(), RedisReply::Type::kString);
  EXPECT_EQ(value->str(), std::string("a\0b", 3)) << "binary-safe values";
  absl::StatusOr<RedisReply> missing = redis().Command({"GET", "fw:{t}:missing"});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_nil());
  absl::StatusOr<RedisReply> count = redis().Command({"INCRBY", "fw:{t}:n", "5"});
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->integer(), 5);
}

TEST_F(RedisClientTest, PipelineAnswersInOrderAndKeepsErrorsPerCommand) {
  absl::StatusOr<std::vector<RedisReply>> replies = redis().Pipeline({
      {"RPUSH", "fw:{t}:list", "a", "b"},
      {"INCR", "fw:{t}:list"},  // WRONGTYPE: an element error, not a failed pipeline
      {"LRANGE", "fw:{t}:list", "0", "-1"},
  });
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ((*replies)[0].integer(), 2);
  EXPECT_EQ((*replies)[1].type(), RedisReply::Type::kError);
  ASSERT_EQ((*replies)[2].size(), 2u);
  EXPECT_EQ((*replies)[2][1].str(), "b");
}

TEST_F(RedisClientTest, TransactionIsAtomicAndRejectsWholeOnBadCommand) {
  absl::StatusOr<std::vector<RedisReply>> ok =
      redis().Transaction({{"SET", "fw:{t}:a", "1"}, {"INCR", "fw:{t}:a"}});
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].integer(), 2);

  // A command with the wrong number of arguments is refused when queued: nothing runs.
  absl::StatusOr<std::vector<RedisReply>> bad =
      redis().Transaction({{"SET", "fw:{t}:b", "1"}, {"GET"}});
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(redis().Command({"GET", "fw:{t}:b"})->is_nil());
}

TEST_F(RedisClientTest, ScriptErrorsCarryTheirStatusCode) {
  const LuaScript script("return redis.error_reply('FAILED_PRECONDITION: design is locked')");
  absl::StatusOr<RedisReply> reply = redis().Eval(script, {"fw:{t}:x"}, {});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reply.status().message(), "design is locked");
  absl::StatusOr<RedisReply> wrong_type = redis().Command({"LPUSH", "fw:{t}:s", "x"});
  ASSERT_TRUE(wrong_type.ok());
  EXPECT_EQ(redis().Command({"GET", "fw:{t}:s"}).status().code(), absl::StatusCode::kInternal);
}

TEST_F(RedisClientTest, EvalShaSurvivesScriptFlush) {
  const LuaScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  ASSERT_EQ(redis().Eval(script, {"fw:{t}:c"}, {"2"})->integer(), 2);
  ASSERT_TRUE(redis().Command({"SCRIPT", "FLUSH"}).ok());
  absl::StatusOr<RedisReply> again = redis().Eval(script, {"fw:{t}:c"}, {"3"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->integer(), 5);
}

TEST_F(RedisClientTest, PoolIsSafeUnderConcurrency) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) ASSERT_TRUE(redis().Command({"INCR", "fw:{t}:n"}).ok());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(redis().Command({"GET", "fw:{t}:n"})->str(), "2000");
}

TEST(RedisClientCrashTest, RecoversAfterKillAndRestartWithoutCallerHelp) {
  RedisServer server(RedisServerOptions{.durable = true});
  std::unique_ptr<RedisClient> client = server.NewClient();
  const LuaScript script("return redis.call('GET', KEYS[1])");
  // Use several pooled connections so that every one of them goes stale.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] { ASSERT_TRUE(client->Command({"INCR", "fw:{t}:n"}).ok()); });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(client->Eval(script, {"fw:{t}:n"}, {}).ok());

  server.Kill();
  // While Redis is down: a quick UNAVAILABLE, not a hang.
  const absl::Time start = absl::Now();
  absl::StatusOr<RedisReply> down = client->Command({"GET", "fw:{t}:n"});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "a call to a dead Redis must not hang";

  server.Start();
  // Every call after the restart succeeds at the first attempt, on every pooled connection;
  // the AOF (appendfsync always) kept the acknowledged writes; the script cache was lost
  // with the restart and EVALSHA reloads it.
  threads.clear();
  std::atomic<int> failures = 0;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      if (!client->Command({"GET", "fw:{t}:n"}).ok()) ++failures;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<RedisReply> value = client->Eval(script, {"fw:{t}:n"}, {});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->str(), "4");
}

TEST(RedisClientCrashTest, UnresponsiveRedisTimesOutWithUnavailable) {
  RedisServer server;
  RedisClientOptions options;
  options.url = server.url();
  options.command_timeout = absl::Milliseconds(300);
  std::unique_ptr<RedisClient> client = *RedisClient::Create(options);
  ASSERT_TRUE(client->Ping().ok());
  // SIGSTOP: the socket stays open but nothing answers.
  std::unique_ptr<RedisClient> helper = server.NewClient();
  absl::StatusOr<RedisReply> info = helper->Command({"INFO", "server"});
  ASSERT_TRUE(info.ok());
  const std::string text(info->str());
  const size_t at = text.find("process_id:");
  ASSERT_NE(at, std::string::npos);
  const pid_t pid = std::stoi(text.substr(at + 11));
  kill(pid, SIGSTOP);
  absl::StatusOr<RedisReply> reply = client->Command({"GET", "fw:{t}:x"});
  kill(pid, SIGCONT);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
  // And the client is usable again once Redis answers.
  EXPECT_TRUE(client->Ping().ok());
}

TEST(RedisClientMetricsTest, RecordsLatencyPerCommand) {
  RedisServer server;
  prometheus::Registry registry;
  RedisClientOptions options;
  options.url = server.url();
  options.registry = &registry;
  std::unique_ptr<RedisClient> client = *RedisClient::Create(options);
  ASSERT_TRUE(client->Command({"SET", "fw:{t}:k", "v"}).ok());
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_THAT(text, HasSubstr("fieldwork_redis_command_duration_seconds_count{command=\"SET\"} 1"));
}

TEST(RedisClientCreateTest, RejectsBadUrl) {
  RedisClientOptions options;
  options.url = "mysql://x";
  EXPECT_EQ(RedisClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fieldwork

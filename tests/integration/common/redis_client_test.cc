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

#ifndef NDEBUG
TEST_F(RedisClientTest, DebugBuildsRefuseCallsThatWouldSpanTwoClusterSlots) {
  const std::vector<std::vector<std::string>> two_trials = {{"SET", "fw:{a}:x", "1"},
                                                            {"SET", "fw:{b}:x", "1"}};
  EXPECT_THAT(redis().Pipeline(two_trials).status().message(), HasSubstr("CROSSSLOT"));
  EXPECT_THAT(redis().Transaction(two_trials).status().message(), HasSubstr("CROSSSLOT"));
  EXPECT_TRUE(redis().Command({"GET", "fw:{a}:x"})->is_nil()) << "nothing was written";
  EXPECT_TRUE(redis().Pipeline({{"SET", "fw:{a}:x", "1"}, {"GET", "fw:{a}:y"}}).ok());
}
#endif

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

TEST_F(RedisClientTest, ScriptPipelineRunsEachSendInOrderAndReportsEachResult) {
  const LuaScript script(
      "if ARGV[1] == 'bad' then return redis.error_reply('INVALID_ARGUMENT: bad run') end "
      "return redis.call('RPUSH', KEYS[1], ARGV[1])");
  RedisClient::ScriptPipeline pipeline = redis().OpenScriptPipeline(script);
  for (const char* value : {"a", "b", "bad", "c"}) {
    ASSERT_TRUE(pipeline.Send({"fw:{t}:list"}, {value}).ok());
  }
  // Written at once, not on Finish: another connection already sees every run.
  absl::StatusOr<RedisReply> seen;
  for (int tries = 0; tries < 100; ++tries) {
    seen = redis().Command({"LLEN", "fw:{t}:list"});
    if (seen.ok() && seen->integer() == 3) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->integer(), 3);
  const std::vector<absl::Status> results = pipeline.Finish();
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0].ok() && results[1].ok() && results[3].ok());
  EXPECT_EQ(results[2].code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(redis().Command({"LRANGE", "fw:{t}:list", "0", "-1"})->size(), 3u);
  // The connection went back to the pool clean: the next command reads its own reply.
  EXPECT_EQ(redis().Command({"LINDEX", "fw:{t}:list", "2"})->str(), "c");
}

TEST_F(RedisClientTest, ScriptPipelineAfterScriptFlushReportsTheRunsNotDone) {
  const LuaScript script("return redis.call('INCR', KEYS[1])");
  RedisClient::ScriptPipeline pipeline = redis().OpenScriptPipeline(script);
  ASSERT_TRUE(pipeline.Send({"fw:{t}:n"}, {}).ok());
  ASSERT_TRUE(redis().Command({"SCRIPT", "FLUSH"}).ok());
  ASSERT_TRUE(pipeline.Send({"fw:{t}:n"}, {}).ok());
  const std::vector<absl::Status> results = pipeline.Finish();
  ASSERT_EQ(results.size(), 2u);
  // Whether the first run beat the flush depends on timing; the second cannot have run.
  EXPECT_FALSE(results[1].ok());
  EXPECT_THAT(results[1].message(), HasSubstr("NOSCRIPT"));
  const int done = results[0].ok() ? 1 : 0;
  EXPECT_EQ(redis().Command({"GET", "fw:{t}:n"})->str(), std::to_string(done));
  // Eval reloads the script.
  EXPECT_EQ(redis().Eval(script, {"fw:{t}:n"}, {})->integer(), done + 1);
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

TEST(RedisClientCrashTest, ScriptPipelineReportsRunsUnansweredWhenRedisDies) {
  RedisServer server(RedisServerOptions{.durable = true});
  std::unique_ptr<RedisClient> client = server.NewClient();
  const LuaScript script("return redis.call('INCR', KEYS[1])");
  RedisClient::ScriptPipeline pipeline = client->OpenScriptPipeline(script);
  ASSERT_TRUE(pipeline.Send({"fw:{t}:n"}, {}).ok());
  server.Kill();
  // The write may still land in the socket buffer; either way no run after the kill is done.
  pipeline.Send({"fw:{t}:n"}, {}).IgnoreError();
  pipeline.Send({"fw:{t}:n"}, {}).IgnoreError();
  const std::vector<absl::Status> results = pipeline.Finish();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[1].code(), absl::StatusCode::kUnavailable) << results[1];
  EXPECT_EQ(results[2].code(), absl::StatusCode::kUnavailable) << results[2];
  // Opened while Redis is down: every run is reported unavailable, with the reason.
  RedisClient::ScriptPipeline down = client->OpenScriptPipeline(script);
  EXPECT_EQ(down.Send({"fw:{t}:n"}, {}).code(), absl::StatusCode::kUnavailable);
  const std::vector<absl::Status> none_done = down.Finish();
  ASSERT_EQ(none_done.size(), 1u);
  EXPECT_EQ(none_done[0].code(), absl::StatusCode::kUnavailable) << none_done[0];
  server.Start();
  // Whatever Finish reported as done is on disk; the client recovers without help.
  absl::StatusOr<RedisReply> value = client->Command({"GET", "fw:{t}:n"});
  ASSERT_TRUE(value.ok()) << value.status();
  if (results[0].ok()) {
    EXPECT_EQ(value->str(), "1");
  }
  // The restart emptied Redis's script cache: a pipeline's run is refused (NOSCRIPT) and
  // reported, never silently lost; Eval of the refused run reloads the script, and the next
  // pipeline runs again.
  RedisClient::ScriptPipeline again = client->OpenScriptPipeline(script);
  ASSERT_TRUE(again.Send({"fw:{t}:m"}, {}).ok());
  const std::vector<absl::Status> refused = again.Finish();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_THAT(refused[0].message(), HasSubstr("NOSCRIPT"));
  ASSERT_TRUE(client->Eval(script, {"fw:{t}:m"}, {}).ok());
  RedisClient::ScriptPipeline reloaded = client->OpenScriptPipeline(script);
  ASSERT_TRUE(reloaded.Send({"fw:{t}:m"}, {}).ok());
  const std::vector<absl::Status> after = reloaded.Finish();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(after[0].ok()) << after[0];
  EXPECT_EQ(client->Command({"GET", "fw:{t}:m"})->str(), "2");
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

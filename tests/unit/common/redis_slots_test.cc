#include "services/common/redis_slots.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace fieldwork {
namespace {

using Command = std::vector<std::string>;

TEST(RedisKeySlotTest, MatchesRedisForPlainKeysAndHashTags) {
  // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
  EXPECT_EQ(RedisKeySlot("foo"), 12182);
  EXPECT_EQ(RedisKeySlot("123456789"), 0x31C3 % kRedisClusterSlots);  // CRC16 check value
  EXPECT_EQ(RedisKeySlot(""), 0);
  // The hash tag decides: a trial's keys share a slot.
  EXPECT_EQ(RedisKeySlot("fw:{swing}:rand:design"), RedisKeySlot("swing"));
  EXPECT_EQ(RedisKeySlot("fw:{swing}:msg:queue"), RedisKeySlot("fw:{swing}:survey:rejects"));
  // An empty tag does not count, only the first tag counts, and the tag ends at the first '}'.
  EXPECT_NE(RedisKeySlot("foo{}{bar}"), RedisKeySlot("bar"));
  EXPECT_EQ(RedisKeySlot("foo{bar}{zap}"), RedisKeySlot("bar"));
  EXPECT_EQ(RedisKeySlot("foo{{bar}}zap"), RedisKeySlot("{bar"));
  EXPECT_NE(RedisKeySlot("{unclosed"), RedisKeySlot("unclosed"));
}

TEST(RedisCommandKeysTest, FindsTheKeysOfEveryCommandForm) {
  auto keys = [](const Command& command) {
    absl::StatusOr<std::vector<absl::string_view>> found = RedisCommandKeys(command);
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() ? std::vector<std::string>(found->begin(), found->end())
                      : std::vector<std::string>{"<error>"};
  };
  using Keys = std::vector<std::string>;
  EXPECT_EQ(keys({"hget", "k", "f"}), Keys{"k"});
  EXPECT_EQ(keys({"EVALSHA", "sha", "2", "a", "b", "x"}), (Keys{"a", "b"}));
  EXPECT_EQ(keys({"EVALSHA", "sha", "0", "x"}), Keys{});
  EXPECT_EQ(keys({"XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "s1", "s2", ">",
                  ">"}),
            (Keys{"s1", "s2"}));
  EXPECT_EQ(keys({"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}), Keys{"s"});
  EXPECT_EQ(keys({"XINFO", "GROUPS", "s"}), Keys{"s"});
  EXPECT_EQ(keys({"PING"}), Keys{});
  EXPECT_EQ(keys({"CONFIG", "GET", "appendonly"}), Keys{});
}

TEST(RedisCommandKeysTest, RefusesWhatItCannotRoute) {
  for (const Command& bad : {Command{}, Command{"GET"}, Command{"EVALSHA", "sha", "3", "a"},
                             Command{"EVALSHA", "sha", "x"}, Command{"XREAD", "COUNT", "1"},
                             Command{"XREAD", "STREAMS", "a", "b", "c"},
                             Command{"MGETX", "a"}}) {
    EXPECT_EQ(RedisCommandKeys(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << (bad.empty() ? "" : bad[0]);
  }
  EXPECT_TRUE(absl::StrContains(RedisCommandKeys({"OBJECT", "ENCODING", "k"}).status().message(),
                                "not known to the cluster routing"));
}

TEST(RedisCommandsSlotTest, OneTrialsCommandsShareASlotAndTwoTrialsAreRefused) {
  const std::vector<Command> one_trial = {{"HSET", "fw:{a}:x", "f", "v"},
                                          {"SADD", "fw:{a}:y", "m"},
                                          {"EVALSHA", "sha", "1", "fw:{a}:z", "arg"},
                                          {"PING"}};
  absl::StatusOr<std::optional<uint16_t>> slot = RedisCommandsSlot(one_trial);
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_EQ(*slot, RedisKeySlot("a"));
  EXPECT_EQ(*RedisCommandsSlot(std::vector<Command>{{"PING"}}), std::nullopt);

  std::vector<Command> two_trials = one_trial;
  two_trials.push_back({"GET", "fw:{b}:x"});
  absl::StatusOr<std::optional<uint16_t>> refused = RedisCommandsSlot(two_trials);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(refused.status().message(), "CROSSSLOT: keys 'fw:{a}:x'"))
      << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "'fw:{b}:x'")) << refused.status();
}

}  // namespace
}  // namespace fieldwork

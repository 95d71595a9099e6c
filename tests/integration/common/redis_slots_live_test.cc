// The cluster routing facts (redis_slots.h) checked against a real redis-server started with
// cluster support: every slot against CLUSTER KEYSLOT, every command form's keys against
// COMMAND GETKEYS. A routing table that disagrees with Redis would send a command to a master
// that answers MOVED for ever, or run a script's writes on the wrong shard.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "services/common/redis_slots.h"
#include "tests/testing/ports.h"
#include "tests/testing/redis_server.h"

namespace fieldwork {
namespace {

using Command = std::vector<std::string>;

TEST(RedisSlotsLiveTest, SlotsAndKeysAgreeWithARealClusterNode) {
  testing::RedisServer server(
      {}, {"--cluster-enabled", "yes", "--cluster-port", std::to_string(testing::PickFreePort())});
  std::unique_ptr<RedisClient> redis = server.NewClient();

  // Keys as the suite writes them, and awkward ones: braces anywhere, empty tags, binary.
  std::vector<std::string> keys = {"fw:{swing}:rand:design", "foo{}{bar}", "foo{{bar}}zap",
                                   "{", "}", "{}", "a{b", std::string("\0{\xff}", 4)};
  std::mt19937 random(20261204);  // fixed: the same keys every run
  const std::string alphabet = "ab{}:xyz09";
  for (int i = 0; i < 2000; ++i) {
    std::string key;
    const int length = static_cast<int>(random() % 12);
    for (int j = 0; j < length; ++j) key.push_back(alphabet[random() % alphabet.size()]);
    keys.push_back(key);
  }
  int checked = 0;
  for (const std::string& key : keys) {
    absl::StatusOr<RedisReply> slot = redis->Command({"CLUSTER", "KEYSLOT", key});
    ASSERT_TRUE(slot.ok()) << slot.status();
    ASSERT_EQ(RedisKeySlot(key), slot->integer()) << "key '" << key << "'";
    ++checked;
  }
  EXPECT_EQ(checked, 2008);

  // Every command form the suite sends (grep Command({ and Pipeline in services/).
  const std::vector<Command> forms = {
      {"GET", "fw:{t}:k"},
      {"SET", "fw:{t}:k", "v", "NX"},
      {"HSET", "fw:{t}:h", "f", "v"},
      {"HMGET", "fw:{t}:h", "a", "b"},
      {"HSCAN", "fw:{t}:h", "0", "COUNT", "100"},
      {"SADD", "fw:{t}:s", "m"},
      {"ZRANGE", "fw:{t}:z", "0", "-1"},
      {"XADD", "fw:{t}:x", "*", "f", "v"},
      {"XRANGE", "fw:{t}:x", "-", "+"},
      {"XAUTOCLAIM", "fw:{t}:x", "g", "c", "5000", "0-0", "COUNT", "10"},
      {"XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "fw:{t}:x", ">"},
      {"XGROUP", "CREATE", "fw:{t}:x", "g", "$", "MKSTREAM"},
      {"XINFO", "GROUPS", "fw:{t}:x"},
      {"EVALSHA", "0123456789012345678901234567890123456789", "2", "fw:{t}:a", "fw:{t}:b", "x"},
      {"LRANGE", "fw:{t}:l", "0", "-1"},
      // The tests' own commands, which the cluster runs route too.
      {"LINDEX", "fw:{t}:l", "1"},
      {"LSET", "fw:{t}:l", "1", "v"},
  };
  for (const Command& form : forms) {
    Command getkeys = {"COMMAND", "GETKEYS"};
    getkeys.insert(getkeys.end(), form.begin(), form.end());
    absl::StatusOr<RedisReply> real = redis->Command(getkeys);
    ASSERT_TRUE(real.ok()) << form[0] << ": " << real.status();
    std::vector<std::string> expected;
    for (size_t i = 0; i < real->size(); ++i) expected.emplace_back((*real)[i].str());
    absl::StatusOr<std::vector<absl::string_view>> ours = RedisCommandKeys(form);
    ASSERT_TRUE(ours.ok()) << form[0] << ": " << ours.status();
    EXPECT_EQ(std::vector<std::string>(ours->begin(), ours->end()), expected) << form[0];
  }
}

}  // namespace
}  // namespace fieldwork

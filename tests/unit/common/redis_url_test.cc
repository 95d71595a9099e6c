#include "services/common/redis_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fieldwork {
namespace {

using ::testing::HasSubstr;

TEST(RedisUrlTest, ParsesHostPortAndDatabase) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://redis.example:6380/3");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->transport, RedisEndpoint::Transport::kTcp);
  EXPECT_EQ(endpoint->host, "redis.example");
  EXPECT_EQ(endpoint->port, 6380);
  EXPECT_EQ(endpoint->database, 3);
  EXPECT_EQ(endpoint->password, "");
}

TEST(RedisUrlTest, DefaultsPortAndDatabase) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://localhost");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->port, 6379);
  EXPECT_EQ(endpoint->database, 0);
}

TEST(RedisUrlTest, ParsesPasswordAndUser) {
  absl::StatusOr<RedisEndpoint> with_password = ParseRedisUrl("redis://:s3cret@10.0.0.1:7000/0");
  ASSERT_TRUE(with_password.ok());
  EXPECT_EQ(with_password->username, "");
  EXPECT_EQ(with_password->password, "s3cret");
  EXPECT_EQ(with_password->host, "10.0.0.1");
  absl::StatusOr<RedisEndpoint> with_user = ParseRedisUrl("redis://fieldwork:pw@host:1/2");
  ASSERT_TRUE(with_user.ok());
  EXPECT_EQ(with_user->username, "fieldwork");
  EXPECT_EQ(with_user->password, "pw");
  // Credentials never appear in the loggable description.
  EXPECT_THAT(with_user->Describe(), ::testing::Not(HasSubstr("pw")));
}

TEST(RedisUrlTest, ParsesIpv6) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://[::1]:6390");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->host, "::1");
  EXPECT_EQ(endpoint->port, 6390);
}

TEST(RedisUrlTest, ParsesUnixSocket) {
  absl::StatusOr<RedisEndpoint> endpoint =
      ParseRedisUrl("unix:///var/run/redis.sock?db=2&password=x");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->transport, RedisEndpoint::Transport::kUnix);
  EXPECT_EQ(endpoint->socket_path, "/var/run/redis.sock");
  EXPECT_EQ(endpoint->database, 2);
  EXPECT_EQ(endpoint->password, "x");
}

TEST(RedisUrlTest, ParsesAClusterOfSeedNodes) {
  absl::StatusOr<RedisEndpoint> endpoint =
      ParseRedisUrl("redis-cluster://app:s3cret@10.0.0.1:7000,10.0.0.2,[::1]:7002");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_TRUE(endpoint->cluster);
  EXPECT_EQ(endpoint->username, "app");
  EXPECT_EQ(endpoint->password, "s3cret");
  const std::vector<std::pair<std::string, int>> seeds = {
      {"10.0.0.1", 7000}, {"10.0.0.2", 6379}, {"::1", 7002}};
  EXPECT_EQ(endpoint->cluster_seeds, seeds);
  EXPECT_EQ(endpoint->host, "10.0.0.1");
  EXPECT_EQ(endpoint->port, 7000);
  EXPECT_FALSE(ParseRedisUrl("redis://host:7000")->cluster);
}

TEST(RedisUrlTest, RejectsBadClusterUrlsNamingThePart) {
  EXPECT_THAT(ParseRedisUrl("redis-cluster://h:7000/1").status().message(),
              HasSubstr("no databases"));
  EXPECT_THAT(ParseRedisUrl("redis-cluster://h:7000,,h:7001").status().message(),
              HasSubstr("host is empty"));
  EXPECT_THAT(ParseRedisUrl("redis-cluster://h:7000,h:x").status().message(), HasSubstr("port"));
}

TEST(RedisUrlTest, RejectsBadUrlsNamingThePart) {
  EXPECT_THAT(ParseRedisUrl("http://host").status().message(), HasSubstr("redis://"));
  EXPECT_THAT(ParseRedisUrl("redis://host:notaport").status().message(), HasSubstr("port"));
  EXPECT_THAT(ParseRedisUrl("redis://host:70000").status().message(), HasSubstr("port"));
  EXPECT_THAT(ParseRedisUrl("redis://host/x").status().message(), HasSubstr("database"));
  EXPECT_THAT(ParseRedisUrl("redis://:6379").status().message(), HasSubstr("host"));
  EXPECT_THAT(ParseRedisUrl("unix://relative.sock").status().message(), HasSubstr("absolute"));
  EXPECT_THAT(ParseRedisUrl("unix:///s.sock?colour=red").status().message(),
              HasSubstr("colour"));
  // A URL with credentials is not echoed back in the error.
  EXPECT_THAT(ParseRedisUrl("rediss://:topsecret@host").status().message(),
              ::testing::Not(HasSubstr("topsecret")));
}

}  // namespace
}  // namespace fieldwork

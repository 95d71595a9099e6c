// A Redis client over hiredis for multi-threaded servers: a connection pool with timeouts,
// transparent reconnection, pipelines, MULTI/EXEC and Lua scripts run by EVALSHA.
#ifndef FIELDWORK_SERVICES_COMMON_REDIS_CLIENT_H_
#define FIELDWORK_SERVICES_COMMON_REDIS_CLIENT_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/common/redis_url.h"

struct redisReply;  // hiredis's type stays out of our headers.

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Histogram;
}  // namespace prometheus

namespace fieldwork {

// One reply (or one element of an array reply). Copies share ownership of the underlying
// hiredis reply, which is freed when the last copy goes.
class RedisReply {
 public:
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };

  Type type() const;
  bool is_nil() const { return type() == Type::kNil; }
  // For kString, kStatus and kError.
  absl::string_view str() const;
  // For kInteger.
  long long integer() const;
  // For kArray: the number of elements and element i.
  size_t size() const;
  RedisReply operator[](size_t i) const;

 private:
  friend class RedisConnection;
  RedisReply(std::shared_ptr<redisReply> root, const redisReply* node)
      : root_(std::move(root)), node_(node) {}
  std::shared_ptr<redisReply> root_;
  const redisReply* node_;
};

// A Lua script that the client loads once per Redis server and then runs by its SHA1.
class LuaScript {
 public:
  explicit LuaScript(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

struct RedisClientOptions {
  std::string url = "redis://127.0.0.1:6379";
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(2);
  int pool_size = 8;
  // Where to record fieldwork_redis_command_duration_seconds{command}; may be null.
  prometheus::Registry* registry = nullptr;
};

class RedisConnection;

// Thread-safe. Every failure is an absl::Status: UNAVAILABLE when Redis cannot be reached or
// does not answer within the timeout (retryable), INTERNAL for an error reply from Redis.
// An error reply whose text starts with an absl code name and a colon (as our Lua scripts
// return, e.g. "FAILED_PRECONDITION: design is locked") maps to that code.
class RedisClient {
 public:
  // Parses the URL; connections are opened lazily, so Redis need not be up yet.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Create(const RedisClientOptions& options);
  ~RedisClient();

  // One command, e.g. Command({"SET", key, value}).
  absl::StatusOr<RedisReply> Command(std::initializer_list<absl::string_view> args);
  absl::StatusOr<RedisReply> Command(absl::Span<const std::string> args);

  // Several commands sent together and read back in order. The commands are not atomic; a
  // Redis error reply to one of them is returned as that element (type kError), not a failure.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  // MULTI, the commands, EXEC: atomic. Returns EXEC's replies in order. If any command is
  // rejected when queued, nothing is executed and the error is returned.
  absl::StatusOr<std::vector<RedisReply>> Transaction(
      const std::vector<std::vector<std::string>>& commands);

  // Runs a script by EVALSHA, loading it on first use and again after NOSCRIPT (a restarted
  // Redis or SCRIPT FLUSH).
  absl::StatusOr<RedisReply> Eval(const LuaScript& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args);

  // PING: OK when Redis answers.
  absl::Status Ping();

  // One script run many times on one held connection, each run written to Redis at once but
  // its reply read only by Finish(): for a caller that must put every write on the wire before
  // its next step yet need not wait for the answer (messaging's "sent" records). N runs cost
  // Redis a few reads and writes instead of N round trips. When Redis cannot be reached the
  // pipeline is opened broken: every run is reported UNAVAILABLE with the reason.
  class ScriptPipeline;
  ScriptPipeline OpenScriptPipeline(const LuaScript& script);

  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  class Lease;
  RedisClient(RedisEndpoint endpoint, const RedisClientOptions& options);
  absl::StatusOr<Lease> Acquire();
  void Release(std::unique_ptr<RedisConnection> connection);
  void ObserveLatency(absl::string_view command, double seconds);
  absl::StatusOr<std::string> ScriptSha(const LuaScript& script, bool reload);

  const RedisEndpoint endpoint_;
  const RedisClientOptions options_;

  std::mutex pool_mutex_;
  std::condition_variable pool_available_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  int open_connections_ = 0;

  std::mutex scripts_mutex_;
  std::map<std::string, std::string, std::less<>> script_shas_;  // source -> sha1

  prometheus::Family<prometheus::Histogram>* latency_family_ = nullptr;
  std::mutex latency_mutex_;
  std::map<std::string, prometheus::Histogram*, std::less<>> latency_by_command_;
};

class RedisClient::ScriptPipeline {
 public:
  ScriptPipeline(ScriptPipeline&&) noexcept;
  ScriptPipeline& operator=(ScriptPipeline&&) = delete;
  ~ScriptPipeline();

  // Writes one EVALSHA to the socket (blocking until the kernel has it). UNAVAILABLE when the
  // connection is lost or was never made; Finish then reports every run not answered.
  absl::Status Send(const std::vector<std::string>& keys, const std::vector<std::string>& args);

  // One status per Send so far, in order: OK, the script's error (NOSCRIPT among them when the
  // script cache was flushed meanwhile: run those again with Eval, which reloads it), or
  // UNAVAILABLE for a run whose reply never came. The connection goes back to the pool.
  std::vector<absl::Status> Finish();

 private:
  friend class RedisClient;
  ScriptPipeline(RedisClient* client, absl::StatusOr<Lease> lease, std::string sha);

  RedisClient* client_;
  std::unique_ptr<Lease> lease_;  // null when broken_ says why, or once Finish ran
  absl::Status broken_;
  std::string sha_;
  size_t runs_ = 0;  // Sends since the last Finish
  std::chrono::steady_clock::time_point start_;
};

// Maps a Redis error reply's text to a status (see RedisClient's comment).
absl::Status StatusFromRedisError(absl::string_view error_text);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_REDIS_CLIENT_H_

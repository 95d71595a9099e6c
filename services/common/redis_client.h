// A Redis client over hiredis for multi-threaded servers: a connection pool with timeouts,
// transparent reconnection, pipelines, MULTI/EXEC and Lua scripts run by EVALSHA. It speaks a
// single Redis and a Redis Cluster alike (redis-cluster:// URLs): no caller knows which.
#ifndef FIELDWORK_SERVICES_COMMON_REDIS_CLIENT_H_
#define FIELDWORK_SERVICES_COMMON_REDIS_CLIENT_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
  // Redis Cluster only: every call waits (WAIT) until this many replicas of its master have
  // its writes, so a master killed right after acknowledging loses nothing its replica does
  // not have; a call whose writes did not reach them in command_timeout fails UNAVAILABLE
  // (the writes are idempotent: the caller retries). 0: do not wait.
  int cluster_wait_replicas = 1;
  // Where to record fieldwork_redis_command_duration_seconds{command}; may be null.
  prometheus::Registry* registry = nullptr;
};

class RedisConnection;

// Thread-safe. Every failure is an absl::Status: UNAVAILABLE when Redis cannot be reached or
// does not answer within the timeout (retryable), INTERNAL for an error reply from Redis.
// An error reply whose text starts with an absl code name and a colon (as our Lua scripts
// return, e.g. "FAILED_PRECONDITION: design is locked") maps to that code.
//
// On a Redis Cluster every call goes to the master serving its keys' slot, from a slot map read
// with CLUSTER SLOTS (at first use, after a connection error, and every minute), with one pool
// of connections per master. A pipeline, transaction or script must keep its keys in one slot
// (every key of a trial shares its hash tag): INVALID_ARGUMENT "CROSSSLOT ..." before anything
// is sent otherwise. Redirects are followed within the command timeout: MOVED (the slot map is
// updated and the call retried), ASK (ASKING, then once on the importing node; a transaction
// waits for the migration instead), TRYAGAIN and CLUSTERDOWN (retried with back-off), a master
// that vanished (the map is read again). Commands of a pipeline that ran before a redirect are
// not sent again.
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

  // PING: OK when Redis answers (on a cluster: one of its nodes).
  absl::Status Ping();

  // One keyless command (CONFIG GET, INFO) on every server that holds data: the one Redis, or
  // each master of a cluster (a setting checked on one master says nothing of the others).
  // One reply per server, an error reply included as such (type kError); UNAVAILABLE when any
  // of them cannot be reached. Commands with keys are refused: they belong to one slot.
  struct ServerReply {
    std::string server;  // host:port/db as RedisEndpoint::Describe() gives it
    RedisReply reply;
  };
  absl::StatusOr<std::vector<ServerReply>> CommandOnEveryMaster(
      std::initializer_list<absl::string_view> args);

  // One script run many times on one held connection, each run written to Redis at once but
  // its reply read only by Finish(): for a caller that must put every write on the wire before
  // its next step yet need not wait for the answer (messaging's "sent" records). N runs cost
  // Redis a few reads and writes instead of N round trips. When Redis cannot be reached the
  // pipeline is opened broken: every run is reported UNAVAILABLE with the reason.
  class ScriptPipeline;
  ScriptPipeline OpenScriptPipeline(const LuaScript& script);

  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  class ConnectionPool;
  class Lease;
  RedisClient(RedisEndpoint endpoint, const RedisClientOptions& options);
  // A connection to the master serving `slot` (slot 0's for a keyless command); the one Redis
  // when this is not a cluster.
  absl::StatusOr<Lease> Acquire(std::optional<uint16_t> slot = std::nullopt);
  // Runs `commands` and returns one reply per command; on a cluster, routed by their one slot
  // and following redirects (see the class comment). `atomic`: a MULTI ... EXEC block, retried
  // whole, since a redirected transaction ran nothing.
  absl::StatusOr<std::vector<RedisReply>> Run(const std::vector<std::vector<std::string>>& commands,
                                              bool atomic);
  ConnectionPool& NodePool(const std::string& host, int port);
  // Reads the slot map from the first node that answers CLUSTER SLOTS.
  absl::Status RefreshSlots();
  void ObserveLatency(absl::string_view command, double seconds);
  absl::StatusOr<std::string> ScriptSha(const LuaScript& script, bool reload);

  const RedisEndpoint endpoint_;
  const RedisClientOptions options_;
  std::unique_ptr<ConnectionPool> single_pool_;  // a single Redis

  // A Redis Cluster: a pool per node ("host:port"), the master of each slot (null: unknown).
  std::mutex cluster_mutex_;
  std::map<std::string, std::unique_ptr<ConnectionPool>, std::less<>> nodes_;
  std::vector<ConnectionPool*> slot_masters_;
  std::chrono::steady_clock::time_point slots_read_at_;
  bool slots_stale_ = true;
  std::mutex refresh_mutex_;  // one CLUSTER SLOTS read at a time

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
  // connection is lost or was never made, or Redis closed it (then this run, and earlier ones
  // Redis had not read, may never run); Finish then reports every run not answered.
  absl::Status Send(const std::vector<std::string>& keys, const std::vector<std::string>& args);

  // One status per Send so far, in order: OK, the script's error (NOSCRIPT among them when the
  // script cache was flushed meanwhile: run those again with Eval, which reloads it), or
  // UNAVAILABLE for a run whose reply never came or, on a cluster, that no replica confirmed
  // (WAIT, as for every keyed call there). The connection goes back to the pool.
  std::vector<absl::Status> Finish();

 private:
  friend class RedisClient;
  ScriptPipeline(RedisClient* client, absl::StatusOr<Lease> lease, std::string sha);

  RedisClient* client_;
  std::unique_ptr<Lease> lease_;  // null when broken_ says why, or once Finish ran
  absl::Status broken_;
  absl::Status closed_by_server_;  // set once Redis closed the connection: nothing more is sent
  // On a cluster the connection is taken at the first Send, from the master of its keys' slot;
  // every later Send must stay in that slot.
  bool connect_at_first_send_ = false;
  std::string source_;                // the script, loaded on that master before the first run
  bool script_loaded_first_ = false;  // SCRIPT LOAD's reply precedes the runs' replies
  std::optional<uint16_t> slot_;
  std::string sha_;
  size_t runs_ = 0;  // Sends since the last Finish
  std::chrono::steady_clock::time_point start_;
};

// Maps a Redis error reply's text to a status (see RedisClient's comment).
absl::Status StatusFromRedisError(absl::string_view error_text);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_REDIS_CLIENT_H_

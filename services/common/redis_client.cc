#include "services/common/redis_client.h"

#include <poll.h>
#include <sys/time.h>

#include <chrono>
#include <csignal>
#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <hiredis/hiredis.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/redis_slots.h"

namespace fieldwork {
namespace {

// Latency buckets from 50us to 2.5s: Redis answers in well under a millisecond when healthy,
// and the top buckets show timeouts.
const std::vector<double>& LatencyBuckets() {
  static const auto* buckets = new std::vector<double>{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5};
  return *buckets;
}

}  // namespace

// ---- RedisReply ----

RedisReply::Type RedisReply::type() const {
  switch (node_->type) {
    case REDIS_REPLY_STRING:
      return Type::kString;
    case REDIS_REPLY_ARRAY:
      return Type::kArray;
    case REDIS_REPLY_INTEGER:
      return Type::kInteger;
    case REDIS_REPLY_STATUS:
      return Type::kStatus;
    case REDIS_REPLY_ERROR:
      return Type::kError;
    default:
      return Type::kNil;
  }
}

absl::string_view RedisReply::str() const {
  if (node_->str == nullptr) return {};
  return absl::string_view(node_->str, node_->len);
}

long long RedisReply::integer() const { return node_->integer; }

size_t RedisReply::size() const { return node_->type == REDIS_REPLY_ARRAY ? node_->elements : 0; }

RedisReply RedisReply::operator[](size_t i) const { return RedisReply(root_, node_->element[i]); }

absl::Status StatusFromRedisError(absl::string_view error_text) {
  static constexpr std::pair<absl::string_view, absl::StatusCode> kCodes[] = {
      {"INVALID_ARGUMENT", absl::StatusCode::kInvalidArgument},
      {"NOT_FOUND", absl::StatusCode::kNotFound},
      {"ALREADY_EXISTS", absl::StatusCode::kAlreadyExists},
      {"FAILED_PRECONDITION", absl::StatusCode::kFailedPrecondition},
      {"PERMISSION_DENIED", absl::StatusCode::kPermissionDenied},
      {"ABORTED", absl::StatusCode::kAborted},
      {"RESOURCE_EXHAUSTED", absl::StatusCode::kResourceExhausted},
  };
  for (const auto& [name, code] : kCodes) {
    absl::string_view rest = error_text;
    if (absl::ConsumePrefix(&rest, name) && absl::ConsumePrefix(&rest, ":")) {
      return absl::Status(code, absl::StripLeadingAsciiWhitespace(rest));
    }
  }
  // Redis loading its data set after a restart is transient.
  // So are a Redis Cluster's redirects and failovers, met where the client cannot follow them
  // (the replies of a script pipeline).
  if (absl::StartsWith(error_text, "LOADING") || absl::StartsWith(error_text, "BUSY") ||
      absl::StartsWith(error_text, "TRYAGAIN") || absl::StartsWith(error_text, "MOVED ") ||
      absl::StartsWith(error_text, "ASK ") || absl::StartsWith(error_text, "CLUSTERDOWN")) {
    return absl::UnavailableError(absl::StrCat("redis: ", error_text));
  }
  return absl::InternalError(absl::StrCat("redis: ", error_text));
}

// ---- RedisConnection: one hiredis context; discarded on any I/O error ----

class RedisConnection {
 public:
  RedisConnection(const RedisEndpoint& endpoint, const RedisClientOptions& options)
      : endpoint_(endpoint), options_(options) {}
  ~RedisConnection() { Close(); }

  // Connects if there is no live connection. A connection whose peer has closed it (Redis
  // restarted) is detected before use, so a restart costs the caller nothing.
  absl::Status EnsureConnected() {
    if (context_ != nullptr && !PeerClosed()) return absl::OkStatus();
    Close();
    const timeval connect_timeout = absl::ToTimeval(options_.connect_timeout);
    context_ = endpoint_.transport == RedisEndpoint::Transport::kUnix
                   ? redisConnectUnixWithTimeout(endpoint_.socket_path.c_str(), connect_timeout)
                   : redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port,
                                             connect_timeout);
    if (context_ == nullptr) return absl::UnavailableError("redis: out of memory connecting");
    if (context_->err != 0) {
      absl::Status status = absl::UnavailableError(absl::StrCat(
          "redis at ", endpoint_.Describe(), " unreachable: ", context_->errstr));
      Close();
      return status;
    }
    const timeval command_timeout = absl::ToTimeval(options_.command_timeout);
    redisSetTimeout(context_, command_timeout);
    if (!endpoint_.password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!endpoint_.username.empty()) auth.push_back(endpoint_.username);
      auth.push_back(endpoint_.password);
      absl::StatusOr<RedisReply> reply = Run(auth);
      if (!reply.ok()) return reply.status();
      if (reply->type() == RedisReply::Type::kError) {
        Close();
        return absl::UnauthenticatedError(absl::StrCat("redis AUTH refused: ", reply->str()));
      }
    }
    if (endpoint_.database != 0) {
      absl::StatusOr<RedisReply> reply = Run({"SELECT", std::to_string(endpoint_.database)});
      if (!reply.ok()) return reply.status();
      if (reply->type() == RedisReply::Type::kError) {
        Close();
        return absl::InvalidArgumentError(absl::StrCat("redis SELECT: ", reply->str()));
      }
    }
    return absl::OkStatus();
  }

  // Sends the commands and reads one reply per command. On an I/O error or timeout the
  // connection is closed (its protocol state is unknown) and UNAVAILABLE returned.
  absl::StatusOr<std::vector<RedisReply>> RunAll(
      const std::vector<std::vector<std::string>>& commands) {
    for (const auto& command : commands) {
      if (absl::Status appended = Append(command); !appended.ok()) return appended;
    }
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
      absl::StatusOr<RedisReply> reply = ReadReply();
      if (!reply.ok()) return reply.status();
      replies.push_back(*std::move(reply));
    }
    return replies;
  }

  // Appends one command and writes everything buffered to the socket, without reading.
  absl::Status SendNow(const std::vector<std::string>& command) {
    if (absl::Status appended = Append(command); !appended.ok()) return appended;
    for (int done = 0; done == 0;) {
      if (redisBufferWrite(context_, &done) != REDIS_OK) return IoFailure();
    }
    return absl::OkStatus();
  }

  // Reads the next reply of a command sent earlier.
  absl::StatusOr<RedisReply> ReadReply() {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return IoFailure();
    auto* reply = static_cast<redisReply*>(raw);
    return RedisReply(std::shared_ptr<redisReply>(reply, freeReplyObject), reply);
  }

  absl::StatusOr<RedisReply> Run(const std::vector<std::string>& command) {
    absl::StatusOr<std::vector<RedisReply>> replies = RunAll({command});
    if (!replies.ok()) return replies.status();
    return std::move(replies->front());
  }

  bool connected() const { return context_ != nullptr; }

  // Whether Redis has closed this connection (it restarted, or killed the client) or it failed.
  // Unlike PeerClosed, for a connection in use: replies waiting to be read are no sign of it.
  bool HungUp() const {
    pollfd fd{context_->fd, POLLRDHUP, 0};
    return poll(&fd, 1, 0) > 0 && (fd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }

 private:
  // Adds a command to hiredis's output buffer.
  absl::Status Append(const std::vector<std::string>& command) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(command.size());
    lengths.reserve(command.size());
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      return IoFailure();
    }
    return absl::OkStatus();
  }

  // Redis never sends unsolicited data on a request/reply connection, so a readable or hung-up
  // socket means the server closed it.
  bool PeerClosed() const {
    pollfd fd{context_->fd, POLLIN | POLLRDHUP, 0};
    return poll(&fd, 1, 0) != 0;
  }

  absl::Status IoFailure() {
    absl::Status status = absl::UnavailableError(absl::StrCat(
        "redis at ", endpoint_.Describe(), ": ",
        context_->err != 0 ? context_->errstr : "connection lost"));
    Close();
    return status;
  }

  void Close() {
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
  }

  const RedisEndpoint& endpoint_;
  const RedisClientOptions& options_;
  redisContext* context_ = nullptr;
};

// ---- ConnectionPool: the connections to one Redis node ----

class RedisClient::ConnectionPool {
 public:
  ConnectionPool(RedisEndpoint endpoint, const RedisClientOptions& options)
      : endpoint_(std::move(endpoint)), options_(options) {}

  absl::StatusOr<Lease> Acquire();
  void Release(std::unique_ptr<RedisConnection> connection) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      idle_.push_back(std::move(connection));
    }
    available_.notify_one();
  }
  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  const RedisEndpoint endpoint_;
  const RedisClientOptions& options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  int open_connections_ = 0;
};

// ---- Lease: a pooled connection, returned on destruction ----

class RedisClient::Lease {
 public:
  Lease(ConnectionPool* pool, std::unique_ptr<RedisConnection> connection)
      : pool_(pool), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (connection_ != nullptr) pool_->Release(std::move(connection_));
  }
  RedisConnection* operator->() { return connection_.get(); }
  const RedisEndpoint& node() const { return pool_->endpoint(); }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<RedisConnection> connection_;
};

absl::StatusOr<RedisClient::Lease> RedisClient::ConnectionPool::Acquire() {
  std::unique_ptr<RedisConnection> connection;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool got = available_.wait_for(
        lock, absl::ToChronoNanoseconds(options_.command_timeout),
        [&] { return !idle_.empty() || open_connections_ < options_.pool_size; });
    if (!got) return absl::UnavailableError("redis: every pooled connection is busy");
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_connections_;
      connection = std::make_unique<RedisConnection>(endpoint_, options_);
    }
  }
  Lease lease(this, std::move(connection));
  if (absl::Status status = lease->EnsureConnected(); !status.ok()) return status;
  return lease;
}

// ---- Cluster redirects ----

namespace {

// What a cluster node's error reply tells the client to do instead.
struct Redirect {
  enum class Kind { kMoved, kAsk, kRetryLater } kind;
  uint16_t slot = 0;
  std::string host;  // kMoved, kAsk: the node to go to
  int port = 0;
};

// "MOVED 3999 127.0.0.1:6381", "ASK 3999 127.0.0.1:6381" (an empty host means the host of the
// node that answered), "TRYAGAIN ...", "CLUSTERDOWN ..."; none for any other reply.
std::optional<Redirect> ParseRedirect(const RedisReply& reply, const RedisEndpoint& node) {
  if (reply.type() != RedisReply::Type::kError) return std::nullopt;
  const absl::string_view text = reply.str();
  if (absl::StartsWith(text, "TRYAGAIN") || absl::StartsWith(text, "CLUSTERDOWN")) {
    return Redirect{Redirect::Kind::kRetryLater, 0, "", 0};
  }
  const bool moved = absl::StartsWith(text, "MOVED ");
  if (!moved && !absl::StartsWith(text, "ASK ")) return std::nullopt;
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ' ');
  int slot = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &slot) || slot < 0 ||
      slot >= kRedisClusterSlots) {
    return std::nullopt;
  }
  const size_t colon = parts[2].rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(parts[2].substr(colon + 1), &port)) {
    return std::nullopt;
  }
  Redirect redirect{moved ? Redirect::Kind::kMoved : Redirect::Kind::kAsk,
                    static_cast<uint16_t>(slot), std::string(parts[2].substr(0, colon)), port};
  if (redirect.host.empty()) redirect.host = node.host;
  return redirect;
}

std::string NodeName(absl::string_view host, int port) { return absl::StrCat(host, ":", port); }

// How long the slot map is trusted without a redirect or an error saying it is wrong.
constexpr auto kSlotMapMaxAge = std::chrono::seconds(60);
// Redirects followed for one call before giving up (a slot cannot move that often).
constexpr int kMaxRedirects = 16;

}  // namespace

// ---- RedisClient ----

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Create(
    const RedisClientOptions& options) {
  // hiredis writes with write(2): a write to a connection Redis has just closed (a restart)
  // would raise SIGPIPE and kill the process. It must be an I/O error we recover from instead.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(options.url);
  if (!endpoint.ok()) return endpoint.status();
  if (options.pool_size < 1) return absl::InvalidArgumentError("redis pool_size must be >= 1");
  return std::unique_ptr<RedisClient>(new RedisClient(*std::move(endpoint), options));
}

RedisClient::RedisClient(RedisEndpoint endpoint, const RedisClientOptions& options)
    : endpoint_(std::move(endpoint)), options_(options) {
  if (options_.registry != nullptr) {
    latency_family_ = &prometheus::BuildHistogram()
                           .Name("fieldwork_redis_command_duration_seconds")
                           .Help("Time from sending a Redis command to reading its reply.")
                           .Register(*options_.registry);
  }
  if (endpoint_.cluster) {
    slot_masters_.assign(kRedisClusterSlots, nullptr);
    for (const auto& [host, port] : endpoint_.cluster_seeds) NodePool(host, port);
  } else {
    single_pool_ = std::make_unique<ConnectionPool>(endpoint_, options_);
  }
}

RedisClient::~RedisClient() = default;

RedisClient::ConnectionPool& RedisClient::NodePool(const std::string& host, int port) {
  std::lock_guard<std::mutex> lock(cluster_mutex_);
  std::unique_ptr<ConnectionPool>& pool = nodes_[NodeName(host, port)];
  if (pool == nullptr) {
    RedisEndpoint node = endpoint_;
    node.host = host;
    node.port = port;
    node.cluster_seeds.clear();
    pool = std::make_unique<ConnectionPool>(std::move(node), options_);
  }
  return *pool;
}

absl::Status RedisClient::RefreshSlots() {
  std::lock_guard<std::mutex> refreshing(refresh_mutex_);
  std::vector<ConnectionPool*> candidates;
  {
    std::lock_guard<std::mutex> lock(cluster_mutex_);
    // A refresh that finished while this caller waited for its turn serves it too.
    if (!slots_stale_ && std::chrono::steady_clock::now() - slots_read_at_ < kSlotMapMaxAge) {
      return absl::OkStatus();
    }
    for (const auto& [name, pool] : nodes_) candidates.push_back(pool.get());
  }
  absl::Status last = absl::UnavailableError("redis cluster: no node known");
  for (ConnectionPool* candidate : candidates) {
    absl::StatusOr<Lease> lease = candidate->Acquire();
    if (!lease.ok()) {
      last = lease.status();
      continue;
    }
    absl::StatusOr<std::vector<RedisReply>> replies = (*lease)->RunAll({{"CLUSTER", "SLOTS"}});
    if (!replies.ok()) {
      last = replies.status();
      continue;
    }
    const RedisReply& slots = replies->front();
    if (slots.type() != RedisReply::Type::kArray) {
      last = absl::UnavailableError(absl::StrCat("redis cluster: CLUSTER SLOTS on ",
                                                 candidate->endpoint().Describe(), ": ",
                                                 slots.str()));
      continue;
    }
    std::vector<ConnectionPool*> masters(kRedisClusterSlots, nullptr);
    for (size_t i = 0; i < slots.size(); ++i) {
      const RedisReply range = slots[i];
      if (range.size() < 3 || range[2].size() < 2) continue;
      std::string host(range[2][0].str());
      if (host.empty() || host == "?") host = candidate->endpoint().host;
      ConnectionPool* master = &NodePool(host, static_cast<int>(range[2][1].integer()));
      for (long long slot = range[0].integer(); slot <= range[1].integer(); ++slot) {
        if (slot >= 0 && slot < kRedisClusterSlots) masters[static_cast<size_t>(slot)] = master;
      }
    }
    std::lock_guard<std::mutex> lock(cluster_mutex_);
    slot_masters_ = std::move(masters);
    slots_read_at_ = std::chrono::steady_clock::now();
    slots_stale_ = false;
    return absl::OkStatus();
  }
  return last;
}

absl::StatusOr<RedisClient::Lease> RedisClient::Acquire(std::optional<uint16_t> slot) {
  if (single_pool_ != nullptr) return single_pool_->Acquire();
  ConnectionPool* pool = nullptr;
  for (int attempt = 0; attempt < 2 && pool == nullptr; ++attempt) {
    bool refresh = false;
    {
      std::lock_guard<std::mutex> lock(cluster_mutex_);
      refresh = slots_stale_ || std::chrono::steady_clock::now() - slots_read_at_ > kSlotMapMaxAge;
      if (!refresh || attempt > 0) {
        // A keyless command (PING, SCRIPT LOAD, CONFIG) goes to a master too: a replica would
        // refuse what it may not do, and cannot answer WAIT.
        pool = slot_masters_[slot.value_or(0)];
      }
    }
    if (refresh && attempt == 0) {
      // A failed refresh keeps the old map: a stale master still answers or redirects.
      (void)RefreshSlots();
    }
  }
  if (pool == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("redis cluster: no master serves slot ", slot.value_or(0)));
  }
  return pool->Acquire();
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Run(
    const std::vector<std::vector<std::string>>& commands, bool atomic) {
  if (single_pool_ != nullptr) {
#ifndef NDEBUG
    // Debug builds hold a single Redis to the cluster's rule, so that a pipeline, transaction
    // or script spanning two slots fails in the tests, not first on a customer's cluster.
    // (Commands the routing does not know are left to the cluster client to refuse.)
    if (absl::StatusOr<std::optional<uint16_t>> slot = RedisCommandsSlot(commands);
        !slot.ok() && absl::StartsWith(slot.status().message(), "CROSSSLOT")) {
      return slot.status();
    }
#endif
    absl::StatusOr<Lease> lease = single_pool_->Acquire();
    if (!lease.ok()) return lease.status();
    return (*lease)->RunAll(commands);
  }
  absl::StatusOr<std::optional<uint16_t>> slot = RedisCommandsSlot(commands);
  if (!slot.ok()) return slot.status();

  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options_.command_timeout);
  std::vector<std::optional<RedisReply>> replies(commands.size());
  std::vector<size_t> pending(commands.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  ConnectionPool* ask_node = nullptr;  // after ASK: the importing node, for one try
  auto backoff = std::chrono::milliseconds(5);
  absl::Status last;
  for (int round = 0; !pending.empty(); ++round) {
    if (round > kMaxRedirects || (round > 0 && std::chrono::steady_clock::now() > deadline)) {
      return absl::UnavailableError(
          absl::StrCat("redis cluster: gave up after ", round, " redirects: ", last.message()));
    }
    std::vector<std::vector<std::string>> batch;
    for (size_t i : pending) {
      if (ask_node != nullptr) batch.push_back({"ASKING"});
      batch.push_back(commands[i]);
    }
    const bool wait = options_.cluster_wait_replicas > 0 && slot->has_value();
    if (wait) {
      batch.push_back({"WAIT", std::to_string(options_.cluster_wait_replicas),
                       std::to_string(absl::ToInt64Milliseconds(options_.command_timeout))});
    }
    absl::StatusOr<Lease> lease = ask_node != nullptr ? ask_node->Acquire() : Acquire(*slot);
    ask_node = nullptr;
    absl::StatusOr<std::vector<RedisReply>> got =
        lease.ok() ? (*lease)->RunAll(batch) : absl::StatusOr<std::vector<RedisReply>>(
                                                   lease.status());
    if (!got.ok()) {
      // The master may have died and a replica be taking over: read the map again and retry,
      // within the command timeout. A pipeline's writes may or may not have run; the callers'
      // writes are idempotent (DESIGN.md), so running them again is safe.
      if (got.status().code() != absl::StatusCode::kUnavailable) return got.status();
      last = got.status();
      {
        std::lock_guard<std::mutex> lock(cluster_mutex_);
        slots_stale_ = true;
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
      continue;
    }
    const RedisEndpoint node = lease->node();
    std::optional<RedisReply> acked;  // WAIT's reply, judged once no command was redirected
    if (wait) {
      acked = std::move(got->back());
      got->pop_back();
    }
    std::vector<size_t> redirected;
    std::optional<Redirect> redirect;
    const size_t stride = got->size() / pending.size();  // 2 with ASKING before each command
    for (size_t k = 0; k < pending.size(); ++k) {
      const RedisReply& reply = (*got)[k * stride + stride - 1];
      if (std::optional<Redirect> r = ParseRedirect(reply, node); r.has_value()) {
        redirected.push_back(pending[k]);
        redirect = r;
        last = absl::UnavailableError(reply.str());
      } else {
        replies[pending[k]] = reply;
      }
    }
    if (!redirect.has_value()) {
      if (acked.has_value() && (acked->type() != RedisReply::Type::kInteger ||
                                acked->integer() < options_.cluster_wait_replicas)) {
        {
          // A master without a replica answering may be mid-failover: read the map again.
          std::lock_guard<std::mutex> lock(cluster_mutex_);
          slots_stale_ = true;
        }
        return absl::UnavailableError(absl::StrCat(
            "redis cluster: the writes reached ",
            acked->type() == RedisReply::Type::kInteger ? absl::StrCat(acked->integer())
                                                        : absl::StrCat("(", acked->str(), ")"),
            " of ", options_.cluster_wait_replicas, " replicas of ", node.Describe(),
            " in time"));
      }
      break;
    }
    // Redirected (a node that is now a replica answers MOVED, and cannot answer WAIT): follow
    // the redirect; WAIT goes with the retry. A transaction with any command redirected ran
    // nothing (EXECABORT): all of it again.
    pending = atomic ? pending : redirected;
    if (redirect->kind == Redirect::Kind::kMoved) {
      ConnectionPool* master = &NodePool(redirect->host, redirect->port);
      std::lock_guard<std::mutex> lock(cluster_mutex_);
      slot_masters_[redirect->slot] = master;
      slots_stale_ = true;  // more slots may have moved with it: read the whole map soon
    } else if (redirect->kind == Redirect::Kind::kAsk && !atomic) {
      ask_node = &NodePool(redirect->host, redirect->port);
    } else {
      // TRYAGAIN, CLUSTERDOWN, or a transaction caught in a slot migration: wait and retry.
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
    }
  }
  std::vector<RedisReply> out;
  out.reserve(replies.size());
  for (std::optional<RedisReply>& reply : replies) out.push_back(*std::move(reply));
  return out;
}

void RedisClient::ObserveLatency(absl::string_view command, double seconds) {
  if (latency_family_ == nullptr) return;
  std::lock_guard<std::mutex> lock(latency_mutex_);
  auto it = latency_by_command_.find(command);
  if (it == latency_by_command_.end()) {
    prometheus::Histogram* histogram =
        &latency_family_->Add({{"command", std::string(command)}}, LatencyBuckets());
    it = latency_by_command_.emplace(std::string(command), histogram).first;
  }
  it->second->Observe(seconds);
}

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

absl::StatusOr<RedisReply> ErrorReplyToStatus(absl::StatusOr<RedisReply> reply) {
  if (reply.ok() && reply->type() == RedisReply::Type::kError) {
    return StatusFromRedisError(reply->str());
  }
  return reply;
}

}  // namespace

absl::StatusOr<RedisReply> RedisClient::Command(std::initializer_list<absl::string_view> args) {
  std::vector<std::string> owned(args.begin(), args.end());
  return Command(absl::MakeConstSpan(owned));
}

absl::StatusOr<RedisReply> RedisClient::Command(absl::Span<const std::string> args) {
  if (args.empty()) return absl::InvalidArgumentError("redis: empty command");
  const std::string name = absl::AsciiStrToUpper(args.front());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<RedisReply>> replies =
      Run({std::vector<std::string>(args.begin(), args.end())}, /*atomic=*/false);
  ObserveLatency(name, SecondsSince(start));
  if (!replies.ok()) return replies.status();
  return ErrorReplyToStatus(std::move(replies->front()));
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return std::vector<RedisReply>{};
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<RedisReply>> replies = Run(commands, /*atomic=*/false);
  ObserveLatency("PIPELINE", SecondsSince(start));
  return replies;
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Transaction(
    const std::vector<std::vector<std::string>>& commands) {
  std::vector<std::vector<std::string>> wrapped;
  wrapped.reserve(commands.size() + 2);
  wrapped.push_back({"MULTI"});
  wrapped.insert(wrapped.end(), commands.begin(), commands.end());
  wrapped.push_back({"EXEC"});
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<RedisReply>> replies = Run(wrapped, /*atomic=*/true);
  ObserveLatency("MULTI", SecondsSince(start));
  if (!replies.ok()) return replies.status();
  // A command rejected while queueing makes EXEC fail with EXECABORT: report that command's
  // own error, which says what was wrong.
  for (size_t i = 1; i + 1 < replies->size(); ++i) {
    if ((*replies)[i].type() == RedisReply::Type::kError) {
      return StatusFromRedisError((*replies)[i].str());
    }
  }
  const RedisReply& exec = replies->back();
  if (exec.type() == RedisReply::Type::kError) return StatusFromRedisError(exec.str());
  if (exec.type() != RedisReply::Type::kArray) {
    return absl::AbortedError("redis: transaction aborted");
  }
  std::vector<RedisReply> results;
  results.reserve(exec.size());
  for (size_t i = 0; i < exec.size(); ++i) results.push_back(exec[i]);
  return results;
}

absl::StatusOr<std::string> RedisClient::ScriptSha(const LuaScript& script, bool reload) {
  if (!reload) {
    std::lock_guard<std::mutex> lock(scripts_mutex_);
    if (auto it = script_shas_.find(script.source()); it != script_shas_.end()) return it->second;
  }
  absl::StatusOr<RedisReply> loaded = Command({"SCRIPT", "LOAD", script.source()});
  if (!loaded.ok()) return loaded.status();
  std::string sha(loaded->str());
  std::lock_guard<std::mutex> lock(scripts_mutex_);
  script_shas_[script.source()] = sha;
  return sha;
}

absl::StatusOr<RedisReply> RedisClient::Eval(const LuaScript& script,
                                             const std::vector<std::string>& keys,
                                             const std::vector<std::string>& args) {
  for (bool reload : {false, true}) {
    absl::StatusOr<std::string> sha = ScriptSha(script, reload && single_pool_ != nullptr);
    if (!sha.ok()) return sha.status();
    std::vector<std::string> command = {"EVALSHA", *sha, std::to_string(keys.size())};
    command.insert(command.end(), keys.begin(), keys.end());
    command.insert(command.end(), args.begin(), args.end());
    // On a cluster each master has its own script cache: the script is loaded on the master
    // that runs it, in the same round trip, by routing SCRIPT LOAD with the keys' slot.
    std::vector<std::vector<std::string>> commands;
    if (reload && single_pool_ == nullptr) commands.push_back({"SCRIPT", "LOAD", script.source()});
    commands.push_back(std::move(command));
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::vector<RedisReply>> replies = Run(commands, /*atomic=*/false);
    ObserveLatency("EVALSHA", SecondsSince(start));
    if (!replies.ok()) return replies.status();
    RedisReply reply = replies->back();
    // NOSCRIPT: Redis restarted or its script cache was flushed; load again and retry once.
    if (reply.type() == RedisReply::Type::kError && absl::StartsWith(reply.str(), "NOSCRIPT")) {
      continue;
    }
    return ErrorReplyToStatus(std::move(reply));
  }
  return absl::InternalError("redis: script still missing after SCRIPT LOAD");
}

RedisClient::ScriptPipeline RedisClient::OpenScriptPipeline(const LuaScript& script) {
  absl::StatusOr<std::string> sha = ScriptSha(script, /*reload=*/false);
  if (!sha.ok()) return ScriptPipeline(this, sha.status(), "");
  if (single_pool_ == nullptr) {
    ScriptPipeline pipeline(this, absl::FailedPreconditionError("not connected yet"),
                            *std::move(sha));
    pipeline.connect_at_first_send_ = true;
    pipeline.source_ = script.source();
    return pipeline;
  }
  return ScriptPipeline(this, single_pool_->Acquire(), *std::move(sha));
}

RedisClient::ScriptPipeline::ScriptPipeline(RedisClient* client, absl::StatusOr<Lease> lease,
                                            std::string sha)
    : client_(client),
      lease_(lease.ok() ? std::make_unique<Lease>(*std::move(lease)) : nullptr),
      broken_(lease.status()),
      sha_(std::move(sha)),
      start_(std::chrono::steady_clock::now()) {}

RedisClient::ScriptPipeline::ScriptPipeline(ScriptPipeline&&) noexcept = default;

// Replies not read by Finish would be read by the connection's next user: a pipeline dropped
// without Finish reads them here.
RedisClient::ScriptPipeline::~ScriptPipeline() {
  if (lease_ != nullptr) Finish();
}

absl::Status RedisClient::ScriptPipeline::Send(const std::vector<std::string>& keys,
                                               const std::vector<std::string>& args) {
  ++runs_;  // a failed write may or may not have reached Redis: Finish reports it unanswered
  std::vector<std::string> command = {"EVALSHA", sha_, std::to_string(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  if (connect_at_first_send_) {
    absl::StatusOr<std::optional<uint16_t>> slot = RedisCommandsSlot({command});
    if (!slot.ok()) return slot.status();
    if (runs_ == 1) {
      slot_ = *slot;
      absl::StatusOr<Lease> lease = client_->Acquire(slot_);
      broken_ = lease.status();
      if (lease.ok()) {
        lease_ = std::make_unique<Lease>(*std::move(lease));
        // Each master has its own script cache, and the SHA was loaded on slot 0's: load the
        // script on this one first, in the same stream, or every run would be NOSCRIPT (and
        // nothing recorded until the caller's fallback).
        broken_ = (*lease_)->SendNow({"SCRIPT", "LOAD", source_});
        if (broken_.ok()) {
          script_loaded_first_ = true;
        } else {
          lease_.reset();
        }
      }
    } else if (*slot != slot_) {
      return absl::InvalidArgumentError(
          "CROSSSLOT: a script pipeline's runs must keep their keys in one slot");
    }
  }
  if (lease_ == nullptr) return broken_;
  if (!closed_by_server_.ok()) return closed_by_server_;
  if (absl::Status status = (*lease_)->SendNow(command); !status.ok()) {
    broken_ = status;
    lease_.reset();  // the failed connection was closed; it goes back to reconnect
    return broken_;
  }
  // A write to a connection Redis has closed still succeeds (the kernel takes it) and is lost.
  // Said at once, so that the caller need not wait for Finish to learn that this run, and
  // earlier ones Redis had not read, may never be run. Nothing more is written to it; Finish
  // still reads the replies Redis sent before closing, which tell the runs that were.
  if ((*lease_)->HungUp()) {
    closed_by_server_ = absl::UnavailableError(
        absl::StrCat("redis at ", client_->endpoint_.Describe(),
                     " closed the connection of a script pipeline: its last runs may not have "
                     "been run"));
  }
  return closed_by_server_;
}

std::vector<absl::Status> RedisClient::ScriptPipeline::Finish() {
  std::vector<absl::Status> results;
  results.reserve(runs_);
  if (script_loaded_first_ && lease_ != nullptr) {
    // SCRIPT LOAD's reply: a failed load shows as NOSCRIPT in the runs' own replies.
    if (absl::StatusOr<RedisReply> loaded = (*lease_)->ReadReply(); !loaded.ok()) {
      broken_ = loaded.status();
      lease_.reset();
    }
  }
  script_loaded_first_ = false;
  // On a cluster a write counts only once a replica has it (as for every keyed call), so that
  // a master killed now cannot take an acknowledged run with it: one WAIT after the runs.
  const bool wait = connect_at_first_send_ && runs_ > 0 && lease_ != nullptr &&
                    client_->options_.cluster_wait_replicas > 0;
  if (wait) {
    if (absl::Status sent = (*lease_)->SendNow(
            {"WAIT", std::to_string(client_->options_.cluster_wait_replicas),
             std::to_string(absl::ToInt64Milliseconds(client_->options_.command_timeout))});
        !sent.ok()) {
      broken_ = sent;
      lease_.reset();
    }
  }
  for (size_t i = 0; i < runs_; ++i) {
    if (lease_ == nullptr) {
      results.push_back(broken_);
      continue;
    }
    absl::StatusOr<RedisReply> reply = (*lease_)->ReadReply();
    if (!reply.ok()) {
      broken_ = reply.status();
      lease_.reset();
      results.push_back(broken_);
    } else if (reply->type() == RedisReply::Type::kError) {
      results.push_back(StatusFromRedisError(reply->str()));
    } else {
      results.push_back(absl::OkStatus());
    }
  }
  if (wait && lease_ != nullptr) {
    absl::StatusOr<RedisReply> acked = (*lease_)->ReadReply();
    if (!acked.ok() || acked->type() != RedisReply::Type::kInteger ||
        acked->integer() < client_->options_.cluster_wait_replicas) {
      const absl::Status unconfirmed = absl::UnavailableError(
          "redis cluster: no replica confirmed the pipeline's writes (WAIT)");
      for (absl::Status& result : results) {
        if (result.ok()) result = unconfirmed;
      }
      if (!acked.ok()) lease_.reset();
    }
  } else if (wait) {
    for (absl::Status& result : results) {
      if (result.ok()) result = absl::UnavailableError("redis cluster: WAIT was not answered");
    }
  }
  if (runs_ > 0) client_->ObserveLatency("EVALSHA_PIPELINE", SecondsSince(start_));
  runs_ = 0;
  lease_.reset();
  closed_by_server_ = absl::OkStatus();
  broken_ = absl::FailedPreconditionError("redis: script pipeline already finished");
  return results;
}

absl::StatusOr<std::vector<RedisClient::ServerReply>> RedisClient::CommandOnEveryMaster(
    std::initializer_list<absl::string_view> args) {
  const std::vector<std::string> command(args.begin(), args.end());
  absl::StatusOr<std::vector<absl::string_view>> keys = RedisCommandKeys(command);
  if (!keys.ok()) return keys.status();
  if (!keys->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis: ", command.front(), " has keys; it cannot run on every master"));
  }
  std::vector<ConnectionPool*> masters;
  if (single_pool_ != nullptr) {
    masters.push_back(single_pool_.get());
  } else {
    // A fresh map: a master that took over since the last read must be asked too.
    {
      std::lock_guard<std::mutex> lock(cluster_mutex_);
      slots_stale_ = true;
    }
    if (absl::Status refreshed = RefreshSlots(); !refreshed.ok()) return refreshed;
    std::lock_guard<std::mutex> lock(cluster_mutex_);
    for (ConnectionPool* master : slot_masters_) {
      if (master != nullptr && std::find(masters.begin(), masters.end(), master) == masters.end()) {
        masters.push_back(master);
      }
    }
  }
  std::vector<ServerReply> out;
  for (ConnectionPool* master : masters) {
    absl::StatusOr<Lease> lease = master->Acquire();
    if (!lease.ok()) return lease.status();
    absl::StatusOr<std::vector<RedisReply>> replies = (*lease)->RunAll({command});
    if (!replies.ok()) return replies.status();
    out.push_back({master->endpoint().Describe(), replies->front()});
  }
  return out;
}

absl::Status RedisClient::Ping() {
  absl::StatusOr<RedisReply> reply = Command({"PING"});
  return reply.ok() ? absl::OkStatus() : reply.status();
}

}  // namespace fieldwork

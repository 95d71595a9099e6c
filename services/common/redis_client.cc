#include "services/common/redis_client.h"

#include <poll.h>
#include <sys/time.h>

#include <chrono>
#include <csignal>
#include <mutex>
#include <utility>

#include <hiredis/hiredis.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

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
  if (absl::StartsWith(error_text, "LOADING") || absl::StartsWith(error_text, "BUSY") ||
      absl::StartsWith(error_text, "TRYAGAIN")) {
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

// ---- Lease: a pooled connection, returned on destruction ----

class RedisClient::Lease {
 public:
  Lease(RedisClient* client, std::unique_ptr<RedisConnection> connection)
      : client_(client), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (connection_ != nullptr) client_->Release(std::move(connection_));
  }
  RedisConnection* operator->() { return connection_.get(); }

 private:
  RedisClient* client_;
  std::unique_ptr<RedisConnection> connection_;
};

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
}

RedisClient::~RedisClient() = default;

absl::StatusOr<RedisClient::Lease> RedisClient::Acquire() {
  std::unique_ptr<RedisConnection> connection;
  {
    std::unique_lock<std::mutex> lock(pool_mutex_);
    const bool got = pool_available_.wait_for(
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

void RedisClient::Release(std::unique_ptr<RedisConnection> connection) {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    idle_.push_back(std::move(connection));
  }
  pool_available_.notify_one();
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
  std::vector<std::string> command(args.begin(), args.end());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Lease> lease = Acquire();
  if (!lease.ok()) return lease.status();
  absl::StatusOr<RedisReply> reply = (*lease)->Run(command);
  ObserveLatency(name, SecondsSince(start));
  return ErrorReplyToStatus(std::move(reply));
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return std::vector<RedisReply>{};
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Lease> lease = Acquire();
  if (!lease.ok()) return lease.status();
  absl::StatusOr<std::vector<RedisReply>> replies = (*lease)->RunAll(commands);
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
  absl::StatusOr<Lease> lease = Acquire();
  if (!lease.ok()) return lease.status();
  absl::StatusOr<std::vector<RedisReply>> replies = (*lease)->RunAll(wrapped);
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
    absl::StatusOr<std::string> sha = ScriptSha(script, reload);
    if (!sha.ok()) return sha.status();
    std::vector<std::string> command = {"EVALSHA", *sha, std::to_string(keys.size())};
    command.insert(command.end(), keys.begin(), keys.end());
    command.insert(command.end(), args.begin(), args.end());
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<Lease> lease = Acquire();
    if (!lease.ok()) return lease.status();
    absl::StatusOr<RedisReply> reply = (*lease)->Run(command);
    ObserveLatency("EVALSHA", SecondsSince(start));
    if (!reply.ok()) return reply.status();
    // NOSCRIPT: Redis restarted or its script cache was flushed; load again and retry once.
    if (reply->type() == RedisReply::Type::kError && absl::StartsWith(reply->str(), "NOSCRIPT")) {
      continue;
    }
    return ErrorReplyToStatus(std::move(reply));
  }
  return absl::InternalError("redis: script still missing after SCRIPT LOAD");
}

RedisClient::ScriptPipeline RedisClient::OpenScriptPipeline(const LuaScript& script) {
  absl::StatusOr<std::string> sha = ScriptSha(script, /*reload=*/false);
  if (!sha.ok()) return ScriptPipeline(this, sha.status(), "");
  return ScriptPipeline(this, Acquire(), *std::move(sha));
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
  if (lease_ == nullptr) return broken_;
  std::vector<std::string> command = {"EVALSHA", sha_, std::to_string(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  if (absl::Status status = (*lease_)->SendNow(command); !status.ok()) {
    broken_ = status;
    lease_.reset();  // the failed connection was closed; it goes back to reconnect
  }
  return broken_;
}

std::vector<absl::Status> RedisClient::ScriptPipeline::Finish() {
  std::vector<absl::Status> results;
  results.reserve(runs_);
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
  if (runs_ > 0) client_->ObserveLatency("EVALSHA_PIPELINE", SecondsSince(start_));
  runs_ = 0;
  lease_.reset();
  broken_ = absl::FailedPreconditionError("redis: script pipeline already finished");
  return results;
}

absl::Status RedisClient::Ping() {
  absl::StatusOr<RedisReply> reply = Command({"PING"});
  return reply.ok() ? absl::OkStatus() : reply.status();
}

}  // namespace fieldwork

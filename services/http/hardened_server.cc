#include "services/http/hardened_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/http/deadline_stream.h"

namespace fieldwork::http {
namespace {

using Clock = std::chrono::steady_clock;
using HandlerResponse = httplib::Server::HandlerResponse;

// Threads allowed beyond max_connections at once, for connections on their way to being
// refused; past them the accept thread refuses a connection itself.
constexpr int kRefusalThreads = 64;
// The accept backlog (cpp-httplib's is 5): deep enough for a burst of connections while the
// accept thread hands them to their threads.
constexpr int kListenBacklog = 1024;
// A chunked body's framing (sizes, CRLFs, trailers) on top of its data.
constexpr size_t kChunkFramingAllowance = 8 * 1024;
// After refusing a body that may still be arriving, the server reads (and drops) a little of
// it before closing: closing with unread data sends a reset, which can destroy the refusal
// before the client reads it. Bounded, so a client cannot keep the thread this way.
constexpr std::chrono::milliseconds kLingerTime(1000);
constexpr size_t kLingerBytes = 1024 * 1024;

// The connection a thread is serving. cpp-httplib calls the pre-routing, error and
// Expect: 100-continue handlers on that thread without passing them the stream; this is how
// they reach it.
struct Connection {
  DeadlineStream* stream = nullptr;
  // Set when a request was answered before its body was read: what follows on the socket is
  // that body, not a request, so the connection ends after the answer.
  bool close_after = false;
};
thread_local Connection* t_connection = nullptr;
// Set while the accept thread runs a connection itself because no thread was to be had:
// that connection is refused at once.
thread_local bool t_refuse_now = false;

std::chrono::milliseconds Millis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// One thread per connection, created on accept: a connection never waits for another to
// finish, which is what let 8 slow clients block cpp-httplib's fixed pool. The threads are
// bounded: connections past max_connections are refused as soon as their thread starts, and
// past max_connections + kRefusalThreads the accept thread refuses them itself.
class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(int max_threads) : max_threads_(max_threads) {}

  void enqueue(std::function<void()> fn) override {
    auto task = std::make_shared<std::function<void()>>(std::move(fn));
    bool spawn = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      spawn = running_ < max_threads_;
      if (spawn) ++running_;
    }
    if (spawn) {
      try {
        std::thread([this, task]() mutable {
          (*task)();
          task.reset();
          Done();
        }).detach();
        return;
      } catch (const std::system_error&) {
        Done();
      }
    }
    t_refuse_now = true;
    (*task)();
    t_refuse_now = false;
  }

  // Waits for every connection thread; they notice the stop within one poll slice.
  void shutdown() override {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return running_ == 0; });
  }

 private:
  void Done() {
    // Notified under the lock: shutdown() cannot return (and the queue be deleted) before
    // this thread has let go of the mutex.
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
    done_.notify_all();
  }

  const int max_threads_;
  std::mutex mutex_;
  std::condition_variable done_;
  int running_ = 0;
};

// The refusal of a connection over a cap: sent without waiting (it is best effort), then closed.
void RefuseAndClose(int fd) {
  static constexpr char kBusy[] =
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"
      "Content-Type: text/plain\r\nContent-Length: 21\r\n\r\ntoo many connections\n";
  (void)::send(fd, kBusy, sizeof(kBusy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  ::close(fd);
}

void LingeringClose(int fd) {
  ::shutdown(fd, SHUT_WR);
  const auto until = Clock::now() + kLingerTime;
  std::array<char, 4096> sink;
  size_t drained = 0;
  while (drained < kLingerBytes) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::recv(fd, sink.data(), sink.size(), 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
  ::close(fd);
}

void Answer(httplib::Response& res, int status, const std::string& text) {
  res.status = status;
  res.set_header("Connection", "close");
  res.set_content(text + "\n", "text/plain; charset=utf-8");
}

std::string DurationText(absl::Duration d) { return absl::FormatDuration(d); }

}  // namespace

HardenedServer::HardenedServer(const HttpLimits& limits)
    : limits_(limits), limiter_(limits.max_connections, limits.max_connections_per_address) {
  const int max_threads = limits_.max_connections + kRefusalThreads;
  new_task_queue = [max_threads] { return new ConnectionThreads(max_threads); };
  // Used by cpp-httplib only for the Keep-Alive response header (and as a backstop): the
  // limits themselves are enforced in process_and_close_socket.
  set_keep_alive_max_count(static_cast<size_t>(limits_.keep_alive_max_requests));
  set_keep_alive_timeout(std::max<time_t>(1, absl::ToInt64Seconds(limits_.keep_alive_timeout)));
  set_payload_max_length(limits_.max_body_bytes);
  // cpp-httplib sends a response's headers and body in separate writes: with Nagle's algorithm
  // the body waits for the client's delayed ACK of the headers, about 40 ms per request.
  set_tcp_nodelay(true);

  set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    uint64_t length = 0;
    if (absl::SimpleAtoi(req.get_header_value("Content-Length"), &length) &&
        length > limits_.max_body_bytes && t_connection != nullptr) {
      t_connection->close_after = true;
      ++bodies_too_large_;
      Answer(res, 413,
             absl::StrCat("Content-Length: ", length, " bytes is over the limit of ",
                          limits_.max_body_bytes));
      return 413;
    }
    return 100;
  });

  // Runs after the headers and before cpp-httplib reads any body: the place to refuse a body
  // unread and to start its deadline and budget.
  set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    Connection* connection = t_connection;
    if (connection == nullptr) return HandlerResponse::Unhandled;
    auto refuse = [&](int status, const std::string& text) {
      connection->close_after = true;
      if (status == 413) ++bodies_too_large_;
      Answer(res, status, text);
      return HandlerResponse::Handled;
    };
    const auto deadline = Clock::now() + Millis(limits_.body_timeout);
    const std::string transfer_encoding = req.get_header_value("Transfer-Encoding");
    const bool has_length = req.has_header("Content-Length");
    const std::string content_encoding = req.get_header_value("Content-Encoding");
    // A compressed body would be inflated by cpp-httplib without a limit (a zip bomb).
    if (!content_encoding.empty() && !absl::EqualsIgnoreCase(content_encoding, "identity")) {
      return refuse(415, "Content-Encoding: compressed request bodies are not accepted");
    }
    if (!transfer_encoding.empty()) {
      // cpp-httplib understands only a bare "chunked"; anything else it would read as a body
      // without a length, up to the end of the connection.
      if (!absl::EqualsIgnoreCase(transfer_encoding, "chunked")) {
        return refuse(501, "Transfer-Encoding: only chunked is supported");
      }
      // Both framings at once is how requests are smuggled past proxies (RFC 9112 6.3).
      if (has_length) {
        return refuse(400, "Content-Length: not allowed with Transfer-Encoding");
      }
      connection->stream->BeginBody(deadline, limits_.max_body_bytes + kChunkFramingAllowance,
                                    /*end_at_limit=*/false);
      return HandlerResponse::Unhandled;
    }
    if (has_length) {
      if (req.get_header_value_count("Content-Length") != 1) {
        return refuse(400, "Content-Length: given more than once");
      }
      uint64_t length = 0;
      if (!absl::SimpleAtoi(req.get_header_value("Content-Length"), &length)) {
        return refuse(400, "Content-Length: not a number");
      }
      if (length > limits_.max_body_bytes) {
        return refuse(413, absl::StrCat("Content-Length: ", length,
                                        " bytes is over the limit of ", limits_.max_body_bytes));
      }
      connection->stream->BeginBody(deadline, length,
                                    /*end_at_limit=*/true);
      return HandlerResponse::Unhandled;
    }
    // No framing: no body (RFC 9112 6.3), even for a POST.
    connection->stream->BeginBody(deadline, 0, /*end_at_limit=*/true);
    return HandlerResponse::Unhandled;
  });

  // cpp-httplib answers a failed read with 400; say what actually went wrong.
  set_error_handler(HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    Connection* connection = t_connection;
    if (connection == nullptr) return HandlerResponse::Unhandled;
    switch (connection->stream->failure()) {
      case DeadlineStream::Failure::kBodyTooLarge:
        Answer(res, 413,
               absl::StrCat("request body: over the limit of ", limits_.max_body_bytes, " bytes"));
        return HandlerResponse::Handled;
      case DeadlineStream::Failure::kHeadersTooLarge:
        Answer(res, 431, absl::StrCat("request headers: over the limit of ",
                                      limits_.max_header_bytes, " bytes"));
        return HandlerResponse::Handled;
      case DeadlineStream::Failure::kHeaderDeadline:
        Answer(res, 408, absl::StrCat("request headers: not complete within ",
                                      DurationText(limits_.header_timeout)));
        return HandlerResponse::Handled;
      case DeadlineStream::Failure::kBodyDeadline:
        Answer(res, 408, absl::StrCat("request body: not complete within ",
                                      DurationText(limits_.body_timeout)));
        return HandlerResponse::Handled;
      default:
        return HandlerResponse::Unhandled;
    }
  }));
}

HardenedServer::~HardenedServer() = default;

int HardenedServer::Bind(const std::string& host, int port) {
  const int bound = port == 0 ? bind_to_any_port(host) : (bind_to_port(host, port) ? port : -1);
  // Listening again on a listening socket only changes its backlog (Linux); the kernel caps
  // it at net.core.somaxconn.
  if (bound > 0 && ::listen(svr_sock_, kListenBacklog) != 0) return -1;
  return bound;
}

HttpServerStats HardenedServer::stats() const {
  HttpServerStats s;
  s.connections_admitted = admitted_;
  s.refused_too_many_in_all = refused_all_;
  s.refused_too_many_from_address = refused_address_;
  s.header_deadlines = header_deadlines_;
  s.body_deadlines = body_deadlines_;
  s.bodies_too_large = bodies_too_large_;
  s.headers_too_large = headers_too_large_;
  s.connections_open = limiter_.total();
  return s;
}

bool HardenedServer::process_and_close_socket(socket_t sock) {
  const auto accepted = Clock::now();
  if (t_refuse_now) {
    ++refused_all_;
    RefuseAndClose(sock);
    return false;
  }
  ConnectionLimiter::Verdict verdict = ConnectionLimiter::Verdict::kAdmitted;
  ConnectionLimiter::Ticket ticket = limiter_.Admit(PeerAddress(sock), &verdict);
  if (!ticket.admitted()) {
    ++(verdict == ConnectionLimiter::Verdict::kTooManyInAll ? refused_all_ : refused_address_);
    RefuseAndClose(sock);
    return false;
  }
  ++admitted_;

  DeadlineStream stream(sock, Millis(limits_.write_timeout), [this] { return stopping(); });
  Connection connection;
  connection.stream = &stream;
  t_connection = &connection;
  bool ok = true;
  for (int served = 0; served < limits_.keep_alive_max_requests; ++served) {
    if (served > 0 &&
        !stream.WaitForRequest(Clock::now() + Millis(limits_.keep_alive_timeout))) {
      break;
    }
    // The first request's deadline runs from the accept: a client that connects and says
    // nothing is a slow client too.
    const auto start = served == 0 ? accepted : Clock::now();
    stream.BeginRequest(start + Millis(limits_.header_timeout), limits_.max_header_bytes);
    bool closed = false;
    ok = process_request(stream, served + 1 == limits_.keep_alive_max_requests, closed, nullptr);
    if (!ok || closed || connection.close_after ||
        stream.failure() != DeadlineStream::Failure::kNone) {
      break;
    }
  }
  t_connection = nullptr;

  const DeadlineStream::Failure failure = stream.failure();
  switch (failure) {
    case DeadlineStream::Failure::kHeaderDeadline: ++header_deadlines_; break;
    case DeadlineStream::Failure::kBodyDeadline: ++body_deadlines_; break;
    case DeadlineStream::Failure::kBodyTooLarge: ++bodies_too_large_; break;
    case DeadlineStream::Failure::kHeadersTooLarge: ++headers_too_large_; break;
    default: break;
  }
  // Released before the close, so a client that sees the close may connect again at once.
  ticket.Release();
  if (connection.close_after || failure == DeadlineStream::Failure::kBodyTooLarge) {
    LingeringClose(sock);
  } else {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
  return ok;
}

}  // namespace fieldwork::http

// A cpp-httplib Stream over one accepted socket that enforces whole-request deadlines and
// byte budgets, which cpp-httplib's own SocketStream (a timeout per recv, no size limit on
// header lines) cannot.
#ifndef FIELDWORK_SERVICES_HTTP_DEADLINE_STREAM_H_
#define FIELDWORK_SERVICES_HTTP_DEADLINE_STREAM_H_

#include <httplib.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace fieldwork::http {

class DeadlineStream : public httplib::Stream {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Why reading stopped; sticky until the next BeginRequest.
  enum class Failure {
    kNone,
    kHeaderDeadline,   // request line + headers not complete in time
    kBodyDeadline,     // body not complete in time
    kHeadersTooLarge,  // request line + headers over budget
    kBodyTooLarge,     // body over budget (a chunked body: its length is not declared)
    kPeerClosed,       // EOF or a socket error
    kStopping,         // the server is shutting down
  };

  // `stopping` is polled while waiting, so that a server stops within one poll slice
  // however slow its clients are. The stream does not own `fd`.
  DeadlineStream(int fd, std::chrono::milliseconds write_timeout, std::function<bool()> stopping);

  // Starts reading a request: the request line and headers may take until `deadline` and
  // `max_header_bytes`.
  void BeginRequest(TimePoint deadline, size_t max_header_bytes);
  // Starts reading the body: it may take until `deadline` and `max_bytes` (framing included).
  // `end_at_limit`: a request that declares no body reads end-of-body there instead of
  // failing (cpp-httplib would otherwise read a bodiless POST until the peer closes).
  void BeginBody(TimePoint deadline, size_t max_bytes, bool end_at_limit);
  // True once bytes are buffered or readable, false at `deadline`, on EOF or when stopping:
  // the idle wait between keep-alive requests.
  bool WaitForRequest(TimePoint deadline);

  Failure failure() const { return failure_; }
  const std::string& remote_ip() const { return remote_ip_; }

  // httplib::Stream.
  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

 private:
  enum class Phase { kHeaders, kBody };
  // Waits until `fd_` is ready for `events` or `deadline`; false on timeout or stopping.
  bool Wait(short events, TimePoint deadline) const;
  bool Buffered() const { return begin_ < end_; }

  const int fd_;
  const std::chrono::milliseconds write_timeout_;
  const std::function<bool()> stopping_;
  std::string remote_ip_;
  int remote_port_ = 0;

  Phase phase_ = Phase::kHeaders;
  TimePoint deadline_;
  size_t budget_ = 0;  // bytes the current phase may still read
  bool end_at_limit_ = false;
  Failure failure_ = Failure::kNone;
  // Read ahead, as cpp-httplib's line reader asks for one byte at a time; kept across
  // requests, as it may hold the start of a pipelined next one.
  std::array<char, 4096> buffer_{};
  size_t begin_ = 0;
  size_t end_ = 0;
};

// The peer's numeric address ("127.0.0.1", "::1"); empty when the socket has none.
std::string PeerAddress(int fd, int* port = nullptr);

}  // namespace fieldwork::http

#endif  // FIELDWORK_SERVICES_HTTP_DEADLINE_STREAM_H_

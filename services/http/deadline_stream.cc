#include "services/http/deadline_stream.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace fieldwork::http {
namespace {

using Clock = std::chrono::steady_clock;

// The longest a wait goes without looking at `stopping`: how late a server stop can be.
constexpr std::chrono::milliseconds kPollSlice(100);

std::string NumericHost(const sockaddr_storage& address, socklen_t length, int* port) {
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, host, sizeof(host),
                  service, sizeof(service), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return std::string();
  }
  if (port != nullptr) *port = std::atoi(service);
  return host;
}

}  // namespace

std::string PeerAddress(int fd, int* port) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return std::string();
  return NumericHost(address, length, port);
}

DeadlineStream::DeadlineStream(int fd, std::chrono::milliseconds write_timeout,
                               std::function<bool()> stopping)
    : fd_(fd), write_timeout_(write_timeout), stopping_(std::move(stopping)) {
  remote_ip_ = PeerAddress(fd_, &remote_port_);
}

void DeadlineStream::BeginRequest(TimePoint deadline, size_t max_header_bytes) {
  phase_ = Phase::kHeaders;
  deadline_ = deadline;
  budget_ = max_header_bytes;
  end_at_limit_ = false;
  failure_ = Failure::kNone;
}

void DeadlineStream::BeginBody(TimePoint deadline, size_t max_bytes, bool end_at_limit) {
  phase_ = Phase::kBody;
  deadline_ = deadline;
  budget_ = max_bytes;
  end_at_limit_ = end_at_limit;
}

bool DeadlineStream::Wait(short events, TimePoint deadline) const {
  for (;;) {
    if (stopping_ && stopping_()) return false;
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, events, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min(left, kPollSlice).count()));
    // Errors and hang-ups count as ready: the recv or send that follows reports them.
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return true;
  }
}

bool DeadlineStream::WaitForRequest(TimePoint deadline) {
  if (Buffered()) return true;
  if (!Wait(POLLIN, deadline)) return false;
  // Readable may mean EOF: peek, so that an idle close ends the connection here.
  char byte;
  ssize_t n;
  do {
    n = ::recv(fd_, &byte, 1, MSG_PEEK);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

bool DeadlineStream::is_readable() const { return Buffered() || Wait(POLLIN, deadline_); }

bool DeadlineStream::is_writable() const {
  return Wait(POLLOUT, Clock::now() + write_timeout_);
}

ssize_t DeadlineStream::read(char* ptr, size_t size) {
  if (failure_ != Failure::kNone) return -1;
  if (budget_ == 0) {
    if (phase_ == Phase::kBody && end_at_limit_) return 0;
    failure_ = phase_ == Phase::kHeaders ? Failure::kHeadersTooLarge : Failure::kBodyTooLarge;
    return -1;
  }
  if (!Buffered()) {
    if (!Wait(POLLIN, deadline_)) {
      if (stopping_ && stopping_()) {
        failure_ = Failure::kStopping;
      } else {
        failure_ = phase_ == Phase::kHeaders ? Failure::kHeaderDeadline : Failure::kBodyDeadline;
      }
      return -1;
    }
    ssize_t n;
    do {
      n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      failure_ = Failure::kPeerClosed;
      return n == 0 ? 0 : -1;
    }
    begin_ = 0;
    end_ = static_cast<size_t>(n);
  }
  const size_t n = std::min({size, end_ - begin_, budget_});
  std::memcpy(ptr, buffer_.data() + begin_, n);
  begin_ += n;
  budget_ -= n;
  return static_cast<ssize_t>(n);
}

ssize_t DeadlineStream::write(const char* ptr, size_t size) {
  if (!Wait(POLLOUT, Clock::now() + write_timeout_)) return -1;
  ssize_t n;
  do {
    n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void DeadlineStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = remote_ip_;
  port = remote_port_;
}

void DeadlineStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  port = 0;
  ip.clear();
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    ip = NumericHost(address, length, &port);
  }
}

}  // namespace fieldwork::http

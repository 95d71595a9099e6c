// SMTP delivery benchmark (issue 18), printed, never asserted: `messages` e-mails through
// SmtpChannel by `threads` threads into a local SMTP sink, with one connection per message
// (what SmtpChannel did before sessions were reused: max_messages_per_session=1) and with
// reused sessions, beside the sink's own ceiling: a raw client that speaks only SMTP to it
// (MAIL, RCPT, DATA per message on one connection per thread, no message formatting). Two
// sinks: scripts/smtp_sink.py (the sink of scripts/run.sh: aiosmtpd, each message written to
// a file and fsynced before the 250), and a minimal sink here (a thread per connection that
// answers every command and keeps nothing), to see what SmtpChannel can do when the sink is
// not the limit. Target: >= 1,000 e-mails/s into the local sink.
// Usage: messaging_smtp_bench [messages=5000] [threads=4]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/messaging/smtp_channel.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"

namespace {

using namespace fieldwork::messaging;  // NOLINT: a benchmark main
using SteadyClock = std::chrono::steady_clock;

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Line-at-a-time reading and writing on a socket.
class Lines {
 public:
  explicit Lines(int fd) : fd_(fd) {}
  bool Read(std::string* line) {
    for (;;) {
      if (const size_t eol = buffer_.find("\r\n"); eol != std::string::npos) {
        *line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        return true;
      }
      char chunk[4096];
      const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }
  // The last line of a (possibly multi-line) reply.
  bool Reply(std::string* line) {
    do {
      if (!Read(line)) return false;
    } while (line->size() > 3 && (*line)[3] == '-');
    return true;
  }
  bool Write(const std::string& text) {
    return ::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  }

 private:
  const int fd_;
  std::string buffer_;
};

// The minimal sink: answers every command, counts messages and connections, keeps nothing.
class NullSink {
 public:
  NullSink() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(addr);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), length) != 0 ||
        ::listen(listener_, 128) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      std::perror("null sink");
      std::exit(1);
    }
    port_ = ntohs(addr.sin_port);
    std::thread([this] { Accept(); }).detach();  // lives until the benchmark exits
  }
  int port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void Accept() {
    for (;;) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      std::thread([fd] { Serve(fd); }).detach();
    }
  }
  static void Serve(int fd) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    Lines io(fd);
    io.Write("220 null sink\r\n");
    std::string line;
    bool in_data = false;
    while (io.Read(&line)) {
      if (in_data) {
        if (line == ".") {
          in_data = false;
          io.Write("250 OK\r\n");
        }
      } else if (absl::StartsWithIgnoreCase(line, "EHLO")) {
        io.Write("250-null sink\r\n250 8BITMIME\r\n");
      } else if (absl::StartsWithIgnoreCase(line, "DATA")) {
        in_data = true;
        io.Write("354 go ahead\r\n");
      } else if (absl::StartsWithIgnoreCase(line, "QUIT")) {
        io.Write("221 bye\r\n");
        break;
      } else {
        io.Write("250 OK\r\n");
      }
    }
    ::close(fd);
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
};

// Runs `send(thread, i)` for messages i = thread, thread + threads, ... on `threads` threads;
// returns messages per second, or 0 when one failed.
double Rate(int messages, int threads, const std::function<bool(int, int)>& send) {
  std::atomic<bool> failed{false};
  const auto start = SteadyClock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = t; i < messages && !failed.load(); i += threads) {
        if (!send(t, i)) failed = true;
      }
    });
  }
  for (std::thread& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return failed.load() ? 0.0 : messages / seconds;
}

OutgoingMessage Message(int i) {
  OutgoingMessage m;
  m.to = absl::StrCat("p", i, "@example.org");
  m.message_id = absl::StrCat("<fw.bench", i, "@fieldwork.example>");
  m.subject = "Weekly tip";
  m.text_body = std::string(600, 'x');
  m.list_unsubscribe = "https://fieldwork.example/u/token";
  return m;
}

// The sink's ceiling: one raw SMTP connection per thread, the same body for every message.
double RawRate(int port, int messages, int threads) {
  std::vector<int> fds(static_cast<size_t>(threads));
  std::vector<std::unique_ptr<Lines>> io;
  std::string line;
  for (int t = 0; t < threads; ++t) {
    fds[static_cast<size_t>(t)] = Connect(port);
    io.push_back(std::make_unique<Lines>(fds[static_cast<size_t>(t)]));
    if (fds[static_cast<size_t>(t)] < 0 || !io.back()->Reply(&line) ||
        !io.back()->Write("EHLO bench\r\n") || !io.back()->Reply(&line)) {
      return 0;
    }
  }
  const std::string body = FormatEmail(Message(0), "study@fieldwork.example", absl::Now());
  const double rate = Rate(messages, threads, [&](int t, int i) {
    Lines& c = *io[static_cast<size_t>(t)];
    std::string reply;
    return c.Write("MAIL FROM:<study@fieldwork.example>\r\n") && c.Reply(&reply) &&
           c.Write(absl::StrCat("RCPT TO:<p", i, "@example.org>\r\n")) && c.Reply(&reply) &&
           c.Write("DATA\r\n") && c.Reply(&reply) && c.Write(body + ".\r\n") && c.Reply(&reply) &&
           absl::StartsWith(reply, "250");
  });
  for (size_t t = 0; t < fds.size(); ++t) {
    io[t]->Write("QUIT\r\n");
    io[t]->Reply(&line);
    ::close(fds[t]);
  }
  return rate;
}

double ChannelRate(int port, int messages, int threads, int per_session) {
  SmtpOptions options;
  options.url = absl::StrCat("smtp://127.0.0.1:", port);
  options.from_address = "Study team <study@fieldwork.example>";
  options.max_sessions = threads;
  options.max_messages_per_session = per_session;
  SmtpChannel channel(options);
  return Rate(messages, threads, [&](int, int i) {
    const DeliveryOutcome outcome = channel.Deliver(Message(i));
    if (outcome.code != 250) std::fprintf(stderr, "  refused: %s\n", outcome.detail.c_str());
    return outcome.code == 250;
  });
}

void Measure(const char* name, int port, int messages, int threads,
             const std::function<int()>& connections) {
  std::printf("%s\n", name);
  const double raw = RawRate(port, messages, threads);
  std::printf("  raw SMTP client, %d connections (the sink's ceiling): %.0f e-mails/s\n", threads,
              raw);
  int before = connections();
  const double one = ChannelRate(port, messages, threads, 1);
  std::printf("  SmtpChannel, one connection per message (before): %.0f e-mails/s", one);
  if (before >= 0) std::printf(" over %d connections", connections() - before);
  std::printf("\n");
  before = connections();
  const double reused = ChannelRate(port, messages, threads, 100);
  std::printf("  SmtpChannel, sessions reused, 100 messages each (after): %.0f e-mails/s", reused);
  if (before >= 0) std::printf(" over %d connections", connections() - before);
  std::printf(" (target >= 1000)\n");
}

}  // namespace

int main(int argc, char** argv) {
  int messages = 5000;
  int threads = 4;
  if (argc > 1 && !absl::SimpleAtoi(argv[1], &messages)) return 2;
  if (argc > 2 && !absl::SimpleAtoi(argv[2], &threads)) return 2;
  std::printf("SMTP delivery: %d messages per run, %d threads\n", messages, threads);

  fieldwork::testing::TempDir dir;
  const int smtp_port = fieldwork::testing::PickFreePort();
  fieldwork::testing::ChildProcess sink(
      {"/usr/bin/python3", fieldwork::testing::SourcePath("scripts/smtp_sink.py"),
       absl::StrCat(smtp_port), absl::StrCat(fieldwork::testing::PickFreePort()),
       dir.path() + "/mail"},
      {}, dir.path() + "/sink.log");
  for (int i = 0; i < 200; ++i) {
    const int fd = Connect(smtp_port);
    if (fd >= 0) {
      ::close(fd);
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  Measure("scripts/smtp_sink.py (aiosmtpd, a file per message, fsynced):", smtp_port, messages,
          threads, [] { return -1; });
  NullSink null_sink;
  Measure("minimal sink (bench/messaging/smtp_bench.cc, keeps nothing):", null_sink.port(),
          messages, threads, [&] { return null_sink.connections(); });
  return 0;
}

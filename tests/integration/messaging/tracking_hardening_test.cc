// The tracked-link endpoint against hostile clients over loopback: slow (slowloris) and
// oversized requests are cut or refused while health probes are still answered, and the
// connection and keep-alive caps hold. Short limits are configured for the test; assertions
// are about what the server did (answered, refused, closed), never how fast.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/metrics.h"
#include "services/http/http_limits.h"
#include "services/http/http_metrics.h"
#include "services/messaging/tracking_server.h"
#include "tests/integration/messaging/messaging_fixture.h"

namespace fieldwork::messaging {
namespace {

// How long a client waits for the server to act before the test gives up: far above every
// deadline configured here, so it bounds the test without timing the server.
constexpr absl::Duration kPatience = absl::Seconds(20);

class Socket {
 public:
  explicit Socket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  bool Readable() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
  // Reads until the server closes (EOF or reset) or `patience` passes without a byte. Returns
  // whether it closed; `*data` gets what arrived.
  bool ReadUntilClosed(std::string* data, absl::Duration patience = kPatience) {
    const absl::Time give_up = absl::Now() + patience;
    char buffer[4096];
    for (;;) {
      const int64_t left = absl::ToInt64Milliseconds(give_up - absl::Now());
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
      data->append(buffer, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

int CountOf(const std::string& text, const std::string& part) {
  int count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

class TrackingHardeningTest : public MessagingTest {
 protected:
  void StartServer(const http::HttpLimits& limits) {
    server_ = std::make_unique<TrackingServer>(*store_, *signer_, clock_, metrics_.get(),
                                               "webhook-secret", limits);
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
    MessagingTest::TearDown();
  }
  // Waits (bounded) until the server has taken up `n` connections in all.
  void AwaitAdmitted(int64_t n) {
    const absl::Time give_up = absl::Now() + kPatience;
    while (server_->http_stats().connections_admitted < n && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_GE(server_->http_stats().connections_admitted, n);
  }
  int Probe() {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    auto result = client.Get("/healthz");
    return result ? result->status : -1;
  }

  std::unique_ptr<TrackingServer> server_;
};

TEST_F(TrackingHardeningTest, SlowAndOversizedClientsAreCutWhileProbesAreAnswered) {
  http::HttpLimits limits;
  limits.header_timeout = absl::Seconds(2);
  limits.body_timeout = absl::Seconds(2);
  limits.max_body_bytes = 64 * 1024;
  limits.max_connections_per_address = 0;  // every client here is 127.0.0.1
  StartServer(limits);
  const int port = server_->port();

  // 50 clients sending their headers a byte at a time, never finishing in time; 20 that send
  // half a request and go quiet. cpp-httplib's 8 pool threads were all theirs, for ever.
  std::vector<std::unique_ptr<Socket>> tricklers;
  std::vector<std::unique_ptr<Socket>> idlers;
  for (int i = 0; i < 50; ++i) tricklers.push_back(std::make_unique<Socket>(port));
  for (int i = 0; i < 20; ++i) {
    idlers.push_back(std::make_unique<Socket>(port));
    ASSERT_TRUE(idlers.back()->Send("POST /sms/inbound HTTP/1.1\r\nHost: t\r\nContent-Le"));
  }
  const std::string slow_request =
      absl::StrCat("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ", std::string(400, 'a'),
                   "\r\n\r\n");
  std::atomic<bool> stop_trickling{false};
  std::thread trickler([&] {
    for (size_t i = 0; i < slow_request.size() && !stop_trickling; ++i) {
      for (auto& s : tricklers) s->Send(std::string(1, slow_request[i]));
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  AwaitAdmitted(70);

  // Health probes while all 70 are held.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Probe(), 200) << "probe " << i;

  // A 10 GB body declared: refused with 413 though not one byte of it was sent.
  Socket huge(port);
  ASSERT_TRUE(huge.Send(
      "POST /sms/inbound HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded"
      "\r\nContent-Length: 10737418240\r\n\r\n"));
  std::string huge_reply;
  EXPECT_TRUE(huge.ReadUntilClosed(&huge_reply));
  EXPECT_TRUE(absl::StartsWith(huge_reply, "HTTP/1.1 413")) << huge_reply;
  EXPECT_TRUE(absl::StrContains(huge_reply, "Content-Length: 10737418240 bytes is over the limit"))
      << huge_reply;

  // An endless chunked body: cut with 413 once it passes the limit.
  Socket endless(port);
  ASSERT_TRUE(endless.Send(
      "POST /sms/inbound HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = absl::StrCat("1000\r\n", std::string(4096, 'x'), "\r\n");
  size_t sent = 0;
  while (!endless.Readable() && sent < 16 * 1024 * 1024 && endless.Send(chunk)) {
    sent += chunk.size();
  }
  EXPECT_LT(sent, 16u * 1024 * 1024) << "the server kept reading the chunked body";
  std::string endless_reply;
  endless.ReadUntilClosed(&endless_reply);
  EXPECT_TRUE(absl::StartsWith(endless_reply, "HTTP/1.1 413")) << endless_reply;

  // Every slow client is disconnected (after its deadline: what is asserted is that it is).
  for (auto& s : idlers) {
    std::string reply;
    EXPECT_TRUE(s->ReadUntilClosed(&reply));
    EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 408")) << reply;
  }
  for (auto& s : tricklers) {
    std::string reply;
    EXPECT_TRUE(s->ReadUntilClosed(&reply));
  }
  stop_trickling = true;
  trickler.join();
  EXPECT_EQ(Probe(), 200);

  const http::HttpServerStats stats = server_->http_stats();
  EXPECT_GE(stats.header_deadlines, 70);
  EXPECT_EQ(stats.bodies_too_large, 2);

  // The operator sees the same on /metrics, scraped over HTTP from a real metrics endpoint.
  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics =
      MetricsServer::Start({.bind_address = "127.0.0.1", .port = 0, .service_name = "test"});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto collector = std::make_shared<http::HttpStatsCollector>(
      "tracking", [this] { return server_->http_stats(); });
  (*metrics)->AddCollectable(collector);
  httplib::Client scraper("127.0.0.1", (*metrics)->port());
  auto page = scraper.Get("/metrics");
  ASSERT_TRUE(page && page->status == 200);
  EXPECT_TRUE(absl::StrContains(
      page->body,
      "fieldwork_http_refused_total{listener=\"tracking\",reason=\"body_too_large\"} 2\n"))
      << page->body;
  EXPECT_TRUE(absl::StrContains(
      page->body, absl::StrCat("fieldwork_http_refused_total{listener=\"tracking\",reason="
                               "\"header_deadline\"} ",
                               server_->http_stats().header_deadlines, "\n")))
      << page->body;
  collector->Detach();
  page = scraper.Get("/metrics");
  ASSERT_TRUE(page && page->status == 200);
  EXPECT_FALSE(absl::StrContains(page->body, "fieldwork_http_refused_total")) << page->body;
}

TEST_F(TrackingHardeningTest, SlowBodiesAreCutAndBodilessPostsDoNotHang) {
  http::HttpLimits limits;
  limits.body_timeout = absl::Seconds(1);
  StartServer(limits);
  const int port = server_->port();

  // Headers complete, 10 of 100 declared bytes, then nothing: 408 and closed.
  Socket slow(port);
  ASSERT_TRUE(slow.Send("POST /sms/inbound HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
                        "From=%2B44"));
  std::string reply;
  EXPECT_TRUE(slow.ReadUntilClosed(&reply));
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 408")) << reply;
  EXPECT_EQ(server_->http_stats().body_deadlines, 1);

  // A POST with no Content-Length has no body: answered, not read until the client closes.
  Socket bare(port);
  ASSERT_TRUE(bare.Send("POST /u/not-a-token HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  reply.clear();
  EXPECT_TRUE(bare.ReadUntilClosed(&reply));
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 403")) << reply;

  // A body within the limit still reaches the route.
  httplib::Client client("127.0.0.1", port);
  httplib::Headers headers = {{"Authorization", "Bearer webhook-secret"}};
  auto ok = client.Post("/sms/inbound", headers, "From=%2B447700900001&Body=hello",
                        "application/x-www-form-urlencoded");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ignored\n");
  // A compressed body is refused rather than inflated without a limit.
  headers.emplace("Content-Encoding", "gzip");
  auto gzip = client.Post("/sms/inbound", headers, "xx", "application/x-www-form-urlencoded");
  ASSERT_TRUE(gzip);
  EXPECT_EQ(gzip->status, 415);
}

TEST_F(TrackingHardeningTest, ConnectionsOverThePerAddressCapAreRefusedAtOnce) {
  http::HttpLimits limits;
  limits.max_connections_per_address = 4;
  // Far above kPatience: a held connection closed within the test was refused, not timed out.
  limits.header_timeout = absl::Seconds(120);
  StartServer(limits);
  const int port = server_->port();

  std::vector<std::unique_ptr<Socket>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<Socket>(port));
  AwaitAdmitted(4);

  Socket fifth(port);
  ASSERT_TRUE(fifth.connected());
  std::string reply;
  EXPECT_TRUE(fifth.ReadUntilClosed(&reply));
  EXPECT_TRUE(reply.empty() || absl::StartsWith(reply, "HTTP/1.1 503")) << reply;
  EXPECT_EQ(server_->http_stats().refused_too_many_from_address, 1);
  const int refused_probe = Probe();
  EXPECT_TRUE(refused_probe == -1 || refused_probe == 503) << refused_probe;

  // One of the four finishes its request: its place is free again.
  ASSERT_TRUE(held[0]->Send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  reply.clear();
  EXPECT_TRUE(held[0]->ReadUntilClosed(&reply));
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 200")) << reply;
  EXPECT_EQ(Probe(), 200);
}

TEST_F(TrackingHardeningTest, ConnectionsOverTheTotalCapAreRefusedAtOnce) {
  http::HttpLimits limits;
  limits.max_connections = 3;
  limits.max_connections_per_address = 0;
  limits.header_timeout = absl::Seconds(120);
  StartServer(limits);
  const int port = server_->port();

  std::vector<std::unique_ptr<Socket>> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<Socket>(port));
  AwaitAdmitted(3);
  Socket extra(port);
  std::string reply;
  EXPECT_TRUE(extra.ReadUntilClosed(&reply));
  EXPECT_TRUE(reply.empty() || absl::StartsWith(reply, "HTTP/1.1 503")) << reply;
  EXPECT_EQ(server_->http_stats().refused_too_many_in_all, 1);
}

TEST_F(TrackingHardeningTest, KeepAliveConnectionsEndAfterTheirRequestsOrIdleTime) {
  http::HttpLimits limits;
  limits.keep_alive_max_requests = 2;
  limits.keep_alive_timeout = absl::Seconds(1);
  StartServer(limits);
  const int port = server_->port();

  // Three pipelined requests on one connection: two answered, then the server closes it.
  Socket pipelined(port);
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_TRUE(pipelined.Send(get + get + get));
  std::string reply;
  EXPECT_TRUE(pipelined.ReadUntilClosed(&reply));
  EXPECT_EQ(CountOf(reply, "HTTP/1.1 200"), 2) << reply;
  EXPECT_EQ(CountOf(reply, "Connection: close"), 1) << reply;

  // One request, then silence: the server closes the idle connection.
  Socket idle(port);
  ASSERT_TRUE(idle.Send(get));
  reply.clear();
  EXPECT_TRUE(idle.ReadUntilClosed(&reply));
  EXPECT_EQ(CountOf(reply, "HTTP/1.1 200"), 1) << reply;
}

}  // namespace
}  // namespace fieldwork::messaging

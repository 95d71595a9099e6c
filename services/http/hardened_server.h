// A cpp-httplib Server that survives hostile clients: it enforces HttpLimits (body and header
// size, whole-request deadlines, connection caps, keep-alive limits) on every connection, so
// that slow or oversized requests cannot take its threads or its memory. Every HTTP listener of
// the suite serves through it.
#ifndef FIELDWORK_SERVICES_HTTP_HARDENED_SERVER_H_
#define FIELDWORK_SERVICES_HTTP_HARDENED_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "services/http/connection_limiter.h"
#include "services/http/http_limits.h"
#include "services/http/server_stats.h"

namespace fieldwork::http {

// Use it as an httplib::Server: register routes, bind, listen_after_bind(), stop(). It owns
// the pre-routing, error and Expect: 100-continue handlers (do not replace them), and serves
// each connection on a thread of its own (at most limits.max_connections of them), so that
// no client waits behind another's slow request.
//
// How it goes beyond cpp-httplib 0.11 (Debian 12): httplib's read timeout is per recv, so a
// client sending a byte a second holds a pool thread for ever; its payload limit skips (reads)
// an oversized declared body instead of refusing it and does not apply to chunked bodies; its
// 8-thread pool queues every further connection behind the slow ones.
class HardenedServer : public httplib::Server {
 public:
  // `limits` must be valid (ValidateHttpLimits).
  explicit HardenedServer(const HttpLimits& limits);
  ~HardenedServer() override;

  // Binds `host`:`port` (0: any free port) and listens with a deep accept backlog; returns the
  // port, or -1. Use it instead of bind_to_port: cpp-httplib 0.11 listens with a backlog of 5,
  // so under a connection flood new clients (health probes too) wait for SYN retransmits
  // (1 s, 3 s, ...) before the server even sees them.
  int Bind(const std::string& host, int port);

  const HttpLimits& limits() const { return limits_; }
  HttpServerStats stats() const;

 private:
  // Overrides httplib's private hook: admission, then requests under deadlines.
  bool process_and_close_socket(socket_t sock) override;
  bool stopping() const { return svr_sock_ == INVALID_SOCKET; }

  const HttpLimits limits_;
  ConnectionLimiter limiter_;
  std::atomic<int64_t> admitted_{0};
  std::atomic<int64_t> refused_all_{0};
  std::atomic<int64_t> refused_address_{0};
  std::atomic<int64_t> header_deadlines_{0};
  std::atomic<int64_t> body_deadlines_{0};
  std::atomic<int64_t> bodies_too_large_{0};
  std::atomic<int64_t> headers_too_large_{0};
};

}  // namespace fieldwork::http

#endif  // FIELDWORK_SERVICES_HTTP_HARDENED_SERVER_H_

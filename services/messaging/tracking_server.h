// The messaging service's HTTP endpoint (cpp-httplib): tracked links (record the click,
// redirect), the open pixel, unsubscribe links, and the SMS gateway's inbound webhook (STOP and
// its variants opt the sender out). Tokens are verified before anything is recorded; forged or
// altered tokens get 403 and change nothing. It serves behind http::HardenedServer, so slow,
// oversized or too many clients are cut or refused (HttpLimits) instead of taking it down.
#ifndef FIELDWORK_SERVICES_MESSAGING_TRACKING_SERVER_H_
#define FIELDWORK_SERVICES_MESSAGING_TRACKING_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "services/common/clock.h"
#include "services/http/http_limits.h"
#include "services/http/server_stats.h"
#include "services/messaging/domain/link_token.h"
#include "services/messaging/message_store.h"
#include "services/messaging/messaging_metrics.h"

namespace fieldwork::http {
class HardenedServer;
}  // namespace fieldwork::http

namespace fieldwork::messaging {

// Routes:
//   GET  /c/<token>     click: records it, 302 to the link's target
//   GET  /o/<token>     open pixel: records it, a 1x1 GIF
//   GET  /u/<token>     unsubscribe page with a confirm button (link scanners only GET)
//   POST /u/<token>     unsubscribe (also RFC 8058 one-click): opts out of all messages
//   POST /sms/inbound   gateway webhook, form fields From and Body, "Authorization: Bearer
//                       <sms_webhook_token>"; an opt-out keyword opts the sender out of SMS
//   GET  /healthz       200 "ok" (the HTTP probe: answered however busy the link routes are)
class TrackingServer {
 public:
  TrackingServer(MessageStore& store, const LinkSigner& signer, const Clock& clock,
                 MessagingMetrics* metrics, std::string sms_webhook_token,
                 const http::HttpLimits& limits = {});
  ~TrackingServer();

  // Binds `host`:`port` (0: any free port) and serves on threads of its own. INVALID_ARGUMENT
  // naming the limit when the limits are out of range.
  absl::Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }
  // What the HTTP server refused or cut so far.
  http::HttpServerStats http_stats() const;

 private:
  MessageStore& store_;
  const LinkSigner& signer_;
  const Clock& clock_;
  MessagingMetrics* metrics_;
  std::string sms_webhook_token_;
  http::HttpLimits limits_;
  std::unique_ptr<http::HardenedServer> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_TRACKING_SERVER_H_

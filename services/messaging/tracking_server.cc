#include "services/messaging/tracking_server.h"

#include <httplib.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/http/hardened_server.h"
#include "services/messaging/domain/opt_out.h"

namespace fieldwork::messaging {
namespace {

// A transparent 1x1 GIF.
constexpr unsigned char kPixel[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

void Refuse(httplib::Response& res, int status, const std::string& text) {
  res.status = status;
  res.set_content(text + "\n", "text/plain; charset=utf-8");
}

}  // namespace

TrackingServer::TrackingServer(MessageStore& store, const LinkSigner& signer, const Clock& clock,
                               MessagingMetrics* metrics, std::string sms_webhook_token,
                               const http::HttpLimits& limits)
    : store_(store),
      signer_(signer),
      clock_(clock),
      metrics_(metrics),
      sms_webhook_token_(std::move(sms_webhook_token)),
      limits_(limits),
      server_(std::make_unique<http::HardenedServer>(limits)) {}

TrackingServer::~TrackingServer() { Stop(); }

http::HttpServerStats TrackingServer::http_stats() const { return server_->stats(); }

absl::Status TrackingServer::Start(const std::string& host, int port) {
  if (absl::Status s = http::ValidateHttpLimits(limits_); !s.ok()) return s;
  httplib::Server& server = *server_;
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get(R"(/c/([A-Za-z0-9_.-]+))", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    absl::StatusOr<LinkClaims> claims = signer_.Verify(req.matches[1].str(), LinkTokenKind::kClick);
    if (!claims.ok()) return Refuse(res, 403, "This link is not valid.");
    const std::string target = claims->target_url;
    // The worker always signs the target into the token; an index-only token would need the
    // template id, which the token does not carry, so it is refused rather than guessed.
    if (target.empty()) return Refuse(res, 404, "This link has no target.");
    absl::StatusOr<MessageStore::Engagement> recorded = store_.RecordEngagement(
        claims->trial_id, claims->campaign_id, static_cast<int>(claims->step),
        claims->participant_id, "clicked", static_cast<int>(claims->link_index), clock_.Now());
    if (!recorded.ok()) {
      // The participant still gets where they were going; the click is lost and logged.
      logging::Warning("click not recorded", {{"error", recorded.status().ToString()}});
    } else if (recorded->first && metrics_ != nullptr) {
      metrics_->CountEngagement(claims->trial_id, claims->campaign_id, recorded->arm, "clicked");
    }
    res.set_redirect(target, 302);
  });
  server.Get(R"(/o/([A-Za-z0-9_.-]+))", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    absl::StatusOr<LinkClaims> claims = signer_.Verify(req.matches[1].str(), LinkTokenKind::kOpen);
    if (!claims.ok()) return Refuse(res, 403, "not valid");
    absl::StatusOr<MessageStore::Engagement> recorded = store_.RecordEngagement(
        claims->trial_id, claims->campaign_id, static_cast<int>(claims->step),
        claims->participant_id, "opened", 0, clock_.Now());
    if (recorded.ok() && recorded->first && metrics_ != nullptr) {
      metrics_->CountEngagement(claims->trial_id, claims->campaign_id, recorded->arm, "opened");
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::string(reinterpret_cast<const char*>(kPixel), sizeof(kPixel)),
                    "image/gif");
  });
  server.Get(
      R"(/u/([A-Za-z0-9_.-]+))", [this](const httplib::Request& req, httplib::Response& res) {
        if (!signer_.Verify(req.matches[1].str(), LinkTokenKind::kUnsubscribe).ok()) {
          return Refuse(res, 403, "This link is not valid.");
        }
        res.set_content(
            "<!doctype html><title>Unsubscribe</title><form method=\"post\"><p>Stop receiving "
            "messages from this study?</p><button type=\"submit\">Unsubscribe</button></form>\n",
            "text/html; charset=utf-8");
      });
  server.Post(R"(/u/([A-Za-z0-9_.-]+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                absl::StatusOr<LinkClaims> claims =
                    signer_.Verify(req.matches[1].str(), LinkTokenKind::kUnsubscribe);
                if (!claims.ok()) return Refuse(res, 403, "This link is not valid.");
                absl::Status s = store_.AddOptOut(claims->trial_id, claims->participant_id,
                                                  fieldwork::v1::OPT_OUT_SCOPE_ALL, clock_.Now());
                if (!s.ok()) return Refuse(res, 503, "Please try again in a minute.");
                res.set_content("You will receive no more messages from this study.\n",
                                "text/plain; charset=utf-8");
              });
  server.Post("/sms/inbound", [this](const httplib::Request& req, httplib::Response& res) {
    if (sms_webhook_token_.empty() ||
        req.get_header_value("Authorization") != absl::StrCat("Bearer ", sms_webhook_token_)) {
      return Refuse(res, 403, "not authorised");
    }
    const std::string from = req.get_param_value("From");
    const OptOutMatch match = RecogniseSmsOptOut(req.get_param_value("Body"));
    if (!match.opt_out) {
      res.set_content("ignored\n", "text/plain");
      return;
    }
    absl::StatusOr<std::optional<std::pair<std::string, std::string>>> who = store_.FindPhone(from);
    if (!who.ok()) return Refuse(res, 503, "try again");
    if (!who->has_value()) {
      res.set_content("unknown sender\n", "text/plain");
      return;
    }
    absl::Status s = store_.AddOptOut((*who)->first, (*who)->second,
                                      fieldwork::v1::OPT_OUT_SCOPE_SMS, clock_.Now());
    if (!s.ok()) return Refuse(res, 503, "try again");
    res.set_content("opted out\n", "text/plain");
  });

  port_ = server_->Bind(host, port);
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("http_port: cannot bind ", host, ":", port));
  }
  thread_ = std::thread([&server] { server.listen_after_bind(); });
  return absl::OkStatus();
}

void TrackingServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace fieldwork::messaging

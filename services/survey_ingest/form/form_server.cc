#include "services/survey_ingest/form/form_server.h"

#include <httplib.h>

#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/http/hardened_server.h"
#include "services/survey_ingest/form/form_renderer.h"

namespace fieldwork::survey_ingest::form {
namespace {

// A token is URL-safe base64; the longest claims the links carry make well under 1,024.
constexpr char kLinkRoute[] = R"(/s/([A-Za-z0-9_-]{1,1024}))";

void Send(httplib::Response& res, const FormReply& reply) {
  res.status = reply.status;
  res.set_header("Content-Security-Policy", ContentSecurityPolicy());
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
  if (!reply.location.empty()) res.set_header("Location", reply.location);
  res.set_content(reply.html, "text/html; charset=utf-8");
}

// OK, or the 429 to answer with.
bool Admitted(RateLimiter* limiter, const std::string& key, httplib::Response& res) {
  if (limiter == nullptr || limiter->Admit(key).ok()) return true;
  NoticeView view;
  view.heading = "Too many requests";
  view.message = "Please wait a minute, then try again.";
  Send(res, {429, RenderNotice(view), ""});
  res.set_header("Retry-After", "60");
  return false;
}

std::unique_ptr<RateLimiter> LimiterFor(double per_minute) {
  if (per_minute <= 0) return nullptr;
  return std::make_unique<RateLimiter>(RealClock::Get(), per_minute / 60, per_minute);
}

}  // namespace

absl::Status SplitHostPort(const std::string& address, const std::string& flag, std::string* host,
                           int* port) {
  const size_t colon = address.rfind(':');
  int parsed = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &parsed) || parsed < 0 || parsed > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": expected host:port (e.g. 0.0.0.0:8081), got \"", address, "\""));
  }
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  *port = parsed;
  return absl::OkStatus();
}

FormServer::FormServer(SurveyForm& form, const FormServerOptions& options)
    : form_(form),
      options_(options),
      per_link_(LimiterFor(options.rate_limit_per_link_per_minute)),
      per_address_(LimiterFor(options.rate_limit_per_address_per_minute)),
      server_(std::make_unique<http::HardenedServer>(options.limits)) {}

FormServer::~FormServer() { Stop(); }

http::HttpServerStats FormServer::http_stats() const { return server_->stats(); }

absl::Status FormServer::Start(const std::string& host, int port) {
  if (absl::Status s = http::ValidateHttpLimits(options_.limits); !s.ok()) return s;
  httplib::Server& server = *server_;
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get(kLinkRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string token = req.matches[1].str();
    if (!Admitted(per_address_.get(), req.remote_addr, res) ||
        !Admitted(per_link_.get(), token, res)) {
      return;
    }
    std::optional<int> page;
    int n = 0;
    if (req.has_param("page") && absl::SimpleAtoi(req.get_param_value("page"), &n)) page = n;
    Send(res, form_.Show(token, page));
  });
  server.Post(kLinkRoute, [this](const httplib::Request& req, httplib::Response& res) {
    const std::string token = req.matches[1].str();
    if (!Admitted(per_address_.get(), req.remote_addr, res) ||
        !Admitted(per_link_.get(), token, res)) {
      return;
    }
    // The body's fields only: the URL's ?page= is where the form was shown, not what it posts.
    httplib::Params body;
    if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
      httplib::detail::parse_query_text(req.body, body);
    }
    std::map<std::string, std::string> fields;
    for (const auto& [name, value] : body) fields.emplace(name, value);  // the first of a name
    Send(res, form_.Post(token, fields));
  });

  port_ = server_->Bind(host, port);
  if (port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("http_listen_address: cannot bind ", host, ":", port));
  }
  thread_ = std::thread([&server] { server.listen_after_bind(); });
  return absl::OkStatus();
}

void FormServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace fieldwork::survey_ingest::form

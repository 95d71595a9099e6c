// survey-ingest's second listener: the hosted questionnaire over HTTP (cpp-httplib behind
// http::HardenedServer, so slow, oversized or too many clients are cut or refused). It only
// translates HTTP to SurveyForm and back, adds the security headers, and limits the request
// rate per link and per client address. Nothing it logs holds a token or a participant id.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_SERVER_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "services/common/clock.h"
#include "services/common/rate_limiter.h"
#include "services/http/http_limits.h"
#include "services/http/server_stats.h"
#include "services/survey_ingest/form/survey_form.h"

namespace fieldwork::http {
class HardenedServer;
}  // namespace fieldwork::http

namespace fieldwork::survey_ingest::form {

struct FormServerOptions {
  http::HttpLimits limits;
  // Requests a minute (in bursts of a minute's worth) per link and per client address; 0: no
  // limit. Behind an ingress every request comes from its address: raise the second there.
  double rate_limit_per_link_per_minute = 60;
  double rate_limit_per_address_per_minute = 600;
};

// Routes:
//   GET  /s/<token>[?page=N]  the page to answer (or a notice: invalid, expired, closed, ...)
//   POST /s/<token>           a page's answers (application/x-www-form-urlencoded)
//   GET  /healthz             200 "ok"
// Every page carries Content-Security-Policy (ContentSecurityPolicy()), nosniff, no referrer
// (the URL holds the token) and no-store. Too many requests: 429 with Retry-After.
class FormServer {
 public:
  FormServer(SurveyForm& form, const FormServerOptions& options);
  ~FormServer();

  // Binds `host`:`port` (0: any free port) and serves on threads of its own. INVALID_ARGUMENT
  // naming the limit when the limits are out of range; UNAVAILABLE when it cannot bind.
  absl::Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }
  http::HttpServerStats http_stats() const;

 private:
  SurveyForm& form_;
  FormServerOptions options_;
  std::unique_ptr<RateLimiter> per_link_;
  std::unique_ptr<RateLimiter> per_address_;
  std::unique_ptr<http::HardenedServer> server_;
  std::thread thread_;
  int port_ = 0;
};

// "host:port" (IPv6 as "[::]:8081") split for FormServer::Start; INVALID_ARGUMENT naming
// `flag` when it is not of that form.
absl::Status SplitHostPort(const std::string& address, const std::string& flag, std::string* host,
                           int* port);

}  // namespace fieldwork::survey_ingest::form

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_SERVER_H_

// fieldwork-messaging: contacts, templates, campaigns and the send queue (MessagingService in
// protos/fieldwork/v1/messaging.proto), the delivery workers, and the HTTP endpoint for tracked
// links, the open pixel, unsubscribe and the SMS gateway's inbound webhook.
//
// Usage:
//   fieldwork-messaging --redis_url=redis://127.0.0.1:6379 --tokens_file=tokens.yaml
//       --contact_key_file=contact.key --link_key_file=link.key
//       --randomisation_address=localhost:50051 --service_token_file=messaging.token
//       [--survey_ingest_address=localhost:50053]
//       [--smtp_url=smtp://mail:587 --smtp_user=U --smtp_password_file=F
//        --from_address="Study <study@example.org>"
//        --smtp_sessions=4 --smtp_session_messages=100 --smtp_session_idle=10s]
//       [--sms_gateway_url=https://gw/send --sms_token_file=F --sms_from=Study]
//       [--file_channel_path=messages.jsonl] [--http_port=8080 --link_base_url=https://...]
//       [--survey_link_keys=survey_link.keys --survey_base_url=https://survey.example.org]
//       [--http_max_body_bytes=65536 --http_header_timeout=10s --http_body_timeout=30s
//        --http_max_connections=512 --http_max_connections_per_address=32
//        --http_keep_alive_max_requests=100 --http_keep_alive_timeout=5s ...] (services/http)
//       [--role=all|scheduler|worker] [--worker_threads=4] [--email_rate=10 --sms_rate=5]
//       [--listen_address=0.0.0.0:50052] [--metrics_port=9465] [--simulated_clock]
//       [--upstream_tls | --upstream_ca_file=F]   (TLS to randomisation and survey-ingest)
// --role=worker runs only delivery workers (no gRPC API, no HTTP): run several such processes
// beside one --role=all (or --role=scheduler) process. Every flag can also be set as
// FIELDWORK_<FLAG_IN_CAPITALS>; the command line wins. The flags every server shares are
// defined in services/common/server_flags.cc. It refuses a Redis without appendonly yes and
// appendfsync always unless --allow_volatile_redis.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "services/common/grpc_client.h"
#include "services/common/logging.h"
#include "services/common/randomisation_caller_flags.h"
#include "services/common/server_flags.h"
#include "services/common/service_runtime.h"
#include "services/common/upstream_flags.h"
#include "services/http/http_flags.h"
#include "services/http/http_metrics.h"
#include "services/messaging/domain/contact_crypto.h"
#include "services/messaging/domain/link_token.h"
#include "services/messaging/file_channel.h"
#include "services/messaging/grpc_sources.h"
#include "services/messaging/message_store.h"
#include "services/messaging/messaging_metrics.h"
#include "services/messaging/messenger.h"
#include "services/messaging/send_queue.h"
#include "services/messaging/service.h"
#include "services/messaging/sms_channel.h"
#include "services/messaging/smtp_channel.h"
#include "services/messaging/tracking_server.h"
#include "services/messaging/worker.h"
#include "services/survey_link/survey_link_flags.h"

ABSL_FLAG(std::string, role, "all", "all | scheduler | worker");
ABSL_FLAG(int, worker_threads, 4, "Delivery worker threads in this process");
ABSL_FLAG(int, worker_batch, 1000,
          "Sends a worker claims at once: each batch pays a few Redis and gRPC round trips");
ABSL_FLAG(std::string, worker_name, "", "Consumer name prefix (default: host and pid)");
ABSL_FLAG(std::string, contact_key_file, "", "32-byte contact encryption key (hex or base64)");
ABSL_FLAG(std::string, link_key_file, "", "32-byte link signing key (hex or base64)");
ABSL_FLAG(std::string, smtp_url, "", "smtp://host:port (STARTTLS when offered) or smtps://");
ABSL_FLAG(std::string, smtp_user, "", "SMTP AUTH user");
ABSL_FLAG(std::string, smtp_password_file, "", "File holding the SMTP password");
ABSL_FLAG(bool, smtp_require_tls, false, "Refuse to send e-mail without TLS");
ABSL_FLAG(int, smtp_sessions, 4, "SMTP connections open at once in this process, each reused");
ABSL_FLAG(int, smtp_session_messages, 100, "Messages per SMTP connection before a new one");
ABSL_FLAG(absl::Duration, smtp_session_idle, absl::Seconds(10),
          "An SMTP connection unused this long is closed");
ABSL_FLAG(std::string, from_address, "fieldwork@localhost", "E-mail From address");
ABSL_FLAG(std::string, sms_gateway_url, "", "SMS gateway send URL (form POST)");
ABSL_FLAG(std::string, sms_token_file, "", "File holding the SMS gateway bearer token");
ABSL_FLAG(std::string, sms_from, "Fieldwork", "SMS sender id");
ABSL_FLAG(std::string, sms_webhook_token_file, "", "Bearer token the gateway's webhook sends");
ABSL_FLAG(std::string, file_channel_path, "", "Write messages as JSON lines here (local runs)");
ABSL_FLAG(int, http_port, 8080, "Port of the tracked-link HTTP endpoint");
ABSL_FLAG(std::string, http_bind_address, "0.0.0.0", "Address the HTTP endpoint binds");
ABSL_FLAG(std::string, link_base_url, "http://localhost:8080", "Public base URL of the links");
ABSL_FLAG(std::string, survey_base_url, "",
          "Public base URL of survey-ingest's survey form (hosted surveys link to <it>/s/<token>)");
ABSL_FLAG(double, email_rate, 0, "E-mails per second, shared by all workers (0: no limit)");
ABSL_FLAG(double, sms_rate, 0, "SMS per second, shared by all workers (0: no limit)");
ABSL_FLAG(absl::Duration, lease, absl::Seconds(10),
          "Claim lease; renewed while a worker works, so a dead worker's sends are free this "
          "long after its last renewal");
ABSL_FLAG(absl::Duration, reclaim_idle, absl::Seconds(5),
          "Idle time before XAUTOCLAIM hands a dead worker's stream entries to another");
ABSL_FLAG(absl::Duration, order_recheck, absl::Seconds(30),
          "When a send deferred behind an earlier step of its campaign is looked at again");
ABSL_FLAG(int, max_attempts, 8, "Delivery attempts before dead-lettering");
ABSL_FLAG(absl::Duration, retry_initial_delay, absl::Seconds(30),
          "Backoff after the first failure");

namespace {

using namespace fieldwork::messaging;  // NOLINT: a main file

absl::StatusOr<std::string> ReadSecret(const std::string& path, const std::string& flag) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, ": cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

int Fail(const absl::Status& status) {
  fieldwork::logging::Error("cannot start", {{"error", status.ToString()}});
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  fieldwork::BlockTerminationSignals();
  fieldwork::ServiceRuntimeOptions options = fieldwork::ParseServerFlags(
      argc, argv,
      {.service_name = "messaging", .listen_address = "0.0.0.0:50052",
       .metrics_port = 9465, .redis_pool_size = 16});
  const std::string role = absl::GetFlag(FLAGS_role);
  if (role != "all" && role != "scheduler" && role != "worker") {
    return Fail(absl::InvalidArgumentError("role: must be all, scheduler or worker"));
  }
  absl::StatusOr<fieldwork::http::HttpLimits> http_limits = fieldwork::http::HttpLimitsFromFlags();
  if (!http_limits.ok()) return Fail(http_limits.status());

  // A delivery worker holds one connection for its batch's "sent" records while it uses
  // others for everything else (its contacts and opt-outs are read at once) and its lease
  // heartbeat one more: fewer would leave workers waiting for the pool.
  options.redis_pool_size =
      std::max(options.redis_pool_size, 4 * std::max(1, absl::GetFlag(FLAGS_worker_threads)) + 4);
  absl::StatusOr<std::unique_ptr<fieldwork::ServiceRuntime>> runtime =
      fieldwork::ServiceRuntime::Create(options);
  if (!runtime.ok()) return Fail(runtime.status());
  fieldwork::ServiceRuntime& rt = **runtime;

  absl::StatusOr<std::string> contact_key_text =
      ReadSecret(absl::GetFlag(FLAGS_contact_key_file), "contact_key_file");
  if (!contact_key_text.ok()) return Fail(contact_key_text.status());
  absl::StatusOr<std::string> contact_key = ParseKey32(*contact_key_text, "contact_key_file");
  if (!contact_key.ok()) return Fail(contact_key.status());
  absl::StatusOr<std::string> link_key_text =
      ReadSecret(absl::GetFlag(FLAGS_link_key_file), "link_key_file");
  if (!link_key_text.ok()) return Fail(link_key_text.status());
  absl::StatusOr<std::string> link_key = ParseKey32(*link_key_text, "link_key_file");
  if (!link_key.ok()) return Fail(link_key.status());
  absl::StatusOr<ContactCipher> cipher = ContactCipher::Create(*contact_key);
  if (!cipher.ok()) return Fail(cipher.status());
  absl::StatusOr<LinkSigner> signer = LinkSigner::Create(*link_key);
  if (!signer.ok()) return Fail(signer.status());
  absl::StatusOr<std::string> service_token =
      ReadSecret(absl::GetFlag(FLAGS_service_token_file), "service_token_file");
  if (!service_token.ok()) return Fail(service_token.status());
  // Without a key ring messaging still runs; campaigns that need personal survey links are
  // refused at start (and their sends dead-lettered) with the missing flag named.
  // --survey_link_keys is defined once, in survey_link_flags, for messaging and survey-ingest.
  absl::StatusOr<std::optional<fieldwork::survey_link::SurveyLinkKeyRing>> survey_link_keys =
      fieldwork::survey_link::SurveyLinkKeysFromFlag();
  if (!survey_link_keys.ok()) return Fail(survey_link_keys.status());
  SurveyLinkSettings survey_links;
  survey_links.keys = survey_link_keys->has_value() ? &**survey_link_keys : nullptr;
  survey_links.base_url = absl::GetFlag(FLAGS_survey_base_url);
  if (!survey_links.base_url.empty() && !absl::StartsWith(survey_links.base_url, "http://") &&
      !absl::StartsWith(survey_links.base_url, "https://")) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("survey_base_url: \"", survey_links.base_url, "\" is not an http(s) URL")));
  }

  MessagingMetrics metrics(rt.registry());
  MessageStore store(rt.redis(), *cipher, *contact_key);
  QueueOptions queue_options;
  queue_options.lease = absl::GetFlag(FLAGS_lease);
  queue_options.reclaim_idle = absl::GetFlag(FLAGS_reclaim_idle);
  queue_options.order_recheck = absl::GetFlag(FLAGS_order_recheck);
  if (absl::Status s = ValidateQueueOptions(queue_options); !s.ok()) return Fail(s);
  SendQueue queue(rt.redis(), queue_options);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> upstream =
      fieldwork::UpstreamCredentials(absl::GetFlag(FLAGS_upstream_tls),
                                     absl::GetFlag(FLAGS_upstream_ca_file), "--upstream_ca_file");
  if (!upstream.ok()) return Fail(upstream.status());
  GrpcAllocationSource allocations(
      fieldwork::UpstreamChannel(absl::GetFlag(FLAGS_randomisation_address), *upstream), *service_token);
  std::unique_ptr<GrpcResponseLookup> responses;
  if (!absl::GetFlag(FLAGS_survey_ingest_address).empty()) {
    responses = std::make_unique<GrpcResponseLookup>(
        fieldwork::UpstreamChannel(absl::GetFlag(FLAGS_survey_ingest_address), *upstream),
        *service_token);
  }

  // Channels: the file channel, when given, takes each kind of message no real channel is
  // configured for (local runs).
  std::unique_ptr<MessageChannel> email;
  std::unique_ptr<MessageChannel> sms;
  std::unique_ptr<FileChannel> file;
  if (!absl::GetFlag(FLAGS_file_channel_path).empty()) {
    absl::StatusOr<std::unique_ptr<FileChannel>> opened =
        FileChannel::Open(absl::GetFlag(FLAGS_file_channel_path));
    if (!opened.ok()) return Fail(opened.status());
    file = *std::move(opened);
  }
  if (!absl::GetFlag(FLAGS_smtp_url).empty()) {
    absl::StatusOr<std::string> password =
        ReadSecret(absl::GetFlag(FLAGS_smtp_password_file), "smtp_password_file");
    if (!password.ok()) return Fail(password.status());
    SmtpOptions smtp;
    smtp.url = absl::GetFlag(FLAGS_smtp_url);
    smtp.user = absl::GetFlag(FLAGS_smtp_user);
    smtp.password = *password;
    smtp.from_address = absl::GetFlag(FLAGS_from_address);
    smtp.require_tls = absl::GetFlag(FLAGS_smtp_require_tls);
    smtp.max_sessions = absl::GetFlag(FLAGS_smtp_sessions);
    smtp.max_messages_per_session = absl::GetFlag(FLAGS_smtp_session_messages);
    smtp.max_idle = absl::GetFlag(FLAGS_smtp_session_idle);
    email = std::make_unique<SmtpChannel>(smtp);
  }
  if (!absl::GetFlag(FLAGS_sms_gateway_url).empty()) {
    absl::StatusOr<std::string> token =
        ReadSecret(absl::GetFlag(FLAGS_sms_token_file), "sms_token_file");
    if (!token.ok()) return Fail(token.status());
    sms = std::make_unique<SmsChannel>(
        SmsOptions{absl::GetFlag(FLAGS_sms_gateway_url), *token, absl::GetFlag(FLAGS_sms_from)});
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Worker>> workers;
  const std::string name = absl::GetFlag(FLAGS_worker_name).empty()
                               ? absl::StrCat("w", ::getpid())
                               : absl::GetFlag(FLAGS_worker_name);
  if (role == "all" || role == "worker") {
    WorkerOptions worker_options;
    worker_options.retry.max_attempts = absl::GetFlag(FLAGS_max_attempts);
    worker_options.retry.initial_delay = absl::GetFlag(FLAGS_retry_initial_delay);
    if (absl::Status s = ValidateRetryPolicy(worker_options.retry); !s.ok()) return Fail(s);
    if (absl::GetFlag(FLAGS_worker_batch) < 1 || absl::GetFlag(FLAGS_worker_batch) > 10'000) {
      return Fail(absl::InvalidArgumentError("worker_batch: must be between 1 and 10000"));
    }
    worker_options.batch = absl::GetFlag(FLAGS_worker_batch);
    worker_options.link_base_url = absl::GetFlag(FLAGS_link_base_url);
    worker_options.from_address = absl::GetFlag(FLAGS_from_address);
    if (absl::GetFlag(FLAGS_email_rate) > 0) {
      worker_options.email_rate = TokenBucketConfig::PerSecond(absl::GetFlag(FLAGS_email_rate), 1);
    }
    if (absl::GetFlag(FLAGS_sms_rate) > 0) {
      worker_options.sms_rate = TokenBucketConfig::PerSecond(absl::GetFlag(FLAGS_sms_rate), 1);
    }
    for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_worker_threads)); ++i) {
      WorkerDeps deps;
      deps.queue = &queue;
      deps.store = &store;
      deps.allocations = &allocations;
      deps.responses = responses.get();
      deps.signer = &*signer;
      deps.email = email ? email.get() : file.get();
      deps.sms = sms ? sms.get() : file.get();
      deps.clock = &rt.clock();
      deps.metrics = &metrics;
      deps.survey_links = survey_links;
      worker_options.consumer = absl::StrCat(name, "-", i);
      workers.push_back(std::make_unique<Worker>(deps, worker_options));
    }
  }
  if (role == "all" || role == "scheduler") {
    threads.emplace_back([&] {
      Scheduler scheduler(queue, rt.clock(), &metrics);
      scheduler.Run(stop, absl::Milliseconds(100));
    });
  }
  for (auto& worker : workers) {
    threads.emplace_back([&stop, w = worker.get()] { w->Run(stop); });
  }

  absl::Status served;
  if (role == "worker") {
    // No API: wait for SIGTERM / SIGINT (blocked by BlockTerminationSignals).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int signal = 0;
    sigwait(&set, &signal);
  } else {
    absl::StatusOr<std::string> webhook_token =
        ReadSecret(absl::GetFlag(FLAGS_sms_webhook_token_file), "sms_webhook_token_file");
    if (!webhook_token.ok()) return Fail(webhook_token.status());
    TrackingServer tracking(store, *signer, rt.clock(), &metrics, *webhook_token, *http_limits);
    if (absl::Status s =
            tracking.Start(absl::GetFlag(FLAGS_http_bind_address), absl::GetFlag(FLAGS_http_port));
        !s.ok()) {
      stop = true;
      for (std::thread& t : threads) t.join();
      return Fail(s);
    }
    fieldwork::logging::Info("tracking endpoint", {{"port", tracking.port()}});
    auto tracking_http_metrics = std::make_shared<fieldwork::http::HttpStatsCollector>(
        "tracking", [&tracking] { return tracking.http_stats(); });
    rt.ExportCollectable(tracking_http_metrics);
    Messenger messenger(store, queue, allocations, rt.clock(), responses.get(), survey_links);
    MessagingServiceImpl service(messenger, rt.authenticator());
    served = rt.Serve({&service});
    tracking_http_metrics->Detach();
    tracking.Stop();
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  if (!served.ok()) {
    fieldwork::logging::Error("cannot serve", {{"error", served.ToString()}});
    return 1;
  }
  return 0;
}

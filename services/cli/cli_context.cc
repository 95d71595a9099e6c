#include "services/cli/cli_context.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/time/clock.h"
#include "services/cli/protocol.h"
#include "services/common/grpc_auth.h"

namespace fieldwork::cli {
namespace {

std::shared_ptr<grpc::Channel> Channel(const std::string& address, const std::string& tls_ca_file) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(256 << 20);
  arguments.SetMaxSendMessageSize(256 << 20);
  // Every address the target resolves to takes calls in turn (several replicas of a service).
  arguments.SetLoadBalancingPolicyName("round_robin");
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!tls_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca = ReadFile(tls_ca_file);
    if (ca.ok()) ssl.pem_root_certs = *ca;
    credentials = grpc::SslCredentials(ssl);
  }
  return grpc::CreateCustomChannel(address, credentials, arguments);
}

}  // namespace

CliContext::CliContext(ServiceAddresses addresses, std::string token, const std::string& tls_ca_file)
    : token_(std::move(token)),
      randomisation_(fieldwork::v1::RandomisationService::NewStub(Channel(addresses.randomisation, tls_ca_file))),
      survey_ingest_(fieldwork::v1::SurveyIngestService::NewStub(Channel(addresses.survey_ingest, tls_ca_file))),
      messaging_(fieldwork::v1::MessagingService::NewStub(Channel(addresses.messaging, tls_ca_file))),
      analysis_(fieldwork::v1::AnalysisService::NewStub(Channel(addresses.analysis, tls_ca_file))) {}

std::unique_ptr<grpc::ClientContext> CliContext::Call(int timeout_seconds) const {
  auto context = std::make_unique<grpc::ClientContext>();
  AttachBearerToken(*context, token_);
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(timeout_seconds)));
  return context;
}

int ReportFailure(const std::string& what, const grpc::Status& status) {
  std::cerr << "fieldwork: " << what << ": " << status.error_message() << "\n";
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kUnavailable;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return kRejected;
    default:
      return kFailed;
  }
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)), total_(total), enabled_(isatty(STDERR_FILENO) != 0 && total > 0) {}

void Progress::Update(int64_t done) {
  if (!enabled_) return;
  const int percent = static_cast<int>(100 * done / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  const int filled = percent / 5;
  std::fprintf(stderr, "\r%s [%s%s] %3d%%", label_.c_str(), std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(20 - filled), ' ').c_str(), percent);
  std::fflush(stderr);
}

void Progress::Finish() {
  if (enabled_) std::fprintf(stderr, "\n");
}

}  // namespace fieldwork::cli

// What every fieldwork command shares: connections to the services with the caller's token,
// the exit codes, and how errors are printed.
#ifndef FIELDWORK_SERVICES_CLI_CLI_CONTEXT_H_
#define FIELDWORK_SERVICES_CLI_CLI_CONTEXT_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "fieldwork/v1/analysis.grpc.pb.h"
#include "fieldwork/v1/messaging.grpc.pb.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "fieldwork/v1/survey_ingest.grpc.pb.h"

namespace fieldwork::cli {

// Exit codes scripts can rely on.
enum ExitCode : int {
  kOk = 0,
  kRejected = 1,     // the command ran, but rows were rejected or a change was refused
  kUsage = 2,        // bad command line or unreadable/invalid input file
  kUnavailable = 3,  // a service could not be reached (retry later)
  kFailed = 4,       // a service refused the request (permission, not found, ...)
};

struct ServiceAddresses {
  std::string randomisation = "127.0.0.1:50051";
  std::string messaging = "127.0.0.1:50052";
  std::string survey_ingest = "127.0.0.1:50053";
  std::string analysis = "127.0.0.1:50054";
};

class CliContext {
 public:
  // `tls_ca_file` empty: plaintext.
  CliContext(ServiceAddresses addresses, std::string token, const std::string& tls_ca_file);

  fieldwork::v1::RandomisationService::Stub& randomisation() { return *randomisation_; }
  fieldwork::v1::SurveyIngestService::Stub& survey_ingest() { return *survey_ingest_; }
  fieldwork::v1::MessagingService::Stub& messaging() { return *messaging_; }
  fieldwork::v1::AnalysisService::Stub& analysis() { return *analysis_; }
  // A fresh call context carrying the bearer token and a deadline.
  std::unique_ptr<grpc::ClientContext> Call(int timeout_seconds = 600) const;

 private:
  std::string token_;
  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> randomisation_;
  std::unique_ptr<fieldwork::v1::SurveyIngestService::Stub> survey_ingest_;
  std::unique_ptr<fieldwork::v1::MessagingService::Stub> messaging_;
  std::unique_ptr<fieldwork::v1::AnalysisService::Stub> analysis_;
};

// Prints "fieldwork: <what>: <message>" on stderr and returns the exit code for the status.
int ReportFailure(const std::string& what, const grpc::Status& status);

// A progress bar on stderr when it is a terminal ("enrol roster.csv [#####     ] 52%").
class Progress {
 public:
  Progress(std::string label, int64_t total);
  void Update(int64_t done);
  void Finish();

 private:
  std::string label_;
  int64_t total_;
  bool enabled_;
  int last_percent_ = -1;
};

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_CLI_CONTEXT_H_

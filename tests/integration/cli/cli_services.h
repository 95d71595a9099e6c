// For the fieldwork command's tests: redis-server and the randomisation, survey-ingest and
// analysis binaries (and, when asked, messaging) as processes on free loopback ports, one
// researcher token, and a way to run the fieldwork binary against them. Without messaging, its
// address is a free port nothing listens on. Header-only, shared by tests/integration/cli and
// tests/e2e/cli.
#ifndef FIELDWORK_TESTS_INTEGRATION_CLI_CLI_SERVICES_H_
#define FIELDWORK_TESTS_INTEGRATION_CLI_CLI_SERVICES_H_

#include <grpcpp/create_channel.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fieldwork/v1/analysis.grpc.pb.h"
#include "fieldwork/v1/messaging.grpc.pb.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/grpc_auth.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork::testing {

inline void WriteText(const std::string& path, const std::string& content) {
  std::ofstream out(path);
  out << content;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

class CliServices {
 public:
  static constexpr char kToken[] = "researcher-token";

  // `with_messaging`: also the messaging binary, writing messages as JSON lines to
  // messages_path() and serving tracked links on http_port().
  explicit CliServices(bool with_messaging = false) {
    const std::string dir = dir_.path();
    WriteText(dir + "/tokens.yaml",
              absl::StrCat(
                  "tokens:\n  - name: researcher\n    sha256: ", HashToken(kToken),
                  "\n    roles: [researcher, analyst]\n    trials: [\"*\"]\n  - name: services\n",
                  "    sha256: ", HashToken(kServiceToken),
                  "\n    roles: [analyst]\n    trials: [\"*\"]\n"));
    WriteText(dir + "/service.token", absl::StrCat(kServiceToken, "\n"));
    randomisation_address_ = FreeAddress();
    randomisation_ = std::make_unique<ServiceProcess>(
        "fieldwork-randomisation", Common(randomisation_address_), randomisation_address_, dir);
    ingest_address_ = FreeAddress();
    std::vector<std::string> ingest_args = Common(ingest_address_);
    ingest_args.push_back("--randomisation_address=" + randomisation_address_);
    ingest_args.push_back("--service_token_file=" + dir + "/service.token");
    ingest_args.push_back("--http_listen_address=");  // no questionnaire form here
    ingest_ = std::make_unique<ServiceProcess>("fieldwork-survey-ingest", ingest_args,
                                               ingest_address_, dir);
    messaging_address_ = FreeAddress();  // nothing listens here unless with_messaging
    analysis_address_ = FreeAddress();
    std::vector<std::string> analysis_args = Common(analysis_address_);
    analysis_args.push_back("--randomisation_address=" + randomisation_address_);
    analysis_args.push_back("--survey_ingest_address=" + ingest_address_);
    analysis_args.push_back("--service_token_file=" + dir + "/service.token");
    analysis_args.push_back("--monitor_interval=0s");
    if (with_messaging) analysis_args.push_back("--messaging_address=" + messaging_address_);
    analysis_ = std::make_unique<ServiceProcess>("fieldwork-analysis", analysis_args,
                                                 analysis_address_, dir);
    if (with_messaging) {
      WriteText(dir + "/contact.key", std::string(64, 'a') + "\n");
      WriteText(dir + "/link.key", std::string(64, 'b') + "\n");
      http_port_ = PickFreePort();
      std::vector<std::string> messaging_args = Common(messaging_address_);
      for (std::string flag :
           {"--randomisation_address=" + randomisation_address_,
            "--survey_ingest_address=" + ingest_address_,
            "--service_token_file=" + dir + "/service.token",
            "--contact_key_file=" + dir + "/contact.key", "--link_key_file=" + dir + "/link.key",
            "--file_channel_path=" + messages_path(), absl::StrCat("--http_port=", http_port_),
            std::string("--http_bind_address=127.0.0.1"),
            absl::StrCat("--link_base_url=http://127.0.0.1:", http_port_),
            std::string("--worker_threads=1")}) {
        messaging_args.push_back(std::move(flag));
      }
      messaging_ = std::make_unique<ServiceProcess>("fieldwork-messaging", messaging_args,
                                                    messaging_address_, dir);
    }
  }

  std::string messages_path() const { return dir_.path() + "/messages.jsonl"; }

  // Stops the messaging binary (a service that fails while the CLI is using the others).
  void StopMessaging() { messaging_.reset(); }

  // The Redis keys matching `pattern` (KEYS: a test's small database only).
  std::vector<std::string> RedisKeys(const std::string& pattern) const {
    std::vector<std::string> keys;
    absl::StatusOr<RedisReply> reply = redis_.NewClient()->Command({"KEYS", pattern});
    EXPECT_TRUE(reply.ok()) << reply.status();
    for (size_t i = 0; reply.ok() && i < reply->size(); ++i) keys.emplace_back((*reply)[i].str());
    return keys;
  }
  int http_port() const { return http_port_; }

  std::unique_ptr<fieldwork::v1::MessagingService::Stub> Messaging() const {
    return fieldwork::v1::MessagingService::NewStub(
        grpc::CreateChannel(messaging_address_, grpc::InsecureChannelCredentials()));
  }

  const std::string& dir() const { return dir_.path(); }

  CliRun Fieldwork(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        BinaryPath("fieldwork"), "--randomisation_address=" + randomisation_address_,
        "--survey_ingest_address=" + ingest_address_, "--analysis_address=" + analysis_address_,
        "--messaging_address=" + messaging_address_};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = dir_.path() + "/cli-" + std::to_string(runs_++) + ".log";
    ChildProcess cli(argv, {{"FIELDWORK_TOKEN", kToken}}, log);
    const std::optional<int> code = cli.WaitForExit(absl::Seconds(120));
    return {code.value_or(-1), cli.ReadLog()};
  }

  std::unique_ptr<fieldwork::v1::AnalysisService::Stub> Analysis() const {
    return fieldwork::v1::AnalysisService::NewStub(
        grpc::CreateChannel(analysis_address_, grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> Randomisation() const {
    return fieldwork::v1::RandomisationService::NewStub(
        grpc::CreateChannel(randomisation_address_, grpc::InsecureChannelCredentials()));
  }

  static std::unique_ptr<grpc::ClientContext> Researcher() {
    auto context = std::make_unique<grpc::ClientContext>();
    AttachBearerToken(*context, kToken);
    return context;
  }

  // Registers and locks `plan` on the analysis service; returns the error message, "" when done.
  std::string RegisterAndLock(const fieldwork::v1::AnalysisPlan& plan) const {
    auto stub = Analysis();
    fieldwork::v1::RegisterPlanRequest request;
    *request.mutable_plan() = plan;
    fieldwork::v1::RegisterPlanResponse registered;
    grpc::Status s = stub->RegisterPlan(Researcher().get(), request, &registered);
    if (!s.ok()) return "RegisterPlan: " + s.error_message();
    fieldwork::v1::LockPlanRequest lock;
    lock.set_trial_id(plan.trial_id());
    lock.set_plan_id(plan.plan_id());
    fieldwork::v1::LockPlanResponse locked;
    s = stub->LockPlan(Researcher().get(), lock, &locked);
    return s.ok() ? "" : "LockPlan: " + s.error_message();
  }

 private:
  static constexpr char kServiceToken[] = "service-token";

  static std::string FreeAddress() { return absl::StrCat("127.0.0.1:", PickFreePort()); }

  std::vector<std::string> Common(const std::string& listen) const {
    return {"--listen_address=" + listen,
            absl::StrCat("--metrics_port=", PickFreePort()),
            "--metrics_bind_address=127.0.0.1",
            "--redis_url=" + redis_.url(),
            // An in-memory test Redis: these tests are about the CLI, not durability.
            "--allow_volatile_redis",
            "--tokens_file=" + dir_.path() + "/tokens.yaml",
            "--drain_delay=0s"};
  }

  TempDir dir_;
  RedisServer redis_;
  std::string randomisation_address_, ingest_address_, analysis_address_, messaging_address_;
  std::unique_ptr<ServiceProcess> randomisation_, ingest_, analysis_, messaging_;
  int http_port_ = 0;
  int runs_ = 0;
};

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_INTEGRATION_CLI_CLI_SERVICES_H_

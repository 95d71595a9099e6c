// A real RandomisationService over real gRPC (in-process, port 0) and a real redis-server,
// with tokens for an admin, a researcher and a partner of site LA1.
#ifndef FIELDWORK_TESTS_INTEGRATION_RANDOMISATION_RANDOMISATION_FIXTURE_H_
#define FIELDWORK_TESTS_INTEGRATION_RANDOMISATION_RANDOMISATION_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/grpc_auth.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "services/randomisation/service.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/redis_server.h"

namespace fieldwork::randomisation {

inline constexpr char kAdmin[] = "admin-token";
inline constexpr char kResearcher[] = "researcher-token";
inline constexpr char kPartnerLa1[] = "partner-la1-token";

// The service stack; Restart() builds a fresh one (empty caches) over the same Redis.
class ServiceStack {
 public:
  explicit ServiceStack(const std::string& redis_url);
  ~ServiceStack();
  fieldwork::v1::RandomisationService::Stub& stub() { return *stub_; }
  const std::string& address() const { return address_; }
  // The service's own metrics (fieldwork_randomisation_*), as Prometheus text.
  std::string MetricsText() const;
  // The server's gRPC metrics (grpc_server_*), as Prometheus text: a call is counted in
  // grpc_server_handled_total once its handler has returned.
  std::string GrpcMetricsText() const;

 private:
  std::unique_ptr<RedisClient> redis_;
  ManualClock clock_;
  std::unique_ptr<RedisRandomisationStore> store_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<RandomisationMetrics> metrics_;
  std::unique_ptr<prometheus::Registry> metrics_registry_;
  std::unique_ptr<Randomiser> randomiser_;
  std::unique_ptr<RandomisationServiceImpl> service_;
  std::unique_ptr<fieldwork::testing::InProcessServer> server_;
  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> stub_;
  std::string address_;
};

class RandomisationTest : public ::testing::Test {
 protected:
  void SetUp() override;

  fieldwork::v1::RandomisationService::Stub& stub() { return stack_->stub(); }
  std::string MetricsText() const { return stack_->MetricsText(); }
  std::string GrpcMetricsText() const { return stack_->GrpcMetricsText(); }
  void RestartService() { stack_ = std::make_unique<ServiceStack>(redis_->url()); }

  // Calls with a token; fails the test on error unless the caller checks the status.
  grpc::Status CreateTrial(const fieldwork::v1::TrialDesign& design, const std::string& token = kResearcher);
  grpc::Status Lock(const std::string& trial);
  fieldwork::v1::EnrolResponse Enrol(const std::string& trial,
                                     const std::vector<fieldwork::v1::Participant>& rows,
                                     const std::string& token = kResearcher,
                                     grpc::Status* status = nullptr, bool all_or_nothing = false);
  // Streams `rows` in chunks of 500 through EnrolStream.
  fieldwork::v1::EnrolResponse EnrolStream(const std::string& trial,
                                           const std::vector<fieldwork::v1::Participant>& rows);
  fieldwork::v1::RandomiseResponse Randomise(const std::string& trial, const std::string& cohort = "");
  std::vector<fieldwork::v1::Allocation> Allocations(const std::string& trial);
  fieldwork::v1::VerifyAuditLogResponse Verify(const std::string& trial);
  // Closes the trial and runs fieldwork-replay (a separate process) with the admin token and
  // `extra_flags`; returns its exit code and puts its output in `output`.
  int CloseAndReplay(const std::string& trial, std::string* output,
                     const std::vector<std::string>& extra_flags = {});

  std::unique_ptr<fieldwork::testing::RedisServer> redis_;
  std::unique_ptr<ServiceStack> stack_;
};

std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token);

// A participant with a site, cohort, cluster and covariates.
fieldwork::v1::Participant MakeParticipant(const std::string& id, const std::string& site,
                                           const std::string& cohort = "",
                                           const std::string& cluster = "");
// How many participants the trial has enrolled (GetTrial), as the researcher sees it.
int64_t Enrolled(fieldwork::v1::RandomisationService::Stub& stub, const std::string& trial);
void SetNumber(fieldwork::v1::Participant& p, const std::string& name, double value);
void SetCategory(fieldwork::v1::Participant& p, const std::string& name, const std::string& value);
fieldwork::v1::Factor TwoArms(const std::string& name, fieldwork::v1::RandomisationMethod method,
                              int64_t treatment_weight = 1, int64_t control_weight = 1);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_TESTS_INTEGRATION_RANDOMISATION_RANDOMISATION_FIXTURE_H_

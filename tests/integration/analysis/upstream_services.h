// The analysis service's upstreams for its integration tests: the real randomisation and
// survey-ingest services in this process over real gRPC, on one Redis client, survey-ingest
// checking participants against randomisation with its own token.
#ifndef FIELDWORK_TESTS_INTEGRATION_ANALYSIS_UPSTREAM_SERVICES_H_
#define FIELDWORK_TESTS_INTEGRATION_ANALYSIS_UPSTREAM_SERVICES_H_

#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "fieldwork/v1/survey_ingest.grpc.pb.h"
#include "services/analysis/grpc_sources.h"
#include "services/common/clock.h"
#include "services/common/auth.h"
#include "services/common/grpc_auth.h"
#include "services/common/redis_client.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "services/randomisation/service.h"
#include "services/survey_ingest/grpc_roster.h"
#include "services/survey_ingest/ingestor.h"
#include "services/survey_ingest/redis_store.h"
#include "services/survey_ingest/roster.h"
#include "services/survey_ingest/service.h"
#include "tests/testing/grpc_harness.h"

namespace fieldwork::analysis {

// The tokens the analysis integration tests call with: a researcher (researcher and analyst
// roles), the analysis service's and survey-ingest's own (analyst), on every trial.
inline constexpr char kResearcher[] = "researcher-token";
inline constexpr char kAnalysisService[] = "analysis-service-token";
inline constexpr char kIngestService[] = "ingest-service-token";
// Their tokens file (digests), as the binaries read it, and the store made from it.
std::string TokensYaml();
TokenStore Tokens();
// A call context carrying `token`.
std::unique_ptr<grpc::ClientContext> As(const std::string& token);

class UpstreamServices {
 public:
  // `ingest_token` is survey-ingest's own token for its roster calls to randomisation.
  UpstreamServices(RedisClient& redis, const Authenticator& authenticator, const Clock& clock,
                   const std::string& ingest_token);

  std::string randomisation_address() const { return rnd_server_->address(); }
  std::string ingest_address() const { return ingest_server_->address(); }
  fieldwork::v1::RandomisationService::Stub& randomisation() { return *rnd_stub_; }
  fieldwork::v1::SurveyIngestService::Stub& ingest() { return *ingest_stub_; }
  // Writes straight to survey-ingest's keys (what accepted submissions become), for tests
  // that need much data fast.
  survey_ingest::RedisIngestStore& ingest_store() { return ingest_store_; }

 private:
  prometheus::Registry rnd_registry_;
  randomisation::RedisRandomisationStore rnd_store_;
  randomisation::RandomisationMetrics rnd_metrics_;
  randomisation::Randomiser randomiser_;
  randomisation::RandomisationServiceImpl rnd_service_;
  std::unique_ptr<fieldwork::testing::InProcessServer> rnd_server_;
  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> rnd_stub_;
  survey_ingest::GrpcRoster grpc_roster_;
  survey_ingest::CachedRoster roster_;
  prometheus::Registry ingest_registry_;
  survey_ingest::RedisIngestStore ingest_store_;
  survey_ingest::IngestMetrics ingest_metrics_;
  survey_ingest::Ingestor ingestor_;
  survey_ingest::SurveyIngestServiceImpl ingest_service_;
  std::unique_ptr<fieldwork::testing::InProcessServer> ingest_server_;
  std::unique_ptr<fieldwork::v1::SurveyIngestService::Stub> ingest_stub_;
};

// A trial `trial` with sites LA1-LA3, one 1:1 factor "arm" (treatment, control) randomised
// completely within site, and a numeric covariate "age".
fieldwork::v1::TrialDesign ThreeSiteDesign(const std::string& trial);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_TESTS_INTEGRATION_ANALYSIS_UPSTREAM_SERVICES_H_

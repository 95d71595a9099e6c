#include "tests/integration/analysis/upstream_services.h"

#include "absl/strings/str_cat.h"

#include <vector>

#include "absl/time/time.h"
#include "tests/testing/trial_designs.h"

namespace fieldwork::analysis {

std::string TokensYaml() {
  return absl::StrCat("tokens:\n", "  - name: researcher\n    sha256: ", HashToken(kResearcher),
                      "\n    roles: [researcher, analyst]\n    trials: [\"*\"]\n",
                      "  - name: analysis-service\n    sha256: ", HashToken(kAnalysisService),
                      "\n    roles: [analyst]\n    trials: [\"*\"]\n",
                      "  - name: survey-ingest\n    sha256: ", HashToken(kIngestService),
                      "\n    roles: [analyst]\n    trials: [\"*\"]\n");
}

TokenStore Tokens() { return *TokenStore::FromYaml(TokensYaml(), "test tokens"); }

std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  AttachBearerToken(*context, token);
  return context;
}

namespace v1 = ::fieldwork::v1;

UpstreamServices::UpstreamServices(RedisClient& redis, const Authenticator& authenticator,
                                   const Clock& clock, const std::string& ingest_token)
    : rnd_store_(redis),
      rnd_metrics_(rnd_registry_),
      randomiser_(rnd_store_, clock, rnd_metrics_.Observer()),
      rnd_service_(randomiser_, authenticator),
      rnd_server_(std::make_unique<fieldwork::testing::InProcessServer>(
          std::vector<grpc::Service*>{&rnd_service_})),
      rnd_stub_(v1::RandomisationService::NewStub(MakeChannel(rnd_server_->address(), false))),
      grpc_roster_(MakeChannel(rnd_server_->address(), false), ingest_token),
      roster_(grpc_roster_),
      ingest_store_(redis),
      ingest_metrics_(ingest_registry_),
      ingestor_(ingest_store_, roster_, clock, ingest_metrics_.Observer()),
      ingest_service_(ingestor_, authenticator),
      ingest_server_(std::make_unique<fieldwork::testing::InProcessServer>(
          std::vector<grpc::Service*>{&ingest_service_})),
      ingest_stub_(v1::SurveyIngestService::NewStub(MakeChannel(ingest_server_->address(), false))) {}

v1::TrialDesign ThreeSiteDesign(const std::string& trial) {
  v1::TrialDesign design = fieldwork::testing::TwoArmsWithinSites(trial, {"LA1", "LA2", "LA3"});
  v1::Covariate& age = *design.add_covariates();
  age.set_name("age");
  age.set_kind(v1::Covariate::KIND_NUMERIC);
  return design;
}

}  // namespace fieldwork::analysis

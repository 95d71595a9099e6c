// The survey-ingest service over real gRPC (in-process, port 0) and a real durable
// redis-server, with the REAL randomisation service (also in-process over gRPC) as its roster.
// Tokens: admin, researcher, analyst, a partner of site LA1, and the ingest service's own token.
#ifndef FIELDWORK_TESTS_INTEGRATION_SURVEY_INGEST_INGEST_FIXTURE_H_
#define FIELDWORK_TESTS_INTEGRATION_SURVEY_INGEST_INGEST_FIXTURE_H_

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "fieldwork/v1/survey_ingest.grpc.pb.h"
#include "services/common/clock.h"
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
#include "tests/testing/redis_server.h"

namespace fieldwork::survey_ingest {

inline constexpr char kResearcher[] = "researcher-token";
inline constexpr char kAnalyst[] = "analyst-token";
inline constexpr char kPartnerLa1[] = "partner-la1-token";
// A partner of one trial ("bad-input") and one site (LA1), as a real partner's token is.
inline constexpr char kOneTrialPartner[] = "partner-bad-input-la1-token";
inline constexpr char kIngestService[] = "ingest-service-token";
inline constexpr char kAdmin[] = "admin-token";

// The tokens file (YAML, hashed tokens) and the store made from it.
std::string TestTokensYaml();
TokenStore TestTokens();

// The randomisation service stack.
class RandomisationStack {
 public:
  explicit RandomisationStack(const std::string& redis_url);
  ~RandomisationStack();
  fieldwork::v1::RandomisationService::Stub& stub() { return *stub_; }
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<RedisClient> redis_;
  ManualClock clock_;
  std::unique_ptr<randomisation::RedisRandomisationStore> store_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<randomisation::RandomisationMetrics> metrics_;
  std::unique_ptr<randomisation::Randomiser> randomiser_;
  std::unique_ptr<randomisation::RandomisationServiceImpl> service_;
  std::unique_ptr<fieldwork::testing::InProcessServer> server_;
  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> stub_;
  std::string address_;
};

// The survey-ingest stack; a fresh one has empty caches and zeroed metrics.
class IngestStack {
 public:
  IngestStack(const std::string& redis_url, const std::string& randomisation_address,
              absl::Time now);
  ~IngestStack();
  fieldwork::v1::SurveyIngestService::Stub& stub() { return *stub_; }
  ManualClock& clock() { return clock_; }
  // fieldwork_survey_ingest_* as Prometheus text.
  std::string MetricsText() const;

 private:
  std::unique_ptr<RedisClient> redis_;
  ManualClock clock_;
  std::unique_ptr<GrpcRoster> grpc_roster_;
  std::unique_ptr<CachedRoster> roster_;
  std::unique_ptr<RedisIngestStore> store_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<IngestMetrics> metrics_;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<SurveyIngestServiceImpl> service_;
  std::unique_ptr<fieldwork::testing::InProcessServer> server_;
  std::unique_ptr<fieldwork::v1::SurveyIngestService::Stub> stub_;
};

// An Ingestor of a test's own over `store` (the real store, or a wrapper in front of it that
// watches or breaks it), with the real randomisation service at `randomisation_address` as its
// roster and a manual clock at 2021-03-20 12:00 UTC, after the test waves' month.
class OwnIngestor {
 public:
  OwnIngestor(IngestStore& store, const std::string& randomisation_address);
  Ingestor& operator*() { return ingestor_; }
  Ingestor* operator->() { return &ingestor_; }

 private:
  ManualClock clock_;
  GrpcRoster roster_;
  Ingestor ingestor_;
};

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override;

  fieldwork::v1::SurveyIngestService::Stub& ingest() { return ingest_->stub(); }
  fieldwork::v1::RandomisationService::Stub& randomisation() { return randomisation_->stub(); }
  // A fresh ingest service over the same Redis (e.g. after a Redis restart).
  void RestartIngest();

  // Creates trial `trial` (sites LA1, LA2; one two-arm factor) and enrols `ids` (id, site).
  void CreateTrial(const std::string& trial);
  void Enrol(const std::string& trial,
             const std::vector<std::pair<std::string, std::string>>& id_and_site);
  void Withdraw(const std::string& trial, const std::string& participant);

  // PutInstrument of `yaml`; fails the test on error.
  void PutInstrument(const std::string& trial, const std::string& yaml);
  // PutWave open over March 2021 for `instrument` v1.
  void PutWave(const std::string& trial, const std::string& wave, const std::string& instrument,
               bool allow_late = false,
               fieldwork::v1::ResponseRule rule = fieldwork::v1::RESPONSE_RULE_FIRST_COMPLETE);

  std::vector<fieldwork::v1::Response> ListResponses(const std::string& trial,
                                                     const std::string& wave,
                                                     bool include_not_counted = false);
  // Waits until `wave` lists at least `n` counted responses (a stream's batches are stored in
  // the background); false after two minutes.
  bool WaitUntilListed(const std::string& trial, const std::string& wave, size_t n);
  std::vector<fieldwork::v1::Reject> ListRejects(const std::string& trial,
                                                 const std::string& token = kResearcher,
                                                 bool include_replayed = false);

  std::unique_ptr<fieldwork::testing::RedisServer> redis_;
  std::unique_ptr<RandomisationStack> randomisation_;
  std::unique_ptr<IngestStack> ingest_;
};

std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token);
google::protobuf::Timestamp At(int year, int month, int day, int hour = 12, int minute = 0);

// A test instrument "wb": wb_1..wb_3 Likert 0-10 (required; wb_3 reverse-keyed) and
// sick_days 0-365 (optional), mapped by ImportId QID1..QID4; scale "wellbeing" (mean, at
// least 2 answered) and composite "z_wellbeing" (the standardised scale).
extern const char kWellbeingYaml[];

// A complete, valid answer to kWellbeingYaml in wave "baseline" (submitted 2021-03-10 12:00
// UTC): what a test alters to make one thing wrong.
fieldwork::v1::Submission WellbeingSubmission(const std::string& trial,
                                              const std::string& participant,
                                              const std::string& submission_id);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_TESTS_INTEGRATION_SURVEY_INGEST_INGEST_FIXTURE_H_

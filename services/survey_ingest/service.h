// The gRPC adapter of the survey-ingest service: authenticates and authorises each call (roles
// as the proto's header says; partners only for their own sites), translates between protos
// and the Ingestor, and records the service's metrics.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_SERVICE_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "fieldwork/v1/survey_ingest.grpc.pb.h"
#include "services/common/access.h"
#include "services/common/grpc_auth.h"
#include "services/survey_ingest/ingestor.h"

namespace fieldwork::survey_ingest {

// fieldwork_survey_ingest_submissions_total{trial,wave,status},
// fieldwork_survey_ingest_rejects_total{trial,reason} and the gauge
// fieldwork_survey_ingest_respondents{trial,wave,site} (participants with a counted response).
class IngestMetrics {
 public:
  explicit IngestMetrics(prometheus::Registry& registry);
  IngestObserver Observer();
  // Sets the gauges from what is stored (at start-up).
  void Seed(Ingestor& ingestor, IngestStore& store);

 private:
  prometheus::Family<prometheus::Counter>& submissions_;
  prometheus::Family<prometheus::Counter>& rejects_;
  prometheus::Family<prometheus::Gauge>& respondents_;
};

class SurveyIngestServiceImpl final : public fieldwork::v1::SurveyIngestService::Service {
 public:
  SurveyIngestServiceImpl(Ingestor& ingestor, const Authenticator& authenticator)
      : ingestor_(ingestor), authenticator_(authenticator) {}

  grpc::Status PutInstrument(grpc::ServerContext*, const fieldwork::v1::PutInstrumentRequest*,
                             fieldwork::v1::PutInstrumentResponse*) override;
  grpc::Status ListInstruments(grpc::ServerContext*, const fieldwork::v1::ListInstrumentsRequest*,
                               fieldwork::v1::ListInstrumentsResponse*) override;
  grpc::Status PutWave(grpc::ServerContext*, const fieldwork::v1::PutWaveRequest*,
                       fieldwork::v1::PutWaveResponse*) override;
  grpc::Status ListWaves(grpc::ServerContext*, const fieldwork::v1::ListWavesRequest*,
                         fieldwork::v1::ListWavesResponse*) override;
  grpc::Status SubmitResponse(grpc::ServerContext*, const fieldwork::v1::SubmitResponseRequest*,
                              fieldwork::v1::SubmitResponseResponse*) override;
  grpc::Status SubmitResponses(grpc::ServerContext*,
                               grpc::ServerReader<fieldwork::v1::SubmitResponsesRequest>*,
                               fieldwork::v1::SubmitResponsesResponse*) override;
  grpc::Status ImportCsv(grpc::ServerContext*, const fieldwork::v1::ImportCsvRequest*,
                         fieldwork::v1::ImportCsvResponse*) override;
  grpc::Status RecordOutcomes(grpc::ServerContext*, const fieldwork::v1::RecordOutcomesRequest*,
                              fieldwork::v1::RecordOutcomesResponse*) override;
  grpc::Status ReplayRejects(grpc::ServerContext*, const fieldwork::v1::ReplayRejectsRequest*,
                             fieldwork::v1::ReplayRejectsResponse*) override;
  grpc::Status ListResponses(grpc::ServerContext*, const fieldwork::v1::ListResponsesRequest*,
                             grpc::ServerWriter<fieldwork::v1::ListResponsesResponse>*) override;
  grpc::Status GetResponseStatus(grpc::ServerContext*,
                                 const fieldwork::v1::GetResponseStatusRequest*,
                                 fieldwork::v1::GetResponseStatusResponse*) override;
  grpc::Status GetResponseStatuses(grpc::ServerContext*,
                                   const fieldwork::v1::GetResponseStatusesRequest*,
                                   fieldwork::v1::GetResponseStatusesResponse*) override;
  grpc::Status ListOutcomes(grpc::ServerContext*, const fieldwork::v1::ListOutcomesRequest*,
                            grpc::ServerWriter<fieldwork::v1::ListOutcomesResponse>*) override;
  grpc::Status ListFormProgress(grpc::ServerContext*,
                                const fieldwork::v1::ListFormProgressRequest*,
                                grpc::ServerWriter<fieldwork::v1::ListFormProgressResponse>*) override;
  grpc::Status ResponseCounts(grpc::ServerContext*, const fieldwork::v1::ResponseCountsRequest*,
                              fieldwork::v1::ResponseCountsResponse*) override;
  grpc::Status ListRespondents(grpc::ServerContext*, const fieldwork::v1::ListRespondentsRequest*,
                               grpc::ServerWriter<fieldwork::v1::ListRespondentsResponse>*) override;
  grpc::Status GetDataVersion(grpc::ServerContext*, const fieldwork::v1::GetDataVersionRequest*,
                              fieldwork::v1::GetDataVersionResponse*) override;
  grpc::Status ListRejects(grpc::ServerContext*, const fieldwork::v1::ListRejectsRequest*,
                           grpc::ServerWriter<fieldwork::v1::ListRejectsResponse>*) override;
  grpc::Status DismissReject(grpc::ServerContext*, const fieldwork::v1::DismissRejectRequest*,
                             fieldwork::v1::DismissRejectResponse*) override;

  // Submissions handed to the Ingestor at once from a SubmitResponses stream.
  static constexpr size_t kStreamBatch = 1000;

 private:
  // The caller, if it holds one of `roles` on `trial`. Unless told otherwise the call covers
  // every site's participants (whole_trial: refused to a site-scoped caller, access.h).
  absl::StatusOr<Principal> Allow(grpc::ServerContext* context, std::initializer_list<Role> roles,
                                  const std::string& trial, bool whole_trial = true);
  // Which of `participant_ids` are enrolled at a site the caller may touch (the roster's view).
  absl::StatusOr<std::set<std::string>> InScope(const Principal& principal,
                                                const std::string& trial,
                                                const std::vector<std::string>& participant_ids);
  // OK when the caller may read every one of `participant_ids`: always for a caller of every
  // site; for a site-scoped caller each must be in InScope, and the first that is not is refused
  // with NotPermitted (the same denial for another site's participant and an unknown one).
  absl::Status AllowParticipants(const Principal& principal, const std::string& trial,
                                 const std::vector<std::string>& participant_ids);
  // What the domain needs to know of the caller (its site scope).
  static Caller CallerOf(const Principal& principal);

  Ingestor& ingestor_;
  const Authenticator& authenticator_;
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_SERVICE_H_

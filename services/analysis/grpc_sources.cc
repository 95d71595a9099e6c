#include "services/analysis/grpc_sources.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "services/common/grpc_client.h"
#include "services/common/grpc_auth.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

namespace {

std::unique_ptr<grpc::ClientContext> NewContext(const std::string& token, absl::Duration deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) AttachBearerToken(*context, token);
  context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return context;
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view call) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(call, ": ", status.error_message()));
}

// Reads a server stream into a vector of `field(message)`.
template <typename Response, typename Item, typename Reader, typename Get>
absl::StatusOr<std::vector<Item>> Drain(Reader reader, absl::string_view call, Get get) {
  std::vector<Item> items;
  Response message;
  while (reader->Read(&message)) items.push_back(std::move(*get(message)));
  absl::Status status = FromGrpc(reader->Finish(), call);
  if (!status.ok()) return status;
  return items;
}

// A server stream read one message at a time: `get` moves the item out of each message. A
// stream dropped before its end is cancelled, so the server stops sending.
template <typename Response, typename Item>
class GrpcItemStream final : public ItemStream<Item> {
 public:
  using Get = std::function<Item*(Response&)>;
  GrpcItemStream(std::unique_ptr<grpc::ClientContext> context,
                 std::unique_ptr<grpc::ClientReader<Response>> reader, std::string call, Get get)
      : context_(std::move(context)),
        reader_(std::move(reader)),
        call_(std::move(call)),
        get_(std::move(get)) {}
  ~GrpcItemStream() override {
    if (finished_) return;
    context_->TryCancel();
    reader_->Finish();
  }
  bool Next(Item& item) override {
    if (finished_) return false;
    if (reader_->Read(&message_)) {
      item = std::move(*get_(message_));
      return true;
    }
    finished_ = true;
    status_ = FromGrpc(reader_->Finish(), call_);
    return false;
  }
  absl::Status Finish() override { return status_; }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<Response>> reader_;
  std::string call_;
  Get get_;
  Response message_;
  bool finished_ = false;
  absl::Status status_;
};

// Drops a response's raw answers: every analysis reads a response's scores and times only.
v1::Response* WithoutAnswers(v1::ListResponsesResponse& m) {
  m.mutable_response()->clear_answers();
  return m.mutable_response();
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, bool tls) {
  return UpstreamChannel(address, tls ? grpc::SslCredentials(grpc::SslCredentialsOptions())
                                      : grpc::InsecureChannelCredentials());
}

GrpcAllocationSource::GrpcAllocationSource(std::shared_ptr<grpc::Channel> channel,
                                           std::string token, absl::Duration deadline)
    : stub_(v1::RandomisationService::NewStub(std::move(channel))),
      token_(std::move(token)),
      deadline_(deadline) {}

absl::StatusOr<std::vector<v1::Trial>> GrpcAllocationSource::ListTrials() {
  auto context = NewContext(token_, deadline_);
  v1::ListTrialsResponse response;
  absl::Status status =
      FromGrpc(stub_->ListTrials(context.get(), v1::ListTrialsRequest(), &response),
               "randomisation ListTrials");
  if (!status.ok()) return status;
  return std::vector<v1::Trial>(response.trials().begin(), response.trials().end());
}

absl::StatusOr<v1::Trial> GrpcAllocationSource::GetTrial(const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::GetTrialRequest request;
  request.set_trial_id(trial);
  v1::GetTrialResponse response;
  grpc::Status status = stub_->GetTrial(context.get(), request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(
        absl::StrCat("trial \"", trial, "\" not found (randomisation service)"));
  }
  if (absl::Status s = FromGrpc(status, "randomisation GetTrial"); !s.ok()) return s;
  return response.trial();
}

absl::StatusOr<std::vector<v1::ParticipantStatus>> GrpcAllocationSource::ListParticipants(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListParticipantsRequest request;
  request.set_trial_id(trial);
  return Drain<v1::ListParticipantsResponse, v1::ParticipantStatus>(
      stub_->ListParticipants(context.get(), request), "randomisation ListParticipants",
      [](v1::ListParticipantsResponse& m) { return m.mutable_status(); });
}

absl::StatusOr<std::vector<v1::Allocation>> GrpcAllocationSource::ListAllocations(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListAllocationsRequest request;
  request.set_trial_id(trial);
  return Drain<v1::ListAllocationsResponse, v1::Allocation>(
      stub_->ListAllocations(context.get(), request), "randomisation ListAllocations",
      [](v1::ListAllocationsResponse& m) { return m.mutable_allocation(); });
}

std::unique_ptr<ItemStream<v1::ParticipantStatus>> GrpcAllocationSource::StreamParticipants(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListParticipantsRequest request;
  request.set_trial_id(trial);
  auto reader = stub_->ListParticipants(context.get(), request);
  return std::make_unique<GrpcItemStream<v1::ListParticipantsResponse, v1::ParticipantStatus>>(
      std::move(context), std::move(reader), "randomisation ListParticipants",
      [](v1::ListParticipantsResponse& m) { return m.mutable_status(); });
}

std::unique_ptr<ItemStream<v1::Allocation>> GrpcAllocationSource::StreamAllocations(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListAllocationsRequest request;
  request.set_trial_id(trial);
  auto reader = stub_->ListAllocations(context.get(), request);
  return std::make_unique<GrpcItemStream<v1::ListAllocationsResponse, v1::Allocation>>(
      std::move(context), std::move(reader), "randomisation ListAllocations",
      [](v1::ListAllocationsResponse& m) { return m.mutable_allocation(); });
}

GrpcSurveyIngestSource::GrpcSurveyIngestSource(std::shared_ptr<grpc::Channel> channel,
                                               std::string token, absl::Duration deadline)
    : stub_(v1::SurveyIngestService::NewStub(std::move(channel))),
      token_(std::move(token)),
      deadline_(deadline) {}

absl::StatusOr<std::vector<v1::Wave>> GrpcSurveyIngestSource::ListWaves(const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListWavesRequest request;
  request.set_trial_id(trial);
  v1::ListWavesResponse response;
  absl::Status status =
      FromGrpc(stub_->ListWaves(context.get(), request, &response), "survey-ingest ListWaves");
  if (!status.ok()) return status;
  return std::vector<v1::Wave>(response.waves().begin(), response.waves().end());
}

absl::StatusOr<std::vector<v1::Response>> GrpcSurveyIngestSource::ListResponses(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListResponsesRequest request;
  request.set_trial_id(trial);
  // Every analysis reads a response's scores and times, never its raw answers: they are dropped
  // as each response arrives, so the join holds a fraction of what survey-ingest sends.
  return Drain<v1::ListResponsesResponse, v1::Response>(
      stub_->ListResponses(context.get(), request), "survey-ingest ListResponses", WithoutAnswers);
}

std::unique_ptr<ItemStream<v1::Response>> GrpcSurveyIngestSource::StreamResponses(
    const std::string& trial, const std::string& wave) {
  auto context = NewContext(token_, deadline_);
  v1::ListResponsesRequest request;
  request.set_trial_id(trial);
  request.set_wave_id(wave);
  auto reader = stub_->ListResponses(context.get(), request);
  return std::make_unique<GrpcItemStream<v1::ListResponsesResponse, v1::Response>>(
      std::move(context), std::move(reader), "survey-ingest ListResponses", WithoutAnswers);
}

std::unique_ptr<ItemStream<v1::Outcome>> GrpcSurveyIngestSource::StreamOutcomes(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListOutcomesRequest request;
  request.set_trial_id(trial);
  auto reader = stub_->ListOutcomes(context.get(), request);
  return std::make_unique<GrpcItemStream<v1::ListOutcomesResponse, v1::Outcome>>(
      std::move(context), std::move(reader), "survey-ingest ListOutcomes",
      [](v1::ListOutcomesResponse& m) { return m.mutable_outcome(); });
}

absl::StatusOr<std::vector<v1::Outcome>> GrpcSurveyIngestSource::ListOutcomes(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListOutcomesRequest request;
  request.set_trial_id(trial);
  return Drain<v1::ListOutcomesResponse, v1::Outcome>(
      stub_->ListOutcomes(context.get(), request), "survey-ingest ListOutcomes",
      [](v1::ListOutcomesResponse& m) { return m.mutable_outcome(); });
}

GrpcEngagementSource::GrpcEngagementSource(std::shared_ptr<grpc::Channel> channel,
                                           std::string token, absl::Duration deadline)
    : stub_(v1::MessagingService::NewStub(std::move(channel))),
      token_(std::move(token)),
      deadline_(deadline) {}

absl::StatusOr<std::vector<EngagementEvent>> GrpcEngagementSource::ListEngagement(
    const std::string& trial) {
  std::vector<EngagementEvent> events;
  absl::Status status = ForEachEngagement(
      trial, [&](const EngagementEvent& event) { events.push_back(event); });
  if (!status.ok()) return status;
  return events;
}

absl::Status GrpcEngagementSource::ForEachEngagement(
    const std::string& trial, const std::function<void(const EngagementEvent&)>& visit) {
  auto context = NewContext(token_, deadline_);
  v1::ListEventsRequest request;
  request.set_trial_id(trial);
  request.add_kinds(v1::EVENT_KIND_OPENED);
  request.add_kinds(v1::EVENT_KIND_CLICKED);
  std::unique_ptr<grpc::ClientReader<v1::ListEventsResponse>> reader =
      stub_->ListEvents(context.get(), request);
  v1::ListEventsResponse message;
  EngagementEvent e;
  while (reader->Read(&message)) {
    for (const v1::MessageEvent& event : message.events()) {
      if (event.kind() != v1::EVENT_KIND_OPENED && event.kind() != v1::EVENT_KIND_CLICKED) continue;
      e.participant_id = event.participant_id();
      e.campaign = event.campaign_id();
      e.kind = event.kind() == v1::EVENT_KIND_OPENED ? EngagementEvent::Kind::kOpened
                                                     : EngagementEvent::Kind::kClicked;
      e.time = absl::FromUnixNanos(
          google::protobuf::util::TimeUtil::TimestampToNanoseconds(event.time()));
      visit(e);
    }
  }
  return FromGrpc(reader->Finish(), "messaging ListEvents");
}

}  // namespace fieldwork::analysis

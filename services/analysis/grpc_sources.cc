#include "services/analysis/grpc_sources.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "services/common/grpc_client.h"
#include "services/common/grpc_auth.h"
#include "services/common/paged_list.h"

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

// A data version's answer: `version` when the call succeeded, empty ("cannot tell") when the
// service is older than the call, else the failure.
absl::StatusOr<std::string> VersionOr(const grpc::Status& status, std::string version,
                                      absl::string_view call) {
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) return std::string();
  if (absl::Status s = FromGrpc(status, call); !s.ok()) return s;
  return version;
}

// The items of one message of each list, in order: the lists are asked for in pages (a server
// that does not page sends one item per message, which is read the same way).
template <typename Item>
void Collect(Item* single, google::protobuf::RepeatedPtrField<Item>& page, std::vector<Item*>& out) {
  out.clear();
  ForEachListed(single, page, [&](Item& item) { out.push_back(&item); });
}
void ItemsOf(v1::ListParticipantsResponse& m, std::vector<v1::ParticipantStatus*>& out) {
  Collect(m.has_status() ? m.mutable_status() : nullptr, *m.mutable_statuses(), out);
}
void ItemsOf(v1::ListAllocationsResponse& m, std::vector<v1::Allocation*>& out) {
  Collect(m.has_allocation() ? m.mutable_allocation() : nullptr, *m.mutable_allocations(), out);
}
void ItemsOf(v1::ListResponsesResponse& m, std::vector<v1::Response*>& out) {
  Collect(m.has_response() ? m.mutable_response() : nullptr, *m.mutable_responses(), out);
}
void ItemsOf(v1::ListOutcomesResponse& m, std::vector<v1::Outcome*>& out) {
  Collect(m.has_outcome() ? m.mutable_outcome() : nullptr, *m.mutable_outcomes(), out);
}

// What is done to each item as it arrives (nothing, or dropping what no analysis reads).
template <typename Item>
using Prepare = void (*)(Item&);
template <typename Item>
void AsIs(Item&) {}

// Reads a server stream of a list whole: each message is parsed onto the list's arena and its
// items stay where they were parsed (see MessageList).
template <typename Response, typename Item, typename Reader>
absl::StatusOr<MessageList<Item>> Drain(Reader reader, absl::string_view call,
                                        Prepare<Item> prepare = AsIs<Item>) {
  MessageList<Item> items;
  std::vector<Item*> received;
  while (true) {
    auto* message = google::protobuf::Arena::CreateMessage<Response>(&items.arena());
    if (!reader->Read(message)) break;
    ItemsOf(*message, received);
    for (Item* item : received) {
      prepare(*item);
      items.AddParsed(item);
    }
  }
  absl::Status status = FromGrpc(reader->Finish(), call);
  if (!status.ok()) return status;
  return items;
}

// A server stream of a list read one item at a time (a message, one item or a page, at a time).
// A stream dropped before its end is cancelled, so the server stops sending.
template <typename Response, typename Item>
class GrpcItemStream final : public ItemStream<Item> {
 public:
  GrpcItemStream(std::unique_ptr<grpc::ClientContext> context,
                 std::unique_ptr<grpc::ClientReader<Response>> reader, std::string call,
                 Prepare<Item> prepare = AsIs<Item>)
      : context_(std::move(context)),
        reader_(std::move(reader)),
        call_(std::move(call)),
        prepare_(prepare) {}
  ~GrpcItemStream() override {
    if (finished_) return;
    context_->TryCancel();
    reader_->Finish();
  }
  bool Next(Item& item) override {
    while (!finished_ && next_ == received_.size()) {
      if (!reader_->Read(&message_)) {
        finished_ = true;
        status_ = FromGrpc(reader_->Finish(), call_);
        return false;
      }
      ItemsOf(message_, received_);
      next_ = 0;
    }
    if (finished_) return false;
    Item* next = received_[next_++];
    prepare_(*next);
    item = std::move(*next);
    return true;
  }
  absl::Status Finish() override { return status_; }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<Response>> reader_;
  std::string call_;
  Prepare<Item> prepare_;
  Response message_;
  std::vector<Item*> received_;  // into message_
  size_t next_ = 0;
  bool finished_ = false;
  absl::Status status_;
};

// Drops a response's raw answers: every analysis reads a response's scores and times only (the
// requests ask survey-ingest to leave them out; one that does not know to still sends them).
void WithoutAnswers(v1::Response& r) { r.clear_answers(); }

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

absl::StatusOr<std::string> GrpcAllocationSource::DataVersion(const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::GetAuditHeadRequest request;
  request.set_trial_id(trial);
  v1::GetAuditHeadResponse response;
  grpc::Status status = stub_->GetAuditHead(context.get(), request, &response);
  return VersionOr(
      status, absl::StrCat(response.audit_head().length(), ":", response.audit_head().sha256()),
      "randomisation GetAuditHead");
}

absl::StatusOr<MessageList<v1::ParticipantStatus>> GrpcAllocationSource::ListParticipants(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListParticipantsRequest request;
  request.set_trial_id(trial);
  request.set_paged(true);
  return Drain<v1::ListParticipantsResponse, v1::ParticipantStatus>(
      stub_->ListParticipants(context.get(), request), "randomisation ListParticipants");
}

std::unique_ptr<ItemStream<v1::ParticipantStatus>> GrpcAllocationSource::StreamParticipants(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListParticipantsRequest request;
  request.set_trial_id(trial);
  request.set_paged(true);
  auto reader = stub_->ListParticipants(context.get(), request);
  return std::make_unique<GrpcItemStream<v1::ListParticipantsResponse, v1::ParticipantStatus>>(
      std::move(context), std::move(reader), "randomisation ListParticipants");
}

std::unique_ptr<ItemStream<v1::Allocation>> GrpcAllocationSource::StreamAllocations(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListAllocationsRequest request;
  request.set_trial_id(trial);
  request.set_paged(true);
  auto reader = stub_->ListAllocations(context.get(), request);
  return std::make_unique<GrpcItemStream<v1::ListAllocationsResponse, v1::Allocation>>(
      std::move(context), std::move(reader), "randomisation ListAllocations");
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

absl::Status GrpcSurveyIngestSource::ForEachResponse(const std::string& trial,
                                                     absl::FunctionRef<void(v1::Response&)> each) {
  auto context = NewContext(token_, deadline_);
  v1::ListResponsesRequest request;
  request.set_trial_id(trial);
  request.set_paged(true);
  request.set_without_answers(true);
  request.set_analysis_view(true);
  // Every analysis reads a response's scores and times, never its raw answers nor its ids and
  // provenance: they are not sent (answers are dropped as each response arrives from a service
  // older than analysis_view).
  auto reader = stub_->ListResponses(context.get(), request);
  // Every page is parsed into the same message: its responses' objects are cleared and reused,
  // so the whole list passes through the memory of one page, which stays warm.
  v1::ListResponsesResponse page;
  std::vector<v1::Response*> received;
  while (reader->Read(&page)) {
    ItemsOf(page, received);
    for (v1::Response* response : received) {
      WithoutAnswers(*response);
      each(*response);
    }
  }
  return FromGrpc(reader->Finish(), "survey-ingest ListResponses");
}

std::unique_ptr<ItemStream<v1::Response>> GrpcSurveyIngestSource::StreamResponses(
    const std::string& trial, const std::string& wave) {
  auto context = NewContext(token_, deadline_);
  v1::ListResponsesRequest request;
  request.set_trial_id(trial);
  request.set_paged(true);
  request.set_without_answers(true);
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
  request.set_paged(true);
  auto reader = stub_->ListOutcomes(context.get(), request);
  return std::make_unique<GrpcItemStream<v1::ListOutcomesResponse, v1::Outcome>>(
      std::move(context), std::move(reader), "survey-ingest ListOutcomes");
}

absl::StatusOr<MessageList<v1::Outcome>> GrpcSurveyIngestSource::ListOutcomes(
    const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::ListOutcomesRequest request;
  request.set_trial_id(trial);
  request.set_paged(true);
  return Drain<v1::ListOutcomesResponse, v1::Outcome>(
      stub_->ListOutcomes(context.get(), request), "survey-ingest ListOutcomes");
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

absl::StatusOr<std::string> GrpcSurveyIngestSource::DataVersion(const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::GetDataVersionRequest request;
  request.set_trial_id(trial);
  v1::GetDataVersionResponse response;
  grpc::Status status = stub_->GetDataVersion(context.get(), request, &response);
  return VersionOr(status, response.version(), "survey-ingest GetDataVersion");
}

absl::StatusOr<std::string> GrpcEngagementSource::DataVersion(const std::string& trial) {
  auto context = NewContext(token_, deadline_);
  v1::GetEngagementVersionRequest request;
  request.set_trial_id(trial);
  v1::GetEngagementVersionResponse response;
  grpc::Status status = stub_->GetEngagementVersion(context.get(), request, &response);
  return VersionOr(status, response.version(), "messaging GetEngagementVersion");
}

}  // namespace fieldwork::analysis

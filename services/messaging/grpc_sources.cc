#include "services/messaging/grpc_sources.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/batch_lookup.h"
#include "services/common/grpc_auth.h"
#include "services/common/grpc_status.h"

namespace fieldwork::messaging {
namespace {

std::unique_ptr<grpc::ClientContext> Context(const std::string& token, absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  AttachBearerToken(*context, token);
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  return context;
}

absl::Time DateStart(const fieldwork::v1::CivilDate& date) {
  return absl::FromCivil(absl::CivilDay(date.year(), date.month(), date.day()),
                         absl::UTCTimeZone());
}

// `ids` without repeats, in calls of at most the services' batch limit.
std::vector<std::vector<std::string>> DistinctChunks(const std::vector<std::string>& ids) {
  const std::set<std::string> distinct(ids.begin(), ids.end());
  std::vector<std::vector<std::string>> chunks;
  for (const std::string& id : distinct) {
    if (chunks.empty() || chunks.back().size() == kMaxBatchLookupIds) chunks.emplace_back();
    chunks.back().push_back(id);
  }
  return chunks;
}

bool Matches(const std::vector<std::string>& filter, const std::string& value) {
  return filter.empty() || std::find(filter.begin(), filter.end(), value) != filter.end();
}

}  // namespace

GrpcAllocationSource::GrpcAllocationSource(std::shared_ptr<grpc::Channel> channel,
                                           std::string token, absl::Duration timeout)
    : stub_(fieldwork::v1::RandomisationService::NewStub(std::move(channel))),
      token_(std::move(token)),
      timeout_(timeout) {}

absl::StatusOr<std::map<std::string, ParticipantRecord>> GrpcAllocationSource::LookupMany(
    absl::string_view trial_id, const std::vector<std::string>& participant_ids,
    absl::string_view factor) {
  std::map<std::string, ParticipantRecord> records;
  for (const std::vector<std::string>& chunk : DistinctChunks(participant_ids)) {
    fieldwork::v1::GetParticipantsRequest request;
    request.set_trial_id(std::string(trial_id));
    request.mutable_participant_ids()->Assign(chunk.begin(), chunk.end());
    request.set_include_allocations(!factor.empty());
    fieldwork::v1::GetParticipantsResponse response;
    const grpc::Status status =
        stub_->GetParticipants(Context(token_, timeout_).get(), request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    for (const fieldwork::v1::ParticipantLookup& found : response.participants()) {
      ParticipantRecord& record = records[found.participant_id()];
      if (!found.enrolled()) continue;  // kNotEnrolled
      const fieldwork::v1::ParticipantStatus& p = found.status();
      record.enrolment =
          p.has_withdrawal() ? EnrolmentState::kWithdrawn : EnrolmentState::kEnrolled;
      if (p.has_left_on()) record.left_at = DateStart(p.left_on());
      record.site = p.participant().site();
      record.cohort = p.participant().cohort();
      for (const fieldwork::v1::Assignment& a : found.allocation().assignments()) {
        if (a.factor() == factor) record.arm = a.arm();
      }
    }
  }
  return records;
}

absl::StatusOr<std::vector<Recipient>> GrpcAllocationSource::ListAudience(
    absl::string_view trial_id, const Audience& audience) {
  std::vector<Recipient> out;
  const absl::Duration long_timeout = timeout_ * 20;
  if (audience.all_enrolled && audience.arms.empty()) {
    fieldwork::v1::ListParticipantsRequest request;
    request.set_trial_id(std::string(trial_id));
    auto context = Context(token_, long_timeout);
    auto reader = stub_->ListParticipants(context.get(), request);
    fieldwork::v1::ListParticipantsResponse item;
    while (reader->Read(&item)) {
      const fieldwork::v1::Participant& p = item.status().participant();
      if (!Matches(audience.sites, p.site()) || !Matches(audience.cohorts, p.cohort())) continue;
      out.push_back(Recipient{p.participant_id(), "", p.site(), p.cohort(), ""});
    }
    if (grpc::Status s = reader->Finish(); !s.ok()) return FromGrpcStatus(s);
    return out;
  }
  for (const std::string& arm : audience.arms) {
    fieldwork::v1::ListAllocationsRequest request;
    request.set_trial_id(std::string(trial_id));
    request.set_factor(audience.factor);
    request.set_arm(arm);
    auto context = Context(token_, long_timeout);
    auto reader = stub_->ListAllocations(context.get(), request);
    fieldwork::v1::ListAllocationsResponse item;
    while (reader->Read(&item)) {
      const fieldwork::v1::Allocation& a = item.allocation();
      if (!Matches(audience.sites, a.site()) || !Matches(audience.cohorts, a.cohort())) continue;
      std::string allocated;
      for (const fieldwork::v1::Assignment& x : a.assignments()) {
        if (x.factor() == audience.factor) allocated = x.arm();
      }
      out.push_back(Recipient{a.participant_id(), allocated, a.site(), a.cohort(), ""});
    }
    if (grpc::Status s = reader->Finish(); !s.ok()) return FromGrpcStatus(s);
  }
  return out;
}

GrpcResponseLookup::GrpcResponseLookup(std::shared_ptr<grpc::Channel> channel, std::string token,
                                       absl::Duration timeout)
    : stub_(fieldwork::v1::SurveyIngestService::NewStub(std::move(channel))),
      token_(std::move(token)),
      timeout_(timeout) {}

absl::StatusOr<std::set<std::string>> GrpcResponseLookup::RespondedAmong(
    absl::string_view trial_id, absl::string_view wave_id,
    const std::vector<std::string>& participant_ids) {
  std::set<std::string> responded;
  for (const std::vector<std::string>& chunk : DistinctChunks(participant_ids)) {
    fieldwork::v1::GetResponseStatusesRequest request;
    request.set_trial_id(std::string(trial_id));
    request.set_wave_id(std::string(wave_id));
    request.mutable_participant_ids()->Assign(chunk.begin(), chunk.end());
    fieldwork::v1::GetResponseStatusesResponse response;
    const grpc::Status status =
        stub_->GetResponseStatuses(Context(token_, timeout_).get(), request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    for (const fieldwork::v1::ParticipantResponseStatus& s : response.statuses()) {
      if (s.responded()) responded.insert(s.participant_id());
    }
  }
  return responded;
}

absl::StatusOr<std::optional<absl::Time>> GrpcResponseLookup::WaveClosesAt(
    absl::string_view trial_id, absl::string_view wave_id) {
  fieldwork::v1::ListWavesRequest request;
  request.set_trial_id(std::string(trial_id));
  fieldwork::v1::ListWavesResponse response;
  const grpc::Status status = stub_->ListWaves(Context(token_, timeout_).get(), request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  for (const fieldwork::v1::Wave& wave : response.waves()) {
    if (wave.wave_id() != wave_id) continue;
    if (!wave.has_closes_at()) return std::optional<absl::Time>();
    return std::optional<absl::Time>(absl::FromUnixSeconds(wave.closes_at().seconds()) +
                                     absl::Nanoseconds(wave.closes_at().nanos()));
  }
  return absl::NotFoundError(
      absl::StrCat("wave_id: survey-ingest has no wave ", wave_id, " in trial ", trial_id));
}

}  // namespace fieldwork::messaging

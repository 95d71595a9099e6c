#include "services/survey_ingest/grpc_roster.h"

#include <algorithm>
#include <chrono>
#include <cstddef>

#include "absl/strings/str_cat.h"
#include "services/common/batch_lookup.h"
#include "services/common/grpc_auth.h"
#include "services/common/grpc_status.h"

namespace fieldwork::survey_ingest {
namespace {

namespace v1 = ::fieldwork::v1;

RosterEntry EntryOf(const v1::ParticipantStatus& status) {
  RosterEntry entry;
  entry.enrolled = true;
  entry.withdrawn = status.has_withdrawal();
  entry.site = status.participant().site();
  return entry;
}

// A batch answer asked roster_only; a randomisation service older than roster_only answers
// with the whole status instead.
RosterEntry EntryOf(const v1::ParticipantLookup& found) {
  if (!found.enrolled()) return RosterEntry{};
  if (!found.has_roster()) return EntryOf(found.status());
  RosterEntry entry;
  entry.enrolled = true;
  entry.withdrawn = found.roster().withdrawn();
  entry.site = found.roster().site();
  return entry;
}

// The randomisation service's error, saying where it came from.
absl::Status FromRandomisation(const grpc::Status& status) {
  const absl::Status converted = FromGrpcStatus(status);
  return absl::Status(converted.code(),
                      absl::StrCat("randomisation service: ", converted.message()));
}

}  // namespace

GrpcRoster::GrpcRoster(std::shared_ptr<grpc::Channel> channel, std::string token,
                       absl::Duration deadline)
    : stub_(v1::RandomisationService::NewStub(std::move(channel))),
      token_(std::move(token)),
      deadline_(deadline) {}

void GrpcRoster::Prepare(grpc::ClientContext& context) const {
  AttachBearerToken(context, token_);
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
}

absl::StatusOr<std::string> GrpcRoster::Version(const std::string& trial) {
  grpc::ClientContext context;
  Prepare(context);
  v1::GetAuditHeadRequest request;
  request.set_trial_id(trial);
  v1::GetAuditHeadResponse response;
  const grpc::Status status = stub_->GetAuditHead(&context, request, &response);
  if (!status.ok()) return FromRandomisation(status);
  return absl::StrCat(response.audit_head().length(), ":", response.audit_head().sha256());
}

absl::StatusOr<RosterEntries> GrpcRoster::Lookup(const std::string& trial,
                                                 const std::vector<std::string>& participant_ids) {
  RosterEntries entries;
  for (size_t start = 0; start < participant_ids.size(); start += kMaxBatchLookupIds) {
    const size_t end = std::min(participant_ids.size(), start + kMaxBatchLookupIds);
    grpc::ClientContext context;
    Prepare(context);
    v1::GetParticipantsRequest request;
    request.set_trial_id(trial);
    request.set_roster_only(true);  // site and withdrawal: no record need be read for them
    request.mutable_participant_ids()->Assign(participant_ids.begin() + static_cast<ptrdiff_t>(start),
                                              participant_ids.begin() + static_cast<ptrdiff_t>(end));
    v1::GetParticipantsResponse response;
    const grpc::Status status = stub_->GetParticipants(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      // An unknown trial: none of them is a participant.
      for (size_t i = start; i < end; ++i) entries.try_emplace(participant_ids[i]);
      continue;
    }
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      // An id the roster cannot hold refuses the whole call; asked one by one, it alone is
      // answered "not a participant". Rare: CheckSubmission refuses such ids before this.
      const std::vector<std::string> slice(participant_ids.begin() + static_cast<ptrdiff_t>(start),
                                           participant_ids.begin() + static_cast<ptrdiff_t>(end));
      absl::StatusOr<RosterEntries> one_by_one = LookupOneByOne(trial, slice);
      if (!one_by_one.ok()) return one_by_one.status();
      entries.merge(*one_by_one);
      continue;
    }
    if (!status.ok()) return FromRandomisation(status);
    for (const v1::ParticipantLookup& found : response.participants()) {
      entries[found.participant_id()] = EntryOf(found);
    }
    for (size_t i = start; i < end; ++i) entries.try_emplace(participant_ids[i]);
  }
  return entries;
}

absl::StatusOr<RosterEntries> GrpcRoster::LookupOneByOne(
    const std::string& trial, const std::vector<std::string>& participant_ids) {
  RosterEntries entries;
  for (const std::string& id : participant_ids) {
    grpc::ClientContext context;
    Prepare(context);
    v1::GetParticipantRequest request;
    request.set_trial_id(trial);
    request.set_participant_id(id);
    v1::GetParticipantResponse response;
    const grpc::Status status = stub_->GetParticipant(&context, request, &response);
    if (status.ok()) {
      entries[id] = EntryOf(response.status());
    } else if (status.error_code() == grpc::StatusCode::NOT_FOUND ||
               status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      // An unknown participant or trial, or an id the roster cannot hold: not a participant.
      entries[id] = RosterEntry{};
    } else {
      return FromRandomisation(status);
    }
  }
  return entries;
}

GrpcAllocations::GrpcAllocations(std::shared_ptr<grpc::Channel> channel, std::string token,
                                 absl::Duration deadline)
    : stub_(v1::RandomisationService::NewStub(std::move(channel))),
      token_(std::move(token)),
      deadline_(deadline) {}

absl::StatusOr<ParticipantAllocation> GrpcAllocations::Get(const std::string& trial,
                                                           const std::string& participant) {
  grpc::ClientContext context;
  AttachBearerToken(context, token_);
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  v1::GetAllocationRequest request;
  request.set_trial_id(trial);
  request.set_participant_id(participant);
  v1::GetAllocationResponse response;
  const grpc::Status status = stub_->GetAllocation(&context, request, &response);
  if (!status.ok()) return FromRandomisation(status);
  ParticipantAllocation allocation;
  for (const v1::Assignment& assignment : response.allocation().assignments()) {
    allocation.arms[assignment.factor()] = assignment.arm();
    if (assignment.order_size() > 0) {
      allocation.orders[assignment.factor()].assign(assignment.order().begin(),
                                                    assignment.order().end());
    }
  }
  return allocation;
}

}  // namespace fieldwork::survey_ingest

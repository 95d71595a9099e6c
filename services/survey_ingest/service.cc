#include "services/survey_ingest/service.h"

#include <future>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/enum_check.h"
#include "services/common/grpc_status.h"
#include "services/common/logging.h"
#include "services/common/paged_list.h"
#include "services/common/quote.h"

namespace fieldwork::survey_ingest {
namespace v1 = ::fieldwork::v1;

namespace {

// ListResponsesRequest.analysis_view: the fields an analysis reads, the rest cleared (the
// answers are not read from the store at all: Ingestor::ListResponses).
void KeepAnalysedFields(v1::Response& r) {
  r.clear_trial_id();
  r.clear_submission_id();
  r.clear_instrument_id();
  r.clear_instrument_version();
  r.clear_started_at();
  r.clear_late();
  r.clear_partial();
  r.clear_source();
  r.clear_site();
}

// A trial id longer than any of the documented form (1-128 of A-Z a-z 0-9 . _ -) is refused
// before it is looked up or quoted in a denial.
absl::Status CheckTrialIdLength(const std::string& trial) {
  constexpr size_t kMaxIdBytes = 128;
  if (trial.size() <= kMaxIdBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("trial_id: longer than ", kMaxIdBytes, " bytes: \"", Quoted(trial), "\""));
}

}  // namespace

IngestMetrics::IngestMetrics(prometheus::Registry& registry)
    : submissions_(prometheus::BuildCounter()
                       .Name("fieldwork_survey_ingest_submissions_total")
                       .Help("Submissions and CSV rows, by wave and outcome "
                             "(accepted, duplicate, rejected).")
                       .Register(registry)),
      rejects_(prometheus::BuildCounter()
                   .Name("fieldwork_survey_ingest_rejects_total")
                   .Help("Rows and submissions rejected, by the reason of their first error.")
                   .Register(registry)),
      respondents_(prometheus::BuildGauge()
                       .Name("fieldwork_survey_ingest_respondents")
                       .Help("Participants with a counted response, by wave and site.")
                       .Register(registry)) {}

IngestObserver IngestMetrics::Observer() {
  IngestObserver observer;
  observer.on_submission = [this](const std::string& trial, const std::string& wave,
                                  absl::string_view status, int64_t count) {
    submissions_.Add({{"trial", trial}, {"wave", wave}, {"status", std::string(status)}})
        .Increment(static_cast<double>(count));
  };
  observer.on_reject = [this](const std::string& trial, absl::string_view reason, int64_t count) {
    rejects_.Add({{"trial", trial}, {"reason", std::string(reason)}})
        .Increment(static_cast<double>(count));
  };
  observer.on_new_respondent = [this](const std::string& trial, const std::string& wave,
                                      const std::string& site, int64_t count) {
    respondents_.Add({{"trial", trial}, {"wave", wave}, {"site", site}})
        .Increment(static_cast<double>(count));
  };
  return observer;
}

void IngestMetrics::Seed(Ingestor& ingestor, IngestStore& store) {
  absl::StatusOr<std::vector<std::string>> trials = store.ListTrials();
  if (!trials.ok()) {
    logging::Warning("cannot seed respondent gauges", {{"error", trials.status().ToString()}});
    return;
  }
  for (const std::string& trial : *trials) {
    auto respondents = ingestor.Respondents(trial);
    if (!respondents.ok()) continue;
    for (const auto& [wave_site, n] : *respondents) {
      respondents_.Add({{"trial", trial}, {"wave", wave_site.first}, {"site", wave_site.second}})
          .Set(static_cast<double>(n));
    }
  }
}

absl::StatusOr<Principal> SurveyIngestServiceImpl::Allow(grpc::ServerContext* context,
                                                         std::initializer_list<Role> roles,
                                                         const std::string& trial,
                                                         bool whole_trial) {
  absl::StatusOr<Principal> principal = authenticator_.Authenticate(*context);
  if (!principal.ok()) return principal.status();
  if (absl::Status s = CheckTrialIdLength(trial); !s.ok()) return s;
  const absl::Status allowed = whole_trial ? AuthorizeWholeTrial(*principal, roles, trial)
                                           : Authorize(*principal, roles, trial);
  if (!allowed.ok()) return allowed;
  return principal;
}

absl::StatusOr<std::set<std::string>> SurveyIngestServiceImpl::InScope(
    const Principal& principal, const std::string& trial,
    const std::vector<std::string>& participant_ids) {
  const ParticipantScope scope = ParticipantScope::Of(principal);
  absl::StatusOr<RosterEntries> roster = ingestor_.RosterOf(trial, participant_ids);
  if (!roster.ok()) return roster.status();
  std::set<std::string> in_scope;
  for (const std::string& id : participant_ids) {
    auto it = roster->find(id);
    if (it != roster->end() && it->second.enrolled && scope.MayTouchSite(it->second.site)) {
      in_scope.insert(id);
    }
  }
  return in_scope;
}

absl::Status SurveyIngestServiceImpl::AllowParticipants(
    const Principal& principal, const std::string& trial,
    const std::vector<std::string>& participant_ids) {
  if (!ParticipantScope::Of(principal).site_scoped()) return absl::OkStatus();
  absl::StatusOr<std::set<std::string>> in_scope = InScope(principal, trial, participant_ids);
  if (!in_scope.ok()) return in_scope.status();
  for (const std::string& id : participant_ids) {
    if (in_scope->count(id) == 0) return NotPermitted(id);
  }
  return absl::OkStatus();
}

Caller SurveyIngestServiceImpl::CallerOf(const Principal& principal) {
  Caller caller;
  caller.name = principal.name;
  caller.may_touch_trial = [principal](const std::string& trial) {
    return principal.HasRole(Role::kAdmin) || principal.MayTouchTrial(trial);
  };
  if (ParticipantScope::Of(principal).site_scoped()) caller.sites = principal.sites;
  return caller;
}

grpc::Status SurveyIngestServiceImpl::PutInstrument(grpc::ServerContext* context,
                                                    const v1::PutInstrumentRequest* request,
                                                    v1::PutInstrumentResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(principal, Allow(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(instrument,
                           ingestor_.PutInstrument(request->trial_id(), request->instrument()));
  *response->mutable_instrument() = std::move(instrument);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ListInstruments(grpc::ServerContext* context,
                                                      const v1::ListInstrumentsRequest* request,
                                                      v1::ListInstrumentsResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal,
      Allow(context, {Role::kResearcher, Role::kPartner, Role::kAnalyst}, request->trial_id(), /*whole_trial=*/false));
  FW_GRPC_ASSIGN_OR_RETURN(instruments, ingestor_.ListInstruments(request->trial_id()));
  for (auto& instrument : instruments) *response->add_instruments() = std::move(instrument);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::PutWave(grpc::ServerContext* context,
                                              const v1::PutWaveRequest* request,
                                              v1::PutWaveResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(principal,
                           Allow(context, {Role::kResearcher}, request->wave().trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(wave, ingestor_.PutWave(request->wave()));
  *response->mutable_wave() = std::move(wave);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ListWaves(grpc::ServerContext* context,
                                                const v1::ListWavesRequest* request,
                                                v1::ListWavesResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal,
      Allow(context, {Role::kResearcher, Role::kPartner, Role::kAnalyst}, request->trial_id(), /*whole_trial=*/false));
  FW_GRPC_ASSIGN_OR_RETURN(waves, ingestor_.ListWaves(request->trial_id()));
  for (auto& wave : waves) *response->add_waves() = std::move(wave);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::SubmitResponse(grpc::ServerContext* context,
                                                     const v1::SubmitResponseRequest* request,
                                                     v1::SubmitResponseResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(principal, Allow(context, {Role::kResearcher, Role::kPartner},
                                            request->submission().trial_id(), /*whole_trial=*/false));
  FW_GRPC_ASSIGN_OR_RETURN(results,
                           ingestor_.Submit({request->submission()}, 1, CallerOf(principal)));
  SubmissionResult& result = results.front();
  response->set_status(result.status);
  response->set_submission_id(result.submission_id);
  response->set_late(result.late);
  for (auto& error : result.errors) *response->add_errors() = std::move(error);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::SubmitResponses(
    grpc::ServerContext* context, grpc::ServerReader<v1::SubmitResponsesRequest>* reader,
    v1::SubmitResponsesResponse* response) {
  // The trial is checked per submission (a stream may serve several trials).
  FW_GRPC_ASSIGN_OR_RETURN(principal, Allow(context, {Role::kResearcher, Role::kPartner}, "", /*whole_trial=*/false));
  const Caller caller = CallerOf(principal);
  // A full batch is stored (checked, looked up in the roster, written) on a thread of its own
  // while the stream's next batch is read and parsed here, so the two overlap; at most two
  // batches are held. Batches are stored one after another, in stream order.
  std::future<absl::StatusOr<std::vector<SubmissionResult>>> storing;
  int64_t storing_from = 1;  // the first row of the batch being stored
  std::vector<v1::Submission> batch;
  batch.reserve(kStreamBatch);
  int64_t next_row = 1;  // the first row of `batch`
  // Waits for the batch being stored and counts its results. What was stored before a failure
  // stays stored; the error says from which row to retry (re-sending earlier rows is harmless:
  // they are duplicates).
  auto collect = [&]() -> absl::Status {
    if (!storing.valid()) return absl::OkStatus();
    absl::StatusOr<std::vector<SubmissionResult>> results = storing.get();
    if (!results.ok()) {
      return absl::Status(results.status().code(),
                          absl::StrCat("rows from ", storing_from,
                                       " not stored: ", results.status().message()));
    }
    for (SubmissionResult& result : *results) {
      switch (result.status) {
        case v1::SUBMISSION_STATUS_ACCEPTED:
          response->set_accepted(response->accepted() + 1);
          break;
        case v1::SUBMISSION_STATUS_DUPLICATE:
          response->set_duplicate(response->duplicate() + 1);
          break;
        default:
          response->set_rejected(response->rejected() + 1);
          break;
      }
      for (auto& error : result.errors) *response->add_errors() = std::move(error);
    }
    return absl::OkStatus();
  };
  // Collects the batch before, then hands `batch` over to be stored.
  auto store = [&]() -> absl::Status {
    if (absl::Status s = collect(); !s.ok()) return s;
    if (batch.empty()) return absl::OkStatus();
    storing_from = next_row;
    next_row += static_cast<int64_t>(batch.size());
    storing = std::async(std::launch::async,
                         [this, &caller, from = storing_from, submissions = std::move(batch)]() mutable {
                           return ingestor_.Submit(std::move(submissions), from, caller);
                         });
    batch = {};  // moved from: valid but unspecified
    batch.reserve(kStreamBatch);
    return absl::OkStatus();
  };
  std::set<std::string> trials_allowed;
  // Takes one row of the stream: the trial is authorised the first time it appears, before the
  // stream is read further (a caller may not make the server buffer rows for a trial it may
  // not touch).
  auto take = [&](v1::Submission& row) -> absl::Status {
    const std::string& trial = row.trial_id();
    if (trials_allowed.count(trial) == 0) {
      absl::Status allowed = CheckTrialIdLength(trial);
      if (allowed.ok()) allowed = Authorize(principal, {Role::kResearcher, Role::kPartner}, trial);
      if (!allowed.ok()) {
        if (absl::Status s = collect(); !s.ok()) return s;
        return absl::Status(
            allowed.code(),
            absl::StrCat("row ", next_row + static_cast<int64_t>(batch.size()), ": ",
                         allowed.message(), "; rows from ", next_row, " not stored"));
      }
      trials_allowed.insert(trial);
    }
    batch.push_back(std::move(row));
    return batch.size() >= kStreamBatch ? store() : absl::OkStatus();
  };
  v1::SubmitResponsesRequest message;
  while (reader->Read(&message)) {
    if (message.has_submission() || message.submissions().empty()) {
      if (absl::Status s = take(*message.mutable_submission()); !s.ok()) return ToGrpcStatus(s);
    }
    for (v1::Submission& row : *message.mutable_submissions()) {
      if (absl::Status s = take(row); !s.ok()) return ToGrpcStatus(s);
    }
  }
  if (context->IsCancelled()) {
    // Cut off (the client cancelled, its deadline passed, the connection dropped): Read ended
    // as if the stream were complete. The batch being stored is finished; the unfinished one
    // is dropped, as the proto promises whole batches only (the client resends the stream).
    const absl::Status stored = collect();
    return ToGrpcStatus(absl::CancelledError(absl::StrCat(
        "stream cut off: rows from ", stored.ok() ? next_row : storing_from, " not stored")));
  }
  if (absl::Status s = store(); !s.ok()) return ToGrpcStatus(s);
  if (absl::Status s = collect(); !s.ok()) return ToGrpcStatus(s);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ImportCsv(grpc::ServerContext* context,
                                                const v1::ImportCsvRequest* request,
                                                v1::ImportCsvResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kPartner}, request->trial_id(), /*whole_trial=*/false));
  FW_GRPC_RETURN_IF_ERROR(CheckEnumValuesKnown(*request));  // the layout
  FW_GRPC_ASSIGN_OR_RETURN(result, ingestor_.ImportCsv(*request, CallerOf(principal)));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::RecordOutcomes(grpc::ServerContext* context,
                                                     const v1::RecordOutcomesRequest* request,
                                                     v1::RecordOutcomesResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kPartner}, request->trial_id(), /*whole_trial=*/false));
  FW_GRPC_ASSIGN_OR_RETURN(result, ingestor_.RecordOutcomes(*request, CallerOf(principal)));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ReplayRejects(grpc::ServerContext* context,
                                                    const v1::ReplayRejectsRequest* request,
                                                    v1::ReplayRejectsResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(principal, Allow(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(result,
                           ingestor_.ReplayRejects(request->trial_id(), request->wave_id()));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ListResponses(
    grpc::ServerContext* context, const v1::ListResponsesRequest* request,
    grpc::ServerWriter<v1::ListResponsesResponse>* writer) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id(),
                       /*whole_trial=*/false));
  // Responses are written as they are read, alone or a page at a time (Write blocks while the
  // client is behind), so the service holds a page of the wave, never all of it.
  const ParticipantScope scope = ParticipantScope::Of(principal);
  ListWriter<v1::ListResponsesResponse, v1::Response> list(
      writer, request->paged(), &v1::ListResponsesResponse::mutable_response,
      &v1::ListResponsesResponse::mutable_responses);
  bool client_gone = false;
  FW_GRPC_RETURN_IF_ERROR(ingestor_.ListResponses(*request, [&](v1::Response& r) {
    if (!scope.MayTouchSite(r.site())) return true;
    if (request->analysis_view()) KeepAnalysedFields(r);
    client_gone = !list.Add(r);
    return !client_gone;
  }));
  if (!client_gone) list.Flush();
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::GetResponseStatus(grpc::ServerContext* context,
                                                        const v1::GetResponseStatusRequest* request,
                                                        v1::GetResponseStatusResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id(), /*whole_trial=*/false));
  FW_GRPC_RETURN_IF_ERROR(
      AllowParticipants(principal, request->trial_id(), {request->participant_id()}));
  FW_GRPC_ASSIGN_OR_RETURN(status, ingestor_.GetResponseStatus(*request));
  *response = std::move(status);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::GetResponseStatuses(
    grpc::ServerContext* context, const v1::GetResponseStatusesRequest* request,
    v1::GetResponseStatusesResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id(), /*whole_trial=*/false));
  // The request is checked whole first, so a bad id is named before any roster question.
  FW_GRPC_ASSIGN_OR_RETURN(statuses, ingestor_.GetResponseStatuses(*request));
  const std::vector<std::string> ids(request->participant_ids().begin(),
                                     request->participant_ids().end());
  FW_GRPC_RETURN_IF_ERROR(AllowParticipants(principal, request->trial_id(), ids));
  *response = std::move(statuses);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ListOutcomes(
    grpc::ServerContext* context, const v1::ListOutcomesRequest* request,
    grpc::ServerWriter<v1::ListOutcomesResponse>* writer) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id(),
                       /*whole_trial=*/false));
  // Streamed as ListResponses is. Outcomes carry no site: a site-scoped caller's are those of
  // the roster's participants at its sites, asked once per participant (outcomes arrive in
  // participant order).
  const bool site_scoped = ParticipantScope::Of(principal).site_scoped();
  std::string last_participant;
  bool last_visible = false;
  absl::Status roster_error;
  ListWriter<v1::ListOutcomesResponse, v1::Outcome> list(
      writer, request->paged(), &v1::ListOutcomesResponse::mutable_outcome,
      &v1::ListOutcomesResponse::mutable_outcomes);
  bool client_gone = false;
  FW_GRPC_RETURN_IF_ERROR(
      ingestor_.ListOutcomes(request->trial_id(), request->outcome(), [&](v1::Outcome& o) {
        if (site_scoped && o.participant_id() != last_participant) {
          last_participant = o.participant_id();
          absl::StatusOr<std::set<std::string>> in_scope =
              InScope(principal, request->trial_id(), {last_participant});
          if (!in_scope.ok()) {
            roster_error = in_scope.status();
            return false;
          }
          last_visible = !in_scope->empty();
        }
        if (site_scoped && !last_visible) return true;
        client_gone = !list.Add(o);
        return !client_gone;
      }));
  FW_GRPC_RETURN_IF_ERROR(roster_error);
  if (!client_gone) list.Flush();
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ListFormProgress(
    grpc::ServerContext* context, const v1::ListFormProgressRequest* request,
    grpc::ServerWriter<v1::ListFormProgressResponse>* writer) {
  // Whole trial only: the funnel holds participant ids without their sites.
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  constexpr int kPage = 1000;
  v1::ListFormProgressResponse page;
  bool client_left = false;
  FW_GRPC_RETURN_IF_ERROR(ingestor_.ListFormProgress(
      *request, [&](const std::string& wave, const std::string& participant, v1::FormStage stage) {
        v1::ListFormProgressResponse::Participant* p = page.add_participants();
        p->set_wave_id(wave);
        p->set_participant_id(participant);
        p->set_stage(stage);
        if (page.participants_size() < kPage) return true;
        client_left = !writer->Write(page);
        page.clear_participants();
        return !client_left;
      }));
  if (!client_left && page.participants_size() > 0) writer->Write(page);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ListRespondents(
    grpc::ServerContext* context, const v1::ListRespondentsRequest* request,
    grpc::ServerWriter<v1::ListRespondentsResponse>* writer) {
  // Whole trial only: the ids carry no site to filter a site-scoped caller's view by.
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  constexpr int kPage = 1000;
  v1::ListRespondentsResponse page;
  bool client_left = false;
  auto flush = [&] {
    client_left = !writer->Write(page);
    page.clear_participant_ids();
    return !client_left;
  };
  FW_GRPC_RETURN_IF_ERROR(ingestor_.ListRespondents(
      *request, [&](const std::string& wave, const std::string& participant) {
        if (wave != page.wave_id()) {
          if (page.participant_ids_size() > 0 && !flush()) return false;
          page.set_wave_id(wave);
        }
        page.add_participant_ids(participant);
        return page.participant_ids_size() < kPage || flush();
      }));
  if (!client_left && page.participant_ids_size() > 0) writer->Write(page);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ResponseCounts(grpc::ServerContext* context,
                                                     const v1::ResponseCountsRequest* request,
                                                     v1::ResponseCountsResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(counts, ingestor_.ResponseCounts(request->trial_id()));
  *response = std::move(counts);
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::GetDataVersion(grpc::ServerContext* context,
                                                     const v1::GetDataVersionRequest* request,
                                                     v1::GetDataVersionResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal, Allow(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(version, ingestor_.DataVersion(request->trial_id()));
  response->set_version(std::move(version));
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::ListRejects(
    grpc::ServerContext* context, const v1::ListRejectsRequest* request,
    grpc::ServerWriter<v1::ListRejectsResponse>* writer) {
  FW_GRPC_ASSIGN_OR_RETURN(
      principal,
      Allow(context, {Role::kResearcher, Role::kPartner, Role::kAnalyst}, request->trial_id(), /*whole_trial=*/false));
  FW_GRPC_ASSIGN_OR_RETURN(rejects, ingestor_.ListRejects(*request));
  // A site-scoped caller sees the rejects of its own sites and those it caused (unknown
  // participants and other sites' alike: neither has a site in the reject).
  const ParticipantScope scope = ParticipantScope::Of(principal);
  v1::ListRejectsResponse message;
  for (auto& reject : rejects) {
    if (scope.site_scoped() && reject.submitted_by() != principal.name &&
        (reject.site().empty() || !scope.MayTouchSite(reject.site()))) {
      continue;
    }
    *message.mutable_reject() = std::move(reject);
    if (!writer->Write(message)) break;
  }
  return grpc::Status::OK;
}

grpc::Status SurveyIngestServiceImpl::DismissReject(grpc::ServerContext* context,
                                                    const v1::DismissRejectRequest* request,
                                                    v1::DismissRejectResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(principal, Allow(context, {Role::kAdmin}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(reject, ingestor_.DismissReject(request->trial_id(), request->reject_id(),
                                                           request->reason(), principal.name));
  *response->mutable_reject() = std::move(reject);
  return grpc::Status::OK;
}

}  // namespace fieldwork::survey_ingest

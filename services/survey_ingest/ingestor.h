// The survey-ingest domain service: instruments and waves, validation and storage of
// submissions and CSV imports (a bad row never takes a good one down with it), the rejects log
// and its replay, outcomes, and the read side with standardised composites. No gRPC, no Redis:
// it works through IngestStore and Roster.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_INGESTOR_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_INGESTOR_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fieldwork/v1/survey_ingest.pb.h"
#include "services/common/clock.h"
#include "services/survey_ingest/domain/scoring.h"
#include "services/survey_ingest/roster.h"
#include "services/survey_ingest/store.h"
#include "services/survey_link/key_ring.h"

namespace fieldwork::survey_ingest {

// Called after each stored batch, for metrics, with counts (a batch is reported at once). Any
// member may be empty.
struct IngestObserver {
  // status: "accepted", "duplicate" or "rejected".
  std::function<void(const std::string& trial, const std::string& wave, absl::string_view status,
                     int64_t count)>
      on_submission;
  // reason: a short category ("unknown_participant", "out_of_range", ...; see RejectCategory).
  std::function<void(const std::string& trial, absl::string_view reason, int64_t count)> on_reject;
  // Participants' first complete responses to a wave.
  std::function<void(const std::string& trial, const std::string& wave, const std::string& site,
                     int64_t count)>
      on_new_respondent;
};

// Who is calling, as far as the domain cares. Empty: allowed everything.
struct Caller {
  std::string name;  // recorded in the rejects it causes
  // Recorded as the responses' and rejects' source; empty: "grpc".
  std::string source;
  // Whether the caller may act in a trial. A submission to another trial is rejected and not
  // kept in the rejects log.
  std::function<bool(const std::string& trial)> may_touch_trial;
  // The sites whose participants a site-scoped caller (any role: access.h) may touch; nullopt:
  // every site. A submission for another site's participant is rejected exactly as one for an
  // unknown participant, and kept as such (with these sites, so that a replay re-checks them).
  std::optional<std::set<std::string>> sites;
};

struct SubmissionResult {
  fieldwork::v1::SubmissionStatus status = fieldwork::v1::SUBMISSION_STATUS_UNSPECIFIED;
  std::string submission_id;
  bool late = false;
  std::vector<fieldwork::v1::RowError> errors;
};

// The metric category of a row error's reason: unknown_participant, withdrawn, out_of_range,
// non_numeric, unknown_column, missing_required, invalid_choice, wave_closed, wave_not_open,
// unknown_wave, not_permitted or invalid.
std::string RejectCategory(absl::string_view reason);

class Ingestor {
 public:
  // `link_keys` (optional) resolves the survey link tokens of an ImportCsv with a token column.
  Ingestor(IngestStore& store, Roster& roster, const Clock& clock,
           IngestObserver observer = {},
           const survey_link::SurveyLinkKeyRing* link_keys = nullptr);

  // Parses and validates the YAML definition (id, version and title come from it) and adds
  // it; a later version must be compatible with the earlier ones. INVALID_ARGUMENT names every
  // problem; ALREADY_EXISTS when the version exists with a different definition.
  absl::StatusOr<fieldwork::v1::Instrument> PutInstrument(
      const std::string& trial, const fieldwork::v1::Instrument& instrument);
  absl::StatusOr<std::vector<fieldwork::v1::Instrument>> ListInstruments(const std::string& trial);
  // Adds or replaces a wave; its instrument version must exist, closes_at must follow opens_at
  // and the norms wave, when named, must exist.
  absl::StatusOr<fieldwork::v1::Wave> PutWave(const fieldwork::v1::Wave& wave);
  absl::StatusOr<std::vector<fieldwork::v1::Wave>> ListWaves(const std::string& trial);

  // Validates and stores each submission; result i is for submissions[i], whose errors carry
  // row first_row + i. Rejected ones go to the rejects log (except those the caller may not
  // touch). Fails only when storage or the roster is unavailable.
  absl::StatusOr<std::vector<SubmissionResult>> Submit(
      std::vector<fieldwork::v1::Submission> submissions, int64_t first_row,
      const Caller& caller = {});

  // Imports a Qualtrics or plain CSV export into a wave, or per-decision data in long format
  // (LAYOUT_LONG: one response per participant, from all of their rows). Whole-file problems
  // (unknown wave, no header, no participant column) are INVALID_ARGUMENT; row problems are
  // reported per row.
  absl::StatusOr<fieldwork::v1::ImportCsvResponse> ImportCsv(
      const fieldwork::v1::ImportCsvRequest& request, const Caller& caller = {});

  absl::StatusOr<fieldwork::v1::RecordOutcomesResponse> RecordOutcomes(
      const fieldwork::v1::RecordOutcomesRequest& request, const Caller& caller = {});

  // Validates stored, not yet replayed rejects again with the current roster; the accepted
  // ones are stored and marked replayed.
  absl::StatusOr<fieldwork::v1::ReplayRejectsResponse> ReplayRejects(const std::string& trial,
                                                                     const std::string& wave);

  // Calls `visit` with each selected response, composites standardised against the norms
  // wave's counted responses: wave by wave in wave id order, within a wave in (participant,
  // submitted_at, submission id) order. Read from the store a page at a time, so memory does
  // not grow with the wave (the norms need one number per scale and counted response of the
  // norms wave). Stops, OK, when `visit` returns false; an error after some visits ends it.
  // With `without_answers` or `analysis_view` the responses come without their answers (they
  // are not even parsed).
  absl::Status ListResponses(const fieldwork::v1::ListResponsesRequest& request,
                             const std::function<bool(fieldwork::v1::Response&)>& visit);
  // The roster's entries for `participant_ids` (unknown ones: enrolled = false), for access
  // checks on reads.
  absl::StatusOr<RosterEntries> RosterOf(const std::string& trial,
                                         const std::vector<std::string>& participant_ids);
  absl::StatusOr<fieldwork::v1::GetResponseStatusResponse> GetResponseStatus(
      const fieldwork::v1::GetResponseStatusRequest& request);
  // The same for each id of the request (1 to kMaxBatchLookupIds), one answer per id in order.
  absl::StatusOr<fieldwork::v1::GetResponseStatusesResponse> GetResponseStatuses(
      const fieldwork::v1::GetResponseStatusesRequest& request);
  // Calls `visit` with each outcome (only `outcome`'s when not empty) in (participant, outcome,
  // period start, period end) order, as ListResponses.
  absl::Status ListOutcomes(const std::string& trial, const std::string& outcome,
                            const std::function<bool(fieldwork::v1::Outcome&)>& visit);
  absl::StatusOr<fieldwork::v1::ResponseCountsResponse> ResponseCounts(const std::string& trial);
  // GetDataVersion's answer: the store's counter as text.
  absl::StatusOr<std::string> DataVersion(const std::string& trial);
  // Calls `visit` with each participant who opened the hosted form's link for the request's
  // wave (every wave when empty: in wave id order), with the furthest stage reached. Stops,
  // OK, when `visit` returns false. NOT_FOUND for a wave the trial does not have.
  // Calls `visit` with each participant with a counted response to the request's wave (every
  // wave when empty: in wave id order). Stops, OK, when `visit` returns false. NOT_FOUND for a
  // wave the trial does not have.
  absl::Status ListRespondents(
      const fieldwork::v1::ListRespondentsRequest& request,
      const std::function<bool(const std::string& wave, const std::string& participant)>& visit);
  absl::Status ListFormProgress(
      const fieldwork::v1::ListFormProgressRequest& request,
      const std::function<bool(const std::string& wave, const std::string& participant,
                               fieldwork::v1::FormStage stage)>& visit);
  absl::StatusOr<std::vector<fieldwork::v1::Reject>> ListRejects(
      const fieldwork::v1::ListRejectsRequest& request);
  // Marks a reject dismissed by `admin`, with `reason`, and logs it. A dismissed reject is kept
  // but not listed (unless asked), counted or replayed. Dismissing it again changes nothing.
  absl::StatusOr<fieldwork::v1::Reject> DismissReject(const std::string& trial,
                                                      const std::string& reject_id,
                                                      const std::string& reason,
                                                      const std::string& admin);

  // The scorer of an instrument version of the trial (parsed once: stored versions never
  // change), e.g. for the hosted form. NOT_FOUND when the trial has no such version.
  absl::StatusOr<std::shared_ptr<const Scorer>> ScorerOf(const std::string& trial,
                                                         const std::string& instrument_id,
                                                         int version);

  // Respondents (participants with a counted response) by wave and site, for the gauges.
  absl::StatusOr<std::map<std::pair<std::string, std::string>, int64_t>> Respondents(
      const std::string& trial);

 private:
  // The waves a list names: `wave_id`, or every wave of the trial when empty (in id order);
  // NOT_FOUND for a wave the trial does not have.
  absl::StatusOr<std::set<std::string>> WavesToList(const std::string& trial,
                                                    const std::string& wave_id);
  struct TrialContext;
  struct Candidate;

  absl::StatusOr<TrialContext> LoadContext(const std::string& trial);
  absl::StatusOr<std::shared_ptr<const Scorer>> ScorerFor(const std::string& trial,
                                                          const fieldwork::v1::Instrument& stored);
  // Validates candidates of one trial and writes them in one batch.
  absl::Status Process(const std::string& trial, const TrialContext& context,
                       std::vector<Candidate>& candidates, const Caller& caller, bool replay,
                       const std::string& import_sha256);
  void Report(const std::string& trial, const std::vector<Candidate>& candidates);
  // The norms `wave`'s composites are standardised against (those of its reference wave's
  // scales); none when no instrument of the trial has composites. Kept by data version.
  absl::StatusOr<ScaleNorms> NormsFor(const std::string& trial, const TrialContext& context,
                                      const fieldwork::v1::Wave& wave);
  // NormsFor every wave of `trial` as its data stands now, kept for the listings that follow
  // (`context`: its instruments and waves, which storing responses does not change).
  void ComputeNorms(const std::string& trial, const TrialContext& context);

  // The participant of an imported row's survey link token (ImportCsv's token column).
  absl::StatusOr<std::string> ParticipantOfToken(const std::string& trial, const std::string& wave,
                                                 absl::string_view token,
                                                 std::optional<absl::Time> answered_at) const;

  IngestStore& store_;
  Roster& roster_;
  const Clock& clock_;
  IngestObserver observer_;
  const survey_link::SurveyLinkKeyRing* link_keys_;
  std::mutex scorers_mutex_;
  // "<trial>|<id>@<version>" -> scorer (instrument versions never change once stored).
  std::map<std::string, std::shared_ptr<const Scorer>, std::less<>> scorers_;
  // The composites' norms last computed, with the trial's data version read before them:
  // NormsFor reads the whole reference wave, so ListResponses would read it twice.
  struct KeptNorms {
    int64_t data_version = 0;
    ScaleNorms norms;
  };
  std::mutex norms_mutex_;
  std::map<std::string, KeptNorms> norms_;  // "<trial>|<norms wave>|<instrument key>"
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_INGESTOR_H_

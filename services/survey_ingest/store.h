// Where the survey-ingest service keeps a trial's instruments, waves, responses, rejects and
// outcomes: an interface, so the domain code needs no Redis (redis_store.h implements it).
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_STORE_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldwork/v1/survey_ingest.pb.h"

namespace fieldwork::survey_ingest {

// A validated response ready to be stored.
struct PendingResponse {
  fieldwork::v1::Response response;  // wave_id, participant_id and submission_id set
  // Whether it may count under the wave's rule (finished, not partial), and when it was
  // submitted (the rule's ordering).
  bool complete = false;
  absl::Time submitted = absl::InfinitePast();
  bool last_complete_rule = false;  // the wave's rule: last complete (else first complete)
};

// What happened to one PendingResponse.
enum class WriteResult {
  kDuplicate,      // its submission id was already accepted: nothing changed
  kAccepted,       // stored (a second response, or one that does not count)
  kNewRespondent,  // stored, and the participant's first complete response to the wave
  // Its submission id was already accepted for another participant: nothing changed. Process
  // refuses these before writing (SubmissionOwners); this answers only a concurrent writer.
  kOtherParticipant,
};

// One atomic write: either all of it lands or none of it.
struct WriteBatch {
  std::vector<PendingResponse> responses;
  std::vector<fieldwork::v1::Reject> new_rejects;       // added unless the id is present
  std::vector<fieldwork::v1::Reject> replaced_rejects;  // overwritten (replayed, dismissed)
  std::string import_sha256;                            // recorded as imported when set
};

// GetResponseStatus's answer.
struct RespondentStatus {
  bool responded = false;
  absl::Time first_response_at = absl::InfinitePast();
};

class IngestStore {
 public:
  virtual ~IngestStore() = default;

  virtual absl::StatusOr<std::vector<fieldwork::v1::Instrument>> LoadInstruments(
      const std::string& trial) = 0;
  // Adds an instrument version; ALREADY_EXISTS when that id and version holds a different
  // definition (the identical one again is a no-op).
  virtual absl::Status AddInstrument(const std::string& trial,
                                     const fieldwork::v1::Instrument& instrument) = 0;
  virtual absl::StatusOr<std::vector<fieldwork::v1::Wave>> LoadWaves(const std::string& trial) = 0;
  virtual absl::Status PutWave(const fieldwork::v1::Wave& wave) = 0;

  // Applies `batch` atomically; one result per batch.responses, in order. A submission id
  // repeated within the batch is a duplicate from its second occurrence on.
  virtual absl::StatusOr<std::vector<WriteResult>> Write(const std::string& trial,
                                                         const WriteBatch& batch) = 0;
  virtual absl::StatusOr<bool> IsImported(const std::string& trial, const std::string& sha256) = 0;
  // For each of `submission_ids`, in order: the participant whose response holds it, or empty
  // when none does (or the response was stored before owners were recorded).
  virtual absl::StatusOr<std::vector<std::string>> SubmissionOwners(
      const std::string& trial, const std::vector<std::string>& submission_ids) = 0;

  // Whether ForEachResponse parses each response's answers or leaves them out (`answers`
  // empty): the answers are most of a stored response, and a listing that drops them anyway
  // (scores only, the analysis view) need not parse them.
  enum class Answers { kParsed, kLeftOut };
  // Calls `visit` with each stored response of the wave (`counted` set), or only
  // `participant`'s when it is not empty, in (participant, submitted_at, submission id) order,
  // reading them a page at a time so that memory does not grow with the wave. Stops, OK, when
  // `visit` returns false. Responses stored while it runs may or may not be visited.
  virtual absl::Status ForEachResponse(
      const std::string& trial, const std::string& wave, const std::string& participant,
      Answers answers, const std::function<bool(fieldwork::v1::Response&)>& visit) = 0;
  // Calls `visit` with each participant with a counted response to the wave (keys::Counted),
  // a page at a time, in no particular order; a participant counted while it runs may be
  // visited twice or not at all. Stops, OK, when `visit` returns false.
  virtual absl::Status ForEachRespondent(
      const std::string& trial, const std::string& wave,
      const std::function<bool(const std::string& participant)>& visit) = 0;
  // One status per id of `participants`, in order.
  virtual absl::StatusOr<std::vector<RespondentStatus>> GetRespondentStatuses(
      const std::string& trial, const std::string& wave,
      const std::vector<std::string>& participants) = 0;
  virtual absl::StatusOr<std::vector<fieldwork::v1::Reject>> LoadRejects(
      const std::string& trial) = 0;

  // Stores outcomes by (participant, outcome, period); per outcome, true when it changed
  // something (new or a different value), false when the same was already stored.
  virtual absl::StatusOr<std::vector<bool>> WriteOutcomes(
      const std::string& trial, const std::vector<fieldwork::v1::Outcome>& outcomes) = 0;
  // Calls `visit` with each stored outcome in (participant, outcome, period start, period end)
  // order, a page at a time, as ForEachResponse.
  virtual absl::Status ForEachOutcome(
      const std::string& trial, const std::function<bool(fieldwork::v1::Outcome&)>& visit) = 0;

  // Calls `visit` with each participant in the wave's form funnel (keys::FormFunnel) and the
  // furthest stage they reached, by stage then participant id, a page at a time. Stops, OK,
  // when `visit` returns false. Stages raised while it runs may be visited twice or not at all.
  virtual absl::Status ForEachFormStage(
      const std::string& trial, const std::string& wave,
      const std::function<bool(const std::string& participant, fieldwork::v1::FormStage stage)>&
          visit) = 0;

  // A number that changes whenever PutWave, Write (accepting a response) or WriteOutcomes
  // (changing an outcome) changes the trial's data, and only then (0 before any write).
  virtual absl::StatusOr<int64_t> DataVersion(const std::string& trial) = 0;

  // Every trial with survey-ingest data (to seed gauges at start-up).
  virtual absl::StatusOr<std::vector<std::string>> ListTrials() = 0;
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_STORE_H_

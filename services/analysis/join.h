// The analysis dataset of a trial: participants, their allocations, counted survey responses,
// administrative outcomes and take-up, joined by the pseudonymous participant id.
#ifndef FIELDWORK_SERVICES_ANALYSIS_JOIN_H_
#define FIELDWORK_SERVICES_ANALYSIS_JOIN_H_

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldwork/v1/analysis.pb.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "fieldwork/v1/survey_ingest.pb.h"
#include "services/analysis/joined_response.h"
#include "services/analysis/message_list.h"
#include "services/analysis/sources.h"

namespace fieldwork::analysis {

// A date as a key that compares in calendar order (the latest of several dates, e.g. leaving).
inline std::tuple<int, int, int> DateKey(const fieldwork::v1::CivilDate& date) {
  return {date.year(), date.month(), date.day()};
}

struct JoinedParticipant {
  std::string id;
  std::string site;
  std::string cohort;
  std::string cluster;
  const fieldwork::v1::Participant* participant = nullptr;  // covariates
  const fieldwork::v1::ParticipantStatus* status = nullptr;  // the withdrawal's details
  bool allocated = false;
  int64_t batch = 0;        // the Randomise call that allocated the participant
  absl::Time allocated_at;  // arrival order for sequential methods
  absl::flat_hash_map<std::string, std::string> arm_by_factor;
  bool withdrawn = false;
  bool left = false;  // left the organisation (kept in the analysis)
  // The counted response (in JoinedTrial::responses), by wave.
  absl::flat_hash_map<std::string, const JoinedResponse*> response_by_wave;
  // Administrative outcomes: the value of the latest period, by outcome name.
  absl::flat_hash_map<std::string, double> outcomes;
  absl::flat_hash_set<std::string> took_up;  // campaigns opened or clicked

  // The arm for `factor`, or nullptr when not allocated to it.
  const std::string* Arm(const std::string& factor) const;
};

// Move-only: participants point into `statuses`.
struct JoinedTrial {
  JoinedTrial() = default;
  JoinedTrial(JoinedTrial&&) = default;
  JoinedTrial& operator=(JoinedTrial&&) = default;
  JoinedTrial(const JoinedTrial&) = delete;
  JoinedTrial& operator=(const JoinedTrial&) = delete;

  fieldwork::v1::Trial trial;
  MessageList<fieldwork::v1::ParticipantStatus> statuses;  // owns the participants
  std::vector<fieldwork::v1::Wave> waves;
  JoinedResponses responses;  // the counted responses as listed (participants point to theirs)
  std::vector<JoinedParticipant> participants;  // in participant id order
  bool has_responses = false;                   // a response source was read
  bool has_outcomes = false;                    // an outcome source was read
  bool has_engagement = false;                  // an engagement source was read
  // Data that could not be joined (a response of an unknown participant, ...), counted.
  std::vector<std::string> warnings;

  const JoinedResponse* ResponseOf(const JoinedParticipant& participant,
                                   const std::string& wave) const;
  // Adds a participant's counted response to `wave` unless it has one already (the first
  // counted response of a wave wins); false when it had one.
  static bool AddResponse(JoinedParticipant& participant, const std::string& wave,
                          const JoinedResponse& response);
};

// A participant's fields from its enrolment record (`status` must outlive `participant`), and
// then from its allocation: the parts of LoadTrial's join that the export's merge join shares.
void SetEnrolment(const fieldwork::v1::ParticipantStatus& status, JoinedParticipant& participant);
void ApplyAllocation(const fieldwork::v1::Allocation& allocation, JoinedParticipant& participant);

// Reads every configured source for `trial` and joins them. NOT_FOUND for an unknown trial;
// a source's failure (UNAVAILABLE, ...) is returned naming the source. Responses, outcomes and
// engagement of participants who are not enrolled are dropped and counted in a warning.
absl::StatusOr<JoinedTrial> LoadTrial(const Sources& sources, const std::string& trial);

// The value of `source` for a participant, or nullopt when missing.
std::optional<double> OutcomeValue(const JoinedTrial& joined, const JoinedParticipant& participant,
                                   const fieldwork::v1::OutcomeSource& source);

// The number of decisions of `source`'s block in the participant's counted response (0 without).
int64_t DecisionCount(const JoinedTrial& joined, const JoinedParticipant& participant,
                      const fieldwork::v1::OutcomeSource::Decisions& source);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_JOIN_H_

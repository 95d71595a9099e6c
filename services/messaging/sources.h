// What the send-time guards ask other services, as interfaces: the participant's enrolment and
// current allocation (the randomisation service) and whether they have an accepted response
// for a wave (the survey-ingest service). The worker depends only on these.
#ifndef FIELDWORK_SERVICES_MESSAGING_SOURCES_H_
#define FIELDWORK_SERVICES_MESSAGING_SOURCES_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/messaging/domain/guards.h"
#include "services/messaging/domain/schedule.h"

namespace fieldwork::messaging {

// The randomisation service's view of one participant at send time.
struct ParticipantRecord {
  EnrolmentState enrolment = EnrolmentState::kNotEnrolled;
  std::optional<absl::Time> left_at;
  std::optional<std::string> arm;  // on the requested factor; nullopt when not allocated
  std::string site;
  std::string cohort;
};

class AllocationSource {
 public:
  virtual ~AllocationSource() = default;
  // The campaign's audience as randomisation holds it now: participants allocated to one of
  // `arms` of `factor`, or (all_enrolled) every enrolled participant. Arm, site and cohort are
  // filled; time_zone is left for the caller (it comes from contacts).
  virtual absl::StatusOr<std::vector<Recipient>> ListAudience(absl::string_view trial_id,
                                                              const Audience& audience) = 0;
  // Each participant's current state and allocation on `factor` (empty factor: no arm
  // needed), keyed by id; an id the trial does not know is there as kNotEnrolled. Any number of
  // ids (split into calls as the service allows). UNAVAILABLE when the service cannot be
  // reached (the sends are retried later, never sent unchecked).
  virtual absl::StatusOr<std::map<std::string, ParticipantRecord>> LookupMany(
      absl::string_view trial_id, const std::vector<std::string>& participant_ids,
      absl::string_view factor) = 0;
};

// "Which of these participants have an accepted response for wave W?" — asked for each batch of
// survey reminders. grpc_sources.h implements it over SurveyIngestService.GetResponseStatuses;
// UNAVAILABLE answers make the reminders wait and retry.
class ResponseLookup {
 public:
  virtual ~ResponseLookup() = default;
  // The ids of `participant_ids` that have responded (any number of ids).
  virtual absl::StatusOr<std::set<std::string>> RespondedAmong(
      absl::string_view trial_id, absl::string_view wave_id,
      const std::vector<std::string>& participant_ids) = 0;
  // When the wave closes (its closes_at), for waitlist campaigns; nullopt when the wave has no
  // closing time. NOT_FOUND when survey-ingest does not know the wave.
  virtual absl::StatusOr<std::optional<absl::Time>> WaveClosesAt(absl::string_view trial_id,
                                                                 absl::string_view wave_id) = 0;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_SOURCES_H_

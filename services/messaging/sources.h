// What the send-time guards ask other services, as interfaces: the participant's enrolment and
// current allocation (the randomisation service) and whether they have an accepted response
// for a wave (the survey-ingest service). The worker depends only on these.
#ifndef FIELDWORK_SERVICES_MESSAGING_SOURCES_H_
#define FIELDWORK_SERVICES_MESSAGING_SOURCES_H_

#include <optional>
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
  // The participant's current state and allocation on `factor` (empty factor: no arm needed).
  // NOT_FOUND is not an error: it is kNotEnrolled. UNAVAILABLE when the service cannot be
  // reached (the send is retried later, never sent unchecked).
  virtual absl::StatusOr<ParticipantRecord> Lookup(absl::string_view trial_id,
                                                   absl::string_view participant_id,
                                                   absl::string_view factor) = 0;
};

// "Has this participant an accepted response for wave W?" — asked before each survey reminder.
// grpc_sources.h implements it over SurveyIngestService.GetResponseStatus; UNAVAILABLE answers
// make the reminder wait and retry.
class ResponseLookup {
 public:
  virtual ~ResponseLookup() = default;
  virtual absl::StatusOr<bool> HasAcceptedResponse(absl::string_view trial_id,
                                                   absl::string_view wave_id,
                                                   absl::string_view participant_id) = 0;
  // When the wave closes (its closes_at), for waitlist campaigns; nullopt when the wave has no
  // closing time. NOT_FOUND when survey-ingest does not know the wave.
  virtual absl::StatusOr<std::optional<absl::Time>> WaveClosesAt(absl::string_view trial_id,
                                                                 absl::string_view wave_id) = 0;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_SOURCES_H_

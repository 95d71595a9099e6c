// The survey-ingest service's Redis keys. A trial's keys share the {trial} hash tag so that its
// multi-key scripts stay atomic on a Redis Cluster.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_KEYS_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_KEYS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fieldwork::survey_ingest::keys {

// HASH "<instrument id>@<version>" -> fieldwork.v1.Instrument (never overwritten)
inline std::string Instruments(absl::string_view trial) {
  return absl::StrCat("fw:{", trial, "}:ing:instruments");
}
// HASH wave id -> fieldwork.v1.Wave
inline std::string Waves(absl::string_view trial) {
  return absl::StrCat("fw:{", trial, "}:ing:waves");
}
// HASH submission id -> the participant whose response it is: the idempotency index (a
// submission id is accepted once, for one participant). Entries written before owners were
// recorded hold the wave's responses key instead.
inline std::string Submissions(absl::string_view trial) {
  return absl::StrCat("fw:{", trial, "}:ing:submissions");
}
// HASH submission id -> fieldwork.v1.Response (stored with counted = false; the flag is read
// from Counted): every accepted response of the wave, second responses included
inline std::string Responses(absl::string_view trial, absl::string_view wave) {
  return absl::StrCat("fw:{", trial, "}:ing:responses:", wave);
}
// ZSET (every score 0, so ordered by member bytes) of
// "<participant>\0<19-digit submitted micros>\0<submission id>", one per member of Responses:
// the order ListResponses streams in, read a page at a time (written with the response, by the
// same script; rebuilt from Responses when it has fewer members, as for data written before it)
inline std::string ResponseOrder(absl::string_view trial, absl::string_view wave) {
  return absl::StrCat("fw:{", trial, "}:ing:response_order:", wave);
}
// HASH participant id -> "<19-digit submitted micros>|<submission id>" of the complete
// response that counts under the wave's rule
inline std::string Counted(absl::string_view trial, absl::string_view wave) {
  return absl::StrCat("fw:{", trial, "}:ing:counted:", wave);
}
// HASH participant id -> the same pointer to the earliest complete response (for
// GetResponseStatus; its length is the number of respondents)
inline std::string First(absl::string_view trial, absl::string_view wave) {
  return absl::StrCat("fw:{", trial, "}:ing:first:", wave);
}
// HASH reject id -> fieldwork.v1.Reject
inline std::string Rejects(absl::string_view trial) {
  return absl::StrCat("fw:{", trial, "}:ing:rejects");
}
// SET of the SHA-256 of every CSV file imported in full
inline std::string Imports(absl::string_view trial) {
  return absl::StrCat("fw:{", trial, "}:ing:imports");
}
// HASH "<participant>|<outcome>|<period start>|<period end>" -> fieldwork.v1.Outcome
inline std::string Outcomes(absl::string_view trial) {
  return absl::StrCat("fw:{", trial, "}:ing:outcomes");
}
// ZSET (scores 0) of "<participant>\0<outcome>\0<period start>\0<period end>", one per field
// of Outcomes (the same with '|' for '\0'): the order ListOutcomes streams in (kept and rebuilt
// as ResponseOrder is)
inline std::string OutcomeOrder(absl::string_view trial) {
  return absl::StrCat("fw:{", trial, "}:ing:outcome_order");
}
// HASH of one participant's progress through the hosted form for a wave (form/form_store.h):
// "page:<n>" -> fieldwork.v1.FormPageAnswers (page n, from 0, as last stored with Next),
// "opened", "started", "completed" -> google.protobuf.Timestamp (the first time each
// happened; written with HSETNX, so the funnel counts a participant once). One key per
// participant, so a page costs one key's work whatever the trial's size.
inline std::string FormProgress(absl::string_view trial, absl::string_view wave,
                                absl::string_view participant) {
  return absl::StrCat("fw:{", trial, "}:ing:form:", wave, ":", participant);
}
// ZSET of the participants who opened the hosted form's link for a wave, scored by the
// furthest stage reached (1 opened, 2 started, 3 completed: fieldwork.v1.FormStage), raised
// with ZADD GT in the same transaction as FormProgress's mark, so it never goes back
// (ListFormProgress reads it a page at a time).
inline std::string FormFunnel(absl::string_view trial, absl::string_view wave) {
  return absl::StrCat("fw:{", trial, "}:ing:form_funnel:", wave);
}
// STRING counter raised by every write of a wave, of accepted responses or of changed outcomes
// (in the same script or transaction as the write): GetDataVersion's answer, so that a caller
// that keeps what it read knows when to read again
inline std::string DataVersion(absl::string_view trial) {
  return absl::StrCat("fw:{", trial, "}:ing:version");
}
// SET of every trial id with survey-ingest data (not trial-scoped: one key for the index)
inline std::string TrialIndex() { return "fw:{index}:ing:trials"; }

}  // namespace fieldwork::survey_ingest::keys

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_KEYS_H_

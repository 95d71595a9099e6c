// What the hosted questionnaire does, free of HTTP: opens a personal link, decides which page
// or short notice a participant sees, stores a page's answers, and hands the final page to
// the Ingestor's Submit — the very validation, scoring and idempotency of SubmitResponse.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_FORM_SURVEY_FORM_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_FORM_SURVEY_FORM_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "fieldwork/v1/survey_ingest.pb.h"
#include "services/common/clock.h"
#include "services/survey_ingest/domain/scoring.h"
#include "services/survey_ingest/allocations.h"
#include "services/survey_ingest/form/csrf.h"
#include "services/survey_ingest/form/form_store.h"
#include "services/survey_ingest/ingestor.h"
#include "services/survey_link/key_ring.h"

namespace fieldwork::survey_ingest::form {

// An HTML answer: the status, and either a page (html) or a redirect (location, relative to
// the link's URL, e.g. "?page=2").
struct FormReply {
  int status = 200;
  std::string html;
  std::string location;
};

// The funnel: called the first time a participant reaches each stage of a wave's form.
using StageObserver =
    std::function<void(const std::string& trial, const std::string& wave, Stage stage)>;

// The submission id of a participant's form response to a wave: derived from (trial, wave,
// participant) alone, so a second final submit is a duplicate of the first.
std::string FormSubmissionId(const Respondent& who);

// Form fields: "csrf", "form_page" (the page posted, from 1) and "q_<item id>" per answer.
class SurveyForm {
 public:
  // `allocations` is asked for an online experiment's personal pages (Instrument::Personalised);
  // without it such a survey shows "unavailable".
  SurveyForm(Ingestor& ingestor, FormStore& store, const survey_link::SurveyLinkKeyRing& keys,
             const Clock& clock, StageObserver observer = {}, Allocations* allocations = nullptr);

  // GET of the link: the page asked for (`page` from 1, when the participant has reached it),
  // else the first page not yet stored; or a notice (invalid 404, expired 410, withdrawn or
  // not yet open 403, closed 410, completed 200, storage unavailable 503).
  FormReply Show(const std::string& token, std::optional<int> page);

  // POST of a page. A refused CSRF token (403) or invalid answers (422, the page again with
  // its errors) store nothing; good answers are stored and lead to the next page (303), and
  // on the last page to the final submit.
  FormReply Post(const std::string& token, const std::map<std::string, std::string>& fields);

 private:
  struct Session;

  // The session of a valid link, or the notice to show instead.
  std::variant<Session, FormReply> Open(const std::string& token);
  // The participant's own pages of an online experiment, or the notice to show instead.
  std::optional<FormReply> Personalise(Session& session);
  FormReply Finish(Session& session, size_t index, const Answers& answers,
                   const std::string& token);
  FormReply RenderPageOf(const Session& session, size_t index, Answers answers,
                         FieldMessages errors, std::vector<std::string> general_errors,
                         const std::string& token, int status);
  void Observe(const Respondent& who, Stage stage, const absl::StatusOr<bool>& first);

  Ingestor& ingestor_;
  FormStore& store_;
  const survey_link::SurveyLinkKeyRing& keys_;
  const Clock& clock_;
  StageObserver observer_;
  Allocations* allocations_;
  CsrfGuard csrf_;
};

}  // namespace fieldwork::survey_ingest::form

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_FORM_SURVEY_FORM_H_

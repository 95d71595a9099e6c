// Checks one page of the hosted form with the instrument's own rules (the Scorer), and says
// what is wrong in words a participant understands. Pure: no I/O.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_FORM_PAGE_VALIDATION_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_FORM_PAGE_VALIDATION_H_

#include <map>
#include <string>

#include "services/survey_ingest/domain/instrument.h"
#include "services/survey_ingest/domain/scoring.h"

namespace fieldwork::survey_ingest::form {

// Item id -> answer as the form sent it.
using Answers = std::map<std::string, std::string, std::less<>>;
// Item id -> what to tell the participant about it.
using FieldMessages = std::map<std::string, std::string, std::less<>>;

// The answers `form_fields` holds for the items of `page` (other fields are ignored), blank
// ones left out: what is stored for the page.
Answers PageAnswers(const Page& page, const Answers& form_fields);

// The errors of `answers` to the items of `page` under `scorer`'s instrument: required items
// answered, numbers in range, codes known, text within its length. Empty when the page is
// good. Items on other pages are not looked at.
FieldMessages ValidatePage(const Scorer& scorer, const Page& page, const Answers& answers);

// `error` (a FieldError reason from the Scorer or the submission checks) in plain words for
// the participant, given the item it is about.
std::string PlainMessage(const Item& item, const std::string& reason);

}  // namespace fieldwork::survey_ingest::form

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_FORM_PAGE_VALIDATION_H_

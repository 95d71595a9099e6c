// The hosted form's HTML, rendered on the server from the instrument: pure functions of what
// to show (no I/O), so each item type and error state is unit-tested as text. Pages work with
// JavaScript off, load nothing from elsewhere (one inline stylesheet, allowed by its hash in
// the Content-Security-Policy) and follow WCAG 2.1 AA: labelled inputs, groups in
// fieldset/legend, errors tied to their field by aria-describedby, visible focus, `lang`.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_RENDERER_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_RENDERER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "services/survey_ingest/domain/instrument.h"
#include "services/survey_ingest/form/page_validation.h"

namespace fieldwork::survey_ingest::form {

// One page of the questionnaire. The form posts to the page's own URL (no action attribute),
// so the token never appears in the HTML; Back is a link to "?page=<n>".
struct PageView {
  const Instrument* instrument = nullptr;
  std::vector<Page> pages;                  // instrument->FormPages()
  size_t page_index = 0;                    // from 0
  Answers answers;                          // shown as already given (stored, or as just sent back)
  FieldMessages errors;                     // beside their items
  std::vector<std::string> general_errors;  // not about one item (shown at the top)
  std::string csrf_token;
};

// A short page instead of the form: an invalid or expired link, a closed wave, completion.
struct NoticeView {
  std::string language = "en";
  std::string study_title;  // empty: "Survey"
  std::string heading;
  std::string message;
};

std::string RenderPage(const PageView& view);
std::string RenderNotice(const NoticeView& view);

// The inline stylesheet every page carries, and the Content-Security-Policy that allows it
// and nothing else: no scripts, images, fonts or frames; forms post only to this origin.
const std::string& FormStylesheet();
const std::string& ContentSecurityPolicy();

}  // namespace fieldwork::survey_ingest::form

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_RENDERER_H_

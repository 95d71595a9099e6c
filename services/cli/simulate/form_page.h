// Reads a page of survey-ingest's hosted form as a browser would — the hidden fields a post
// must return and the questions the page asks — and encodes a post's fields. Pure: the command
// layer does the HTTP. Only what the form's renderer writes is understood (attributes in double
// quotes, values HTML-escaped); this is the simulator's browser, not a general HTML parser.
#ifndef FIELDWORK_SERVICES_CLI_SIMULATE_FORM_PAGE_H_
#define FIELDWORK_SERVICES_CLI_SIMULATE_FORM_PAGE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace fieldwork::cli::simulate {

struct FormPage {
  std::string heading;  // the first <h1>'s text, unescaped ("" when none)
  std::vector<std::pair<std::string, std::string>> hidden;  // name, value: sent back as they are
  std::vector<std::string> items;  // the item ids asked (fields "q_<item id>"), in page order
  int page = 0, pages = 0;         // from the progress line "Page 2 of 3" (0 when none)
  bool has_form() const { return !hidden.empty(); }
  bool last() const { return page > 0 && page == pages; }
};

FormPage ParseFormPage(absl::string_view html);

// application/x-www-form-urlencoded, as a browser sends a form (space as "+").
std::string EncodeForm(const std::vector<std::pair<std::string, std::string>>& fields);

// The name of the form field that carries an item's answer.
std::string ItemField(absl::string_view item_id);

}  // namespace fieldwork::cli::simulate

#endif  // FIELDWORK_SERVICES_CLI_SIMULATE_FORM_PAGE_H_

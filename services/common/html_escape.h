// Escaping text for HTML, shared by everything that writes HTML (the CLI's report, the hosted
// survey form, messaging's HTML e-mail bodies). Library fieldwork::html_escape.
#ifndef FIELDWORK_SERVICES_COMMON_HTML_ESCAPE_H_
#define FIELDWORK_SERVICES_COMMON_HTML_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace fieldwork {

// Escapes &, <, >, " and ' so that `text` is safe as element text and as a quoted attribute
// value.
std::string HtmlEscape(absl::string_view text);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_HTML_ESCAPE_H_

#include "services/cli/simulate/form_page.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace fieldwork::cli::simulate {
namespace {

// The renderer's field prefix (services/survey_ingest/form/survey_form.cc).
constexpr absl::string_view kItemPrefix = "q_";

std::string Unescape(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"&lt;", "<"},
                                    {"&gt;", ">"},
                                    {"&quot;", "\""},
                                    {"&#39;", "'"},
                                    {"&#x27;", "'"},
                                    {"&amp;", "&"}});
}

// The value of attribute `name` in one tag's text ("" when absent).
std::string Attribute(absl::string_view tag, absl::string_view name) {
  const std::string key = absl::StrCat(" ", name, "=\"");
  const size_t at = tag.find(key);
  if (at == absl::string_view::npos) return "";
  const size_t start = at + key.size();
  const size_t end = tag.find('"', start);
  if (end == absl::string_view::npos) return "";
  return Unescape(tag.substr(start, end - start));
}

}  // namespace

FormPage ParseFormPage(absl::string_view html) {
  FormPage page;
  if (const size_t h1 = html.find("<h1"); h1 != absl::string_view::npos) {
    const size_t start = html.find('>', h1);
    const size_t end = html.find("</h1>", h1);
    if (start != absl::string_view::npos && end != absl::string_view::npos && start < end) {
      page.heading = Unescape(html.substr(start + 1, end - start - 1));
    }
  }
  if (const size_t progress = html.find("<p class=\"progress\">Page ");
      progress != absl::string_view::npos) {
    absl::string_view rest = html.substr(progress + sizeof("<p class=\"progress\">Page ") - 1);
    rest = rest.substr(0, rest.find('<'));
    const size_t of = rest.find(" of ");
    if (of == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, of), &page.page) ||
        !absl::SimpleAtoi(rest.substr(of + 4), &page.pages)) {
      page.page = page.pages = 0;
    }
  }
  size_t at = 0;
  while ((at = html.find('<', at)) != absl::string_view::npos) {
    const size_t end = html.find('>', at);
    if (end == absl::string_view::npos) break;
    const absl::string_view tag = html.substr(at, end - at);
    at = end;
    if (!absl::StartsWith(tag, "<input ") && !absl::StartsWith(tag, "<textarea ") &&
        !absl::StartsWith(tag, "<select ")) {
      continue;
    }
    const std::string name = Attribute(tag, "name");
    if (Attribute(tag, "type") == "hidden") {
      page.hidden.emplace_back(name, Attribute(tag, "value"));
    } else if (absl::StartsWith(name, kItemPrefix)) {
      std::string item = name.substr(kItemPrefix.size());
      // A radio group is one item however many buttons it has.
      if (std::find(page.items.begin(), page.items.end(), item) == page.items.end()) {
        page.items.push_back(std::move(item));
      }
    }
  }
  return page;
}

std::string EncodeForm(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  auto encode = [&out](absl::string_view text) {
    for (const char c : text) {
      if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == '*') {
        out.push_back(c);
      } else if (c == ' ') {
        out.push_back('+');
      } else {
        absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
      }
    }
  };
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('&');
    encode(name);
    out.push_back('=');
    encode(value);
  }
  return out;
}

std::string ItemField(absl::string_view item_id) { return absl::StrCat(kItemPrefix, item_id); }

}  // namespace fieldwork::cli::simulate

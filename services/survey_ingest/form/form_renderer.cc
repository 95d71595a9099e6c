#include "services/survey_ingest/form/form_renderer.h"

#include <sodium.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "services/common/html_escape.h"
#include "services/survey_ingest/domain/number_format.h"

namespace fieldwork::survey_ingest::form {
namespace {

// Mobile first: one column, large targets, wrapping scales (no horizontal scroll at 320 px).
// Colours meet WCAG AA contrast on white; focus is a thick yellow outline on everything.
constexpr char kStylesheet[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:1.125rem/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "color:#1a1a1a;background:#fff;overflow-wrap:anywhere}"
    "main{max-width:40rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}"
    "h2{font-size:1.25rem;margin:1rem 0}"
    ".progress{color:#505050;margin:0 0 1rem}"
    "fieldset,.q{border:0;margin:0 0 2rem;padding:0;min-width:0}"
    "legend,.q>label{display:block;font-weight:700;margin-bottom:.5rem;padding:0}"
    ".hint{color:#505050;margin:0 0 .5rem}"
    ".optional{font-weight:400;color:#505050}"
    ".error{color:#b00020;font-weight:700;margin:0 0 .5rem}"
    ".invalid{border-left:4px solid #b00020;padding-left:.75rem}"
    ".summary{border:4px solid #b00020;padding:0 1rem;margin:0 0 2rem}"
    ".points{display:flex;flex-wrap:wrap;gap:.5rem}"
    ".points label{display:flex;flex-direction:column;align-items:center;min-width:2.75rem;"
    "padding:.25rem;border:1px solid #767676;border-radius:4px;text-align:center}"
    ".anchor{font-size:.875rem;max-width:6rem}"
    ".choices label{display:flex;gap:.75rem;align-items:center;padding:.375rem 0}"
    "input[type=radio]{width:1.5rem;height:1.5rem;margin:0;flex:none}"
    "input[type=number],textarea{display:block;width:100%;max-width:100%;font:inherit;"
    "padding:.5rem;border:2px solid #1a1a1a;border-radius:0}"
    "input[type=number]{max-width:10rem}"
    ":focus{outline:3px solid #fd0;outline-offset:2px;box-shadow:0 0 0 5px #1a1a1a}"
    ".nav{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between;"
    "margin:2rem 0}"
    "button{font:inherit;font-weight:700;padding:.75rem 1.5rem;color:#fff;background:#00703c;"
    "border:0;border-radius:4px;cursor:pointer}"
    "a{color:#1d4f91}"
    ".privacy{font-size:.875rem;color:#505050;border-top:1px solid #b1b4b6;margin-top:2rem;"
    "padding-top:1rem}"
    ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
    // An online experiment's cases (CVs): side by side when the screen is wide enough for two.
    ".cases{display:flex;flex-wrap:wrap;gap:1rem}"
    ".case{flex:1 1 15rem;min-width:0;border:1px solid #767676;border-radius:4px;padding:0 1rem}";

std::string Base64Sha256(const std::string& text) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  char encoded[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(encoded, sizeof(encoded), digest, sizeof(digest),
                    sodium_base64_VARIANT_ORIGINAL);
  return encoded;
}

// Plain text as paragraphs: a blank line separates them.
std::string Paragraphs(absl::string_view text, absl::string_view css_class = "") {
  std::string out;
  for (absl::string_view paragraph : absl::StrSplit(text, "\n\n", absl::SkipWhitespace())) {
    absl::StrAppend(&out, "<p", css_class.empty() ? "" : absl::StrCat(" class=\"", css_class, "\""),
                    ">", HtmlEscape(absl::StripAsciiWhitespace(paragraph)), "</p>");
  }
  return out;
}

std::string Head(absl::string_view language, absl::string_view title) {
  return absl::StrCat("<!doctype html>\n<html lang=\"", HtmlEscape(language),
                      "\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                      "<meta name=\"referrer\" content=\"no-referrer\">"
                      "<meta name=\"robots\" content=\"noindex\">"
                      "<title>",
                      HtmlEscape(title), "</title><style>", FormStylesheet(),
                      "</style></head><body><main>");
}

constexpr char kTail[] = "</main></body></html>\n";

std::string FieldName(const Item& item) { return absl::StrCat("q_", item.id); }
std::string ErrorId(const Item& item) { return absl::StrCat("e_", item.id); }
std::string HintId(const Item& item) { return absl::StrCat("h_", item.id); }

// The ids an input or group is described by: its hint, then its error.
std::string DescribedBy(const std::vector<std::string>& ids) {
  std::string joined;
  for (const std::string& id : ids) absl::StrAppend(&joined, joined.empty() ? "" : " ", id);
  return joined.empty() ? "" : absl::StrCat(" aria-describedby=\"", joined, "\"");
}

std::string ErrorLine(const Item& item, const FieldMessages& errors) {
  auto it = errors.find(item.id);
  if (it == errors.end()) return "";
  return absl::StrCat("<p class=\"error\" id=\"", ErrorId(item),
                      "\"><span class=\"visually-hidden\">Error: </span>", HtmlEscape(it->second),
                      "</p>");
}

std::string Question(const Item& item) {
  return absl::StrCat(HtmlEscape(item.label),
                      item.required ? "" : " <span class=\"optional\">(optional)</span>");
}

std::string Checked(const Answers& answers, const Item& item, absl::string_view value) {
  auto it = answers.find(item.id);
  return it != answers.end() && TrimBlanks(it->second) == value ? " checked" : "";
}

std::string Radio(const Item& item, size_t index, absl::string_view value, const Answers& answers,
                  absl::string_view text) {
  const std::string id = absl::StrCat(FieldName(item), "_", index);
  return absl::StrCat("<label for=\"", id, "\"><input type=\"radio\" id=\"", id, "\" name=\"",
                      FieldName(item), "\" value=\"", HtmlEscape(value), "\"",
                      Checked(answers, item, value), "> ", text, "</label>");
}

// A Likert item: radio buttons in a fieldset. With a label per point they are a list of those
// labels; otherwise the numbers in a wrapping row, the end points carrying min_label/max_label.
std::string LikertItem(const Item& item, const Answers& answers, const FieldMessages& errors) {
  const bool invalid = errors.count(item.id) > 0;
  std::string out = absl::StrCat(
      "<fieldset", invalid ? " class=\"invalid\"" : "",
      DescribedBy(invalid ? std::vector<std::string>{ErrorId(item)} : std::vector<std::string>{}),
      "><legend>", Question(item), "</legend>", ErrorLine(item, errors));
  const bool labelled =
      !item.labels.empty() && static_cast<double>(item.labels.size()) == item.max - item.min + 1;
  absl::StrAppend(&out, labelled ? "<div class=\"choices\">" : "<div class=\"points\">");
  size_t index = 0;
  for (double x = item.min; x <= item.max; x += 1, ++index) {
    const std::string value = FormatNumber(x);
    std::string text = HtmlEscape(value);
    if (labelled) {
      text = HtmlEscape(item.labels[index].label);
    } else if (x == item.min && !item.min_label.empty()) {
      absl::StrAppend(&text, " <span class=\"anchor\">", HtmlEscape(item.min_label), "</span>");
    } else if (x == item.max && !item.max_label.empty()) {
      absl::StrAppend(&text, " <span class=\"anchor\">", HtmlEscape(item.max_label), "</span>");
    }
    absl::StrAppend(&out, Radio(item, index, value, answers, text));
  }
  absl::StrAppend(&out, "</div></fieldset>");
  return out;
}

std::string SingleChoiceItem(const Item& item, const Answers& answers,
                             const FieldMessages& errors) {
  const bool invalid = errors.count(item.id) > 0;
  std::string out = absl::StrCat(
      "<fieldset", invalid ? " class=\"invalid\"" : "",
      DescribedBy(invalid ? std::vector<std::string>{ErrorId(item)} : std::vector<std::string>{}),
      "><legend>", Question(item), "</legend>", ErrorLine(item, errors), "<div class=\"choices\">");
  for (size_t i = 0; i < item.options.size(); ++i) {
    absl::StrAppend(
        &out, Radio(item, i, item.options[i].code, answers, HtmlEscape(item.options[i].label)));
  }
  absl::StrAppend(&out, "</div></fieldset>");
  return out;
}

std::string AnswerOf(const Answers& answers, const Item& item) {
  auto it = answers.find(item.id);
  return it == answers.end() ? "" : it->second;
}

// A labelled single input: a number or a text area, with a hint stating the rule.
std::string InputItem(const Item& item, const Answers& answers, const FieldMessages& errors) {
  const bool invalid = errors.count(item.id) > 0;
  std::vector<std::string> described{HintId(item)};
  if (invalid) described.push_back(ErrorId(item));
  std::string out = absl::StrCat("<div class=\"q", invalid ? " invalid" : "", "\"><label for=\"",
                                 FieldName(item), "\">", Question(item), "</label>");
  if (item.type != ItemType::kFreeText) {
    const bool whole = item.integer || item.type == ItemType::kLikert;
    absl::StrAppend(&out, "<p class=\"hint\" id=\"", HintId(item), "\">",
                    whole ? "A whole number" : "A number", " from ", FormatNumber(item.min), " to ",
                    FormatNumber(item.max), "</p>", ErrorLine(item, errors),
                    "<input type=\"number\" id=\"", FieldName(item), "\" name=\"", FieldName(item),
                    "\" min=\"", FormatNumber(item.min), "\" max=\"", FormatNumber(item.max),
                    "\" step=\"", whole ? "1" : "any", "\" inputmode=\"",
                    whole && item.min >= 0 ? "numeric" : "decimal", "\" value=\"",
                    HtmlEscape(AnswerOf(answers, item)), "\"",
                    invalid ? " aria-invalid=\"true\"" : "", DescribedBy(described), ">");
  } else {
    const int max = item.max_length > 0 ? item.max_length : kMaxFreeTextLength;  // see there
    absl::StrAppend(&out, "<p class=\"hint\" id=\"", HintId(item), "\">At most ", max,
                    " characters</p>", ErrorLine(item, errors), "<textarea id=\"", FieldName(item),
                    "\" name=\"", FieldName(item), "\" rows=\"5\" maxlength=\"", max, "\"",
                    invalid ? " aria-invalid=\"true\"" : "", DescribedBy(described), ">",
                    HtmlEscape(AnswerOf(answers, item)), "</textarea>");
  }
  absl::StrAppend(&out, "</div>");
  return out;
}

// More points than this and a Likert item is a number box (a 0-100 scale would be a wall of
// buttons on a phone, and the rendering must not grow with a range the definition allows).
constexpr double kMaxLikertButtons = 21;

std::string ItemHtml(const Item& item, const Answers& answers, const FieldMessages& errors) {
  switch (item.type) {
    case ItemType::kLikert:
      if (item.max - item.min + 1 > kMaxLikertButtons) return InputItem(item, answers, errors);
      return LikertItem(item, answers, errors);
    case ItemType::kSingleChoice:
      return SingleChoiceItem(item, answers, errors);
    case ItemType::kNumeric:
    case ItemType::kFreeText:
      return InputItem(item, answers, errors);
  }
  return "";
}

// The first focusable element of an item, for the error summary's links.
std::string FirstInputId(const Item& item) {
  const bool buttons =
      item.type == ItemType::kLikert && item.max - item.min + 1 <= kMaxLikertButtons;
  return buttons || item.type == ItemType::kSingleChoice ? absl::StrCat(FieldName(item), "_0")
                                                         : FieldName(item);
}

std::string StudyTitle(const Instrument& instrument) {
  return instrument.title.empty() ? std::string("Survey") : instrument.title;
}

}  // namespace

const std::string& FormStylesheet() {
  static const std::string* const kSheet = new std::string(kStylesheet);
  return *kSheet;
}

const std::string& ContentSecurityPolicy() {
  static const std::string* const kPolicy = new std::string(
      absl::StrCat("default-src 'none'; style-src 'sha256-", Base64Sha256(FormStylesheet()),
                   "'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"));
  return *kPolicy;
}

std::string RenderPage(const PageView& view) {
  const Instrument& instrument = *view.instrument;
  const size_t count = view.pages.size();
  const Page& page = view.pages[view.page_index];
  const std::string progress = absl::StrCat("Page ", view.page_index + 1, " of ", count);
  const bool has_errors = !view.errors.empty() || !view.general_errors.empty();
  std::string out = Head(instrument.language, absl::StrCat(has_errors ? "Error: " : "", progress,
                                                           " – ", StudyTitle(instrument)));
  absl::StrAppend(&out, "<h1>", HtmlEscape(StudyTitle(instrument)), "</h1>");
  if (view.page_index == 0 && !instrument.introduction.empty()) {
    absl::StrAppend(&out, Paragraphs(instrument.introduction));
  }
  absl::StrAppend(&out, "<p class=\"progress\">", progress, "</p>");
  if (!page.title.empty()) absl::StrAppend(&out, "<h2>", HtmlEscape(page.title), "</h2>");
  if (has_errors) {
    absl::StrAppend(&out, "<div class=\"summary\" role=\"alert\"><h2>There is a problem</h2><ul>");
    for (const std::string& error : view.general_errors) {
      absl::StrAppend(&out, "<li>", HtmlEscape(error), "</li>");
    }
    for (const std::string& id : page.items) {
      const Item* item = instrument.FindItem(id);
      auto it = view.errors.find(id);
      if (item == nullptr || it == view.errors.end()) continue;
      // "How satisfied are you? Please answer", not "…you?: Please answer".
      const bool punctuated =
          !item->label.empty() &&
          absl::string_view("?.!:").find(item->label.back()) != absl::string_view::npos;
      absl::StrAppend(&out, "<li><a href=\"#", FirstInputId(*item), "\">", HtmlEscape(item->label),
                      punctuated ? " " : ": ", HtmlEscape(it->second), "</a></li>");
    }
    absl::StrAppend(&out, "</ul></div>");
  }
  absl::StrAppend(&out, "<form method=\"post\" novalidate>",
                  "<input type=\"hidden\" name=\"csrf\" value=\"", HtmlEscape(view.csrf_token),
                  "\"><input type=\"hidden\" name=\"form_page\" value=\"", view.page_index + 1,
                  "\">");
  if (!page.text.empty()) absl::StrAppend(&out, Paragraphs(page.text));
  // A decision's case is shown with its question, in a box of its own.
  const bool cases = !page.item_context.empty();
  if (cases) absl::StrAppend(&out, "<div class=\"cases\">");
  for (const std::string& id : page.items) {
    const Item* item = instrument.FindItem(id);
    if (item == nullptr) continue;
    auto context = page.item_context.find(id);
    if (context == page.item_context.end()) {
      absl::StrAppend(&out, ItemHtml(*item, view.answers, view.errors));
      continue;
    }
    absl::StrAppend(&out, "<section class=\"case\">", Paragraphs(context->second),
                    ItemHtml(*item, view.answers, view.errors), "</section>");
  }
  if (cases) absl::StrAppend(&out, "</div>");
  const bool last = view.page_index + 1 == count;
  absl::StrAppend(&out, "<div class=\"nav\"><button type=\"submit\">",
                  last ? "Submit your answers" : "Next", "</button>");
  if (view.page_index > 0) {
    absl::StrAppend(&out, "<a href=\"?page=", view.page_index, "\">Back</a>");
  }
  absl::StrAppend(&out, "</div></form>");
  if (!instrument.privacy.empty()) absl::StrAppend(&out, Paragraphs(instrument.privacy, "privacy"));
  absl::StrAppend(&out, kTail);
  return out;
}

std::string RenderNotice(const NoticeView& view) {
  const std::string study = view.study_title.empty() ? "Survey" : view.study_title;
  return absl::StrCat(Head(view.language, absl::StrCat(view.heading, " – ", study)), "<h1>",
                      HtmlEscape(view.heading), "</h1>", Paragraphs(view.message), kTail);
}

}  // namespace fieldwork::survey_ingest::form

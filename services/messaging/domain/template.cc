#include "services/messaging/domain/template.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "services/common/html_escape.h"
#include "services/messaging/domain/ids.h"

namespace fieldwork::messaging {
namespace {

constexpr absl::string_view kKnownPlaceholders =
    "{{first_name}}, {{survey_link}}, {{tracked_link:URL}}, {{unsubscribe_link}}";

enum class PieceKind { kLiteral, kFirstName, kSurveyLink, kTrackedLink, kUnsubscribeLink };

struct Piece {
  PieceKind kind = PieceKind::kLiteral;
  absl::string_view text;  // the literal, or the tracked link's URL
};

absl::string_view PlaceholderName(PieceKind kind) {
  switch (kind) {
    case PieceKind::kFirstName:
      return "{{first_name}}";
    case PieceKind::kSurveyLink:
      return "{{survey_link}}";
    case PieceKind::kTrackedLink:
      return "{{tracked_link:URL}}";
    case PieceKind::kUnsubscribeLink:
      return "{{unsubscribe_link}}";
    case PieceKind::kLiteral:
      break;
  }
  return "";
}

// Decodes one UTF-8 sequence at `s[i]`; nullopt when it is not well-formed (overlong forms,
// surrogates and values above U+10FFFF included). Advances `i` past what was consumed.
std::optional<char32_t> NextCodePoint(absl::string_view s, size_t& i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1Fu, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0Fu, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    ++i;
    return std::nullopt;
  }
  if (i + len > s.size()) {
    ++i;
    return std::nullopt;
  }
  for (size_t k = 1; k < len; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return std::nullopt;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  i += len;
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return cp;
}

bool IsValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (!NextCodePoint(s, i).has_value()) return false;
  }
  return true;
}

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) NextCodePoint(s, i);
  return n;
}

// An absolute http(s) URL with a host, without characters that would break out of an HTML
// attribute or a header. Returns the reason it is not, or an empty string.
std::string UrlProblem(absl::string_view url) {
  if (url.empty()) return "is empty";
  if (url.size() > kMaxUrlLength)
    return absl::StrCat("is longer than ", kMaxUrlLength, " characters");
  absl::string_view rest;
  std::string lower = absl::AsciiStrToLower(url.substr(0, 8));
  if (absl::StartsWith(lower, "https://")) {
    rest = url.substr(8);
  } else if (absl::StartsWith(lower, "http://")) {
    rest = url.substr(7);
  } else {
    return "must start with https:// or http://";
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == '?' || rest.front() == '#') {
    return "has no host";
  }
  for (char c : url) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '"' || c == '<' || c == '>' || c == '\\' || c == '`' ||
        c == '{' || c == '}') {
      return "contains a space, a control character or one of \" < > \\ ` { }";
    }
  }
  return "";
}

// Splits `text` into literals and placeholders. `problems` receives every error, prefixed by
// `field`.
std::vector<Piece> Parse(absl::string_view field, absl::string_view text,
                         std::vector<std::string>& problems) {
  std::vector<Piece> pieces;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == absl::string_view::npos) {
      pieces.push_back({PieceKind::kLiteral, text.substr(pos)});
      break;
    }
    if (open > pos) pieces.push_back({PieceKind::kLiteral, text.substr(pos, open - pos)});
    size_t close = text.find("}}", open + 2);
    if (close == absl::string_view::npos) {
      problems.push_back(
          absl::StrCat(field, ": \"{{\" at character ", open + 1, " is not closed by \"}}\""));
      break;
    }
    absl::string_view inner = absl::StripAsciiWhitespace(text.substr(open + 2, close - open - 2));
    Piece piece;
    if (inner == "first_name") {
      piece.kind = PieceKind::kFirstName;
    } else if (inner == "survey_link") {
      piece.kind = PieceKind::kSurveyLink;
    } else if (inner == "unsubscribe_link") {
      piece.kind = PieceKind::kUnsubscribeLink;
    } else if (absl::StartsWith(inner, "tracked_link:")) {
      piece.kind = PieceKind::kTrackedLink;
      piece.text =
          absl::StripAsciiWhitespace(inner.substr(absl::string_view("tracked_link:").size()));
      if (std::string problem = UrlProblem(piece.text); !problem.empty()) {
        problems.push_back(absl::StrCat(field, ": the URL of {{tracked_link:...}} at character ",
                                        open + 1, " ", problem));
      }
    } else {
      std::string shown(inner.substr(0, 40));
      problems.push_back(absl::StrCat(field, ": unknown placeholder {{", shown, "}} at character ",
                                      open + 1, " (known: ", kKnownPlaceholders, ")"));
      pos = close + 2;
      continue;
    }
    pieces.push_back(piece);
    pos = close + 2;
  }
  return pieces;
}

void CheckField(absl::string_view field, const std::string& text,
                std::vector<std::string>& problems, std::vector<std::string>* links, bool subject) {
  if (text.empty()) return;
  if (text.size() > kMaxTemplateFieldBytes) {
    problems.push_back(absl::StrCat(field, ": ", text.size(), " bytes, more than the limit of ",
                                    kMaxTemplateFieldBytes));
    return;
  }
  if (!IsValidUtf8(text)) {
    problems.push_back(absl::StrCat(field, ": not valid UTF-8"));
    return;
  }
  std::vector<Piece> pieces = Parse(field, text, problems);
  for (const Piece& piece : pieces) {
    if (subject && piece.kind != PieceKind::kLiteral && piece.kind != PieceKind::kFirstName) {
      problems.push_back(absl::StrCat(field, ": ", PlaceholderName(piece.kind),
                                      " is not allowed in a subject (links belong in the body)"));
    }
    if (links != nullptr && piece.kind == PieceKind::kTrackedLink &&
        std::find(links->begin(), links->end(), piece.text) == links->end()) {
      links->emplace_back(piece.text);
    }
  }
}

// The value for one placeholder, or nullopt when the data is missing.
std::optional<absl::string_view> ValueFor(const Piece& piece, const TemplateVersion& tmpl,
                                          const RenderData& data) {
  auto present = [](const std::string& s) -> std::optional<absl::string_view> {
    if (s.empty()) return std::nullopt;
    return absl::string_view(s);
  };
  switch (piece.kind) {
    case PieceKind::kFirstName:
      return present(data.first_name);
    case PieceKind::kSurveyLink:
      return present(data.survey_link);
    case PieceKind::kUnsubscribeLink:
      return present(data.unsubscribe_link);
    case PieceKind::kTrackedLink: {
      auto it = std::find(tmpl.tracked_links.begin(), tmpl.tracked_links.end(), piece.text);
      size_t index = static_cast<size_t>(it - tmpl.tracked_links.begin());
      if (it == tmpl.tracked_links.end() || index >= data.tracked_link_urls.size()) {
        return std::nullopt;
      }
      return present(data.tracked_link_urls[index]);
    }
    case PieceKind::kLiteral:
      break;
  }
  return piece.text;
}

// Renders the fields of one channel together so that one error lists all missing data.
class Renderer {
 public:
  Renderer(const TemplateVersion& tmpl, const RenderData& data) : tmpl_(tmpl), data_(data) {}

  std::string Render(absl::string_view text, bool html) {
    std::vector<std::string> ignored;  // the template was checked when it was saved
    std::string out;
    for (const Piece& piece : Parse("", text, ignored)) {
      std::optional<absl::string_view> value = ValueFor(piece, tmpl_, data_);
      if (!value.has_value()) {
        std::string name = piece.kind == PieceKind::kTrackedLink
                               ? absl::StrCat("{{tracked_link:", piece.text, "}}")
                               : std::string(PlaceholderName(piece.kind));
        if (std::find(missing_.begin(), missing_.end(), name) == missing_.end()) {
          missing_.push_back(name);
        }
        continue;
      }
      out += (html && piece.kind != PieceKind::kLiteral) ? HtmlEscape(*value) : std::string(*value);
    }
    return out;
  }

  absl::Status Check() const {
    // A first name goes into a mail header (the subject): a line break there would let it
    // add headers of its own.
    if (!data_.first_name.empty() &&
        std::any_of(data_.first_name.begin(), data_.first_name.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; })) {
      return absl::InvalidArgumentError(absl::StrCat(Name(),
                                                     ": first_name contains a line break "
                                                     "or control character"));
    }
    if (!missing_.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(Name(), ": no data for ", absl::StrJoin(missing_, ", ")));
    }
    return absl::OkStatus();
  }

  std::string Name() const {
    return absl::StrCat("template ", tmpl_.template_id, " v", tmpl_.version);
  }

 private:
  const TemplateVersion& tmpl_;
  const RenderData& data_;
  std::vector<std::string> missing_;
};

// GSM 03.38 basic character set, as Unicode code points (ESC excluded).
bool IsGsmBasic(char32_t c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  static constexpr char32_t kOthers[] = {
      '\n',   '\r',   ' ',    '!',    '"',    '#',    '$',    '%',    '&',    '\'',   '(',
      ')',    '*',    '+',    ',',    '-',    '.',    '/',    ':',    ';',    '<',    '=',
      '>',    '?',    '@',    '_',    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2,
      0x00C7, 0x00D8, 0x00F8, 0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0,
      0x03A8, 0x03A3, 0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4,
      0x00D6, 0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0};
  return std::find(std::begin(kOthers), std::end(kOthers), c) != std::end(kOthers);
}

// GSM 03.38 extension table: sent as ESC + character, two septets.
bool IsGsmExtension(char32_t c) {
  static constexpr char32_t kExtension[] = {'^', '{', '}', '\\', '[', '~', ']', '|', 0x20AC, '\f'};
  return std::find(std::begin(kExtension), std::end(kExtension), c) != std::end(kExtension);
}

// Packs characters of `widths` units into segments of `per_segment` units, never splitting
// one character (an escape pair, a surrogate pair) across two segments.
size_t PackSegments(const std::vector<size_t>& widths, size_t per_segment) {
  size_t segments = 1;
  size_t used = 0;
  for (size_t w : widths) {
    if (used + w > per_segment) {
      ++segments;
      used = 0;
    }
    used += w;
  }
  return segments;
}

}  // namespace

absl::StatusOr<TemplateVersion> CompileTemplate(absl::string_view template_id, int64_t version,
                                                const TemplateContent& content,
                                                absl::Time saved_at) {
  std::vector<std::string> problems;
  if (absl::Status id = ValidateId("template_id", template_id); !id.ok()) {
    problems.emplace_back(id.message());
  }
  if (version < 1) problems.push_back("version: must be 1 or more");
  const TemplateContent& c = content;
  if (c.subject.empty() && c.text_body.empty() && c.html_body.empty() && c.sms_body.empty()) {
    problems.push_back(
        "content: a template needs an e-mail part (subject and text_body) or an "
        "sms_body");
  } else {
    bool email_part = !c.subject.empty() || !c.text_body.empty() || !c.html_body.empty();
    if (email_part && c.subject.empty()) {
      problems.push_back("subject: required for the e-mail part");
    }
    if (email_part && c.text_body.empty()) {
      problems.push_back(
          "text_body: required for the e-mail part (the plain-text part is always "
          "sent, beside html_body when there is one)");
    }
  }
  if (absl::StrContains(c.subject, '\n') || absl::StrContains(c.subject, '\r')) {
    problems.push_back("subject: must be one line");
  } else if (CodePoints(c.subject) > kMaxSubjectChars) {
    problems.push_back(absl::StrCat("subject: longer than ", kMaxSubjectChars, " characters"));
  }

  TemplateVersion compiled;
  compiled.template_id = std::string(template_id);
  compiled.version = version;
  compiled.content = content;
  compiled.saved_at = saved_at;
  CheckField("subject", c.subject, problems, nullptr, /*subject=*/true);
  CheckField("text_body", c.text_body, problems, &compiled.tracked_links, false);
  CheckField("html_body", c.html_body, problems, &compiled.tracked_links, false);
  CheckField("sms_body", c.sms_body, problems, &compiled.tracked_links, false);
  if (compiled.tracked_links.size() > kMaxTrackedLinks) {
    problems.push_back(absl::StrCat("content: ", compiled.tracked_links.size(),
                                    " distinct tracked links, more than the limit of ",
                                    kMaxTrackedLinks));
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  return compiled;
}

absl::StatusOr<TemplateVersion> TemplateHistory::Save(const TemplateContent& content,
                                                      absl::Time now) {
  const TemplateVersion* latest = Latest();
  if (latest != nullptr && latest->content == content) return *latest;
  absl::StatusOr<TemplateVersion> compiled =
      CompileTemplate(template_id_, latest == nullptr ? 1 : latest->version + 1, content, now);
  if (!compiled.ok()) return compiled.status();
  versions_.push_back(*compiled);
  return compiled;
}

const TemplateVersion* TemplateHistory::Latest() const {
  return versions_.empty() ? nullptr : &versions_.back();
}

const TemplateVersion* TemplateHistory::Find(int64_t version) const {
  for (const TemplateVersion& v : versions_) {
    if (v.version == version) return &v;
  }
  return nullptr;
}

absl::StatusOr<RenderedEmail> RenderEmail(const TemplateVersion& tmpl, const RenderData& data) {
  Renderer renderer(tmpl, data);
  if (!tmpl.HasEmail()) {
    return absl::FailedPreconditionError(absl::StrCat(renderer.Name(), ": has no e-mail part"));
  }
  RenderedEmail email;
  email.subject = renderer.Render(tmpl.content.subject, false);
  email.text_body = renderer.Render(tmpl.content.text_body, false);
  email.html_body = renderer.Render(tmpl.content.html_body, true);
  if (absl::Status ok = renderer.Check(); !ok.ok()) return ok;
  return email;
}

absl::StatusOr<RenderedSms> RenderSms(const TemplateVersion& tmpl, const RenderData& data,
                                      size_t max_segments) {
  Renderer renderer(tmpl, data);
  if (!tmpl.HasSms()) {
    return absl::FailedPreconditionError(absl::StrCat(renderer.Name(), ": has no sms_body"));
  }
  RenderedSms sms;
  sms.body = renderer.Render(tmpl.content.sms_body, false);
  if (absl::Status ok = renderer.Check(); !ok.ok()) return ok;
  sms.segments = CountSmsSegments(sms.body);
  if (max_segments > 0 && sms.segments.segments > max_segments) {
    return absl::FailedPreconditionError(
        absl::StrCat(renderer.Name(), ": the SMS needs ", sms.segments.segments,
                     " segments, more than the limit of ", max_segments));
  }
  return sms;
}

SmsSegments CountSmsSegments(absl::string_view utf8) {
  std::vector<size_t> gsm_widths;
  std::vector<size_t> ucs2_widths;
  bool gsm = true;
  for (size_t i = 0; i < utf8.size();) {
    std::optional<char32_t> cp = NextCodePoint(utf8, i);
    if (!cp.has_value()) {
      gsm = false;
      ucs2_widths.push_back(1);
      continue;
    }
    ucs2_widths.push_back(*cp > 0xFFFF ? 2 : 1);
    if (!gsm) continue;
    if (IsGsmBasic(*cp)) {
      gsm_widths.push_back(1);
    } else if (IsGsmExtension(*cp)) {
      gsm_widths.push_back(2);
    } else {
      gsm = false;
    }
  }
  SmsSegments result;
  result.encoding = gsm ? SmsEncoding::kGsm7 : SmsEncoding::kUcs2;
  const std::vector<size_t>& widths = gsm ? gsm_widths : ucs2_widths;
  for (size_t w : widths) result.units += w;
  const size_t single = gsm ? 160 : 70;
  const size_t part = gsm ? 153 : 67;
  if (result.units == 0) {
    result.segments = 0;
  } else if (result.units <= single) {
    result.segments = 1;
  } else {
    result.segments = PackSegments(widths, part);
  }
  return result;
}

absl::Status CheckTemplateSupports(const TemplateVersion& tmpl, Channel channel) {
  bool email = channel == Channel::kEmail || channel == Channel::kParticipantPreference;
  bool sms = channel == Channel::kSms || channel == Channel::kParticipantPreference;
  if (email && !tmpl.HasEmail()) {
    return absl::FailedPreconditionError(absl::StrCat("template ", tmpl.template_id, " v",
                                                      tmpl.version,
                                                      " has no e-mail part (subject and "
                                                      "text_body), needed for channel ",
                                                      ChannelName(channel)));
  }
  if (sms && !tmpl.HasSms()) {
    return absl::FailedPreconditionError(absl::StrCat("template ", tmpl.template_id, " v",
                                                      tmpl.version,
                                                      " has no sms_body, needed for "
                                                      "channel ",
                                                      ChannelName(channel)));
  }
  return absl::OkStatus();
}

absl::Status ValidateCampaignTemplates(
    const Campaign& campaign,
    const std::function<const TemplateVersion*(absl::string_view template_id)>& find) {
  std::vector<std::string> problems;
  for (size_t i = 0; i < campaign.steps.size(); ++i) {
    const std::string& id = campaign.steps[i].template_id;
    const TemplateVersion* tmpl = find(id);
    std::string field = absl::StrCat("steps[", i, "].template_id");
    if (tmpl == nullptr) {
      problems.push_back(absl::StrCat(field, ": no template \"", id, "\""));
    } else if (absl::Status ok = CheckTemplateSupports(*tmpl, campaign.channel); !ok.ok()) {
      problems.push_back(absl::StrCat(field, ": ", ok.message()));
    }
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  return absl::OkStatus();
}

}  // namespace fieldwork::messaging

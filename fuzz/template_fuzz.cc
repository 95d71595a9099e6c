// Fuzzes message templates: CompileTemplate, RenderEmail, RenderSms. The input is the four
// fields (subject, text body, HTML body, SMS body) separated by 0x1E; an input without a
// separator (like the example templates) is used as every body, under the subject
// "Hello {{first_name}}". Checks, beyond not crashing: a saved template renders with full data
// and leaves no placeholder behind; with no data it either fails or needed none (never a
// message with a hole); segment counts match the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz/check.h"
#include "services/messaging/domain/template.h"

namespace fieldwork::messaging {
namespace {

using fuzz::Check;

TemplateContent ContentFrom(absl::string_view input) {
  TemplateContent content;
  if (!absl::StrContains(input, '\x1e')) {
    content.subject = "Hello {{first_name}}";
    content.text_body = content.html_body = content.sms_body = std::string(input);
    return content;
  }
  std::vector<std::string> fields = absl::StrSplit(input, absl::MaxSplits('\x1e', 3));
  fields.resize(4);
  content.subject = fields[0];
  content.text_body = fields[1];
  content.html_body = fields[2];
  content.sms_body = fields[3];
  return content;
}

RenderData FullData(const TemplateVersion& tmpl) {
  RenderData data;
  data.first_name = "Ada";
  data.survey_link = "https://survey.example/s/abc";
  data.unsubscribe_link = "https://track.example/u/xyz";
  for (size_t i = 0; i < tmpl.tracked_links.size(); ++i) {
    data.tracked_link_urls.push_back(absl::StrCat("https://track.example/c/", i));
  }
  return data;
}

void CheckEmail(const TemplateVersion& tmpl) {
  absl::StatusOr<RenderedEmail> full = RenderEmail(tmpl, FullData(tmpl));
  Check(full.ok(), "a saved e-mail template renders with full data", full.status().ToString());
  for (const std::string* text : {&full->subject, &full->text_body, &full->html_body}) {
    Check(!absl::StrContains(*text, "{{"), "a rendered e-mail has no placeholder left", *text);
  }
  absl::StatusOr<RenderedEmail> bare = RenderEmail(tmpl, RenderData());
  if (bare.ok()) {
    Check(bare->subject == full->subject && bare->text_body == full->text_body &&
              bare->html_body == full->html_body,
          "an e-mail renders without data only when it needs none");
  } else {
    Check(bare.status().code() == absl::StatusCode::kFailedPrecondition,
          "missing data is FAILED_PRECONDITION", bare.status().ToString());
  }
}

void CheckSms(const TemplateVersion& tmpl) {
  absl::StatusOr<RenderedSms> full = RenderSms(tmpl, FullData(tmpl));
  Check(full.ok(), "a saved SMS template renders with full data", full.status().ToString());
  Check(!absl::StrContains(full->body, "{{"), "a rendered SMS has no placeholder left", full->body);
  const SmsSegments counted = CountSmsSegments(full->body);
  Check(counted.segments == full->segments.segments && counted.units == full->segments.units,
        "RenderSms counts the segments of the text it returns");
  Check((full->segments.segments == 0) == full->body.empty(), "only an empty SMS has no segment");
  absl::StatusOr<RenderedSms> bare = RenderSms(tmpl, RenderData());
  Check(!bare.ok() || bare->body == full->body, "an SMS renders without data only when it needs none");
  if (full->segments.segments > 1) {
    Check(!RenderSms(tmpl, FullData(tmpl), 1).ok(), "max_segments is enforced");
  }
}

}  // namespace
}  // namespace fieldwork::messaging

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fieldwork::messaging;  // NOLINT(build/namespaces): a fuzz entry point
  using fieldwork::fuzz::Check;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CountSmsSegments(input);  // any bytes, valid UTF-8 or not
  absl::StatusOr<TemplateVersion> tmpl =
      CompileTemplate("fuzz", 1, ContentFrom(input), absl::UnixEpoch());
  if (!tmpl.ok()) {
    Check(tmpl.status().code() == absl::StatusCode::kInvalidArgument,
          "a rejected template is INVALID_ARGUMENT", tmpl.status().ToString());
    return 0;
  }
  Check(tmpl->tracked_links.size() <= kMaxTrackedLinks, "at most kMaxTrackedLinks links");
  if (tmpl->HasEmail()) CheckEmail(*tmpl);
  if (tmpl->HasSms()) CheckSms(*tmpl);
  return 0;
}

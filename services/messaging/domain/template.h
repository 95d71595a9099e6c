// Message templates: versioned content with placeholders, checked when saved and rendered per
// participant (e-mail subject, plain and optional HTML body; SMS text with its segment count).
// Rendering either produces a complete message or fails naming the missing data: never a
// message with a hole in it.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_TEMPLATE_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_TEMPLATE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/messaging/domain/campaign.h"

namespace fieldwork::messaging {

// The placeholders a template may use:
//   {{first_name}}        the participant's first name (the only one allowed in a subject)
//   {{survey_link}}       the participant's link to the wave's survey
//   {{tracked_link:URL}}  URL, wrapped in a signed click-tracking redirect (link_token.h)
//   {{unsubscribe_link}}  the participant's signed unsubscribe link
// Whitespace just inside the braces is ignored ("{{ first_name }}"). Anything else between
// "{{" and "}}" is rejected when the template is saved.

// Empty fields are absent. A template has an e-mail part (subject + text_body, optionally
// html_body), an SMS part (sms_body), or both (needed by participant-preference campaigns).
struct TemplateContent {
  std::string subject;
  std::string text_body;
  std::string html_body;
  std::string sms_body;

  bool operator==(const TemplateContent&) const = default;
};

struct TemplateVersion {
  std::string template_id;
  int64_t version = 0;  // 1 for the first save, then 2, 3, ...
  TemplateContent content;
  // The distinct {{tracked_link:URL}} targets, in order of first appearance in text_body,
  // html_body, sms_body. A link's index (carried in its click token) is its position here.
  std::vector<std::string> tracked_links;
  absl::Time saved_at;

  bool HasEmail() const { return !content.subject.empty(); }
  bool HasSms() const { return !content.sms_body.empty(); }
};

inline constexpr size_t kMaxTemplateFieldBytes = 256 * 1024;
inline constexpr size_t kMaxSubjectChars = 250;
inline constexpr size_t kMaxTrackedLinks = 100;
inline constexpr size_t kMaxUrlLength = 2048;

// Checks `content` and extracts its tracked links. INVALID_ARGUMENT, naming the field and every
// problem (unknown or unclosed placeholder, a link placeholder in the subject, a tracked link
// that is not an absolute http(s) URL, invalid UTF-8, a missing part).
absl::StatusOr<TemplateVersion> CompileTemplate(absl::string_view template_id, int64_t version,
                                                const TemplateContent& content,
                                                absl::Time saved_at);

// The versions of one template. Editing a template adds a version; sends not yet delivered
// render the latest version when they are delivered, and record which version they used.
class TemplateHistory {
 public:
  explicit TemplateHistory(std::string template_id) : template_id_(std::move(template_id)) {}

  // Saves `content` as the next version (after CompileTemplate's checks). Saving content
  // identical to the latest version adds nothing and returns the latest, so a retried
  // UpdateTemplate does not create versions.
  absl::StatusOr<TemplateVersion> Save(const TemplateContent& content, absl::Time now);

  // nullptr when nothing has been saved / no such version.
  const TemplateVersion* Latest() const;
  const TemplateVersion* Find(int64_t version) const;
  const std::vector<TemplateVersion>& versions() const { return versions_; }
  const std::string& template_id() const { return template_id_; }

 private:
  std::string template_id_;
  std::vector<TemplateVersion> versions_;
};

// What one participant's message is filled with. Empty means "not available".
struct RenderData {
  std::string first_name;
  std::string survey_link;
  // [i] is the signed redirect URL that replaces tracked_links[i].
  std::vector<std::string> tracked_link_urls;
  std::string unsubscribe_link;
};

struct RenderedEmail {
  std::string subject;
  std::string text_body;
  std::string html_body;  // empty when the template has none
};

enum class SmsEncoding { kGsm7, kUcs2 };

// How an SMS text is billed: GSM-7 (160 characters in one message, 153 per part when
// concatenated; ^ { } \ [ ] ~ | € count twice) or, when any character is outside GSM-7, UCS-2
// (70 UTF-16 units in one message, 67 per part).
struct SmsSegments {
  SmsEncoding encoding = SmsEncoding::kGsm7;
  size_t units = 0;     // septets (GSM-7) or UTF-16 code units (UCS-2)
  size_t segments = 0;  // 0 only for an empty text
};

struct RenderedSms {
  std::string body;
  SmsSegments segments;
};

// Renders the e-mail part. FAILED_PRECONDITION when the template has no e-mail part or data is
// missing ("template week3 v2: no data for {{first_name}}, {{survey_link}}"); INVALID_ARGUMENT
// when data is unusable (a first name with a line break, which would break the subject).
// Values substituted into html_body are HTML-escaped.
absl::StatusOr<RenderedEmail> RenderEmail(const TemplateVersion& tmpl, const RenderData& data);

// Renders the SMS part and counts its segments. As RenderEmail for errors; also
// FAILED_PRECONDITION when `max_segments` > 0 and the text needs more segments.
absl::StatusOr<RenderedSms> RenderSms(const TemplateVersion& tmpl, const RenderData& data,
                                      size_t max_segments = 0);

// Segments of a UTF-8 text (invalid UTF-8 counts each bad byte as one UCS-2 unit).
SmsSegments CountSmsSegments(absl::string_view utf8);

// OK when `tmpl` has the parts `channel` needs (participant preference needs both);
// FAILED_PRECONDITION naming the template and the missing part otherwise.
absl::Status CheckTemplateSupports(const TemplateVersion& tmpl, Channel channel);

// Checks that every step's template exists (by `find`, which returns nullptr when it does not)
// and has the parts the campaign's channel needs; INVALID_ARGUMENT naming steps[i].template_id.
absl::Status ValidateCampaignTemplates(
    const Campaign& campaign,
    const std::function<const TemplateVersion*(absl::string_view template_id)>& find);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_TEMPLATE_H_

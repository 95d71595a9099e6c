#include "services/messaging/domain/template.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/messaging/test_campaigns.h"

namespace fieldwork::messaging {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kSaved = msgtest::Utc(2024, 1, 2, 12);

TemplateContent Week1() {
  TemplateContent c;
  c.subject = "Week 1, {{first_name}}";
  c.text_body =
      "Hello {{first_name}},\nWatch: {{tracked_link:https://vimeo.example/v/1}}\n"
      "More: {{ tracked_link:https://example.org/more?a=1&b=2 }}\n"
      "Unsubscribe: {{unsubscribe_link}}";
  c.html_body =
      "<p>Hello {{first_name}}</p><a href=\"{{tracked_link:https://vimeo.example/v/1}}\">watch</a>"
      "<a href=\"{{unsubscribe_link}}\">unsubscribe</a>";
  c.sms_body = "Hi {{first_name}}, week 1: {{tracked_link:https://vimeo.example/v/1}}";
  return c;
}

TemplateVersion Compile(const TemplateContent& content) {
  absl::StatusOr<TemplateVersion> t = CompileTemplate("week1", 1, content, kSaved);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.value_or(TemplateVersion{});
}

RenderData Data() {
  RenderData d;
  d.first_name = "Sam";
  d.survey_link = "https://survey.example/s/abc";
  d.tracked_link_urls = {"https://fw.example/l/TOKEN0", "https://fw.example/l/TOKEN1"};
  d.unsubscribe_link = "https://fw.example/u/UNSUB";
  return d;
}

TEST(TemplateTest, CompileExtractsDistinctTrackedLinksInOrder) {
  TemplateVersion t = Compile(Week1());
  EXPECT_THAT(t.tracked_links,
              ElementsAre("https://vimeo.example/v/1", "https://example.org/more?a=1&b=2"));
  EXPECT_TRUE(t.HasEmail());
  EXPECT_TRUE(t.HasSms());
  EXPECT_EQ(t.version, 1);
  EXPECT_EQ(t.saved_at, kSaved);
}

TEST(TemplateTest, RendersEveryPlaceholder) {
  absl::StatusOr<RenderedEmail> email = RenderEmail(Compile(Week1()), Data());
  ASSERT_TRUE(email.ok()) << email.status();
  EXPECT_EQ(email->subject, "Week 1, Sam");
  EXPECT_EQ(email->text_body,
            "Hello Sam,\nWatch: https://fw.example/l/TOKEN0\nMore: https://fw.example/l/TOKEN1\n"
            "Unsubscribe: https://fw.example/u/UNSUB");
  EXPECT_EQ(email->html_body,
            "<p>Hello Sam</p><a href=\"https://fw.example/l/TOKEN0\">watch</a>"
            "<a href=\"https://fw.example/u/UNSUB\">unsubscribe</a>");

  absl::StatusOr<RenderedSms> sms = RenderSms(Compile(Week1()), Data());
  ASSERT_TRUE(sms.ok()) << sms.status();
  EXPECT_EQ(sms->body, "Hi Sam, week 1: https://fw.example/l/TOKEN0");
  EXPECT_EQ(sms->segments.segments, 1u);
}

TEST(TemplateTest, SurveyLink) {
  TemplateContent c;
  c.sms_body = "Please answer: {{survey_link}}";
  absl::StatusOr<RenderedSms> sms = RenderSms(Compile(c), Data());
  ASSERT_TRUE(sms.ok());
  EXPECT_EQ(sms->body, "Please answer: https://survey.example/s/abc");
}

TEST(TemplateTest, HtmlEscapesSubstitutedValuesOnly) {
  RenderData d = Data();
  d.first_name = "<b>Jo & \"Al\"</b>";
  absl::StatusOr<RenderedEmail> email = RenderEmail(Compile(Week1()), d);
  ASSERT_TRUE(email.ok());
  EXPECT_THAT(email->html_body,
              HasSubstr("<p>Hello &lt;b&gt;Jo &amp; &quot;Al&quot;&lt;/b&gt;</p>"));
  EXPECT_THAT(email->text_body, HasSubstr("Hello <b>Jo & \"Al\"</b>,"));
}

TEST(TemplateTest, MissingDataFailsNamingThePlaceholder) {
  RenderData d = Data();
  d.first_name.clear();
  absl::StatusOr<RenderedEmail> email = RenderEmail(Compile(Week1()), d);
  EXPECT_EQ(email.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(email.status().message(), "template week1 v1: no data for {{first_name}}");
}

TEST(TemplateTest, EveryMissingPlaceholderIsListed) {
  RenderData d;
  d.first_name = "Sam";
  absl::StatusOr<RenderedEmail> email = RenderEmail(Compile(Week1()), d);
  ASSERT_EQ(email.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(email.status().message(),
            "template week1 v1: no data for {{tracked_link:https://vimeo.example/v/1}}, "
            "{{tracked_link:https://example.org/more?a=1&b=2}}, {{unsubscribe_link}}");
  TemplateContent c;
  c.sms_body = "{{survey_link}}";
  EXPECT_THAT(std::string(RenderSms(Compile(c), d).status().message()),
              HasSubstr("no data for {{survey_link}}"));
}

TEST(TemplateTest, OneMissingTrackedLinkUrlFails) {
  RenderData d = Data();
  d.tracked_link_urls.pop_back();
  EXPECT_THAT(std::string(RenderEmail(Compile(Week1()), d).status().message()),
              HasSubstr("no data for {{tracked_link:https://example.org/more?a=1&b=2}}"));
}

TEST(TemplateTest, FirstNameWithALineBreakIsRefused) {
  RenderData d = Data();
  d.first_name = "Sam\r\nBcc: everyone@example.org";
  absl::StatusOr<RenderedEmail> email = RenderEmail(Compile(Week1()), d);
  EXPECT_EQ(email.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(email.status().message()), HasSubstr("first_name"));
}

TEST(TemplateTest, RenderingAChannelTheTemplateLacks) {
  TemplateContent sms_only;
  sms_only.sms_body = "hi";
  EXPECT_EQ(RenderEmail(Compile(sms_only), Data()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  TemplateContent email_only = Week1();
  email_only.sms_body.clear();
  EXPECT_THAT(std::string(RenderSms(Compile(email_only), Data()).status().message()),
              HasSubstr("has no sms_body"));
}

struct BadTemplate {
  std::string name;
  TemplateContent content;
  std::string expected;
};

void PrintTo(const BadTemplate& b, std::ostream* os) { *os << b.name; }

class TemplateBadInputTest : public ::testing::TestWithParam<BadTemplate> {};

TEST_P(TemplateBadInputTest, RejectedWhenSaved) {
  absl::StatusOr<TemplateVersion> t = CompileTemplate("week1", 1, GetParam().content, kSaved);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr(GetParam().expected));
}

TemplateContent Sms(std::string body) {
  TemplateContent c;
  c.sms_body = std::move(body);
  return c;
}

TemplateContent Email(std::string subject, std::string text, std::string html = "") {
  TemplateContent c;
  c.subject = std::move(subject);
  c.text_body = std::move(text);
  c.html_body = std::move(html);
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, TemplateBadInputTest,
    ::testing::Values(
        BadTemplate{"Empty", TemplateContent{}, "content: a template needs"},
        BadTemplate{"UnknownPlaceholder", Sms("Hi {{firstname}}"),
                    "sms_body: unknown placeholder {{firstname}} at character 4 (known: "},
        BadTemplate{"UnknownInHtml", Email("s", "t", "<p>{{ last_name }}</p>"),
                    "html_body: unknown placeholder {{last_name}}"},
        BadTemplate{"Unclosed", Email("s", "Hello {{first_name"),
                    "text_body: \"{{\" at character 7 is not closed"},
        BadTemplate{"TrackedLinkNotHttp", Sms("{{tracked_link:javascript:alert(1)}}"),
                    "must start with https:// or http://"},
        BadTemplate{"TrackedLinkEmpty", Sms("{{tracked_link:}}"), "is empty"},
        BadTemplate{"TrackedLinkNoHost", Sms("{{tracked_link:https:///x}}"), "has no host"},
        BadTemplate{"TrackedLinkWithSpace", Sms("{{tracked_link:https://a.org/x y}}"),
                    "contains a space"},
        BadTemplate{"TrackedLinkTooLong",
                    Sms("{{tracked_link:https://a.org/" + std::string(2100, 'x') + "}}"),
                    "is longer than 2048"},
        BadTemplate{"LinkInSubject", Email("Watch {{tracked_link:https://a.org}}", "t"),
                    "subject: {{tracked_link:URL}} is not allowed in a subject"},
        BadTemplate{"UnsubscribeInSubject", Email("{{unsubscribe_link}}", "t"),
                    "subject: {{unsubscribe_link}} is not allowed"},
        BadTemplate{"SubjectWithoutBody", Email("s", ""), "text_body: required"},
        BadTemplate{"BodyWithoutSubject", Email("", "t"), "subject: required"},
        BadTemplate{"HtmlOnly", Email("", "", "<p>x</p>"), "subject: required"},
        BadTemplate{"MultiLineSubject", Email("a\nb", "t"), "subject: must be one line"},
        BadTemplate{"LongSubject", Email(std::string(251, 's'), "t"),
                    "subject: longer than 250 characters"},
        BadTemplate{"InvalidUtf8", Sms("caf\xC3"), "sms_body: not valid UTF-8"},
        BadTemplate{"OverlongUtf8", Sms("\xC0\xAF"), "sms_body: not valid UTF-8"},
        BadTemplate{"SurrogateUtf8", Sms("\xED\xA0\x80"), "sms_body: not valid UTF-8"},
        BadTemplate{"Huge", Sms(std::string(300 * 1024, 'x')), "sms_body: 307200 bytes"}),
    [](const ::testing::TestParamInfo<BadTemplate>& param_info) { return param_info.param.name; });

TEST(TemplateTest, BadTemplateIdAndVersion) {
  EXPECT_THAT(std::string(CompileTemplate("", 1, Sms("x"), kSaved).status().message()),
              HasSubstr("template_id: required"));
  EXPECT_THAT(std::string(CompileTemplate("t", 0, Sms("x"), kSaved).status().message()),
              HasSubstr("version: must be 1 or more"));
}

TEST(TemplateTest, TooManyTrackedLinks) {
  std::string body;
  for (int i = 0; i <= 100; ++i) body += absl::StrCat("{{tracked_link:https://a.org/", i, "}} ");
  EXPECT_THAT(std::string(CompileTemplate("t", 1, Sms(body), kSaved).status().message()),
              HasSubstr("101 distinct tracked links"));
}

TEST(TemplateTest, SingleBracesAndStrayClosersAreText) {
  absl::StatusOr<RenderedSms> sms = RenderSms(Compile(Sms("a {b} c }} d")), Data());
  ASSERT_TRUE(sms.ok()) << sms.status();
  EXPECT_EQ(sms->body, "a {b} c }} d");
}

TEST(TemplateHistoryTest, EditsAddVersionsAndIdenticalSavesDoNot) {
  TemplateHistory history("week1");
  EXPECT_EQ(history.Latest(), nullptr);
  absl::StatusOr<TemplateVersion> v1 = history.Save(Week1(), kSaved);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->version, 1);
  absl::StatusOr<TemplateVersion> again = history.Save(Week1(), kSaved + absl::Hours(1));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, 1);
  EXPECT_EQ(again->saved_at, kSaved);

  TemplateContent edited = Week1();
  edited.subject = "Week one, {{first_name}}";
  absl::StatusOr<TemplateVersion> v2 = history.Save(edited, kSaved + absl::Hours(2));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(history.Latest()->content.subject, "Week one, {{first_name}}");
  EXPECT_EQ(history.Find(1)->content.subject, "Week 1, {{first_name}}");
  EXPECT_EQ(history.Find(3), nullptr);

  // A bad edit is refused and adds nothing.
  TemplateContent bad = Week1();
  bad.text_body = "{{oops}}";
  EXPECT_FALSE(history.Save(bad, kSaved).ok());
  EXPECT_EQ(history.versions().size(), 2u);
  EXPECT_EQ(history.Latest()->version, 2);
}

TEST(SmsSegmentsTest, Gsm7Limits) {
  EXPECT_EQ(CountSmsSegments("").segments, 0u);
  SmsSegments one = CountSmsSegments(std::string(160, 'a'));
  EXPECT_EQ(one.encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(one.units, 160u);
  EXPECT_EQ(one.segments, 1u);
  EXPECT_EQ(CountSmsSegments(std::string(161, 'a')).segments, 2u);
  EXPECT_EQ(CountSmsSegments(std::string(306, 'a')).segments, 2u);
  EXPECT_EQ(CountSmsSegments(std::string(307, 'a')).segments, 3u);
}

TEST(SmsSegmentsTest, GsmExtensionCharactersCountTwice) {
  SmsSegments s = CountSmsSegments(std::string(79, 'a') + "{}\xE2\x82\xAC");  // { } €
  EXPECT_EQ(s.encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(s.units, 85u);
  EXPECT_EQ(CountSmsSegments(std::string(159, 'a') + "[").segments, 2u);  // 161 septets
  // An escape pair is never split: 152 septets then a 2-septet character need a new part.
  SmsSegments split = CountSmsSegments(std::string(152, 'a') + "^" + std::string(10, 'b'));
  EXPECT_EQ(split.units, 164u);
  EXPECT_EQ(split.segments, 2u);
  SmsSegments pushed = CountSmsSegments(std::string(152, 'a') + "^" + std::string(152, 'b'));
  EXPECT_EQ(pushed.units, 306u);  // would fit 2 x 153 if the pair could be split
  EXPECT_EQ(pushed.segments, 3u);
}

TEST(SmsSegmentsTest, GsmAccentedLettersStayGsm) {
  SmsSegments s = CountSmsSegments(
      "Caf\xC3\xA9 \xC2\xA3"
      "5 \xC3\xBC");  // Café £5 ü
  EXPECT_EQ(s.encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(s.units, 9u);
}

TEST(SmsSegmentsTest, AnythingElseIsUcs2) {
  SmsSegments s = CountSmsSegments("Thanks \xF0\x9F\x99\x8F");  // an emoji: a surrogate pair
  EXPECT_EQ(s.encoding, SmsEncoding::kUcs2);
  EXPECT_EQ(s.units, 9u);
  EXPECT_EQ(s.segments, 1u);
  std::string seventy = std::string(69, 'a') + "\xC4\x9F";  // ğ is not GSM
  EXPECT_EQ(CountSmsSegments(seventy).units, 70u);
  EXPECT_EQ(CountSmsSegments(seventy).segments, 1u);
  EXPECT_EQ(CountSmsSegments(seventy + "a").segments, 2u);
  EXPECT_EQ(CountSmsSegments(std::string(133, 'a') + "\xC4\x9F").segments, 2u);  // 134 = 2 x 67
  EXPECT_EQ(CountSmsSegments(std::string(134, 'a') + "\xC4\x9F").segments, 3u);
  EXPECT_EQ(CountSmsSegments("`").encoding, SmsEncoding::kUcs2);  // backtick is not GSM
}

TEST(SmsSegmentsTest, RenderReportsSegmentsAndEnforcesALimit) {
  TemplateVersion t = Compile(Sms(std::string(150, 'x') + " {{first_name}}"));
  absl::StatusOr<RenderedSms> sms = RenderSms(t, Data());
  ASSERT_TRUE(sms.ok());
  EXPECT_EQ(sms->segments.units, 154u);
  EXPECT_EQ(sms->segments.segments, 1u);
  RenderData longer = Data();
  longer.first_name = "Samantha-Josephine";
  EXPECT_EQ(RenderSms(t, longer)->segments.segments, 2u);
  absl::StatusOr<RenderedSms> limited = RenderSms(t, longer, 1);
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(limited.status().message()), HasSubstr("needs 2 segments"));
}

TEST(CampaignTemplatesTest, ChannelNeedsTheRightParts) {
  std::map<std::string, TemplateVersion, std::less<>> templates;
  for (int i = 1; i <= 8; ++i) {
    absl::StatusOr<TemplateVersion> t =
        CompileTemplate(absl::StrCat("week", i), 1, Email("s", "t"), kSaved);
    templates[t->template_id] = *t;
  }
  auto find = [&](absl::string_view id) -> const TemplateVersion* {
    auto it = templates.find(std::string(id));
    return it == templates.end() ? nullptr : &it->second;
  };
  Campaign c = msgtest::EightWeekIntervention();
  EXPECT_TRUE(ValidateCampaignTemplates(c, find).ok());
  c.channel = Channel::kSms;
  absl::Status status = ValidateCampaignTemplates(c, find);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("steps[0].template_id: template week1 v1 has no sms_body"));
  c.channel = Channel::kParticipantPreference;
  EXPECT_FALSE(ValidateCampaignTemplates(c, find).ok());
  c.channel = Channel::kEmail;
  templates.erase("week8");
  EXPECT_THAT(std::string(ValidateCampaignTemplates(c, find).message()),
              HasSubstr("steps[7].template_id: no template \"week8\""));
  EXPECT_TRUE(CheckTemplateSupports(templates.at("week1"), Channel::kEmail).ok());
}

}  // namespace
}  // namespace fieldwork::messaging

// `templates:` and `campaigns:` of a protocol, read into MessagingService's TemplateContent and
// CampaignDefinition. The service checks them again when they are saved; the checks here catch
// what only the protocol file knows (a template or wave it does not define, an arm the design
// does not have) before anything is sent anywhere, with the field path in the file.
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/cli/protocol_fields.h"
#include "services/cli/protocol_sections.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

// A text given inline (`<key>:`) or as a file (`<key>_file:`, relative to the protocol).
std::string Text(const YAML::Node& node, const std::string& key, const std::string& at,
                 const std::string& base_dir, const FileReader& read_file) {
  const YAML::Node inline_text = node[key];
  const YAML::Node file = node[key + "_file"];
  if (inline_text && file) Fail(at + "." + key, absl::StrCat("give either ", key, " or ", key, "_file, not both"));
  if (inline_text) return Scalar(inline_text, at + "." + key);
  if (!file) return "";
  std::filesystem::path path = Scalar(file, at + "." + key + "_file");
  if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
  absl::StatusOr<std::string> text = read_file(path.string());
  if (!text.ok()) Fail(at + "." + key + "_file", std::string(text.status().message()));
  return *std::move(text);
}

enum class TemplateChannel { kEmail, kSms, kBoth };

// ISO 8601 day numbers (1 = Monday), as SendWindow wants them.
int Day(const YAML::Node& node, const std::string& at) {
  static const std::vector<std::string> kNames = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  const std::string text = Scalar(node, at);
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (text == kNames[i] || text == std::to_string(i + 1)) return static_cast<int>(i + 1);
  }
  Fail(at, absl::StrCat("\"", text, "\" is not a day (mon, tue, wed, thu, fri, sat, sun or 1-7)"));
}

v1::SendWindow ParseWindow(const YAML::Node& node, const std::string& at) {
  v1::SendWindow window;
  if (!node) {  // Office hours on weekdays, in each participant's zone.
    for (int day = 1; day <= 5; ++day) window.add_days(day);
    window.set_start_hour(9);
    window.set_end_hour(17);
    window.set_zone(v1::ZONE_SOURCE_PARTICIPANT);
    return window;
  }
  RequireMap(node, at);
  CheckKeys(node, at, {"days", "start_hour", "end_hour", "zone"});
  const YAML::Node days = node["days"];
  if (!days) {
    for (int day = 1; day <= 5; ++day) window.add_days(day);
  } else if (days.IsScalar() && days.as<std::string>() == "weekdays") {
    for (int day = 1; day <= 5; ++day) window.add_days(day);
  } else if (days.IsScalar() && days.as<std::string>() == "every_day") {
    for (int day = 1; day <= 7; ++day) window.add_days(day);
  } else {
    if (!days.IsSequence()) Fail(at + ".days", "must be a list of days, weekdays or every_day");
    std::set<int> seen;
    for (size_t i = 0; i < days.size(); ++i) {
      const std::string day_at = absl::StrCat(at, ".days[", i, "]");
      const int day = Day(days[i], day_at);
      if (!seen.insert(day).second) Fail(day_at, "is listed twice");
      window.add_days(day);
    }
    if (days.size() == 0) Fail(at + ".days", "needs at least one day");
  }
  const int64_t start = Integer(node["start_hour"], at + ".start_hour", 9);
  const int64_t end = Integer(node["end_hour"], at + ".end_hour", 17);
  if (start < 0 || start > 23) Fail(at + ".start_hour", "must be 0-23");
  if (end < 1 || end > 24) Fail(at + ".end_hour", "must be 1-24");
  if (end <= start) Fail(at + ".end_hour", "must be after start_hour (windows cannot cross midnight)");
  window.set_start_hour(static_cast<int32_t>(start));
  window.set_end_hour(static_cast<int32_t>(end));
  window.set_zone(node["zone"] && OneOf(node["zone"], at + ".zone", {"participant", "trial"}) == 1
                      ? v1::ZONE_SOURCE_TRIAL
                      : v1::ZONE_SOURCE_PARTICIPANT);
  return window;
}

v1::Audience ParseAudience(const YAML::Node& node, const std::string& at, v1::CampaignKind kind,
                           const v1::TrialDesign& design) {
  v1::Audience audience;
  if (!node) Fail(at, "is required: all_enrolled, or {factor, arms, sites, cohorts}");
  if (node.IsScalar()) {
    if (node.as<std::string>() != "all_enrolled") Fail(at, "must be all_enrolled or a map {factor, arms, sites, cohorts}");
    audience.set_all_enrolled(true);
  } else {
    RequireMap(node, at);
    CheckKeys(node, at, {"all_enrolled", "factor", "arms", "sites", "cohorts"});
    audience.set_all_enrolled(Boolean(node["all_enrolled"], at + ".all_enrolled"));
    if (!audience.all_enrolled()) {
      const std::string factor_name = Scalar(node["factor"], at + ".factor");
      const v1::Factor* factor = nullptr;
      for (const auto& f : design.factors()) {
        if (f.name() == factor_name) factor = &f;
      }
      if (factor == nullptr) Fail(at + ".factor", absl::StrCat("\"", factor_name, "\" is not a factor of the design"));
      audience.set_factor(factor_name);
      const std::vector<std::string> arms = Strings(node["arms"], at + ".arms");
      if (arms.empty()) Fail(at + ".arms", "is required: the arm(s) the messages are for");
      for (size_t i = 0; i < arms.size(); ++i) {
        bool known = false;
        for (const auto& arm : factor->arms()) known = known || arm.name() == arms[i];
        if (!known) Fail(absl::StrCat(at, ".arms[", i, "]"), absl::StrCat("\"", arms[i], "\" is not an arm of factor ", factor_name));
        audience.add_arms(arms[i]);
      }
    } else if (node["factor"] || node["arms"]) {
      Fail(at + ".factor", "must be left out when all_enrolled is true");
    }
    const std::vector<std::string> sites = Strings(node["sites"], at + ".sites");
    for (size_t i = 0; i < sites.size(); ++i) {
      bool known = false;
      for (const auto& site : design.sites()) known = known || site.id() == sites[i];
      if (!known) Fail(absl::StrCat(at, ".sites[", i, "]"), absl::StrCat("\"", sites[i], "\" is not a site of the design"));
      audience.add_sites(sites[i]);
    }
    const std::vector<std::string> cohorts = Strings(node["cohorts"], at + ".cohorts");
    for (size_t i = 0; i < cohorts.size(); ++i) {
      bool known = false;
      for (const auto& cohort : design.cohorts()) known = known || cohort == cohorts[i];
      if (!known) Fail(absl::StrCat(at, ".cohorts[", i, "]"), absl::StrCat("\"", cohorts[i], "\" is not a cohort of the design"));
      audience.add_cohorts(cohorts[i]);
    }
  }
  if (audience.all_enrolled() && kind != v1::CAMPAIGN_KIND_SURVEY_INVITATION) {
    Fail(at, "all_enrolled is for survey invitations only; name the factor and arm(s)");
  }
  return audience;
}

// Checks that the template `id` exists and has the parts the campaign's channel needs.
void CheckTemplate(const std::string& id, const std::string& at, v1::MessageChannel channel,
                   const std::map<std::string, const v1::TemplateContent*>& templates) {
  auto it = templates.find(id);
  if (it == templates.end()) {
    Fail(at, absl::StrCat("\"", id, "\" is not a template of this protocol (templates:)"));
  }
  const bool email = !it->second->text_body().empty();
  const bool sms = !it->second->sms_body().empty();
  if ((channel == v1::MESSAGE_CHANNEL_EMAIL || channel == v1::MESSAGE_CHANNEL_PARTICIPANT_PREFERENCE) && !email) {
    Fail(at, absl::StrCat("template \"", id, "\" has no e-mail part, which this campaign's channel needs"));
  }
  if ((channel == v1::MESSAGE_CHANNEL_SMS || channel == v1::MESSAGE_CHANNEL_PARTICIPANT_PREFERENCE) && !sms) {
    Fail(at, absl::StrCat("template \"", id, "\" has no SMS part, which this campaign's channel needs"));
  }
}

// `steps:` (explicit), or `weekly: {count, template, every, first}`, then for survey
// invitations `reminders: {count, template, every}` after the last step.
void ParseSteps(const YAML::Node& node, const std::string& at, v1::CampaignDefinition& campaign,
                const std::map<std::string, const v1::TemplateContent*>& templates) {
  const YAML::Node steps = node["steps"];
  const YAML::Node weekly = node["weekly"];
  if (steps && weekly) Fail(at + ".weekly", "give either steps or weekly, not both");
  if (!steps && !weekly) Fail(at + ".steps", "are required (or the compact weekly: {count, template})");
  if (steps) {
    RequireList(steps, at + ".steps");
    if (steps.size() == 0) Fail(at + ".steps", "needs at least one step");
    for (size_t i = 0; i < steps.size(); ++i) {
      const std::string step_at = absl::StrCat(at, ".steps[", i, "]");
      RequireMap(steps[i], step_at);
      CheckKeys(steps[i], step_at, {"template", "offset", "reminder"});
      auto* step = campaign.add_steps();
      step->set_template_id(Scalar(steps[i]["template"], step_at + ".template"));
      CheckTemplate(step->template_id(), step_at + ".template", campaign.channel(), templates);
      *step->mutable_offset() = steps[i]["offset"] ? Duration(steps[i]["offset"], step_at + ".offset")
                                                   : google::protobuf::Duration();
      step->set_reminder(Boolean(steps[i]["reminder"], step_at + ".reminder"));
      if (step->reminder() && campaign.kind() != v1::CAMPAIGN_KIND_SURVEY_INVITATION) {
        Fail(step_at + ".reminder", "only survey invitations have reminder steps");
      }
      if (step->reminder() && i == 0) Fail(step_at + ".reminder", "the first step is the invitation itself");
      if (i > 0 && step->offset().seconds() <= campaign.steps(static_cast<int>(i) - 1).offset().seconds()) {
        Fail(step_at + ".offset", absl::StrCat("must be later than steps[", i - 1, "].offset (steps are listed in send order)"));
      }
    }
  } else {
    const std::string weekly_at = at + ".weekly";
    RequireMap(weekly, weekly_at);
    CheckKeys(weekly, weekly_at, {"count", "template", "every", "first"});
    const int64_t count = Integer(weekly["count"], weekly_at + ".count", 0);
    if (count < 1 || count > 520) Fail(weekly_at + ".count", "is required: 1 to 520 messages");
    const int64_t every = weekly["every"] ? Duration(weekly["every"], weekly_at + ".every").seconds() : 7 * 86400;
    if (every <= 0) Fail(weekly_at + ".every", "must be longer than 0");
    const int64_t first = weekly["first"] ? Duration(weekly["first"], weekly_at + ".first").seconds() : 0;
    const YAML::Node template_node = weekly["template"];
    std::vector<std::string> ids;
    if (template_node && template_node.IsSequence()) {
      ids = Strings(template_node, weekly_at + ".template");
      if (static_cast<int64_t>(ids.size()) != count) {
        Fail(weekly_at + ".template", absl::StrCat("lists ", ids.size(), " templates for ", count, " messages"));
      }
    } else {
      ids.assign(static_cast<size_t>(count), Scalar(template_node, weekly_at + ".template"));
    }
    for (int64_t i = 0; i < count; ++i) {
      const std::string& id = ids[static_cast<size_t>(i)];
      CheckTemplate(id, template_node.IsSequence() ? absl::StrCat(weekly_at, ".template[", i, "]") : weekly_at + ".template",
                    campaign.channel(), templates);
      auto* step = campaign.add_steps();
      step->set_template_id(id);
      step->mutable_offset()->set_seconds(first + i * every);
    }
  }
  if (const YAML::Node reminders = node["reminders"]) {
    const std::string r_at = at + ".reminders";
    if (campaign.kind() != v1::CAMPAIGN_KIND_SURVEY_INVITATION) Fail(r_at, "only survey invitations have reminders");
    RequireMap(reminders, r_at);
    CheckKeys(reminders, r_at, {"count", "template", "every"});
    const int64_t count = Integer(reminders["count"], r_at + ".count", 0);
    if (count < 1 || count > 52) Fail(r_at + ".count", "is required: 1 to 52 reminders");
    const int64_t every = reminders["every"] ? Duration(reminders["every"], r_at + ".every").seconds() : 7 * 86400;
    if (every <= 0) Fail(r_at + ".every", "must be longer than 0");
    const std::string id = Scalar(reminders["template"], r_at + ".template");
    CheckTemplate(id, r_at + ".template", campaign.channel(), templates);
    const int64_t last = campaign.steps(campaign.steps_size() - 1).offset().seconds();
    for (int64_t i = 1; i <= count; ++i) {
      auto* step = campaign.add_steps();
      step->set_template_id(id);
      step->mutable_offset()->set_seconds(last + i * every);
      step->set_reminder(true);
    }
  }
}

// How long a personal survey link outlives its wave's close when the protocol does not say:
// long enough for a late reader of the last reminder, short enough that old mail stops working.
constexpr int64_t kDefaultSurveyLinkGraceSeconds = 14 * 86400;

// A survey invitation's link: `survey: hosted` (Fieldwork's own form, a personal sealed link)
// or `survey_url:` (an external survey, with {survey_token} or, in old protocols,
// {participant_id}); a sealed link expires at the wave's close plus `survey_link_grace`,
// computed here because messaging does not own waves.
void ParseSurveyLink(const YAML::Node& node, const std::string& at, const Protocol& protocol,
                     v1::CampaignDefinition& campaign) {
  const YAML::Node survey = node["survey"];
  const YAML::Node url = node["survey_url"];
  if (survey && url) {
    Fail(at + ".survey", "give either survey: hosted (Fieldwork's own form) or survey_url (an external survey), not both");
  }
  if (!survey && !url) {
    Fail(at + ".survey", "is required: survey: hosted for Fieldwork's own form, or survey_url: for an external survey");
  }
  if (survey) {
    OneOf(survey, at + ".survey", {"hosted"});
    campaign.set_hosted_survey(true);
  } else {
    campaign.set_survey_url_template(Scalar(url, at + ".survey_url"));
    if (campaign.survey_url_template().find("{survey_token}") == std::string::npos &&
        campaign.survey_url_template().find("{participant_id}") == std::string::npos) {
      Fail(at + ".survey_url", "must contain {survey_token}, replaced by each participant's sealed link token");
    }
  }
  const bool sealed = campaign.hosted_survey() || campaign.survey_url_template().find("{survey_token}") != std::string::npos;
  const YAML::Node grace_node = node["survey_link_grace"];
  if (!sealed) {
    if (grace_node) Fail(at + ".survey_link_grace", "only personal survey links expire (survey: hosted or {survey_token} in survey_url)");
    return;
  }
  const int64_t grace = grace_node ? Duration(grace_node, at + ".survey_link_grace").seconds() : kDefaultSurveyLinkGraceSeconds;
  for (const v1::Wave& wave : protocol.waves) {
    if (wave.wave_id() != campaign.wave_id()) continue;
    campaign.mutable_survey_link_expires()->set_seconds(wave.closes_at().seconds() + grace);
  }
}

v1::CampaignDefinition ParseCampaign(const YAML::Node& node, const std::string& at, const Protocol& protocol,
                                     const std::map<std::string, const v1::TemplateContent*>& templates) {
  RequireMap(node, at);
  CheckKeys(node, at, {"id", "kind", "audience", "channel", "start", "time_zone", "window", "steps",
                       "weekly", "reminders", "wave", "survey", "survey_url", "survey_link_grace",
                       "waitlist_delay"});
  v1::CampaignDefinition campaign;
  campaign.set_campaign_id(Scalar(node["id"], at + ".id"));
  static const std::vector<v1::CampaignKind> kKinds = {
      v1::CAMPAIGN_KIND_INTERVENTION, v1::CAMPAIGN_KIND_SURVEY_INVITATION, v1::CAMPAIGN_KIND_WAITLIST};
  campaign.set_kind(kKinds[OneOf(node["kind"], at + ".kind", {"intervention", "survey_invitation", "waitlist"})]);
  static const std::vector<v1::MessageChannel> kChannels = {
      v1::MESSAGE_CHANNEL_EMAIL, v1::MESSAGE_CHANNEL_SMS, v1::MESSAGE_CHANNEL_PARTICIPANT_PREFERENCE};
  campaign.set_channel(kChannels[OneOf(node["channel"], at + ".channel", {"email", "sms", "participant_preference"})]);
  *campaign.mutable_audience() = ParseAudience(node["audience"], at + ".audience", campaign.kind(), protocol.design);
  *campaign.mutable_window() = ParseWindow(node["window"], at + ".window");
  campaign.set_trial_time_zone(Scalar(node["time_zone"], at + ".time_zone"));
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(campaign.trial_time_zone(), &zone)) {
    Fail(at + ".time_zone", absl::StrCat("\"", campaign.trial_time_zone(), "\" is not an IANA time zone such as Europe/London"));
  }
  ParseSteps(node, at, campaign, templates);

  const bool waitlist = campaign.kind() == v1::CAMPAIGN_KIND_WAITLIST;
  const bool invitation = campaign.kind() == v1::CAMPAIGN_KIND_SURVEY_INVITATION;
  if (waitlist) {
    if (node["start"]) Fail(at + ".start", "a waitlist campaign starts when its wave closes; leave start out");
    if (node["waitlist_delay"]) *campaign.mutable_waitlist_delay() = Duration(node["waitlist_delay"], at + ".waitlist_delay");
  } else {
    *campaign.mutable_start() = Time(node["start"], at + ".start");
    if (node["waitlist_delay"]) Fail(at + ".waitlist_delay", "only waitlist campaigns have one");
  }
  if (waitlist || invitation) {
    const std::string wave = Scalar(node["wave"], at + ".wave");
    bool known = false;
    for (const auto& w : protocol.waves) known = known || w.wave_id() == wave;
    if (!known) Fail(at + ".wave", absl::StrCat("\"", wave, "\" is not a wave of this protocol (waves:)"));
    campaign.set_wave_id(wave);
  } else if (node["wave"]) {
    Fail(at + ".wave", "only survey invitations and waitlist campaigns name a wave");
  }
  if (invitation) {
    ParseSurveyLink(node, at, protocol, campaign);
  } else {
    for (const char* key : {"survey", "survey_url", "survey_link_grace"}) {
      if (node[key]) Fail(absl::StrCat(at, ".", key), "only survey invitations have a survey link");
    }
  }
  return campaign;
}

}  // namespace

std::vector<Protocol::Template> ParseTemplates(const YAML::Node& node, const std::string& base_dir,
                                               const FileReader& read_file) {
  std::vector<Protocol::Template> templates;
  if (!node) return templates;
  RequireList(node, "templates");
  std::set<std::string> ids;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string at = absl::StrCat("templates[", i, "]");
    const YAML::Node t = node[i];
    RequireMap(t, at);
    CheckKeys(t, at, {"id", "channel", "subject", "body", "body_file", "html_body", "html_body_file",
                      "sms_body", "sms_body_file"});
    Protocol::Template out;
    out.id = Scalar(t["id"], at + ".id");
    if (!ids.insert(out.id).second) Fail(at + ".id", absl::StrCat("\"", out.id, "\" is listed twice"));
    const auto channel = static_cast<TemplateChannel>(OneOf(t["channel"], at + ".channel", {"email", "sms", "both"}));
    const std::string body = Text(t, "body", at, base_dir, read_file);
    if (body.empty()) Fail(at + ".body", "is required (inline, or body_file: relative to the protocol)");
    const std::string subject = Scalar(t["subject"], at + ".subject", false);
    const std::string html = Text(t, "html_body", at, base_dir, read_file);
    const std::string sms = Text(t, "sms_body", at, base_dir, read_file);
    if (channel == TemplateChannel::kSms) {
      if (!subject.empty()) Fail(at + ".subject", "an SMS has no subject");
      if (!html.empty()) Fail(at + ".html_body", "an SMS has no HTML body");
      if (!sms.empty()) Fail(at + ".sms_body", "an sms template's body is its SMS; use channel: both for two parts");
      out.content.set_sms_body(body);
    } else {
      if (subject.empty()) Fail(at + ".subject", "is required for an e-mail");
      out.content.set_subject(subject);
      out.content.set_text_body(body);
      out.content.set_html_body(html);
      if (channel == TemplateChannel::kBoth) {
        if (sms.empty()) Fail(at + ".sms_body", "is required for channel both (the SMS part)");
        out.content.set_sms_body(sms);
      } else if (!sms.empty()) {
        Fail(at + ".sms_body", "only channel both has an SMS part besides the e-mail");
      }
    }
    templates.push_back(std::move(out));
  }
  return templates;
}

std::vector<v1::CampaignDefinition> ParseCampaigns(const YAML::Node& node, const Protocol& protocol) {
  std::vector<v1::CampaignDefinition> campaigns;
  if (!node) return campaigns;
  RequireList(node, "campaigns");
  std::map<std::string, const v1::TemplateContent*> templates;
  for (const auto& t : protocol.templates) templates[t.id] = &t.content;
  std::set<std::string> ids;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string at = absl::StrCat("campaigns[", i, "]");
    campaigns.push_back(ParseCampaign(node[i], at, protocol, templates));
    if (!ids.insert(campaigns.back().campaign_id()).second) {
      Fail(at + ".id", absl::StrCat("\"", campaigns.back().campaign_id(), "\" is listed twice"));
    }
  }
  return campaigns;
}

}  // namespace fieldwork::cli

#include "services/messaging/convert.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fieldwork::messaging {
namespace {

absl::Duration FromDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1'000'000'000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
  if (ts.nanos() < 0) {
    ts.set_seconds(ts.seconds() - 1);
    ts.set_nanos(ts.nanos() + 1'000'000'000);
  }
  return ts;
}

absl::StatusOr<Campaign> CampaignFromProto(const std::string& trial_id,
                                           const fieldwork::v1::CampaignDefinition& proto) {
  std::vector<std::string> problems;
  Campaign c;
  c.trial_id = trial_id;
  c.campaign_id = proto.campaign_id();
  switch (proto.kind()) {
    case fieldwork::v1::CAMPAIGN_KIND_INTERVENTION:
      c.kind = CampaignKind::kIntervention;
      break;
    case fieldwork::v1::CAMPAIGN_KIND_SURVEY_INVITATION:
      c.kind = CampaignKind::kSurveyInvitation;
      break;
    case fieldwork::v1::CAMPAIGN_KIND_WAITLIST:
      c.kind = CampaignKind::kWaitlist;
      break;
    default:
      c.kind = CampaignKind::kUnspecified;
      break;
  }
  for (const fieldwork::v1::CampaignStep& s : proto.steps()) {
    c.steps.push_back(CampaignStep{s.template_id(), FromDuration(s.offset()), s.reminder()});
  }
  c.audience.all_enrolled = proto.audience().all_enrolled();
  c.audience.factor = proto.audience().factor();
  c.audience.arms.assign(proto.audience().arms().begin(), proto.audience().arms().end());
  c.audience.sites.assign(proto.audience().sites().begin(), proto.audience().sites().end());
  c.audience.cohorts.assign(proto.audience().cohorts().begin(), proto.audience().cohorts().end());
  switch (proto.channel()) {
    case fieldwork::v1::MESSAGE_CHANNEL_EMAIL:
      c.channel = Channel::kEmail;
      break;
    case fieldwork::v1::MESSAGE_CHANNEL_SMS:
      c.channel = Channel::kSms;
      break;
    case fieldwork::v1::MESSAGE_CHANNEL_PARTICIPANT_PREFERENCE:
      c.channel = Channel::kParticipantPreference;
      break;
    default:
      c.channel = Channel::kUnspecified;
      break;
  }
  for (int i = 0; i < proto.window().days_size(); ++i) {
    const int day = proto.window().days(i);
    if (day < 1 || day > 7) {
      problems.push_back(absl::StrCat("campaign.window.days[", i, "]: must be 1 (Monday) to 7"));
      continue;
    }
    static constexpr absl::Weekday kDays[] = {absl::Weekday::monday,    absl::Weekday::tuesday,
                                              absl::Weekday::wednesday, absl::Weekday::thursday,
                                              absl::Weekday::friday,    absl::Weekday::saturday,
                                              absl::Weekday::sunday};
    c.window.days.push_back(kDays[day - 1]);
  }
  c.window.start_hour = proto.window().start_hour();
  c.window.end_hour = proto.window().end_hour();
  c.window.zone = proto.window().zone() == fieldwork::v1::ZONE_SOURCE_TRIAL
                      ? ZoneSource::kTrial
                      : ZoneSource::kParticipant;
  c.trial_time_zone = proto.trial_time_zone();
  if (proto.has_start()) c.start = FromTimestamp(proto.start());
  c.wave_id = proto.wave_id();
  c.waitlist_delay = FromDuration(proto.waitlist_delay());
  c.survey.hosted = proto.hosted_survey();
  c.survey.url_template = proto.survey_url_template();
  if (proto.has_survey_link_expires()) c.survey.expires = FromTimestamp(proto.survey_link_expires());
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  return c;
}

Contact ContactFromProto(const fieldwork::v1::Contact& proto) {
  Contact c;
  c.participant_id = proto.participant_id();
  c.email = proto.email();
  c.phone = proto.phone();
  c.first_name = proto.first_name();
  c.time_zone = proto.time_zone();
  if (proto.preference() == fieldwork::v1::MESSAGE_CHANNEL_EMAIL) {
    c.preference = DeliveryChannel::kEmail;
  } else if (proto.preference() == fieldwork::v1::MESSAGE_CHANNEL_SMS) {
    c.preference = DeliveryChannel::kSms;
  }
  return c;
}

fieldwork::v1::Contact ContactToProto(const Contact& contact) {
  fieldwork::v1::Contact p;
  p.set_participant_id(contact.participant_id);
  p.set_email(contact.email);
  p.set_phone(contact.phone);
  p.set_first_name(contact.first_name);
  p.set_time_zone(contact.time_zone);
  if (contact.preference) {
    p.set_preference(*contact.preference == DeliveryChannel::kEmail
                         ? fieldwork::v1::MESSAGE_CHANNEL_EMAIL
                         : fieldwork::v1::MESSAGE_CHANNEL_SMS);
  }
  return p;
}

TemplateContent TemplateFromProto(const fieldwork::v1::TemplateContent& proto) {
  return TemplateContent{proto.subject(), proto.text_body(), proto.html_body(), proto.sms_body()};
}

fieldwork::v1::TemplateContent TemplateToProto(const TemplateContent& content) {
  fieldwork::v1::TemplateContent p;
  p.set_subject(content.subject);
  p.set_text_body(content.text_body);
  p.set_html_body(content.html_body);
  p.set_sms_body(content.sms_body);
  return p;
}

fieldwork::v1::MessageChannel ChannelToProto(absl::string_view name) {
  if (name == "email") return fieldwork::v1::MESSAGE_CHANNEL_EMAIL;
  if (name == "sms") return fieldwork::v1::MESSAGE_CHANNEL_SMS;
  return fieldwork::v1::MESSAGE_CHANNEL_UNSPECIFIED;
}

}  // namespace fieldwork::messaging

#include "services/messaging/messenger.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/messaging/convert.h"
#include "services/messaging/domain/campaign.h"
#include "services/messaging/domain/contact.h"
#include "services/messaging/domain/ids.h"
#include "services/messaging/domain/schedule.h"

namespace fieldwork::messaging {
namespace {

using fieldwork::v1::EventKind;

constexpr size_t kMaxCancelReasonBytes = 500;

// Prefixes a status's message with "<field>: " unless it already names a field.
absl::Status Named(const absl::Status& status, absl::string_view field) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(field, ": ", status.message()));
}

// Puts `parent.` in front of each "<field>: <reason>" item of a domain error, so the field
// paths match the request ("campaign.steps[2].offset: ...").
absl::Status UnderField(const absl::Status& status, absl::string_view parent) {
  if (status.ok()) return status;
  std::vector<std::string> items = absl::StrSplit(status.message(), "; ");
  for (std::string& item : items) item = absl::StrCat(parent, ".", item);
  return absl::Status(status.code(), absl::StrJoin(items, "; "));
}

EventKind KindFromName(absl::string_view name) {
  static const std::map<std::string, EventKind, std::less<>> kKinds = {
      {"queued", fieldwork::v1::EVENT_KIND_QUEUED},
      {"sent", fieldwork::v1::EVENT_KIND_SENT},
      {"failed", fieldwork::v1::EVENT_KIND_FAILED},
      {"dead_lettered", fieldwork::v1::EVENT_KIND_DEAD_LETTERED},
      {"opened", fieldwork::v1::EVENT_KIND_OPENED},
      {"clicked", fieldwork::v1::EVENT_KIND_CLICKED},
      {"opted_out", fieldwork::v1::EVENT_KIND_OPTED_OUT},
      {"skipped", fieldwork::v1::EVENT_KIND_SKIPPED},
      {"cancelled", fieldwork::v1::EVENT_KIND_CANCELLED},
  };
  auto it = kKinds.find(name);
  return it == kKinds.end() ? fieldwork::v1::EVENT_KIND_UNSPECIFIED : it->second;
}

int64_t Int(const MessageStore::RawEvent& event, absl::string_view field) {
  int64_t v = 0;
  if (const std::string* value = event.Find(field)) (void)absl::SimpleAtoi(*value, &v);
  return v;
}

const std::string& Str(const MessageStore::RawEvent& event, absl::string_view field) {
  static const std::string* const kNone = new std::string;
  const std::string* value = event.Find(field);
  return value == nullptr ? *kNone : *value;
}

fieldwork::v1::CampaignState StateFromName(absl::string_view name) {
  if (name == "draft") return fieldwork::v1::CAMPAIGN_STATE_DRAFT;
  if (name == "running") return fieldwork::v1::CAMPAIGN_STATE_RUNNING;
  if (name == "paused") return fieldwork::v1::CAMPAIGN_STATE_PAUSED;
  if (name == "cancelled") return fieldwork::v1::CAMPAIGN_STATE_CANCELLED;
  return fieldwork::v1::CAMPAIGN_STATE_UNSPECIFIED;
}

// A cursor ListEvents gives is an event's stream id, "<ms>-<sequence>"; anything else would
// reach Redis as a malformed id and come back as an internal error.
absl::Status ValidateCursor(absl::string_view cursor) {
  if (cursor.empty()) return absl::OkStatus();
  const std::vector<absl::string_view> parts = absl::StrSplit(cursor, '-');
  uint64_t part = 0;
  if (parts.size() != 2 || !absl::c_all_of(parts, [&](absl::string_view p) {
        return !p.empty() && absl::c_all_of(p, absl::ascii_isdigit) && absl::SimpleAtoi(p, &part);
      })) {
    return absl::InvalidArgumentError(absl::StrCat("after_cursor: \"", cursor.substr(0, 64),
                                                   "\" is not a cursor ListEvents gave"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<std::string>> Messenger::SiteOf(const std::string& trial,
                                                             const std::string& participant_id) {
  absl::StatusOr<std::map<std::string, ParticipantRecord>> records =
      allocations_.LookupMany(trial, {participant_id}, "");
  if (!records.ok()) return records.status();
  const ParticipantRecord& record = (*records)[participant_id];
  if (record.enrolment == EnrolmentState::kNotEnrolled) return std::nullopt;
  return record.site;
}

absl::Status Messenger::CheckScope(const std::string& trial, const std::string& participant_id,
                                   const ParticipantScope& scope) {
  if (!scope.site_scoped()) return absl::OkStatus();
  absl::StatusOr<std::optional<std::string>> site = SiteOf(trial, participant_id);
  if (!site.ok()) return site.status();
  return scope.CheckParticipant(participant_id, *site);
}

absl::StatusOr<fieldwork::v1::UpsertContactsResponse> Messenger::UpsertContacts(
    const fieldwork::v1::UpsertContactsRequest& request, const ParticipantScope& scope) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  fieldwork::v1::UpsertContactsResponse response;
  std::vector<Contact> good;
  for (int i = 0; i < request.contacts_size(); ++i) {
    Contact contact = ContactFromProto(request.contacts(i));
    absl::Status valid = ValidateContact(contact);
    if (valid.ok() && !contact.time_zone.empty()) {
      absl::TimeZone zone;
      if (!absl::LoadTimeZone(contact.time_zone, &zone)) {
        valid = absl::InvalidArgumentError("time_zone: not a known IANA time zone");
      }
    }
    if (valid.ok()) {
      // Contacts are the only personal data: stored only for a participant the caller may
      // touch, asked of randomisation now (a partner must not redirect another site's mail).
      absl::StatusOr<std::optional<std::string>> site =
          SiteOf(request.trial_id(), contact.participant_id);
      if (!site.ok()) return site.status();
      if (absl::Status in_scope = scope.CheckParticipant(contact.participant_id, *site);
          !in_scope.ok()) {
        if (in_scope.code() == absl::StatusCode::kPermissionDenied) {
          return absl::PermissionDeniedError(absl::StrCat("contacts row ", i + 1, ": ",
                                                          in_scope.message(), "; nothing stored"));
        }
        valid = absl::InvalidArgumentError(
            absl::StrCat("participant_id: not enrolled in trial ", request.trial_id()));
      }
    }
    if (!valid.ok()) {
      fieldwork::v1::RowError* error = response.add_errors();
      error->set_row(i + 1);
      const std::string message(valid.message());
      const size_t colon = message.find(':');
      error->set_field(colon == std::string::npos ? "" : message.substr(0, colon));
      error->set_reason(message);
      continue;
    }
    good.push_back(std::move(contact));
  }
  if (absl::Status s = store_.PutContacts(request.trial_id(), good); !s.ok()) return s;
  response.set_upserted(static_cast<int64_t>(good.size()));
  return response;
}

absl::StatusOr<fieldwork::v1::OptOutResponse> Messenger::OptOut(
    const fieldwork::v1::OptOutRequest& request, const ParticipantScope& scope) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  if (absl::Status s = ValidateId("participant_id", request.participant_id()); !s.ok()) return s;
  if (absl::Status s = CheckScope(request.trial_id(), request.participant_id(), scope); !s.ok()) {
    return s;
  }
  if (request.scope() == fieldwork::v1::OPT_OUT_SCOPE_UNSPECIFIED) {
    return absl::InvalidArgumentError("scope: must be EMAIL, SMS or ALL");
  }
  if (absl::Status s = store_.AddOptOut(request.trial_id(), request.participant_id(),
                                        request.scope(), clock_.Now());
      !s.ok()) {
    return s;
  }
  return fieldwork::v1::OptOutResponse();
}

absl::StatusOr<fieldwork::v1::ForgetResponse> Messenger::Forget(
    const fieldwork::v1::ForgetRequest& request, const ParticipantScope& scope) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  if (absl::Status s = ValidateId("participant_id", request.participant_id()); !s.ok()) return s;
  if (absl::Status s = CheckScope(request.trial_id(), request.participant_id(), scope); !s.ok()) {
    return s;
  }
  absl::StatusOr<bool> existed = store_.Forget(request.trial_id(), request.participant_id());
  if (!existed.ok()) return existed.status();
  fieldwork::v1::ForgetResponse response;
  response.set_existed(*existed);
  return response;
}

absl::StatusOr<fieldwork::v1::UpdateTemplateResponse> Messenger::UpdateTemplate(
    const fieldwork::v1::UpdateTemplateRequest& request) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  if (absl::Status s = ValidateId("template_id", request.template_id()); !s.ok()) return s;
  absl::StatusOr<TemplateVersion> saved =
      store_.SaveTemplate(request.trial_id(), request.template_id(),
                          TemplateFromProto(request.content()), clock_.Now());
  if (!saved.ok()) {
    return absl::IsInvalidArgument(saved.status()) ? UnderField(saved.status(), "content")
                                                   : saved.status();
  }
  fieldwork::v1::UpdateTemplateResponse response;
  response.set_version(saved->version);
  for (const std::string& link : saved->tracked_links) response.add_tracked_links(link);
  return response;
}

absl::StatusOr<fieldwork::v1::CreateCampaignResponse> Messenger::CreateCampaign(
    const fieldwork::v1::CreateCampaignRequest& request) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  absl::StatusOr<Campaign> campaign = CampaignFromProto(request.trial_id(), request.campaign());
  if (!campaign.ok()) return campaign.status();
  if (absl::Status s = ValidateCampaign(*campaign); !s.ok()) return UnderField(s, "campaign");
  std::map<std::string, TemplateVersion> templates;
  for (const CampaignStep& step : campaign->steps) {
    if (templates.count(step.template_id) > 0) continue;
    absl::StatusOr<TemplateVersion> t = store_.LatestTemplate(request.trial_id(), step.template_id);
    if (t.ok()) {
      templates.emplace(step.template_id, *std::move(t));
    } else if (!absl::IsNotFound(t.status())) {
      return t.status();
    }
  }
  if (absl::Status s =
          ValidateCampaignTemplates(*campaign,
                                    [&](absl::string_view id) -> const TemplateVersion* {
                                      auto it = templates.find(std::string(id));
                                      return it == templates.end() ? nullptr : &it->second;
                                    });
      !s.ok()) {
    return UnderField(s, "campaign");
  }
  absl::StatusOr<bool> created = store_.CreateCampaign(request.trial_id(), request.campaign());
  if (!created.ok()) return created.status();
  absl::StatusOr<std::string> state =
      queue_.State(request.trial_id(), request.campaign().campaign_id());
  if (!state.ok()) return state.status();
  fieldwork::v1::CreateCampaignResponse response;
  response.set_state(StateFromName(*state));
  return response;
}

absl::StatusOr<fieldwork::v1::StartCampaignResponse> Messenger::StartCampaign(
    const fieldwork::v1::StartCampaignRequest& request) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  if (absl::Status s = ValidateId("campaign_id", request.campaign_id()); !s.ok()) return s;
  absl::StatusOr<fieldwork::v1::CampaignDefinition> def =
      store_.GetCampaign(request.trial_id(), request.campaign_id());
  if (!def.ok()) return def.status();
  absl::StatusOr<Campaign> campaign = CampaignFromProto(request.trial_id(), *def);
  if (!campaign.ok()) return campaign.status();
  // Refused before anything is planned: every send would be dead-lettered for want of its link.
  if (absl::Status s = CheckSurveyLinkSettings(*campaign, survey_links_); !s.ok()) return s;
  absl::StatusOr<std::string> state = queue_.State(request.trial_id(), request.campaign_id());
  if (!state.ok()) return state.status();
  if (*state == "cancelled" || *state == "paused") {
    return absl::FailedPreconditionError(
        absl::StrCat("campaign_id: campaign is ", *state, "; it cannot be started"));
  }
  // A waitlist campaign starts when its wave closes: planned now, due from closes_at on.
  std::optional<absl::Time> wave_closes;
  if (campaign->kind == CampaignKind::kWaitlist) {
    if (waves_ == nullptr) {
      return absl::FailedPreconditionError(
          "campaign.kind: waitlist campaigns need survey-ingest (--survey_ingest_address)");
    }
    absl::StatusOr<std::optional<absl::Time>> closes =
        waves_->WaveClosesAt(request.trial_id(), campaign->wave_id);
    if (!closes.ok()) return Named(closes.status(), "campaign.wave_id");
    wave_closes = *closes;
  }
  absl::StatusOr<absl::Time> start = CampaignStart(*campaign, wave_closes);
  if (!start.ok()) return Named(start.status(), "campaign");
  absl::StatusOr<std::vector<Recipient>> recipients =
      allocations_.ListAudience(request.trial_id(), campaign->audience);
  if (!recipients.ok()) return Named(recipients.status(), "trial_id");
  // Participants' own time zones come from their contacts.
  std::vector<std::string> ids;
  for (const Recipient& r : *recipients) ids.push_back(r.participant_id);
  for (size_t startpos = 0; startpos < ids.size(); startpos += 1000) {
    std::vector<std::string> chunk(
        ids.begin() + static_cast<std::ptrdiff_t>(startpos),
        ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), startpos + 1000)));
    absl::StatusOr<std::map<std::string, Contact>> contacts =
        store_.GetContacts(request.trial_id(), chunk);
    if (!contacts.ok()) return contacts.status();
    for (size_t i = startpos; i < startpos + chunk.size(); ++i) {
      auto it = contacts->find((*recipients)[i].participant_id);
      if (it != contacts->end()) (*recipients)[i].time_zone = it->second.time_zone;
    }
  }
  absl::StatusOr<Plan> plan = ExpandPlan(*campaign, *start, *recipients);
  if (!plan.ok()) return plan.status();
  std::vector<PlannedEntry> entries;
  std::map<std::string, std::string> arms;
  for (const Recipient& r : *recipients) arms[r.participant_id] = r.arm;
  for (const PlannedSend& send : plan->sends) {
    entries.push_back({send.idempotency_key, ToMs(send.due), arms[send.participant_id]});
  }
  // Running before planning: a send that is due at once must find its campaign running.
  if (*state != "running") {
    if (absl::Status s = queue_.SetState(request.trial_id(), request.campaign_id(), "running");
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<int64_t> planned =
      queue_.Plan(request.trial_id(), request.campaign_id(), entries, ToMs(clock_.Now()));
  if (!planned.ok()) return planned.status();
  fieldwork::v1::StartCampaignResponse response;
  response.set_planned(*planned);
  response.set_skipped(static_cast<int64_t>(plan->skipped.size()));
  return response;
}

absl::Status Messenger::CheckCampaignExists(const std::string& trial, const std::string& campaign) {
  if (absl::Status s = ValidateId("trial_id", trial); !s.ok()) return s;
  if (absl::Status s = ValidateId("campaign_id", campaign); !s.ok()) return s;
  return store_.GetCampaign(trial, campaign).status();
}

absl::Status Messenger::PauseCampaign(const std::string& trial, const std::string& campaign) {
  if (absl::Status s = CheckCampaignExists(trial, campaign); !s.ok()) return s;
  return queue_.Pause(trial, campaign);
}

absl::Status Messenger::ResumeCampaign(const std::string& trial, const std::string& campaign) {
  if (absl::Status s = CheckCampaignExists(trial, campaign); !s.ok()) return s;
  return queue_.Resume(trial, campaign);
}

absl::StatusOr<fieldwork::v1::CancelCampaignResponse> Messenger::CancelCampaign(
    const fieldwork::v1::CancelCampaignRequest& request) {
  if (absl::Status s = CheckCampaignExists(request.trial_id(), request.campaign_id()); !s.ok()) {
    return s;
  }
  // The reason is recorded on every dropped message: a long one would be stored thousands of
  // times over.
  if (request.reason().size() > kMaxCancelReasonBytes) {
    return absl::InvalidArgumentError(absl::StrCat("reason: ", request.reason().size(),
                                                   " bytes, more than the limit of ",
                                                   kMaxCancelReasonBytes));
  }
  if (std::any_of(request.reason().begin(), request.reason().end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
      })) {
    return absl::InvalidArgumentError("reason: contains a line break or control character");
  }
  absl::StatusOr<int64_t> dropped =
      queue_.Cancel(request.trial_id(), request.campaign_id(), ToMs(clock_.Now()),
                    request.reason().empty() ? "cancelled" : request.reason());
  if (!dropped.ok()) return dropped.status();
  fieldwork::v1::CancelCampaignResponse response;
  response.set_dropped(*dropped);
  return response;
}

absl::StatusOr<fieldwork::v1::GetCampaignStatusResponse> Messenger::GetCampaignStatus(
    const fieldwork::v1::GetCampaignStatusRequest& request) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  if (absl::Status s = ValidateId("campaign_id", request.campaign_id()); !s.ok()) return s;
  absl::StatusOr<fieldwork::v1::CampaignDefinition> def =
      store_.GetCampaign(request.trial_id(), request.campaign_id());
  if (!def.ok()) return def.status();
  absl::StatusOr<std::string> state = queue_.State(request.trial_id(), request.campaign_id());
  if (!state.ok()) return state.status();
  absl::StatusOr<std::map<std::string, int64_t>> counts =
      store_.Counts(request.trial_id(), request.campaign_id());
  if (!counts.ok()) return counts.status();

  fieldwork::v1::GetCampaignStatusResponse response;
  *response.mutable_campaign() = *def;
  std::map<std::pair<int, std::string>, fieldwork::v1::StepCounts> by_arm;
  std::map<int, fieldwork::v1::StepCounts> by_step;
  for (int s = 0; s < def->steps_size(); ++s) by_step[s].set_step(s);
  for (const auto& [field, n] : *counts) {
    std::vector<std::string> parts = absl::StrSplit(field, '|');
    int step = 0;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &step)) continue;
    for (fieldwork::v1::StepCounts* row : {&by_arm[{step, parts[1]}], &by_step[step]}) {
      const std::string& kind = parts[2];
      if (kind == "planned") row->set_scheduled(row->scheduled() + n);
      if (kind == "sent") row->set_sent(row->sent() + n);
      if (kind == "failed") row->set_failed(row->failed() + n);
      if (kind == "dead") row->set_dead(row->dead() + n);
      if (kind == "skipped") row->set_skipped(row->skipped() + n);
      if (kind == "opened") row->set_opened(row->opened() + n);
      if (kind == "clicked") row->set_clicked(row->clicked() + n);
      if (kind == "cancelled") row->set_scheduled(row->scheduled() - n);
    }
    by_arm[{step, parts[1]}].set_step(step);
    by_arm[{step, parts[1]}].set_arm(parts[1]);
  }
  // "scheduled" is what is still to go: planned minus everything final.
  int64_t outstanding = 0;
  auto finish = [&outstanding](fieldwork::v1::StepCounts& row, bool total) {
    row.set_scheduled(
        std::max<int64_t>(0, row.scheduled() - row.sent() - row.dead() - row.skipped()));
    if (total) outstanding += row.scheduled();
  };
  for (auto& [step, row] : by_step) {
    finish(row, true);
    *response.add_steps() = row;
  }
  for (auto& [key, row] : by_arm) {
    finish(row, false);
    *response.add_by_arm() = row;
  }
  fieldwork::v1::CampaignState wire_state = StateFromName(*state);
  if (wire_state == fieldwork::v1::CAMPAIGN_STATE_RUNNING && outstanding == 0 && !counts->empty()) {
    wire_state = fieldwork::v1::CAMPAIGN_STATE_COMPLETED;
  }
  response.set_state(wire_state);
  return response;
}

absl::StatusOr<fieldwork::v1::GetEngagementVersionResponse> Messenger::GetEngagementVersion(
    const fieldwork::v1::GetEngagementVersionRequest& request) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  absl::StatusOr<int64_t> version = store_.EngagementVersion(request.trial_id());
  if (!version.ok()) return version.status();
  fieldwork::v1::GetEngagementVersionResponse response;
  response.set_version(absl::StrCat(*version));
  return response;
}

absl::Status Messenger::ListEvents(
    const fieldwork::v1::ListEventsRequest& request,
    const std::function<bool(const fieldwork::v1::ListEventsResponse&)>& sink) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  if (absl::Status s = ValidateCursor(request.after_cursor()); !s.ok()) return s;
  std::set<int> kinds(request.kinds().begin(), request.kinds().end());
  // The kind is looked at before an event is built: a listing of opens and clicks (the
  // analysis service's take-up) reads every send's events but builds none of them.
  std::function<bool(absl::string_view)> wanted;
  if (!kinds.empty()) {
    wanted = [&kinds](absl::string_view kind) { return kinds.count(KindFromName(kind)) > 0; };
  }
  // Opens and clicks alone are read from the trial's engagement log where it keeps one: the
  // same events under the same ids, without the sends' events around them.
  MessageStore::EventLog log = MessageStore::EventLog::kAll;
  const bool engagement_only =
      !kinds.empty() && std::all_of(kinds.begin(), kinds.end(), [](int kind) {
        return kind == fieldwork::v1::EVENT_KIND_OPENED ||
               kind == fieldwork::v1::EVENT_KIND_CLICKED;
      });
  if (engagement_only) {
    absl::StatusOr<bool> logged = store_.EngagementLogged(request.trial_id());
    if (!logged.ok()) return logged.status();
    if (*logged) log = MessageStore::EventLog::kEngagement;
  }
  std::string after = request.after_cursor();
  for (;;) {
    absl::StatusOr<MessageStore::EventPage> page =
        store_.Events(request.trial_id(), after, 1000, wanted, log);
    if (!page.ok()) return page.status();
    if (page->last_id.empty()) return absl::OkStatus();  // nothing followed `after`
    after = page->last_id;  // past the unwanted entries too
    fieldwork::v1::ListEventsResponse response;
    for (const MessageStore::RawEvent& raw : page->events) {
      if (!request.campaign_id().empty() && Str(raw, "c") != request.campaign_id()) continue;
      if (!request.participant_id().empty() && Str(raw, "p") != request.participant_id()) {
        continue;
      }
      fieldwork::v1::MessageEvent& event = *response.add_events();
      event.set_kind(KindFromName(Str(raw, "e")));
      event.set_trial_id(request.trial_id());
      event.set_campaign_id(Str(raw, "c"));
      event.set_step(static_cast<int32_t>(Int(raw, "s")));
      event.set_participant_id(Str(raw, "p"));
      *event.mutable_time() = ToTimestamp(absl::FromUnixMillis(Int(raw, "t")));
      event.set_channel(ChannelToProto(Str(raw, "ch")));
      event.set_arm(Str(raw, "arm"));
      event.set_template_version(Int(raw, "v"));
      event.set_link_index(static_cast<int32_t>(Int(raw, "l")));
      event.set_attempt(static_cast<int32_t>(Int(raw, "a")));
      event.set_detail(Str(raw, "d"));
      if (raw.Find("due") != nullptr) {
        *event.mutable_due_at() = ToTimestamp(absl::FromUnixMillis(Int(raw, "due")));
      }
      const std::string& scope = Str(raw, "scope");
      if (scope == "email") event.set_opt_out_scope(fieldwork::v1::OPT_OUT_SCOPE_EMAIL);
      if (scope == "sms") event.set_opt_out_scope(fieldwork::v1::OPT_OUT_SCOPE_SMS);
      if (scope == "all") event.set_opt_out_scope(fieldwork::v1::OPT_OUT_SCOPE_ALL);
      event.set_cursor(raw.id);
    }
    if (response.events_size() > 0 && !sink(response)) return absl::OkStatus();
  }
}

absl::StatusOr<fieldwork::v1::ListDeadLettersResponse> Messenger::ListDeadLetters(
    const fieldwork::v1::ListDeadLettersRequest& request) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  int page_size = request.page_size() == 0 ? 100 : request.page_size();
  if (page_size < 0 || page_size > 1000) {
    return absl::InvalidArgumentError("page_size: must be 1..1000 (0 for the default 100)");
  }
  fieldwork::v1::ListDeadLettersResponse response;
  std::string after = request.page_token();
  while (response.dead_letters_size() < page_size) {
    absl::StatusOr<std::vector<SendQueue::DeadLetterEntry>> page =
        queue_.DeadLetters(request.trial_id(), after, page_size);
    if (!page.ok()) return page.status();
    if (page->empty()) {
      after.clear();
      break;
    }
    for (const SendQueue::DeadLetterEntry& d : *page) {
      after = d.id;
      absl::StatusOr<SendRef> ref = ParseSendRef(d.key);
      if (!ref.ok()) continue;
      if (!request.campaign_id().empty() && ref->campaign_id != request.campaign_id()) continue;
      fieldwork::v1::DeadLetter* out = response.add_dead_letters();
      out->set_id(d.id);
      out->set_campaign_id(ref->campaign_id);
      out->set_step(ref->step);
      out->set_participant_id(ref->participant_id);
      out->set_channel(ChannelToProto(d.channel));
      out->set_attempts(d.attempts);
      out->set_last_error(d.error);
      *out->mutable_dead_at() = ToTimestamp(absl::FromUnixMillis(d.dead_ms));
      if (response.dead_letters_size() == page_size) break;
    }
  }
  response.set_next_page_token(response.dead_letters_size() == page_size ? after : "");
  return response;
}

absl::StatusOr<fieldwork::v1::RetryDeadLettersResponse> Messenger::RetryDeadLetters(
    const fieldwork::v1::RetryDeadLettersRequest& request) {
  if (absl::Status s = ValidateId("trial_id", request.trial_id()); !s.ok()) return s;
  std::vector<std::string> ids(request.ids().begin(), request.ids().end());
  if (ids.empty() && request.all()) {
    std::string after;
    for (;;) {
      absl::StatusOr<std::vector<SendQueue::DeadLetterEntry>> page =
          queue_.DeadLetters(request.trial_id(), after, 1000);
      if (!page.ok()) return page.status();
      if (page->empty()) break;
      for (const SendQueue::DeadLetterEntry& d : *page) {
        after = d.id;
        absl::StatusOr<SendRef> ref = ParseSendRef(d.key);
        if (ref.ok() &&
            (request.campaign_id().empty() || ref->campaign_id == request.campaign_id())) {
          ids.push_back(d.id);
        }
      }
    }
  } else if (ids.empty()) {
    return absl::InvalidArgumentError("ids: give the dead letters to retry, or set all");
  }
  fieldwork::v1::RetryDeadLettersResponse response;
  for (size_t i = 0; i < ids.size(); ++i) {
    absl::StatusOr<bool> requeued = queue_.Requeue(request.trial_id(), ids[i], ToMs(clock_.Now()));
    if (!requeued.ok()) return requeued.status();
    if (*requeued) {
      response.set_requeued(response.requeued() + 1);
    } else if (!request.all()) {
      fieldwork::v1::RowError* e = response.add_errors();
      e->set_row(static_cast<int64_t>(i + 1));
      e->set_field("ids");
      e->set_reason("no such dead letter");
      e->set_value(ids[i]);
    }
  }
  return response;
}

}  // namespace fieldwork::messaging

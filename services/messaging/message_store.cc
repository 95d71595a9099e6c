#include "services/messaging/message_store.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/messaging/convert.h"
#include "services/messaging/domain/encoding.h"
#include "services/messaging/keys.h"

namespace fieldwork::messaging {
namespace {

template <typename Message>
absl::Status ParseInto(absl::string_view bytes, Message& message, absl::string_view what) {
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("stored ", what, " does not parse"));
  }
  return absl::OkStatus();
}

}  // namespace

MessageStore::MessageStore(RedisClient& redis, ContactCipher cipher, std::string index_key)
    : redis_(redis), cipher_(std::move(cipher)), index_key_(std::move(index_key)) {}

std::string MessageStore::PhoneHash(absl::string_view phone) const {
  return HexEncode(Sha256(absl::StrCat(index_key_, "|phone|", phone))).substr(0, 32);
}

absl::Status MessageStore::PutContacts(absl::string_view trial,
                                       const std::vector<Contact>& contacts) {
  // Two pipelines: the trial's keys share its slot, the service-wide phone index has its own
  // (a pipeline must stay in one slot on a Redis Cluster).
  std::vector<std::vector<std::string>> commands;
  std::vector<std::vector<std::string>> phone_trials;
  auto flush = [&]() -> absl::Status {
    for (auto* batch : {&commands, &phone_trials}) {
      if (batch->empty()) continue;
      if (absl::Status s = redis_.Pipeline(*batch).status(); !s.ok()) return s;
      batch->clear();
    }
    return absl::OkStatus();
  };
  for (const Contact& contact : contacts) {
    absl::StatusOr<std::string> sealed =
        cipher_.Seal(contact.participant_id, ContactToProto(contact).SerializeAsString());
    if (!sealed.ok()) return sealed.status();
    commands.push_back({"HSET", keys::Contacts(trial), contact.participant_id, *sealed});
    if (!contact.phone.empty()) {
      const std::string hash = PhoneHash(contact.phone);
      commands.push_back({"HSET", keys::PhoneIndex(trial), hash, contact.participant_id});
      phone_trials.push_back({"HSET", keys::PhoneTrials(), hash, std::string(trial)});
    }
    if (commands.size() >= 3000) {
      if (absl::Status s = flush(); !s.ok()) return s;
    }
  }
  return flush();
}

absl::StatusOr<std::map<std::string, Contact>> MessageStore::GetContacts(
    absl::string_view trial, const std::vector<std::string>& participants) {
  std::map<std::string, Contact> out;
  if (participants.empty()) return out;
  std::vector<std::string> args = {"HMGET", keys::Contacts(trial)};
  args.insert(args.end(), participants.begin(), participants.end());
  absl::StatusOr<RedisReply> reply = redis_.Command(args);
  if (!reply.ok()) return reply.status();
  for (size_t i = 0; i < participants.size() && i < reply->size(); ++i) {
    if ((*reply)[i].is_nil()) continue;
    absl::StatusOr<std::string> plain = cipher_.Open(participants[i], (*reply)[i].str());
    if (!plain.ok()) return plain.status();
    fieldwork::v1::Contact proto;
    if (absl::Status s = ParseInto(*plain, proto, "contact"); !s.ok()) return s;
    out.emplace(participants[i], ContactFromProto(proto));
  }
  return out;
}

absl::StatusOr<bool> MessageStore::Forget(absl::string_view trial, absl::string_view participant) {
  absl::StatusOr<std::map<std::string, Contact>> existing =
      GetContacts(trial, {std::string(participant)});
  if (!existing.ok()) return existing.status();
  std::vector<std::vector<std::string>> commands = {
      {"HDEL", keys::Contacts(trial), std::string(participant)}};
  auto it = existing->find(std::string(participant));
  const bool has_phone = it != existing->end() && !it->second.phone.empty();
  if (has_phone) {
    commands.push_back({"HDEL", keys::PhoneIndex(trial), PhoneHash(it->second.phone)});
  }
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  if (has_phone) {  // the service-wide index lives in a slot of its own
    absl::StatusOr<RedisReply> unindexed =
        redis_.Command({"HDEL", keys::PhoneTrials(), PhoneHash(it->second.phone)});
    if (!unindexed.ok()) return unindexed.status();
  }
  return (*replies)[0].integer() == 1;
}

absl::StatusOr<std::optional<std::pair<std::string, std::string>>> MessageStore::FindPhone(
    absl::string_view phone) {
  const std::string hash = PhoneHash(phone);
  absl::StatusOr<RedisReply> trial = redis_.Command({"HGET", keys::PhoneTrials(), hash});
  if (!trial.ok()) return trial.status();
  if (trial->is_nil()) return std::nullopt;
  const std::string trial_id(trial->str());
  absl::StatusOr<RedisReply> participant =
      redis_.Command({"HGET", keys::PhoneIndex(trial_id), hash});
  if (!participant.ok()) return participant.status();
  if (participant->is_nil()) return std::nullopt;
  return std::make_pair(trial_id, std::string(participant->str()));
}

absl::Status MessageStore::AddOptOut(absl::string_view trial, absl::string_view participant,
                                     fieldwork::v1::OptOutScope scope, absl::Time now) {
  // Pointers, not std::string assignments: GCC 12 -O3 gives a false -Wrestrict on those.
  const char* flag_text = "a";
  const char* scope_text = "all";
  if (scope == fieldwork::v1::OPT_OUT_SCOPE_EMAIL) {
    flag_text = "e";
    scope_text = "email";
  } else if (scope == fieldwork::v1::OPT_OUT_SCOPE_SMS) {
    flag_text = "s";
    scope_text = "sms";
  }
  const std::string flag(flag_text);
  const std::string scope_name(scope_text);
  absl::StatusOr<RedisReply> current = redis_.Command({"HGET", keys::OptOuts(trial), participant});
  if (!current.ok()) return current.status();
  std::string flags = current->is_nil() ? "" : std::string(current->str());
  if (absl::StrContains(flags, flag)) return absl::OkStatus();
  flags += flag;
  return redis_
      .Pipeline({{"HSET", keys::OptOuts(trial), std::string(participant), flags},
                 {"XADD", keys::Events(trial), "*", "e", "opted_out", "c", "", "s", "0", "p",
                  std::string(participant), "t", absl::StrCat(absl::ToUnixMillis(now)), "scope",
                  scope_name}})
      .status();
}

absl::StatusOr<std::map<std::string, OptOuts>> MessageStore::GetOptOuts(
    absl::string_view trial, const std::vector<std::string>& participants) {
  std::map<std::string, OptOuts> out;
  if (participants.empty()) return out;
  std::vector<std::string> args = {"HMGET", keys::OptOuts(trial)};
  args.insert(args.end(), participants.begin(), participants.end());
  absl::StatusOr<RedisReply> reply = redis_.Command(args);
  if (!reply.ok()) return reply.status();
  for (size_t i = 0; i < participants.size() && i < reply->size(); ++i) {
    if ((*reply)[i].is_nil()) continue;
    const absl::string_view flags = (*reply)[i].str();
    OptOuts o;
    o.all = absl::StrContains(flags, "a");
    o.email = absl::StrContains(flags, "e");
    o.sms = absl::StrContains(flags, "s");
    out.emplace(participants[i], o);
  }
  return out;
}

absl::StatusOr<TemplateVersion> MessageStore::SaveTemplate(absl::string_view trial,
                                                           absl::string_view template_id,
                                                           const TemplateContent& content,
                                                           absl::Time now) {
  absl::StatusOr<TemplateVersion> latest = LatestTemplate(trial, template_id);
  int64_t next = 1;
  if (latest.ok()) {
    if (latest->content == content) return latest;
    next = latest->version + 1;
  } else if (!absl::IsNotFound(latest.status())) {
    return latest.status();
  }
  absl::StatusOr<TemplateVersion> compiled = CompileTemplate(template_id, next, content, now);
  if (!compiled.ok()) return compiled.status();
  fieldwork::v1::TemplateContent proto = TemplateToProto(content);
  // Fields: version -> content bytes, "t<version>" -> saved ms, "latest". HSETNX on the
  // version makes the second of two concurrent editors fail rather than overwrite.
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Transaction(
      {{"HSETNX", keys::Template(trial, template_id), absl::StrCat(next),
        proto.SerializeAsString()},
       {"HSET", keys::Template(trial, template_id), absl::StrCat("t", next),
        absl::StrCat(absl::ToUnixMillis(now))},
       {"HSET", keys::Template(trial, template_id), "latest", absl::StrCat(next)}});
  if (!replies.ok()) return replies.status();
  if ((*replies)[0].integer() != 1) {
    return absl::AbortedError("template_id: edited concurrently; retry");
  }
  return compiled;
}

absl::StatusOr<TemplateVersion> MessageStore::TemplateAt(absl::string_view trial,
                                                         absl::string_view template_id,
                                                         int64_t version) {
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"HMGET", keys::Template(trial, template_id), absl::StrCat(version),
                      absl::StrCat("t", version)});
  if (!reply.ok()) return reply.status();
  if ((*reply)[0].is_nil()) {
    return absl::NotFoundError(
        absl::StrCat("template_id: no template ", template_id, " version ", version));
  }
  fieldwork::v1::TemplateContent proto;
  if (absl::Status s = ParseInto((*reply)[0].str(), proto, "template"); !s.ok()) return s;
  int64_t ms = 0;
  if (!(*reply)[1].is_nil()) (void)absl::SimpleAtoi((*reply)[1].str(), &ms);
  return CompileTemplate(template_id, version, TemplateFromProto(proto), absl::FromUnixMillis(ms));
}

absl::StatusOr<TemplateVersion> MessageStore::LatestTemplate(absl::string_view trial,
                                                             absl::string_view template_id) {
  absl::StatusOr<RedisReply> latest =
      redis_.Command({"HGET", keys::Template(trial, template_id), "latest"});
  if (!latest.ok()) return latest.status();
  int64_t version = 0;
  if (latest->is_nil() || !absl::SimpleAtoi(latest->str(), &version)) {
    return absl::NotFoundError(absl::StrCat("template_id: no template ", template_id));
  }
  return TemplateAt(trial, template_id, version);
}

absl::StatusOr<bool> MessageStore::CreateCampaign(
    absl::string_view trial, const fieldwork::v1::CampaignDefinition& definition) {
  const std::string key = keys::Campaign(trial, definition.campaign_id());
  absl::StatusOr<RedisReply> set =
      redis_.Command({"SET", key, definition.SerializeAsString(), "NX"});
  if (!set.ok()) return set.status();
  if (!set->is_nil()) {
    absl::Status state =
        redis_.Command({"SET", keys::CampaignState(trial, definition.campaign_id()), "draft", "NX"})
            .status();
    if (!state.ok()) return state;
    return true;
  }
  absl::StatusOr<fieldwork::v1::CampaignDefinition> existing =
      GetCampaign(trial, definition.campaign_id());
  if (!existing.ok()) return existing.status();
  if (!google::protobuf::util::MessageDifferencer::Equals(*existing, definition)) {
    return absl::AlreadyExistsError(absl::StrCat("campaign.campaign_id: campaign ",
                                                 definition.campaign_id(),
                                                 " already exists with a different definition"));
  }
  return false;
}

absl::StatusOr<fieldwork::v1::CampaignDefinition> MessageStore::GetCampaign(
    absl::string_view trial, absl::string_view campaign) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", keys::Campaign(trial, campaign)});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) {
    return absl::NotFoundError(
        absl::StrCat("campaign_id: no campaign ", campaign, " in trial ", trial));
  }
  fieldwork::v1::CampaignDefinition def;
  if (absl::Status s = ParseInto(reply->str(), def, "campaign"); !s.ok()) return s;
  return def;
}

absl::StatusOr<std::map<std::string, int64_t>> MessageStore::Counts(absl::string_view trial,
                                                                    absl::string_view campaign) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"HGETALL", keys::Counts(trial, campaign)});
  if (!reply.ok()) return reply.status();
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i + 1 < reply->size(); i += 2) {
    int64_t v = 0;
    (void)absl::SimpleAtoi((*reply)[i + 1].str(), &v);
    out[std::string((*reply)[i].str())] = v;
  }
  return out;
}

absl::StatusOr<MessageStore::Engagement> MessageStore::RecordEngagement(
    absl::string_view trial, absl::string_view campaign, int step, absl::string_view participant,
    absl::string_view kind, int link_index, absl::Time now) {
  absl::StatusOr<RedisReply> arm =
      redis_.Command({"HGET", keys::PlannedArms(trial, campaign), participant});
  if (!arm.ok()) return arm.status();
  const std::string arm_name = arm->is_nil() ? "" : std::string(arm->str());
  absl::StatusOr<RedisReply> first =
      redis_.Command({"HSETNX", keys::Engaged(trial),
                      absl::StrCat(campaign, "|", step, "|", participant, "|", kind), "1"});
  if (!first.ok()) return first.status();
  const bool is_first = first->integer() == 1;
  // KEYS: 1 events, 2 the engagement log, 3 its "logged" flag, 4 the engagement version. ARGV:
  // the event's fields. The event goes into the log (where the trial keeps one) under the same
  // id, in the same step; the version is raised after both, so that a reader that saw the new
  // version also sees the event.
  static const LuaScript* script = new LuaScript(R"lua(
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV))
if (ARGV[2] == 'opened' or ARGV[2] == 'clicked') and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('XADD', KEYS[2], id, unpack(ARGV))
end
redis.call('INCR', KEYS[4])
return id
)lua");
  absl::StatusOr<RedisReply> added =
      redis_.Eval(*script,
                  {keys::Events(trial), keys::EngagementLog(trial), keys::EngagementLogged(trial),
                   keys::EngagementVersion(trial)},
                  {"e", std::string(kind), "c", std::string(campaign), "s", absl::StrCat(step), "p",
                   std::string(participant), "t", absl::StrCat(absl::ToUnixMillis(now)), "arm",
                   arm_name, "l", absl::StrCat(link_index)});
  if (!added.ok()) return added.status();
  if (is_first) {
    absl::StatusOr<RedisReply> counted =
        redis_.Command({"HINCRBY", keys::Counts(trial, campaign),
                        absl::StrCat(step, "|", arm_name, "|", kind), "1"});
    if (!counted.ok()) return counted.status();
  }
  return Engagement{is_first, arm_name};
}

absl::StatusOr<int64_t> MessageStore::EngagementVersion(absl::string_view trial) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", keys::EngagementVersion(trial)});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return 0;
  int64_t version = 0;
  if (!absl::SimpleAtoi(reply->str(), &version)) {
    return absl::DataLossError(absl::StrCat(keys::EngagementVersion(trial), " is not a number"));
  }
  return version;
}

absl::StatusOr<bool> MessageStore::EngagementLogged(absl::string_view trial) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"EXISTS", keys::EngagementLogged(trial)});
  if (!reply.ok()) return reply.status();
  return reply->integer() == 1;
}

const std::string* MessageStore::RawEvent::Find(absl::string_view field) const {
  for (const auto& [name, value] : fields) {
    if (name == field) return &value;
  }
  return nullptr;
}

absl::StatusOr<MessageStore::EventPage> MessageStore::Events(
    absl::string_view trial, absl::string_view after_id, int count,
    const std::function<bool(absl::string_view kind)>& wanted, EventLog log) {
  const std::string start = after_id.empty() ? "-" : absl::StrCat("(", after_id);
  const std::string key =
      log == EventLog::kEngagement ? keys::EngagementLog(trial) : keys::Events(trial);
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"XRANGE", key, start, "+", "COUNT", absl::StrCat(count)});
  if (!reply.ok()) return reply.status();
  EventPage page;
  for (size_t i = 0; i < reply->size(); ++i) {
    const RedisReply entry = (*reply)[i];
    page.last_id = std::string(entry[0].str());
    const RedisReply fields = entry[1];
    if (wanted) {
      absl::string_view kind;
      for (size_t f = 0; f + 1 < fields.size(); f += 2) {
        if (fields[f].str() == "e") {
          kind = fields[f + 1].str();
          break;
        }
      }
      if (!wanted(kind)) continue;
    }
    RawEvent& e = page.events.emplace_back();
    e.id = page.last_id;
    e.fields.reserve(fields.size() / 2);
    for (size_t f = 0; f + 1 < fields.size(); f += 2) {
      e.fields.emplace_back(fields[f].str(), fields[f + 1].str());
    }
  }
  return page;
}

}  // namespace fieldwork::messaging

// The messaging service's records in Redis, other than the send queue: contacts (sealed with
// the domain's ContactCipher), opt-outs, templates and their versions, campaign definitions,
// status counters, engagement de-duplication and the event stream.
#ifndef FIELDWORK_SERVICES_MESSAGING_MESSAGE_STORE_H_
#define FIELDWORK_SERVICES_MESSAGING_MESSAGE_STORE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fieldwork/v1/messaging.pb.h"
#include "services/common/redis_client.h"
#include "services/messaging/domain/contact.h"
#include "services/messaging/domain/contact_crypto.h"
#include "services/messaging/domain/guards.h"
#include "services/messaging/domain/template.h"

namespace fieldwork::messaging {

class MessageStore {
 public:
  // `index_key` keys the hash under which phone numbers are indexed (the contact key will do).
  MessageStore(RedisClient& redis, ContactCipher cipher, std::string index_key);

  // Seals and stores each contact (already validated), replacing earlier records, and indexes
  // phone numbers (by hash) for inbound SMS opt-outs.
  absl::Status PutContacts(absl::string_view trial, const std::vector<Contact>& contacts);
  // The contacts of `participants` that exist. DATA_LOSS when a record does not open.
  absl::StatusOr<std::map<std::string, Contact>> GetContacts(
      absl::string_view trial, const std::vector<std::string>& participants);
  // Erases the contact; true when there was one.
  absl::StatusOr<bool> Forget(absl::string_view trial, absl::string_view participant);
  // The (trial, participant) a phone number belongs to, when known.
  absl::StatusOr<std::optional<std::pair<std::string, std::string>>> FindPhone(
      absl::string_view phone);

  absl::Status AddOptOut(absl::string_view trial, absl::string_view participant,
                         fieldwork::v1::OptOutScope scope, absl::Time now);
  absl::StatusOr<std::map<std::string, OptOuts>> GetOptOuts(
      absl::string_view trial, const std::vector<std::string>& participants);

  // Saves a template version (identical content: the latest, unchanged).
  absl::StatusOr<TemplateVersion> SaveTemplate(absl::string_view trial,
                                               absl::string_view template_id,
                                               const TemplateContent& content, absl::Time now);
  // The newest version; NOT_FOUND when the template does not exist.
  absl::StatusOr<TemplateVersion> LatestTemplate(absl::string_view trial,
                                                 absl::string_view template_id);
  absl::StatusOr<TemplateVersion> TemplateAt(absl::string_view trial, absl::string_view template_id,
                                             int64_t version);

  // ALREADY_EXISTS when a different definition has the id; OK (false) for the same again.
  absl::StatusOr<bool> CreateCampaign(absl::string_view trial,
                                      const fieldwork::v1::CampaignDefinition& definition);
  // NOT_FOUND when there is none.
  absl::StatusOr<fieldwork::v1::CampaignDefinition> GetCampaign(absl::string_view trial,
                                                                absl::string_view campaign);
  // "<step>|<arm>|<kind>" -> count.
  absl::StatusOr<std::map<std::string, int64_t>> Counts(absl::string_view trial,
                                                        absl::string_view campaign);

  // Records an opened / clicked / opted_out event; opened and clicked are counted once per
  // (campaign, step, participant). Says whether it was the first of its kind, and the arm the
  // participant was planned in (for the engagement metric).
  struct Engagement {
    bool first = false;
    std::string arm;
  };
  absl::StatusOr<Engagement> RecordEngagement(absl::string_view trial, absl::string_view campaign,
                                              int step, absl::string_view participant,
                                              absl::string_view kind, int link_index,
                                              absl::Time now);

  // A number raised by every RecordEngagement (0 before the first).
  absl::StatusOr<int64_t> EngagementVersion(absl::string_view trial);

  // A raw event: its stream id and its (field, value) pairs in stream order. A handful of
  // pairs, searched in turn: a map per event was most of a long listing's time (issue 18).
  struct RawEvent {
    std::string id;
    std::vector<std::pair<std::string, std::string>> fields;
    // The value of `field`, or nullptr when the event has none.
    const std::string* Find(absl::string_view field) const;
  };
  // The wanted events of one read, and the id of the last entry read, wanted or not, to resume
  // after ("" when nothing followed).
  struct EventPage {
    std::vector<RawEvent> events;
    std::string last_id;
  };
  // kAll: the trial's whole event log; kEngagement: its engagement log (opened and clicked
  // events only, the same ids), complete where EngagementLogged says so.
  enum class EventLog { kAll, kEngagement };
  // One read of up to `count` entries of `log` after `after_id` ("" = from the start), keeping
  // those whose kind (field "e") `wanted` accepts (every one when it is null). Unwanted entries
  // cost no more than their reading: a reader of opens and clicks builds no send's event.
  absl::StatusOr<EventPage> Events(absl::string_view trial, absl::string_view after_id, int count,
                                   const std::function<bool(absl::string_view kind)>& wanted = {},
                                   EventLog log = EventLog::kAll);
  // Whether the trial keeps an engagement log (keys.h): trials planned from 6 Dec 2026 on.
  absl::StatusOr<bool> EngagementLogged(absl::string_view trial);

  RedisClient& redis() { return redis_; }

 private:
  // A keyed hash of a phone number, so the index holds no numbers.
  std::string PhoneHash(absl::string_view phone) const;

  RedisClient& redis_;
  ContactCipher cipher_;
  std::string index_key_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_MESSAGE_STORE_H_

// Conversions between the wire types (fieldwork.v1 messaging protos) and the domain types.
#ifndef FIELDWORK_SERVICES_MESSAGING_CONVERT_H_
#define FIELDWORK_SERVICES_MESSAGING_CONVERT_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldwork/v1/messaging.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/messaging/domain/campaign.h"
#include "services/messaging/domain/contact.h"
#include "services/messaging/domain/template.h"

namespace fieldwork::messaging {

// INVALID_ARGUMENT "campaign.<field>: <reason>" for values the domain cannot hold (a weekday
// outside 1..7, an unknown enum); the rest is checked by ValidateCampaign.
absl::StatusOr<Campaign> CampaignFromProto(const std::string& trial_id,
                                           const fieldwork::v1::CampaignDefinition& proto);
Contact ContactFromProto(const fieldwork::v1::Contact& proto);
fieldwork::v1::Contact ContactToProto(const Contact& contact);
TemplateContent TemplateFromProto(const fieldwork::v1::TemplateContent& proto);
fieldwork::v1::TemplateContent TemplateToProto(const TemplateContent& content);
fieldwork::v1::MessageChannel ChannelToProto(absl::string_view delivery_channel_name);

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp ToTimestamp(absl::Time t);
inline int64_t ToMs(absl::Time t) { return absl::ToUnixMillis(t); }

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_CONVERT_H_

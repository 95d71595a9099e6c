// Refuses enum values a client sent that its proto does not define.
#ifndef FIELDWORK_SERVICES_COMMON_ENUM_CHECK_H_
#define FIELDWORK_SERVICES_COMMON_ENUM_CHECK_H_

#include <google/protobuf/message.h>

#include "absl/status/status.h"

namespace fieldwork {

// Proto3 enums are open: a number the enum does not define (OptOutScope 7) parses as itself,
// and code that compares it with the known values then treats it as one of them or as none,
// silently. Walks every set field of `message`, nested messages, repeated fields and maps
// included; INVALID_ARGUMENT naming the first such field by its path ("contacts[2].preference",
// 0-based), its number and its enum type.
absl::Status CheckEnumValuesKnown(const google::protobuf::Message& message);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_ENUM_CHECK_H_

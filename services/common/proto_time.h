// absl::Time <-> google.protobuf.Timestamp, to the nanosecond, named once for every service.
#ifndef FIELDWORK_SERVICES_COMMON_PROTO_TIME_H_
#define FIELDWORK_SERVICES_COMMON_PROTO_TIME_H_

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include "absl/time/time.h"

namespace fieldwork {

inline google::protobuf::Timestamp ToProtoTime(absl::Time time) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

inline absl::Time FromProtoTime(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(timestamp));
}

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_PROTO_TIME_H_

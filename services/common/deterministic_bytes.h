// A message's bytes in a deterministic serialisation (map entries in key order): the bytes two
// equal messages always share, for hashing (the audit log, a plan's lock hash) and for telling
// whether a record changed. Plain SerializeAsString may order a map's entries differently in
// two copies of the same message.
#ifndef FIELDWORK_SERVICES_COMMON_DETERMINISTIC_BYTES_H_
#define FIELDWORK_SERVICES_COMMON_DETERMINISTIC_BYTES_H_

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>

#include <string>

namespace fieldwork {

inline std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }  // the stream flushes into `bytes` here
  return bytes;
}

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_DETERMINISTIC_BYTES_H_

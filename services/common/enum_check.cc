#include "services/common/enum_check.h"

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"

namespace fieldwork {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

absl::Status UnknownValue(const std::string& path, const FieldDescriptor& field, int value) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", value, " is not a value of ",
                                                 field.enum_type()->full_name()));
}

absl::Status Check(const Message& message, const std::string& prefix) {
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string path = prefix + field->name();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      if (!field->is_repeated()) {
        const int value = reflection.GetEnumValue(message, field);
        if (field->enum_type()->FindValueByNumber(value) == nullptr) {
          return UnknownValue(path, *field, value);
        }
        continue;
      }
      for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
        const int value = reflection.GetRepeatedEnumValue(message, field, i);
        if (field->enum_type()->FindValueByNumber(value) == nullptr) {
          return UnknownValue(absl::StrCat(path, "[", i, "]"), *field, value);
        }
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!field->is_repeated()) {
        if (absl::Status s = Check(reflection.GetMessage(message, field), path + "."); !s.ok()) return s;
        continue;
      }
      for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
        absl::Status s = Check(reflection.GetRepeatedMessage(message, field, i),
                               absl::StrCat(path, "[", i, "]."));
        if (!s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEnumValuesKnown(const Message& message) { return Check(message, ""); }

}  // namespace fieldwork

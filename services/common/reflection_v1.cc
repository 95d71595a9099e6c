#include "services/common/reflection_v1.h"

#include <set>
#include <utility>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include "absl/strings/str_cat.h"

namespace fieldwork {
namespace {

namespace refl = ::grpc::reflection::v1;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

void SetError(refl::ServerReflectionResponse& response, grpc::StatusCode code, std::string message) {
  response.mutable_error_response()->set_error_code(code);
  response.mutable_error_response()->set_error_message(std::move(message));
}

// `file` and, before it, every file it imports (each once).
void AddFile(const FileDescriptor& file, std::set<std::string>& sent,
             refl::FileDescriptorResponse& out) {
  if (!sent.insert(file.name()).second) return;
  for (int i = 0; i < file.dependency_count(); ++i) AddFile(*file.dependency(i), sent, out);
  google::protobuf::FileDescriptorProto proto;
  file.CopyTo(&proto);
  out.add_file_descriptor_proto(proto.SerializeAsString());
}

}  // namespace

void ReflectionV1Service::SetServiceNames(std::vector<std::string> names) {
  std::lock_guard<std::mutex> lock(mutex_);
  service_names_ = std::move(names);
}

grpc::Status ReflectionV1Service::ServerReflectionInfo(
    grpc::ServerContext* /*context*/,
    grpc::ServerReaderWriter<refl::ServerReflectionResponse, refl::ServerReflectionRequest>* stream) {
  const DescriptorPool& pool = *DescriptorPool::generated_pool();
  refl::ServerReflectionRequest request;
  while (stream->Read(&request)) {
    refl::ServerReflectionResponse response;
    response.set_valid_host(request.host());
    *response.mutable_original_request() = request;
    const FileDescriptor* file = nullptr;
    std::string missing;
    switch (request.message_request_case()) {
      case refl::ServerReflectionRequest::kFileByFilename:
        file = pool.FindFileByName(request.file_by_filename());
        missing = absl::StrCat("no file ", request.file_by_filename());
        break;
      case refl::ServerReflectionRequest::kFileContainingSymbol:
        file = pool.FindFileContainingSymbol(request.file_containing_symbol());
        missing = absl::StrCat("no symbol ", request.file_containing_symbol());
        break;
      case refl::ServerReflectionRequest::kFileContainingExtension: {
        const auto& wanted = request.file_containing_extension();
        if (const auto* type = pool.FindMessageTypeByName(wanted.containing_type())) {
          if (const auto* extension = pool.FindExtensionByNumber(type, wanted.extension_number())) {
            file = extension->file();
          }
        }
        missing = absl::StrCat("no extension ", wanted.extension_number(), " of ",
                               wanted.containing_type());
        break;
      }
      case refl::ServerReflectionRequest::kAllExtensionNumbersOfType: {
        const auto* type = pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
        if (type == nullptr) {
          SetError(response, grpc::StatusCode::NOT_FOUND,
                   absl::StrCat("no type ", request.all_extension_numbers_of_type()));
          break;
        }
        std::vector<const google::protobuf::FieldDescriptor*> extensions;
        pool.FindAllExtensions(type, &extensions);
        auto& numbers = *response.mutable_all_extension_numbers_response();
        numbers.set_base_type_name(type->full_name());
        for (const auto* extension : extensions) numbers.add_extension_number(extension->number());
        break;
      }
      case refl::ServerReflectionRequest::kListServices: {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const std::string& name : service_names_) {
          response.mutable_list_services_response()->add_service()->set_name(name);
        }
        break;
      }
      default:
        SetError(response, grpc::StatusCode::UNIMPLEMENTED, "unknown request");
    }
    if (file != nullptr) {
      std::set<std::string> sent;
      AddFile(*file, sent, *response.mutable_file_descriptor_response());
    } else if (!missing.empty()) {
      SetError(response, grpc::StatusCode::NOT_FOUND, missing);
    }
    if (!stream->Write(response)) break;
  }
  return grpc::Status::OK;
}

}  // namespace fieldwork

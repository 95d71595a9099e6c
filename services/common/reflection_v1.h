// gRPC server reflection, version v1: Debian's gRPC 1.51 serves only v1alpha, and current
// clients (grpcurl, grpc_cli, Postman) ask for v1 first.
#ifndef FIELDWORK_SERVICES_COMMON_REFLECTION_V1_H_
#define FIELDWORK_SERVICES_COMMON_REFLECTION_V1_H_

#include <mutex>
#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace fieldwork {

// Answers from the generated descriptor pool, as gRPC's v1alpha service does.
class ReflectionV1Service final : public grpc::reflection::v1::ServerReflection::Service {
 public:
  // The services list_services reports; set once the server knows them.
  void SetServiceNames(std::vector<std::string> names);

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>* stream) override;

 private:
  std::mutex mutex_;
  std::vector<std::string> service_names_;
};

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_REFLECTION_V1_H_

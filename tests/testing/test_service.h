// fieldwork.testing.TestService: the smallest service that exercises the shared bootstrap.
#ifndef FIELDWORK_TESTS_TESTING_TEST_SERVICE_H_
#define FIELDWORK_TESTS_TESTING_TEST_SERVICE_H_

#include "services/common/grpc_auth.h"
#include "testing.grpc.pb.h"

namespace fieldwork::testing {

class TestServiceImpl final : public fieldwork::testing::TestService::Service {
 public:
  explicit TestServiceImpl(const Authenticator& authenticator) : authenticator_(authenticator) {}

  grpc::Status Sleep(grpc::ServerContext* context, const SleepRequest* request,
                     SleepResponse* response) override;
  grpc::Status Whoami(grpc::ServerContext* context, const WhoamiRequest* request,
                      WhoamiResponse* response) override;

 private:
  const Authenticator& authenticator_;
};

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_TEST_SERVICE_H_

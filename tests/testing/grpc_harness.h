// Running gRPC services in tests: in-process on port 0, or as a separate process.
#ifndef FIELDWORK_TESTS_TESTING_GRPC_HARNESS_H_
#define FIELDWORK_TESTS_TESTING_GRPC_HARNESS_H_

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>
#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/common/grpc_server.h"
#include "tests/testing/process.h"

namespace fieldwork::testing {

// Serves `services` in this process on 127.0.0.1:0 with the real bootstrap (health,
// reflection, metrics interceptor into its own registry).
class InProcessServer {
 public:
  explicit InProcessServer(const std::vector<grpc::Service*>& services);
  ~InProcessServer();
  int port() const { return server_->port(); }
  std::string address() const;
  std::shared_ptr<grpc::Channel> NewChannel() const;
  prometheus::Registry& registry() { return *registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<GrpcServer> server_;
};

// The health status of `address` ("" = the whole server): "SERVING", "NOT_SERVING", or the
// error when the call fails.
absl::StatusOr<std::string> CheckHealth(const std::string& address,
                                        absl::Duration timeout = absl::Seconds(2));

// Polls until the health check answers SERVING; false after `timeout`.
bool WaitForServing(const std::string& address, absl::Duration timeout = absl::Seconds(30));

// A service binary running as its own process, started and checked for health.
class ServiceProcess {
 public:
  // Starts bin/<binary> with `args`; its log goes to <log_dir>/<binary>.log.
  ServiceProcess(const std::string& binary, std::vector<std::string> args,
                 const std::string& grpc_address, const std::string& log_dir,
                 std::map<std::string, std::string> env = {});
  ChildProcess& process() { return *process_; }
  const std::string& address() const { return address_; }

 private:
  std::string address_;
  std::unique_ptr<ChildProcess> process_;
};

// Fetches http://127.0.0.1:<port>/metrics (a plain HTTP GET over a socket).
absl::StatusOr<std::string> FetchMetrics(int port);

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_GRPC_HARNESS_H_

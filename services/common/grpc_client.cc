#include "services/common/grpc_client.h"

#include <fstream>
#include <sstream>

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork {

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> UpstreamCredentials(
    bool tls, const std::string& ca_file, const std::string& flag_name) {
  if (!tls && ca_file.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  if (!ca_file.empty()) {
    std::ifstream in(ca_file, std::ios::binary);
    std::ostringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag_name, ": cannot read the CA certificate file ", ca_file));
    }
    ssl.pem_root_certs = pem.str();
  }
  return grpc::SslCredentials(ssl);
}

std::shared_ptr<grpc::Channel> UpstreamChannel(
    const std::string& address, std::shared_ptr<grpc::ChannelCredentials> credentials,
    int stream_window_bytes) {
  grpc::ChannelArguments arguments;
  if (stream_window_bytes > 0) {
    arguments.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    arguments.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, stream_window_bytes);
  }
  arguments.SetMaxReceiveMessageSize(256 << 20);
  arguments.SetMaxSendMessageSize(64 << 20);
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC takes it as the least time a connection attempt
  // is given to complete (20 s by default), not as a back-off. Set to 200 ms it cut handshakes
  // that a loaded machine (or TLS over a real network) took longer over: "tcp handshaker
  // shutdown", and the call failed UNAVAILABLE with the callee up (the hosted form's first page
  // answered 503 so in a full test run).
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20000);
  arguments.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel(address, std::move(credentials), arguments);
}

}  // namespace fieldwork

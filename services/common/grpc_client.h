// Channels from one Fieldwork service to another.
#ifndef FIELDWORK_SERVICES_COMMON_GRPC_CLIENT_H_
#define FIELDWORK_SERVICES_COMMON_GRPC_CLIENT_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/status/statusor.h"

namespace fieldwork {

// Credentials for calling another service: plaintext when `tls` is false and `ca_file` is
// empty; TLS verified against `ca_file` (PEM) when it is given — a cluster's own CA, as the
// Helm chart mounts it —, else against the system roots. INVALID_ARGUMENT naming `flag_name`
// when the CA file cannot be read, so a service refuses to start rather than call in plaintext.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> UpstreamCredentials(
    bool tls, const std::string& ca_file, const std::string& flag_name);

// A channel to another service. Reconnection back-off is capped at 2 s (gRPC's default grows
// to 2 minutes): services start in any order — a pod restarts, run.sh starts them together —
// and a callee that was down a moment ago must be usable by the next call, not minutes later.
// Calls are spread round-robin over every address the target resolves to (a Kubernetes headless
// Service's pods, or "ipv4:127.0.0.1:7001,127.0.0.1:7002" for run.sh's --replicas), so each
// replica of the callee takes its share and a dead one is skipped. Messages up to 256 MiB are received (whole-trial streams), 64 MiB sent. With
// `stream_window_bytes` > 0, each stream's receive window is fixed at that size instead of grown
// by gRPC's bandwidth-delay probe, which on a fast link lets a stream read faster than it is
// consumed buffer megabytes: a caller that holds several streams open side by side (the
// analysis export's merge join) bounds its memory so.
std::shared_ptr<grpc::Channel> UpstreamChannel(
    const std::string& address, std::shared_ptr<grpc::ChannelCredentials> credentials,
    int stream_window_bytes = 0);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_GRPC_CLIENT_H_

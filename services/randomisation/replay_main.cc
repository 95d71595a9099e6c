// fieldwork-replay: recomputes a closed trial's allocations from its design, its roster and
// its revealed secret, and diffs them against the stored allocations.
//
// Usage:
//   fieldwork-replay --address=HOST:50051 --token=ADMIN_TOKEN --trial=TRIAL_ID
//       [--secret_hex=HEX]   (default: ask RevealSecret, which needs an admin token)
//       [--anchors=FILE]     also check the audit log, as streamed, against the heads recorded
//                            in FILE (`fieldwork audit anchor`; format in anchors/anchor_file.h)
// Exit codes: 0 every allocation reproduced (and, with --anchors, the log's chain holds and
// every anchor matched); 1 differences or a failed anchor (listed); 2 an error.
#include <iostream>
#include <memory>
#include <string>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include "absl/flags/flag.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "services/common/flags.h"
#include "services/common/grpc_auth.h"
#include "services/randomisation/anchors/anchor_check.h"
#include "services/randomisation/anchors/anchor_file.h"
#include "services/randomisation/audit.h"
#include "services/randomisation/methods/generator.h"
#include "services/randomisation/replay.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051", "randomisation service address");
ABSL_FLAG(std::string, token, "", "bearer token (admin to reveal the secret)");
ABSL_FLAG(std::string, trial, "", "trial id");
ABSL_FLAG(std::string, secret_hex, "", "the revealed secret; fetched with RevealSecret if empty");
ABSL_FLAG(std::string, anchors, "", "an anchor file: check the audit log against the heads in it");

namespace {

namespace v1 = ::fieldwork::v1;

int Fail(const std::string& what, const grpc::Status& status) {
  std::cerr << "fieldwork-replay: " << what << ": " << status.error_message() << "\n";
  return 2;
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  fieldwork::AttachBearerToken(*context, absl::GetFlag(FLAGS_token));
  return context;
}

// Checks the streamed audit log here, not with VerifyAuditLog: the chain and every anchor in
// `path`. Prints one line per anchor; false when the chain or an anchor fails (or on an error,
// with *error set).
bool CheckAuditLog(v1::RandomisationService::Stub& stub, const std::string& trial_id,
                   const std::string& path, bool* error) {
  absl::StatusOr<std::vector<v1::AuditHead>> anchors = fieldwork::randomisation::ReadAnchorFile(path, trial_id);
  if (!anchors.ok()) {
    std::cerr << "fieldwork-replay: --anchors: " << anchors.status().message() << "\n";
    *error = true;
    return false;
  }
  std::vector<v1::AuditEntry> entries;
  v1::AuditLogRequest request;
  request.set_trial_id(trial_id);
  auto context = Context();
  auto reader = stub.AuditLog(context.get(), request);
  v1::AuditLogResponse message;
  while (reader->Read(&message)) entries.push_back(message.entry());
  if (auto s = reader->Finish(); !s.ok()) {
    Fail("AuditLog", s);
    *error = true;
    return false;
  }
  v1::VerifyAuditLogResponse result = fieldwork::randomisation::VerifyChain(entries);
  const google::protobuf::RepeatedPtrField<v1::AuditHead> wanted(anchors->begin(), anchors->end());
  fieldwork::randomisation::CheckAnchors(entries, wanted, result);
  int failed = 0;
  for (const v1::AnchorCheck& check : result.anchors()) {
    const bool matched = check.result() == v1::AnchorCheck::RESULT_MATCHED;
    failed += matched ? 0 : 1;
    std::cout << "ANCHOR " << (matched ? "MATCHED" : check.result() == v1::AnchorCheck::RESULT_TRUNCATED ? "TRUNCATED" : "REWRITTEN")
              << " length " << check.anchor().length() << " sha256 " << check.anchor().sha256()
              << (matched ? "" : ": " + check.reason()) << "\n";
  }
  std::cout << "audit log of trial " << trial_id << ": " << entries.size() << " entries, "
            << (result.valid() ? "valid" : "NOT valid: " + result.reason()) << "; " << result.anchors_size()
            << " anchor(s), " << failed << " failed\n";
  return result.valid();
}

}  // namespace

int main(int argc, char** argv) {
  fieldwork::ParseFlagsWithEnvironment(argc, argv);
  const std::string trial_id = absl::GetFlag(FLAGS_trial);
  if (trial_id.empty()) {
    std::cerr << "fieldwork-replay: --trial is required\n";
    return 2;
  }
  auto stub = v1::RandomisationService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_address), grpc::InsecureChannelCredentials()));
  bool log_valid = true;
  if (const std::string anchors = absl::GetFlag(FLAGS_anchors); !anchors.empty()) {
    bool error = false;
    log_valid = CheckAuditLog(*stub, trial_id, anchors, &error);
    if (error) return 2;
  }

  v1::GetTrialRequest get;
  get.set_trial_id(trial_id);
  v1::GetTrialResponse trial;
  if (auto s = stub->GetTrial(Context().get(), get, &trial); !s.ok()) return Fail("GetTrial", s);

  std::string secret_hex = absl::GetFlag(FLAGS_secret_hex);
  if (secret_hex.empty()) {
    v1::RevealSecretRequest reveal;
    reveal.set_trial_id(trial_id);
    v1::RevealSecretResponse revealed;
    if (auto s = stub->RevealSecret(Context().get(), reveal, &revealed); !s.ok()) return Fail("RevealSecret", s);
    secret_hex = revealed.secret_hex();
  }
  absl::StatusOr<std::string> secret = fieldwork::randomisation::HexDecode(secret_hex);
  if (!secret.ok()) {
    std::cerr << "fieldwork-replay: --secret_hex: " << secret.status().message() << "\n";
    return 2;
  }

  std::vector<v1::Participant> participants;
  {
    v1::ListParticipantsRequest request;
    request.set_trial_id(trial_id);
    auto context = Context();
    auto reader = stub->ListParticipants(context.get(), request);
    v1::ListParticipantsResponse message;
    while (reader->Read(&message)) participants.push_back(message.status().participant());
    if (auto s = reader->Finish(); !s.ok()) return Fail("ListParticipants", s);
  }
  std::vector<v1::Allocation> allocations;
  {
    v1::ListAllocationsRequest request;
    request.set_trial_id(trial_id);
    auto context = Context();
    auto reader = stub->ListAllocations(context.get(), request);
    v1::ListAllocationsResponse message;
    while (reader->Read(&message)) allocations.push_back(message.allocation());
    if (auto s = reader->Finish(); !s.ok()) return Fail("ListAllocations", s);
  }

  absl::StatusOr<fieldwork::randomisation::ReplayReport> report =
      fieldwork::randomisation::ReplayAllocations(trial.trial(), *secret, participants, allocations);
  if (!report.ok()) {
    std::cerr << "fieldwork-replay: " << report.status().message() << "\n";
    return 2;
  }
  for (const auto& d : report->differences) {
    std::cout << "DIFFERENT " << d.participant_id << " factor " << d.factor << ": stored "
              << d.stored_arm << ", replayed " << d.replayed_arm << "\n";
  }
  std::cout << "replayed " << report->participants << " allocation(s) of trial " << trial_id << ": "
            << report->differences.size() << " difference(s)\n";
  return report->differences.empty() && log_valid ? 0 : 1;
}

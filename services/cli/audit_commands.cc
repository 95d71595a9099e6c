// audit anchor, audit verify: keep the head of a trial's audit log outside Redis, and check the
// log against the heads kept. A hash chain cannot show that its tail was cut off (a Redis
// rollback leaves a shorter, still valid chain); a head recorded elsewhere can
// (docs/audit-anchors.md).
#include <iostream>
#include <vector>

#include <google/protobuf/util/time_util.h>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "services/cli/commands.h"
#include "services/randomisation/anchors/anchor_file.h"

ABSL_DECLARE_FLAG(std::string, out);  // simulate_commands.cc: shared with the simulate commands
ABSL_FLAG(std::string, anchors, "",
          "audit verify: the anchor file (default TRIAL.audit-anchors when it exists)");

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;
using google::protobuf::util::TimeUtil;
using randomisation::DefaultAnchorPath;
using randomisation::ReadAnchorFile;

// The anchors in `path`; none when the file does not exist and `must_exist` is false.
absl::StatusOr<std::vector<v1::AuditHead>> LoadAnchors(const std::string& path,
                                                       const std::string& trial_id,
                                                       bool must_exist) {
  absl::StatusOr<std::vector<v1::AuditHead>> anchors = ReadAnchorFile(path, trial_id);
  if (anchors.status().code() == absl::StatusCode::kNotFound && !must_exist) {
    return std::vector<v1::AuditHead>{};
  }
  return anchors;
}

// VerifyAuditLog with `anchors`; the gRPC status on failure.
grpc::Status Verify(CliContext& cli, const std::string& trial_id,
                    const std::vector<v1::AuditHead>& anchors,
                    v1::VerifyAuditLogResponse& response) {
  v1::VerifyAuditLogRequest request;
  request.set_trial_id(trial_id);
  for (const v1::AuditHead& anchor : anchors) *request.add_anchors() = anchor;
  return cli.randomisation().VerifyAuditLog(cli.Call().get(), request, &response);
}

const char* ResultName(v1::AnchorCheck::Result result) {
  switch (result) {
    case v1::AnchorCheck::RESULT_MATCHED:
      return "matched";
    case v1::AnchorCheck::RESULT_TRUNCATED:
      return "TRUNCATED";
    case v1::AnchorCheck::RESULT_REWRITTEN:
      return "REWRITTEN";
    default:
      return "unknown";
  }
}

}  // namespace

int AuditAnchor(CliContext& cli, const Args& args, const CommandOptions& /*options*/) {
  if (args.size() != 1) {
    std::cerr << "usage: fieldwork audit anchor TRIAL [--out=FILE]\n";
    return kUsage;
  }
  const std::string& trial_id = args[0];
  const std::string out = absl::GetFlag(FLAGS_out);
  const std::string path = out.empty() ? DefaultAnchorPath(trial_id) : out;
  // The log is checked against the anchors already kept first: a head recorded after a
  // rollback would otherwise sit in the file as if nothing had happened.
  absl::StatusOr<std::vector<v1::AuditHead>> earlier = LoadAnchors(path, trial_id, false);
  if (!earlier.ok())
    return std::cerr << "fieldwork: " << earlier.status().message() << "\n", kUsage;
  v1::VerifyAuditLogResponse verified;
  if (grpc::Status s = Verify(cli, trial_id, *earlier, verified); !s.ok())
    return ReportFailure("VerifyAuditLog", s);
  if (!verified.valid()) {
    std::cerr << "fieldwork: the audit log of " << trial_id << " fails verification at entry "
              << verified.first_bad_sequence() << ": " << verified.reason()
              << "; no anchor recorded\n";
    return kRejected;
  }
  v1::AuditHead head = verified.head();
  *head.mutable_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(absl::Now()));
  if (absl::Status s = randomisation::AppendAnchor(path, trial_id, head); !s.ok()) {
    std::cerr << "fieldwork: " << s.message() << "\n";
    return kUsage;
  }
  std::cout << "anchored the audit log of " << trial_id << " at " << head.length() << " entries in "
            << path << " (the log matched " << earlier->size()
            << " earlier anchor(s)); keep this line where "
            << "the Redis administrators cannot write:\n"
            << randomisation::FormatAnchor(trial_id, head);
  return kOk;
}

int AuditVerify(CliContext& cli, const Args& args, const CommandOptions& /*options*/) {
  if (args.size() != 1) {
    std::cerr << "usage: fieldwork audit verify TRIAL [--anchors=FILE]\n";
    return kUsage;
  }
  const std::string& trial_id = args[0];
  const std::string given = absl::GetFlag(FLAGS_anchors);
  const std::string path = given.empty() ? DefaultAnchorPath(trial_id) : given;
  absl::StatusOr<std::vector<v1::AuditHead>> anchors = LoadAnchors(path, trial_id, !given.empty());
  if (!anchors.ok())
    return std::cerr << "fieldwork: " << anchors.status().message() << "\n", kUsage;
  if (anchors->empty()) {
    std::cerr << "fieldwork: no anchors in " << path << ": only the chain is checked, which cannot "
              << "show a tail cut off or rolled back\n";
  }
  v1::VerifyAuditLogResponse verified;
  if (grpc::Status s = Verify(cli, trial_id, *anchors, verified); !s.ok())
    return ReportFailure("VerifyAuditLog", s);
  for (const v1::AnchorCheck& check : verified.anchors()) {
    std::cout << "anchor " << check.anchor().length() << " " << check.anchor().sha256()
              << " recorded "
              << (check.anchor().has_time() ? TimeUtil::ToString(check.anchor().time()) : "-")
              << ": " << ResultName(check.result());
    if (check.result() != v1::AnchorCheck::RESULT_MATCHED) std::cout << ": " << check.reason();
    std::cout << "\n";
  }
  std::cout << "audit log of " << trial_id << ": " << verified.entries() << " entries, head "
            << verified.head().sha256() << "; " << verified.anchors_size()
            << " anchor(s) checked: ";
  if (verified.valid()) {
    std::cout << "valid\n";
    return kOk;
  }
  std::cout << "NOT VALID at entry " << verified.first_bad_sequence() << ": " << verified.reason()
            << "\n";
  return kRejected;
}

}  // namespace fieldwork::cli

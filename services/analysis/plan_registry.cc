#include "services/analysis/plan_registry.h"

#include <sodium.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/analysis/plan_validation.h"
#include "services/common/deterministic_bytes.h"
#include "services/common/proto_time.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

namespace {

constexpr int kMaxAttempts = 5;
// A deviation's reason is kept in the plan record for good and printed in the report.
constexpr size_t kMaxDeviationReasonBytes = 4000;

std::string PlanName(const std::string& trial, const std::string& plan_id) {
  return absl::StrCat("plan \"", plan_id, "\" of trial \"", trial, "\"");
}

// Every enrolled participant who has not withdrawn will be analysed once allocated, so each
// needs a usable weight before a weighted plan is stored: INVALID_ARGUMENT naming them.
absl::Status CheckEnrolledWeights(AllocationSource& trials, const v1::AnalysisPlan& plan) {
  if (plan.weights().empty()) return absl::OkStatus();
  std::unique_ptr<ItemStream<v1::ParticipantStatus>> participants =
      trials.StreamParticipants(plan.trial_id());
  WeightProblems problems(plan.weights());
  v1::ParticipantStatus status;
  while (participants->Next(status)) {
    if (!status.has_withdrawal()) problems.Check(status.participant());
  }
  if (absl::Status read = participants->Finish(); !read.ok()) return read;
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(problems.Message());
}

}  // namespace

std::string PlanSha256(const v1::AnalysisPlan& plan) {
  const std::string bytes = DeterministicBytes(plan);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::vector<std::string> ChangedFields(const v1::AnalysisPlan& before,
                                       const v1::AnalysisPlan& after) {
  std::vector<std::string> changed;
  const google::protobuf::Descriptor* descriptor = v1::AnalysisPlan::descriptor();
  const google::protobuf::Reflection* reflection = v1::AnalysisPlan::GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    v1::AnalysisPlan a = before;
    v1::AnalysisPlan b = after;
    for (int j = 0; j < descriptor->field_count(); ++j) {
      if (j == i) continue;
      reflection->ClearField(&a, descriptor->field(j));
      reflection->ClearField(&b, descriptor->field(j));
    }
    if (DeterministicBytes(a) != DeterministicBytes(b)) changed.push_back(field->name());
  }
  return changed;
}

absl::StatusOr<RegisterResult> PlanRegistry::Register(const std::string& actor,
                                                      v1::AnalysisPlan plan,
                                                      const std::string& deviation_reason) {
  if (plan.trial_id().empty()) return absl::InvalidArgumentError("plan.trial_id: required");
  if (deviation_reason.size() > kMaxDeviationReasonBytes) {
    return absl::InvalidArgumentError(absl::StrCat("deviation_reason: ", deviation_reason.size(),
                                                   " bytes, more than the limit of ",
                                                   kMaxDeviationReasonBytes));
  }
  absl::StatusOr<v1::Trial> trial = trials_.GetTrial(plan.trial_id());
  if (!trial.ok()) return trial.status();
  NormalisePlan(*trial, plan);
  if (absl::Status valid = ValidatePlan(*trial, plan); !valid.ok()) return valid;
  if (absl::Status ri = CheckRandomisationInference(trial->design(), plan); !ri.ok()) return ri;
  if (absl::Status weights = CheckEnrolledWeights(trials_, plan); !weights.ok()) return weights;
  const std::string sha = PlanSha256(plan);

  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    absl::StatusOr<std::optional<v1::PlanRecord>> stored =
        store_.Get(plan.trial_id(), plan.plan_id());
    if (!stored.ok()) return stored.status();
    const absl::Time now = clock_.Now();
    RegisterResult result;
    int64_t expected_version = 0;
    if (!stored->has_value()) {
      result.record.set_state(v1::PLAN_STATE_DRAFT);
      *result.record.mutable_registered_at() = ToProtoTime(now);
    } else {
      result.record = **stored;
      expected_version = result.record.version();
      if (result.record.plan_sha256() == sha) {
        result.changed = false;
        return result;
      }
      if (result.record.state() == v1::PLAN_STATE_LOCKED) {
        if (deviation_reason.empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat(PlanName(plan.trial_id(), plan.plan_id()), " is locked (sha256 ",
                           result.record.locked_sha256(),
                           "); a change needs deviation_reason and is recorded as a deviation"));
        }
        v1::Deviation& deviation = *result.record.add_deviations();
        deviation.set_sequence(result.record.deviations_size());
        *deviation.mutable_time() = ToProtoTime(now);
        deviation.set_actor(actor);
        deviation.set_reason(deviation_reason);
        deviation.set_plan_sha256_before(result.record.plan_sha256());
        deviation.set_plan_sha256_after(sha);
        for (std::string& field : ChangedFields(result.record.plan(), plan)) {
          deviation.add_changed_fields(std::move(field));
        }
      }
    }
    *result.record.mutable_plan() = plan;
    result.record.set_plan_sha256(sha);
    result.record.set_version(expected_version + 1);
    *result.record.mutable_updated_at() = ToProtoTime(now);
    result.changed = true;
    absl::Status put = store_.Put(result.record, expected_version);
    if (put.ok()) return result;
    if (!absl::IsAborted(put)) return put;
  }
  return absl::AbortedError(absl::StrCat(PlanName(plan.trial_id(), plan.plan_id()),
                                         " is being changed concurrently; retry"));
}

absl::StatusOr<v1::PlanRecord> PlanRegistry::Lock(const std::string& actor,
                                                  const std::string& trial,
                                                  const std::string& plan_id) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    absl::StatusOr<v1::PlanRecord> record = Get(trial, plan_id);
    if (!record.ok()) return record.status();
    if (record->state() == v1::PLAN_STATE_LOCKED) return record;
    const int64_t expected_version = record->version();
    const absl::Time now = clock_.Now();
    record->set_state(v1::PLAN_STATE_LOCKED);
    record->set_locked_sha256(record->plan_sha256());
    *record->mutable_locked_at() = ToProtoTime(now);
    record->set_locked_by(actor);
    *record->mutable_locked_plan() = record->plan();
    *record->mutable_updated_at() = ToProtoTime(now);
    record->set_version(expected_version + 1);
    absl::Status put = store_.Put(*record, expected_version);
    if (put.ok()) return record;
    if (!absl::IsAborted(put)) return put;
  }
  return absl::AbortedError(
      absl::StrCat(PlanName(trial, plan_id), " is being changed concurrently; retry"));
}

absl::StatusOr<v1::PlanRecord> PlanRegistry::Get(const std::string& trial,
                                                 const std::string& plan_id) {
  const std::string id = plan_id.empty() ? std::string(kDefaultPlanId) : plan_id;
  if (trial.empty()) return absl::InvalidArgumentError("trial_id: required");
  absl::StatusOr<std::optional<v1::PlanRecord>> stored = store_.Get(trial, id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return absl::NotFoundError(absl::StrCat("no ", PlanName(trial, id), "; register it first"));
  }
  return **stored;
}

absl::StatusOr<std::vector<v1::PlanRecord>> PlanRegistry::List(const std::string& trial) {
  if (trial.empty()) return absl::InvalidArgumentError("trial_id: required");
  return store_.List(trial);
}

}  // namespace fieldwork::analysis

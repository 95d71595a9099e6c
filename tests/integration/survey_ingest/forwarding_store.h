// An IngestStore that passes every call to another: a test overrides the calls it watches or
// breaks, in front of the real RedisIngestStore.
#ifndef FIELDWORK_TESTS_INTEGRATION_SURVEY_INGEST_FORWARDING_STORE_H_
#define FIELDWORK_TESTS_INTEGRATION_SURVEY_INGEST_FORWARDING_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "services/survey_ingest/store.h"

namespace fieldwork::survey_ingest {

class ForwardingIngestStore : public IngestStore {
 public:
  explicit ForwardingIngestStore(IngestStore& inner) : inner_(inner) {}

  absl::StatusOr<std::vector<WriteResult>> Write(const std::string& trial,
                                                 const WriteBatch& batch) override {
    return inner_.Write(trial, batch);
  }
  absl::StatusOr<std::vector<fieldwork::v1::Instrument>> LoadInstruments(
      const std::string& trial) override {
    return inner_.LoadInstruments(trial);
  }
  absl::Status AddInstrument(const std::string& trial,
                             const fieldwork::v1::Instrument& instrument) override {
    return inner_.AddInstrument(trial, instrument);
  }
  absl::StatusOr<std::vector<fieldwork::v1::Wave>> LoadWaves(const std::string& trial) override {
    return inner_.LoadWaves(trial);
  }
  absl::Status PutWave(const fieldwork::v1::Wave& wave) override { return inner_.PutWave(wave); }
  absl::StatusOr<bool> IsImported(const std::string& trial, const std::string& sha256) override {
    return inner_.IsImported(trial, sha256);
  }
  absl::StatusOr<std::vector<std::string>> SubmissionOwners(
      const std::string& trial, const std::vector<std::string>& submission_ids) override {
    return inner_.SubmissionOwners(trial, submission_ids);
  }
  absl::Status ForEachResponse(
      const std::string& trial, const std::string& wave, const std::string& participant,
      Answers answers, const std::function<bool(fieldwork::v1::Response&)>& visit) override {
    return inner_.ForEachResponse(trial, wave, participant, answers, visit);
  }
  absl::Status ForEachRespondent(
      const std::string& trial, const std::string& wave,
      const std::function<bool(const std::string& participant)>& visit) override {
    return inner_.ForEachRespondent(trial, wave, visit);
  }
  absl::StatusOr<std::vector<RespondentStatus>> GetRespondentStatuses(
      const std::string& trial, const std::string& wave,
      const std::vector<std::string>& participants) override {
    return inner_.GetRespondentStatuses(trial, wave, participants);
  }
  absl::StatusOr<std::vector<fieldwork::v1::Reject>> LoadRejects(
      const std::string& trial) override {
    return inner_.LoadRejects(trial);
  }
  absl::StatusOr<std::vector<bool>> WriteOutcomes(
      const std::string& trial, const std::vector<fieldwork::v1::Outcome>& outcomes) override {
    return inner_.WriteOutcomes(trial, outcomes);
  }
  absl::Status ForEachOutcome(const std::string& trial,
                              const std::function<bool(fieldwork::v1::Outcome&)>& visit) override {
    return inner_.ForEachOutcome(trial, visit);
  }
  absl::Status ForEachFormStage(
      const std::string& trial, const std::string& wave,
      const std::function<bool(const std::string& participant, fieldwork::v1::FormStage stage)>&
          visit) override {
    return inner_.ForEachFormStage(trial, wave, visit);
  }
  absl::StatusOr<int64_t> DataVersion(const std::string& trial) override {
    return inner_.DataVersion(trial);
  }
  absl::StatusOr<std::vector<std::string>> ListTrials() override { return inner_.ListTrials(); }

 private:
  IngestStore& inner_;
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_TESTS_INTEGRATION_SURVEY_INGEST_FORWARDING_STORE_H_

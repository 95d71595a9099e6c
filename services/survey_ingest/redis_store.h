// The survey-ingest store in Redis: protobuf values under fw:{<trial>}:ing:, and one Lua
// script per write batch, so a batch of responses and rejects never lands half-way.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_REDIS_STORE_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_REDIS_STORE_H_

#include <string>
#include <vector>

#include "services/common/redis_client.h"
#include "services/survey_ingest/store.h"

namespace fieldwork::survey_ingest {

class RedisIngestStore final : public IngestStore {
 public:
  explicit RedisIngestStore(RedisClient& redis) : redis_(redis) {}

  absl::StatusOr<std::vector<fieldwork::v1::Instrument>> LoadInstruments(
      const std::string& trial) override;
  absl::Status AddInstrument(const std::string& trial,
                             const fieldwork::v1::Instrument& instrument) override;
  absl::StatusOr<std::vector<fieldwork::v1::Wave>> LoadWaves(const std::string& trial) override;
  absl::Status PutWave(const fieldwork::v1::Wave& wave) override;
  absl::StatusOr<std::vector<WriteResult>> Write(const std::string& trial,
                                                 const WriteBatch& batch) override;
  absl::StatusOr<bool> IsImported(const std::string& trial, const std::string& sha256) override;
  absl::StatusOr<std::vector<fieldwork::v1::Response>> LoadResponses(
      const std::string& trial, const std::string& wave) override;
  absl::StatusOr<RespondentStatus> GetRespondentStatus(const std::string& trial,
                                                       const std::string& wave,
                                                       const std::string& participant) override;
  absl::StatusOr<std::vector<fieldwork::v1::Reject>> LoadRejects(const std::string& trial) override;
  absl::StatusOr<std::vector<bool>> WriteOutcomes(
      const std::string& trial, const std::vector<fieldwork::v1::Outcome>& outcomes) override;
  absl::StatusOr<std::vector<fieldwork::v1::Outcome>> LoadOutcomes(
      const std::string& trial) override;
  absl::StatusOr<std::vector<std::string>> ListTrials() override;

 private:
  absl::Status IndexTrial(const std::string& trial);
  RedisClient& redis_;
};

// "<19-digit microseconds since 1970 + 10^17>|<submission id>": sorts as (time, id), which is
// the order the counting rule compares responses in.
std::string ResponsePointer(absl::Time submitted, const std::string& submission_id);
// The time in a pointer (InfinitePast when malformed).
absl::Time PointerTime(absl::string_view pointer);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_REDIS_STORE_H_

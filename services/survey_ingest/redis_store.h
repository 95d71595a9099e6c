// The survey-ingest store in Redis: protobuf values under fw:{<trial>}:ing:, and one Lua
// script per write batch, so a batch of responses and rejects never lands half-way.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_REDIS_STORE_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_REDIS_STORE_H_

#include <functional>
#include <string>
#include <vector>

#include "services/common/redis_client.h"
#include "services/survey_ingest/store.h"

namespace fieldwork::survey_ingest {

class RedisIngestStore final : public IngestStore {
 public:
  // Responses and outcomes read per round trip by ForEachResponse and ForEachOutcome.
  static constexpr int kDefaultPageSize = 500;

  explicit RedisIngestStore(RedisClient& redis, int page_size = kDefaultPageSize)
      : redis_(redis), page_size_(page_size) {}

  absl::StatusOr<std::vector<fieldwork::v1::Instrument>> LoadInstruments(
      const std::string& trial) override;
  absl::Status AddInstrument(const std::string& trial,
                             const fieldwork::v1::Instrument& instrument) override;
  absl::StatusOr<std::vector<fieldwork::v1::Wave>> LoadWaves(const std::string& trial) override;
  absl::Status PutWave(const fieldwork::v1::Wave& wave) override;
  absl::StatusOr<std::vector<WriteResult>> Write(const std::string& trial,
                                                 const WriteBatch& batch) override;
  absl::StatusOr<bool> IsImported(const std::string& trial, const std::string& sha256) override;
  absl::StatusOr<std::vector<std::string>> SubmissionOwners(
      const std::string& trial, const std::vector<std::string>& submission_ids) override;
  absl::Status ForEachResponse(const std::string& trial, const std::string& wave,
                               const std::string& participant, Answers answers,
                               const std::function<bool(fieldwork::v1::Response&)>& visit) override;
  absl::StatusOr<std::vector<RespondentStatus>> GetRespondentStatuses(
      const std::string& trial, const std::string& wave,
      const std::vector<std::string>& participants) override;
  absl::StatusOr<std::vector<fieldwork::v1::Reject>> LoadRejects(const std::string& trial) override;
  absl::StatusOr<std::vector<bool>> WriteOutcomes(
      const std::string& trial, const std::vector<fieldwork::v1::Outcome>& outcomes) override;
  absl::Status ForEachOutcome(const std::string& trial,
                              const std::function<bool(fieldwork::v1::Outcome&)>& visit) override;
  absl::Status ForEachFormStage(
      const std::string& trial, const std::string& wave,
      const std::function<bool(const std::string&, fieldwork::v1::FormStage)>& visit) override;
  absl::Status ForEachRespondent(
      const std::string& trial, const std::string& wave,
      const std::function<bool(const std::string& participant)>& visit) override;
  absl::StatusOr<int64_t> DataVersion(const std::string& trial) override;
  absl::StatusOr<std::vector<std::string>> ListTrials() override;

 private:
  absl::Status IndexTrial(const std::string& trial);
  // Adds to `order` the member of each field of `hash` (member_of parses the stored value)
  // when `order` has fewer members than `hash` has fields: for data stored before the order
  // indexes existed. A page of HSCAN at a time.
  absl::Status Backfill(const std::string& hash, const std::string& order,
                        const std::function<absl::StatusOr<std::string>(absl::string_view field,
                                                                        absl::string_view value)>&
                            member_of);
  // Calls `page` with each page (at most page_size_ members, in order) of the members of
  // `order` between the ZRANGE BYLEX bounds `min` and `max`; stops when it returns false.
  absl::Status WalkOrder(const std::string& order, std::string min, const std::string& max,
                         const std::function<absl::StatusOr<bool>(const RedisReply& members)>& page);

  RedisClient& redis_;
  int page_size_;
};

// "<19-digit microseconds since 1970 + 10^17>|<submission id>": sorts as (time, id), which is
// the order the counting rule compares responses in.
std::string ResponsePointer(absl::Time submitted, const std::string& submission_id);
// The member of keys::ResponseOrder for a response (participant, submitted_at and
// submission_id set).
std::string ResponseOrderMember(const fieldwork::v1::Response& response);
// The member of keys::OutcomeOrder for an outcome.
std::string OutcomeOrderMember(const fieldwork::v1::Outcome& outcome);
// The time in a pointer (InfinitePast when malformed).
absl::Time PointerTime(absl::string_view pointer);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_REDIS_STORE_H_

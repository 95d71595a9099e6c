// FormStore in Redis: one HASH per participant and wave (keys::FormProgress), values protobuf.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_FORM_REDIS_FORM_STORE_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_FORM_REDIS_FORM_STORE_H_

#include "services/common/redis_client.h"
#include "services/survey_ingest/form/form_store.h"

namespace fieldwork::survey_ingest::form {

class RedisFormStore final : public FormStore {
 public:
  explicit RedisFormStore(RedisClient& redis) : redis_(redis) {}

  absl::StatusOr<FormProgress> Load(const Respondent& who) override;
  absl::StatusOr<bool> SavePage(const Respondent& who, int page, const Answers& answers,
                                absl::Time now) override;
  absl::StatusOr<bool> Mark(const Respondent& who, Stage stage, absl::Time now) override;

 private:
  RedisClient& redis_;
};

}  // namespace fieldwork::survey_ingest::form

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_FORM_REDIS_FORM_STORE_H_

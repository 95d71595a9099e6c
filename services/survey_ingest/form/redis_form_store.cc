#include "services/survey_ingest/form/redis_form_store.h"

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "fieldwork/v1/survey_ingest.pb.h"
#include "services/survey_ingest/keys.h"

namespace fieldwork::survey_ingest::form {
namespace {

constexpr absl::string_view kPagePrefix = "page:";

std::string Key(const Respondent& who) {
  return keys::FormProgress(who.trial, who.wave, who.participant);
}

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

std::string TimestampBytes(absl::Time time) { return ToTimestamp(time).SerializeAsString(); }

// Raises the participant's furthest stage in the wave's funnel (never lowers it: GT).
std::vector<std::string> RaiseFunnel(const Respondent& who, Stage stage) {
  fieldwork::v1::FormStage rank = fieldwork::v1::FORM_STAGE_OPENED;
  if (stage == Stage::kStarted) rank = fieldwork::v1::FORM_STAGE_STARTED;
  if (stage == Stage::kCompleted) rank = fieldwork::v1::FORM_STAGE_COMPLETED;
  return {"ZADD", keys::FormFunnel(who.trial, who.wave), "GT", absl::StrCat(static_cast<int>(rank)),
          who.participant};
}

absl::Status Corrupt(const Respondent& who, absl::string_view field) {
  return absl::DataLossError(absl::StrCat("form progress of a participant in trial ", who.trial,
                                          " wave ", who.wave, ": field ", field,
                                          " does not parse"));
}

}  // namespace

absl::StatusOr<FormProgress> RedisFormStore::Load(const Respondent& who) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"HGETALL", Key(who)});
  if (!reply.ok()) return reply.status();
  FormProgress progress;
  for (size_t i = 0; i + 1 < reply->size(); i += 2) {
    const absl::string_view field = (*reply)[i].str();
    const absl::string_view value = (*reply)[i + 1].str();
    if (absl::StartsWith(field, kPagePrefix)) {
      int page = 0;
      fieldwork::v1::FormPageAnswers stored;
      if (!absl::SimpleAtoi(field.substr(kPagePrefix.size()), &page) ||
          !stored.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        return Corrupt(who, field);
      }
      Answers& answers = progress.pages[page];
      for (const auto& [item, answer] : stored.answers()) answers.emplace(item, answer);
      continue;
    }
    google::protobuf::Timestamp t;
    if (!t.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return Corrupt(who, field);
    }
    const absl::Time time =
        absl::FromUnixNanos(google::protobuf::util::TimeUtil::TimestampToNanoseconds(t));
    if (field == StageName(Stage::kOpened)) progress.opened = time;
    if (field == StageName(Stage::kStarted)) progress.started = time;
    if (field == StageName(Stage::kCompleted)) progress.completed = time;
  }
  return progress;
}

absl::StatusOr<bool> RedisFormStore::SavePage(const Respondent& who, int page,
                                              const Answers& answers, absl::Time now) {
  fieldwork::v1::FormPageAnswers stored;
  for (const auto& [item, answer] : answers) (*stored.mutable_answers())[item] = answer;
  *stored.mutable_saved_at() = ToTimestamp(now);
  const std::string bytes = stored.SerializeAsString();
  const std::string key = Key(who);
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Transaction(
      {{"HSET", key, absl::StrCat(kPagePrefix, page), bytes},
       {"HSETNX", key, std::string(StageName(Stage::kStarted)), TimestampBytes(now)},
       RaiseFunnel(who, Stage::kStarted)});
  if (!replies.ok()) return replies.status();
  return replies->size() == 3 && (*replies)[1].integer() == 1;
}

absl::StatusOr<bool> RedisFormStore::Mark(const Respondent& who, Stage stage, absl::Time now) {
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Transaction(
      {{"HSETNX", Key(who), std::string(StageName(stage)), TimestampBytes(now)},
       RaiseFunnel(who, stage)});
  if (!replies.ok()) return replies.status();
  return replies->size() == 2 && (*replies)[0].integer() == 1;
}

}  // namespace fieldwork::survey_ingest::form

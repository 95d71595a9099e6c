// Where the hosted form keeps a participant's progress through a wave (pages stored with
// Next, and when the link was first opened, the first page stored and the survey completed):
// an interface, so the form's logic needs no Redis (redis_form_store.h implements it).
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_STORE_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_STORE_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/survey_ingest/form/page_validation.h"

namespace fieldwork::survey_ingest::form {

// Who: a link's claims.
struct Respondent {
  std::string trial;
  std::string wave;
  std::string participant;
};

struct FormProgress {
  std::map<int, Answers> pages;  // page index (from 0) -> its answers as last stored
  std::optional<absl::Time> opened;
  std::optional<absl::Time> started;
  std::optional<absl::Time> completed;
};

// The stages a participant passes once each; Mark says whether this was the first time.
enum class Stage { kOpened, kStarted, kCompleted };

// "opened", "started", "completed": the stage's name in storage and on /metrics.
inline absl::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kOpened:
      return "opened";
    case Stage::kStarted:
      return "started";
    case Stage::kCompleted:
      return "completed";
  }
  return "unknown";
}

class FormStore {
 public:
  virtual ~FormStore() = default;

  virtual absl::StatusOr<FormProgress> Load(const Respondent& who) = 0;
  // Stores page `page`'s answers, replacing what that page held (so sending a page again is
  // harmless), and marks the participant started; atomic and durable before it returns. True
  // when this was the participant's first stored page.
  virtual absl::StatusOr<bool> SavePage(const Respondent& who, int page, const Answers& answers,
                                        absl::Time now) = 0;
  // Records `stage` at `now` unless it was recorded before; true the first time.
  virtual absl::StatusOr<bool> Mark(const Respondent& who, Stage stage, absl::Time now) = 0;
};

}  // namespace fieldwork::survey_ingest::form

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_FORM_FORM_STORE_H_

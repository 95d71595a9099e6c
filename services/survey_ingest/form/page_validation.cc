#include "services/survey_ingest/form/page_validation.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/survey_ingest/domain/number_format.h"

namespace fieldwork::survey_ingest::form {

Answers PageAnswers(const Page& page, const Answers& form_fields) {
  Answers out;
  for (const std::string& id : page.items) {
    auto it = form_fields.find(id);
    if (it != form_fields.end() && !TrimBlanks(it->second).empty()) out.emplace(id, it->second);
  }
  return out;
}

FieldMessages ValidatePage(const Scorer& scorer, const Page& page, const Answers& answers) {
  // The whole instrument is scored with only this page's answers; errors about other items
  // (their required answers live on other pages) are dropped.
  std::vector<RawRef> aligned(scorer.instrument().items.size());
  for (const std::string& id : page.items) {
    const int index = scorer.ItemIndex(id);
    auto it = answers.find(id);
    if (index >= 0 && it != answers.end()) {
      aligned[static_cast<size_t>(index)] = absl::string_view(it->second);
    }
  }
  ScoringResult scored = scorer.ScoreAligned(aligned);
  FieldMessages messages;
  for (const FieldError& error : scored.errors) {
    bool on_page = false;
    for (const std::string& id : page.items) on_page = on_page || id == error.field;
    const Item* item = scorer.instrument().FindItem(error.field);
    if (on_page && item != nullptr)
      messages.emplace(error.field, PlainMessage(*item, error.reason));
  }
  // What the form offers a text without a limit of its own, so that it fits the submission.
  for (const std::string& id : page.items) {
    const Item* item = scorer.instrument().FindItem(id);
    auto it = answers.find(id);
    if (item != nullptr && item->type == ItemType::kFreeText && item->max_length == 0 &&
        it != answers.end() && TextLength(it->second) > kMaxFreeTextLength) {
      messages.emplace(id, PlainMessage(*item, "longer than the form's limit"));
    }
  }
  return messages;
}

std::string PlainMessage(const Item& item, const std::string& reason) {
  if (absl::StrContains(reason, "missing required")) {
    return item.type == ItemType::kFreeText ? "Please write an answer."
                                            : "Please answer this question.";
  }
  switch (item.type) {
    case ItemType::kLikert:
      return absl::StrCat("Please choose one of the points from ", FormatNumber(item.min), " to ",
                          FormatNumber(item.max), ".");
    case ItemType::kNumeric:
      return absl::StrCat("Please enter ", item.integer ? "a whole number" : "a number", " from ",
                          FormatNumber(item.min), " to ", FormatNumber(item.max), ".");
    case ItemType::kSingleChoice:
      return "Please choose one of the options.";
    case ItemType::kFreeText:
      if (absl::StrContains(reason, "longer than")) {
        return absl::StrCat("Please shorten your answer to at most ",
                            item.max_length > 0 ? item.max_length : kMaxFreeTextLength,
                            " characters.");
      }
      return "Please check this answer.";
  }
  return "Please check this answer.";
}

}  // namespace fieldwork::survey_ingest::form

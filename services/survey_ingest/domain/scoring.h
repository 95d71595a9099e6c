// Scores one response with the instrument version it was collected under: per-item
// validation, reverse keying, scales with the minimum-answered rule, standardised composites.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_SCORING_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_SCORING_H_

#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/survey_ingest/domain/instrument.h"

namespace fieldwork::survey_ingest {

// A raw answer: text as exported ("7", " 3 ", "Progress") or a number sent by a partner.
using RawValue = std::variant<std::string, double>;
// Item id -> raw answer. An absent item, or blank text, is an unanswered item.
using RawResponse = std::map<std::string, RawValue, std::less<>>;
// A borrowed raw answer, for the fast path: monostate = absent.
using RawRef = std::variant<std::monostate, absl::string_view, double>;

// One problem with one field of a submission.
struct FieldError {
  std::string field;   // the item id (the CSV importer substitutes the column name)
  std::string reason;  // "out of range 0..10", "not a number", "missing required item", ...
  std::string raw;     // the value as received ("" when missing)
};

struct ItemValue {
  std::string item_id;
  bool answered = false;
  // The item's numeric score as answered (before any reverse keying): the number for
  // Likert and numeric items, the option's score for a scored single-choice item.
  std::optional<double> number;
  // The option code for a single-choice item, the text for a free-text item.
  std::string text;
  // The answer as received (a number sent as such is formatted), even when invalid; empty
  // when blank or absent.
  std::string raw;
};

struct ScaleScore {
  std::string scale_id;
  std::optional<double> value;  // missing when fewer than min_answered items were answered
  int answered = 0;
  int items = 0;
};

struct CompositeScore {
  std::string composite_id;
  std::optional<double> value;
  int available = 0;           // components with both a score and a reference norm
  std::string missing_reason;  // why `value` is missing; empty when present
};

struct ScoredResponse {
  std::vector<ItemValue> items;  // in the instrument's item order
  std::vector<ScaleScore> scales;
  std::vector<CompositeScore> composites;

  const ItemValue* FindItem(absl::string_view item_id) const;
  const ScaleScore* FindScale(absl::string_view scale_id) const;
  const CompositeScore* FindComposite(absl::string_view composite_id) const;
};

// The length of UTF-8 text in Unicode code points: how a free-text item's max_length counts.
size_t TextLength(absl::string_view text);

// The non-blank answers of a scored response as item id -> raw answer, as received: e.g. to
// store them, or to score them again.
RawResponse RawAnswers(const ScoredResponse& scored);

// A scale's reference distribution (normally the baseline wave's): z = (x - mean) / sd.
struct Norm {
  double mean = 0;
  double sd = 1;
};
using ScaleNorms = std::map<std::string, Norm, std::less<>>;

struct ScoreOptions {
  // Missing required items are errors; a response kept as partial relaxes this.
  bool enforce_required = true;
  // Reference norms for composites; without them composites are missing (reason given).
  const ScaleNorms* norms = nullptr;
};

struct ScoringResult {
  // Scores computed from the valid items. Only to be stored when ok().
  ScoredResponse scored;
  // Every problem, in item order; empty when the response is valid.
  std::vector<FieldError> errors;

  bool ok() const { return errors.empty(); }
};

// Scores responses for one instrument version. Immutable and thread-safe once created.
class Scorer {
 public:
  // INVALID_ARGUMENT (listing every problem) when the instrument is not valid.
  static absl::StatusOr<Scorer> Create(Instrument instrument);

  const Instrument& instrument() const { return instrument_; }

  // Validates and scores `response`. Unknown item ids are errors.
  ScoringResult Score(const RawResponse& response, const ScoreOptions& options = {}) const;

  // The same, with raw[i] the answer to instrument().items[i] (raw.size() == item count).
  ScoringResult ScoreAligned(std::span<const RawRef> raw, const ScoreOptions& options = {}) const;

  // Recomputes the composites of an already scored response, e.g. once the baseline norms
  // are known.
  void ScoreComposites(ScoredResponse& scored, const ScaleNorms* norms) const;

  // The index of an item in instrument().items, or -1.
  int ItemIndex(absl::string_view item_id) const;

 private:
  explicit Scorer(Instrument instrument);

  struct ScalePlan {
    std::vector<int> items;     // indices into instrument_.items
    std::vector<bool> reverse;  // aligned with items
  };
  struct CompositePlan {
    std::vector<int> scales;  // indices into instrument_.scales
  };

  void ScoreItem(int index, const RawRef& raw, bool enforce_required, ItemValue& out,
                 std::vector<FieldError>& errors) const;

  Instrument instrument_;
  std::map<std::string, int, std::less<>> item_index_;
  std::vector<ScalePlan> scale_plans_;
  std::vector<CompositePlan> composite_plans_;
};

// Reference norms from a set of scored responses (normally every valid baseline response):
// for each scale with at least two scores, their mean and sample standard deviation (n - 1
// denominator, as R's sd()). Scales with fewer than two scores or a zero SD are left out,
// so composites using them are reported missing rather than dividing by zero.
ScaleNorms ComputeNorms(const Instrument& instrument, std::span<const ScoredResponse> responses);
// The norm of one scale's scores, as ComputeNorms: nullopt for fewer than two or a zero SD.
std::optional<Norm> NormOf(std::span<const double> values);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_SCORING_H_

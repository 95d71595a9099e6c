// Survey instruments (items, scales, composites) and the checks a definition must pass.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_INSTRUMENT_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_INSTRUMENT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fieldwork::survey_ingest {

enum class ItemType {
  kLikert,        // whole numbers from min to max
  kNumeric,       // any number (or whole numbers when `integer`) from min to max
  kSingleChoice,  // one of a list of codes
  kFreeText,      // kept verbatim, never scored
};

// "likert", "numeric", "single_choice", "free_text": the YAML spelling.
absl::string_view ItemTypeName(ItemType type);

struct ChoiceOption {
  std::string code;   // the value as exported (a Qualtrics recode value, or any token)
  std::string label;  // the answer as shown to the respondent
  // The option's numeric score; required for every option when the item is in a scale.
  std::optional<double> score;
};

// An answer's text as a source may export it ("Strongly agree") and the code it stands for
// ("5"): declared per item, so that an export of choice texts is recoded, not rejected.
struct AnswerLabel {
  std::string label;
  std::string code;
};

struct Item {
  std::string id;  // stable across versions of the instrument
  std::string label;
  ItemType type = ItemType::kLikert;
  bool required = false;
  double min = 0;                     // kLikert, kNumeric
  double max = 0;                     // kLikert, kNumeric
  bool integer = false;               // kNumeric: whole numbers only (a kLikert item always is)
  std::vector<ChoiceOption> options;  // kSingleChoice
  // The Qualtrics ImportId of the question ("QID12_1"); empty when none is declared.
  std::string qualtrics_import_id;
  // The CSV column holding the item; empty means the item id.
  std::string column;
  // Texts an export may hold instead of the code, in declaration order. Each code is a valid
  // answer to the item; labels are unique ignoring case.
  std::vector<AnswerLabel> labels;
  // kLikert: the words the hosted form shows at the scale's ends ("Not at all", "Completely")
  // when the item has no label per point; empty: the number alone.
  std::string min_label;
  std::string max_label;
  // kFreeText: the longest answer in characters (Unicode code points), 1..kMaxFreeTextLength;
  // 0: none of its own (a submission's answer is at most 10,000 bytes; the hosted form offers
  // kMaxFreeTextLength characters).
  int max_length = 0;

  const std::string& ColumnName() const { return column.empty() ? id : column; }
  // True when the item has a numeric score and can be used in a scale.
  bool Scorable() const;
  // The lowest and highest scores (for reverse keying). Only meaningful when Scorable().
  double ScoreMin() const;
  double ScoreMax() const;
};

enum class Aggregation {
  kMean,  // mean of what is available (at least the minimum)
  kSum,   // sum; only defined when everything is available
};

absl::string_view AggregationName(Aggregation aggregation);

struct Scale {
  std::string id;
  std::string label;
  std::vector<std::string> items;
  // Items scored as ScoreMin + ScoreMax - x before aggregation; a subset of `items`.
  std::vector<std::string> reverse_items;
  Aggregation method = Aggregation::kMean;
  // Fewer answered items than this and the scale is missing (never zero, never imputed).
  // A sum needs every item: a partial sum is not comparable with a full one.
  int min_answered = 0;
};

struct CompositeComponent {
  std::string scale;
  // Sign and weight of the scale's z-score; -1 reverses a scale (e.g. anxiety).
  double weight = 1.0;
};

// A combination of standardised scales: z = (score - reference mean) / reference SD,
// with the reference (usually the baseline wave's) supplied by the caller.
// kMean: sum(w * z) / sum(|w|) over the available components;
// kSum:  sum(w * z), which needs every component.
struct Composite {
  std::string id;
  std::string label;
  std::vector<CompositeComponent> components;
  Aggregation method = Aggregation::kMean;
  int min_components = 0;
};

// The longest max_length of a free-text item, and what the hosted form offers without one:
// 2,500 characters of at most 4 UTF-8 bytes each always fit a submission's 10,000-byte answer,
// so a text the form took is never refused at the final submit.
inline constexpr int kMaxFreeTextLength = 2500;

// Texts that differ by the participant's arm of one randomisation factor (an online
// experiment's condition wording): arm -> text. Plain text; blank lines separate paragraphs.
struct ArmTexts {
  std::string factor;
  std::map<std::string, std::string, std::less<>> texts;
  bool empty() const { return factor.empty(); }
  bool operator==(const ArmTexts&) const = default;
};

// One page of the hosted form: a title and the items it asks, in order.
struct Page {
  std::string title;  // may be empty
  std::vector<std::string> items;
  // Shown above the items: `text`, or (when given) the text for the participant's arm.
  std::string text;
  ArmTexts text_by_arm;
  // Pages of one block move together: blocks follow the participant's order of the
  // instrument's `blocks_ordered_by` factor (pages of no block keep their place).
  std::string block;
  // The id of a decision block this page repeats over instead of listing items: it becomes
  // as many pages as the participant's allocation puts decisions on a page.
  std::string decisions;
  // Set only on a participant's own pages (PersonaliseForm): item -> what the decision shows
  // (the case and the stimulus the allocation paired with it), above the item's question.
  std::map<std::string, std::string, std::less<>> item_context;
};

// What a decision shows beside its case: a candidate's name, a product, a photograph's caption.
struct Stimulus {
  std::string id;    // one of the stimuli factor's order items
  std::string text;  // as shown
  // What the analysis needs to know of it (e.g. ethnicity: minority_ethnic), stored with
  // every decision that showed it.
  std::map<std::string, std::string, std::less<>> attributes;

  // Why `value` cannot be given as this stimulus's `attribute` (it declares another), or nullopt.
  std::optional<std::string> AttributeConflict(absl::string_view attribute, absl::string_view value) const;
};

// Where a Qualtrics loop-and-merge block's wide export holds a decision block: loop i (the
// loop's merge row i) is decision i. "{i}" in a column name stands for the loop number.
struct QualtricsLoop {
  std::string question;  // the looped question's column: "<i>_<question>" answers items[i-1]
  std::string stimulus_column;  // optional: embedded data holding loop i's stimulus id
  // Optional: attribute -> the embedded-data column holding loop i's value of it.
  std::map<std::string, std::string, std::less<>> attribute_columns;

  bool empty() const { return question.empty(); }
  bool operator==(const QualtricsLoop&) const = default;
};

// A repeated block of decisions (an online experiment's ten CVs): decision i answers item
// items[i] about case cases[i], shown with the stimulus that the participant's order of
// `stimuli_factor` (a latin_square or random_order factor) puts at position i. Each decision
// is stored with the response in long format (index, item, value, what was shown).
struct DecisionBlock {
  std::string id;
  std::vector<std::string> items;
  std::vector<std::string> cases;  // one text per item (what decision i is about); may be empty
  std::string stimuli_factor;
  std::vector<Stimulus> stimuli;  // exactly one per item
  // How many decisions a page shows: 1, or per arm of a factor (joint evaluation: 2 side by
  // side; separate: 1).
  std::string per_page_factor;
  std::map<std::string, int, std::less<>> per_page;
  QualtricsLoop qualtrics_loop;  // empty: the block is not imported from a wide export

  const Stimulus* FindStimulus(absl::string_view stimulus_id) const;

  // Why decision `index` (from 1) does not fit the block: beyond its items (kIndex), or
  // `item_id`, when given, not the item that decision answers, items[index - 1] (kItem).
  // The long and wide imports and a submission's decisions all place decisions by it.
  struct Misfit {
    enum class Part { kIndex, kItem };
    Part part;
    std::string reason;
  };
  std::optional<Misfit> CheckPlace(int index, absl::string_view item_id) const;
};

struct Instrument {
  std::string id;
  int version = 0;  // >= 1; a response is scored with the version it was collected under
  std::string title;
  std::string description;  // for researchers; never shown to respondents
  // What the hosted form shows respondents above the first page, and the privacy line under
  // every page (plain text; blank lines separate paragraphs). Empty: not shown.
  std::string introduction;
  std::string privacy;
  // The language of the texts (BCP 47, e.g. "en-GB", "cy"): the form's `lang`. Default "en".
  std::string language = "en";
  // The form's pages. Empty in the definition means one page of every item, in order
  // (FormPages); when given, every item is on exactly one page.
  std::vector<Page> pages;
  // A random_order factor whose order items are the pages' blocks (see Page::block).
  std::string blocks_ordered_by;
  std::vector<DecisionBlock> decisions;
  std::vector<Item> items;
  std::vector<Scale> scales;
  std::vector<Composite> composites;
  // Answers that mean "no answer" (e.g. "-99", "-98" for refused / don't know): an imported
  // row holding one leaves the item unanswered. None is a valid answer to any item.
  std::vector<std::string> missing_codes;

  const Item* FindItem(absl::string_view item_id) const;
  // The pages the form shows: `pages`, or one untitled page of every item. A personalised
  // instrument's pages are a participant's own (PersonaliseForm).
  std::vector<Page> FormPages() const;
  // True when what the form shows depends on the participant's allocation.
  bool Personalised() const;
  const DecisionBlock* FindDecisionBlock(absl::string_view block_id) const;
  const Scale* FindScale(absl::string_view scale_id) const;
  const Composite* FindComposite(absl::string_view composite_id) const;
  // "ons4 v1": how errors name the instrument.
  std::string Name() const;
};

// One problem with a definition: where it is, which field, and what is wrong.
struct DefinitionError {
  std::string instrument;  // "ons4 v1"
  std::string where;       // "item 'anxiety'", "scale 'burnout'", "" for the instrument
  std::string field;       // "max", "items", ...
  std::string message;

  std::string ToString() const;
};

// Every problem with the definition (unknown items in scales, min >= max, duplicate ids,
// ...), in definition order. Empty when the instrument is valid.
std::vector<DefinitionError> ValidateInstrument(const Instrument& instrument);

// Checks that `later` is a valid successor of `earlier`: same id, higher version, and every
// item id present in both still means the same thing (type, range, choice codes and scores),
// so that scores stay comparable across waves. Items may be added or dropped.
std::vector<DefinitionError> CheckVersionCompatibility(const Instrument& earlier,
                                                       const Instrument& later);

// Joins errors into one INVALID_ARGUMENT status (OK when there are none).
absl::Status ErrorsToStatus(const std::vector<DefinitionError>& errors);

// Every version of every instrument known to a trial, in memory.
class InstrumentCatalog {
 public:
  // Adds a valid instrument version compatible with the versions already present.
  // ALREADY_EXISTS when the same id and version is present with a different definition
  // (adding an identical definition again is a no-op, so retries are safe).
  absl::Status Add(Instrument instrument);
  // NOT_FOUND when the id or the version is unknown.
  absl::StatusOr<const Instrument*> Get(absl::string_view id, int version) const;
  // The highest version of `id`, or NOT_FOUND.
  absl::StatusOr<const Instrument*> Latest(absl::string_view id) const;

 private:
  std::map<std::string, std::map<int, Instrument>, std::less<>> instruments_;
};

// Structural equality of two definitions (used to make re-adding idempotent).
bool SameDefinition(const Instrument& a, const Instrument& b);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_INSTRUMENT_H_

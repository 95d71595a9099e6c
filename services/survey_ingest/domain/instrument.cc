#include "services/survey_ingest/domain/instrument.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/survey_ingest/domain/number_format.h"

namespace fieldwork::survey_ingest {
namespace {

bool ValidId(absl::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsWhole(double x) { return std::isfinite(x) && std::floor(x) == x; }

std::string Num(double x) { return FormatNumber(x); }

// Collects errors for one instrument, naming it in each.
class Errors {
 public:
  explicit Errors(std::string instrument) : instrument_(std::move(instrument)) {}
  void Add(std::string where, std::string field, std::string message) {
    errors_.push_back({instrument_, std::move(where), std::move(field), std::move(message)});
  }
  std::vector<DefinitionError> Take() { return std::move(errors_); }

 private:
  std::string instrument_;
  std::vector<DefinitionError> errors_;
};

// Whether `code` is an answer the item accepts as it stands (a number in range, an option
// code, any text for free text).
bool ValidAnswer(const Item& item, absl::string_view code) {
  switch (item.type) {
    case ItemType::kLikert:
    case ItemType::kNumeric: {
      const std::optional<double> x = ParseNumber(code);
      if (!x.has_value() || *x < item.min || *x > item.max) return false;
      return !(item.type == ItemType::kLikert || item.integer) || IsWhole(*x);
    }
    case ItemType::kSingleChoice:
      return std::any_of(item.options.begin(), item.options.end(),
                         [&](const ChoiceOption& o) { return o.code == code; });
    case ItemType::kFreeText:
      return true;
  }
  return false;
}

void ValidateLabels(const Item& item, const std::string& where, Errors& errors) {
  if (item.labels.empty()) return;
  if (item.type == ItemType::kFreeText) {
    errors.Add(where, "labels", "a free_text item has no labels");
    return;
  }
  std::set<std::string, std::less<>> seen;
  for (const AnswerLabel& label : item.labels) {
    if (TrimBlanks(label.label).empty()) {
      errors.Add(where, "labels", "a label may not be blank");
    } else if (!seen.insert(absl::AsciiStrToLower(TrimBlanks(label.label))).second) {
      errors.Add(where, "labels", absl::StrCat("label '", label.label, "' is declared twice"));
    }
    if (!ValidAnswer(item, label.code)) {
      errors.Add(where, "labels",
                 absl::StrCat("label '", label.label, "' stands for '", label.code,
                              "', which is not a valid answer to the item"));
    }
  }
}

std::string ItemWhere(const Item& item, size_t index) {
  return item.id.empty() ? absl::StrCat("items[", index, "]")
                         : absl::StrCat("item '", item.id, "'");
}

void ValidateItem(const Item& item, size_t index, Errors& errors) {
  const std::string where = ItemWhere(item, index);
  if (item.id.empty()) {
    errors.Add(where, "id", "is required");
  } else if (!ValidId(item.id)) {
    errors.Add(where, "id", "may only contain letters, digits, '_', '-' and '.'");
  }
  if (item.label.empty()) errors.Add(where, "label", "is required");
  switch (item.type) {
    case ItemType::kLikert:
    case ItemType::kNumeric: {
      if (!std::isfinite(item.min)) errors.Add(where, "min", "must be a finite number");
      if (!std::isfinite(item.max)) errors.Add(where, "max", "must be a finite number");
      if (std::isfinite(item.min) && std::isfinite(item.max) && item.min >= item.max) {
        errors.Add(where, "max",
                   absl::StrCat("must be greater than min (min ", Num(item.min), ", max ",
                                Num(item.max), ")"));
      }
      const bool whole = item.type == ItemType::kLikert || item.integer;
      if (whole && std::isfinite(item.min) && !IsWhole(item.min)) {
        errors.Add(
            where, "min",
            absl::StrCat("must be a whole number for ",
                         item.type == ItemType::kLikert ? "a Likert item" : "an integer item",
                         " (got ", Num(item.min), ")"));
      }
      if (whole && std::isfinite(item.max) && !IsWhole(item.max)) {
        errors.Add(
            where, "max",
            absl::StrCat("must be a whole number for ",
                         item.type == ItemType::kLikert ? "a Likert item" : "an integer item",
                         " (got ", Num(item.max), ")"));
      }
      if (!item.options.empty()) {
        errors.Add(where, "options", "only a single_choice item has options");
      }
      break;
    }
    case ItemType::kSingleChoice: {
      if (item.options.empty()) {
        errors.Add(where, "options", "a single_choice item needs at least one option");
      }
      std::set<std::string, std::less<>> codes;
      for (size_t i = 0; i < item.options.size(); ++i) {
        const ChoiceOption& option = item.options[i];
        const std::string field = absl::StrCat("options[", i, "]");
        if (option.code.empty()) {
          errors.Add(where, field + ".code", "is required");
        } else if (!codes.insert(option.code).second) {
          errors.Add(where, field + ".code", absl::StrCat("duplicate code '", option.code, "'"));
        }
        if (option.score.has_value() && !std::isfinite(*option.score)) {
          errors.Add(where, field + ".score", "must be a finite number");
        }
      }
      break;
    }
    case ItemType::kFreeText:
      if (!item.options.empty()) {
        errors.Add(where, "options", "only a single_choice item has options");
      }
      break;
  }
  ValidateLabels(item, where, errors);
}

// A BCP 47 tag's shape (a primary language of 2-8 letters, then subtags of 1-8 letters or
// digits): enough to refuse a typo or markup, not a registry check.
bool ValidLanguageTag(absl::string_view tag) {
  size_t start = 0;
  for (bool first = true; start <= tag.size(); first = false) {
    const size_t end = std::min(tag.find('-', start), tag.size());
    const absl::string_view part = tag.substr(start, end - start);
    if (part.empty() || part.size() > 8 || (first && part.size() < 2)) return false;
    for (char c : part) {
      if (!absl::ascii_isalpha(static_cast<unsigned char>(c)) &&
          (first || !absl::ascii_isdigit(static_cast<unsigned char>(c)))) {
        return false;
      }
    }
    start = end + 1;
  }
  return true;
}

// Pages, when given, ask every item exactly once: an item on no page could never be answered
// on the form, and one on two pages would be answered twice.
void ValidatePages(const Instrument& instrument, Errors& errors) {
  if (instrument.pages.empty()) return;
  std::map<std::string, size_t, std::less<>> page_of;  // item -> page index
  for (size_t p = 0; p < instrument.pages.size(); ++p) {
    const Page& page = instrument.pages[p];
    const std::string where = absl::StrCat("pages[", p, "]");
    // A page repeating over a decision block asks the block's items (checked with the block).
    std::vector<std::string> asked = page.items;
    if (!page.decisions.empty()) {
      if (!page.items.empty()) {
        errors.Add(where, "items", "a page repeating over decisions lists no items of its own");
      }
      const DecisionBlock* block = instrument.FindDecisionBlock(page.decisions);
      if (block == nullptr) {
        errors.Add(where, "decisions", absl::StrCat("unknown decision block '", page.decisions, "'"));
        continue;
      }
      asked = block->items;
    } else if (page.items.empty()) {
      errors.Add(where, "items", "a page needs at least one item");
    }
    for (const std::string& id : asked) {
      if (instrument.FindItem(id) == nullptr) {
        errors.Add(where, "items", absl::StrCat("unknown item '", id, "'"));
        continue;
      }
      auto [it, fresh] = page_of.emplace(id, p);
      if (!fresh) {
        errors.Add(where, "items",
                   absl::StrCat("item '", id, "' is already on pages[", it->second, "]"));
      }
    }
  }
  for (size_t i = 0; i < instrument.items.size(); ++i) {
    const Item& item = instrument.items[i];
    if (!item.id.empty() && page_of.find(item.id) == page_of.end()) {
      errors.Add(ItemWhere(item, i), "pages",
                 "is on no page (when `pages` is given, every item must be on one)");
    }
  }
}

// An online experiment's parts (personal pages): each decision block well formed and on one
// page; blocks only with the factor that orders them, each block's pages together; condition
// texts with their factor. Whether the factors and arms exist is the trial design's to say
// (checked by `fieldwork apply`); the form refuses an allocation that does not fit.
void ValidateOnlineExperiment(const Instrument& instrument, Errors& errors) {
  std::set<std::string, std::less<>> block_ids;
  for (size_t b = 0; b < instrument.decisions.size(); ++b) {
    const DecisionBlock& block = instrument.decisions[b];
    const std::string where =
        block.id.empty() ? absl::StrCat("decisions[", b, "]") : absl::StrCat("decisions '", block.id, "'");
    if (!block.id.empty() && !block_ids.insert(block.id).second) {
      errors.Add(where, "id", "is declared twice");
    }
    if (block.items.empty()) errors.Add(where, "items", "a decision block needs at least one item");
    std::set<std::string, std::less<>> items(block.items.begin(), block.items.end());
    if (items.size() != block.items.size()) errors.Add(where, "items", "lists an item twice");
    if (!block.cases.empty() && block.cases.size() != block.items.size()) {
      errors.Add(where, "cases",
                 absl::StrCat("has ", block.cases.size(), " texts for ", block.items.size(),
                              " decisions (one per decision, or none)"));
    }
    if (block.stimuli.size() != block.items.size()) {
      errors.Add(where, "stimuli",
                 absl::StrCat("has ", block.stimuli.size(), " stimuli for ", block.items.size(),
                              " decisions (the stimuli factor orders one per decision)"));
    }
    std::set<std::string, std::less<>> stimuli;
    for (const Stimulus& stimulus : block.stimuli) {
      if (!stimulus.id.empty() && !stimuli.insert(stimulus.id).second) {
        errors.Add(where, "stimuli", absl::StrCat("stimulus '", stimulus.id, "' is declared twice"));
      }
    }
    const QualtricsLoop& loop = block.qualtrics_loop;
    for (const auto& [attribute, column] : loop.attribute_columns) {
      const bool declared = std::any_of(
          block.stimuli.begin(), block.stimuli.end(),
          [&](const Stimulus& s) { return s.attributes.count(attribute) > 0; });
      if (!declared) {
        errors.Add(where, "qualtrics_loop",
                   absl::StrCat("attribute_columns: no stimulus declares attribute '", attribute, "'"));
      }
    }
    std::vector<std::string> loop_columns = {loop.stimulus_column};
    for (const auto& [attribute, column] : loop.attribute_columns) loop_columns.push_back(column);
    for (const std::string& column : loop_columns) {
      if (!column.empty() && !absl::StrContains(column, "{i}")) {
        errors.Add(where, "qualtrics_loop",
                   absl::StrCat("column '", column, "' needs {i}, the loop number"));
      }
    }
    if (!block.per_page_factor.empty() && block.per_page.empty()) {
      errors.Add(where, "per_page", "needs a count for each arm of its factor");
    }
    const size_t pages = static_cast<size_t>(std::count_if(
        instrument.pages.begin(), instrument.pages.end(),
        [&](const Page& page) { return page.decisions == block.id; }));
    if (pages != 1) {
      errors.Add(where, "id",
                 absl::StrCat("is repeated over by ", pages,
                              " pages (exactly one page names it in `decisions`)"));
    }
  }
  std::set<std::string, std::less<>> finished_blocks;
  std::string current;
  bool any_block = false;
  for (size_t p = 0; p < instrument.pages.size(); ++p) {
    const Page& page = instrument.pages[p];
    const std::string where = absl::StrCat("pages[", p, "]");
    if (!page.text.empty() && !page.text_by_arm.empty()) {
      errors.Add(where, "text_by_arm", "a page has `text` or `text_by_arm`, not both");
    }
    if (!page.text_by_arm.empty() && page.text_by_arm.texts.empty()) {
      errors.Add(where, "text_by_arm", "needs a text for each arm of its factor");
    }
    if (page.block != current) {
      if (!current.empty()) finished_blocks.insert(current);
      if (!page.block.empty() && finished_blocks.count(page.block) > 0) {
        errors.Add(where, "block",
                   absl::StrCat("block '", page.block,
                                "' is split: the pages of a block must follow one another"));
      }
      current = page.block;
    }
    any_block = any_block || !page.block.empty();
  }
  if (any_block && instrument.blocks_ordered_by.empty()) {
    errors.Add("", "blocks_ordered_by", "pages have blocks, so the factor that orders them is required");
  }
  if (!any_block && !instrument.blocks_ordered_by.empty()) {
    errors.Add("", "blocks_ordered_by", "no page has a block to order");
  }
}

void ValidateScale(const Instrument& instrument, const Scale& scale, size_t index, Errors& errors) {
  const std::string where = scale.id.empty() ? absl::StrCat("scales[", index, "]")
                                             : absl::StrCat("scale '", scale.id, "'");
  if (scale.id.empty()) {
    errors.Add(where, "id", "is required");
  } else if (!ValidId(scale.id)) {
    errors.Add(where, "id", "may only contain letters, digits, '_', '-' and '.'");
  }
  if (scale.items.empty()) errors.Add(where, "items", "a scale needs at least one item");
  std::set<std::string, std::less<>> seen;
  for (const std::string& item_id : scale.items) {
    if (!seen.insert(item_id).second) {
      errors.Add(where, "items", absl::StrCat("item '", item_id, "' is listed twice"));
      continue;
    }
    const Item* item = instrument.FindItem(item_id);
    if (item == nullptr) {
      errors.Add(where, "items", absl::StrCat("unknown item '", item_id, "'"));
    } else if (item->type == ItemType::kFreeText) {
      errors.Add(where, "items",
                 absl::StrCat("item '", item_id, "' is free text and cannot be scored"));
    } else if (!item->Scorable()) {
      errors.Add(where, "items",
                 absl::StrCat("item '", item_id,
                              "' is a single_choice item whose options do not all have a score"));
    }
  }
  std::set<std::string, std::less<>> reversed;
  for (const std::string& item_id : scale.reverse_items) {
    if (!reversed.insert(item_id).second) {
      errors.Add(where, "reverse", absl::StrCat("item '", item_id, "' is listed twice"));
    } else if (seen.count(item_id) == 0) {
      errors.Add(where, "reverse",
                 absl::StrCat("item '", item_id, "' is not one of the scale's items"));
    }
  }
  const int n = static_cast<int>(scale.items.size());
  if (scale.min_answered < 1 || (n > 0 && scale.min_answered > n)) {
    errors.Add(where, "min_answered",
               absl::StrCat("must be between 1 and the number of items (", n, "), got ",
                            scale.min_answered));
  } else if (scale.method == Aggregation::kSum && scale.min_answered != n) {
    errors.Add(where, "min_answered",
               absl::StrCat("a sum needs every item answered (a partial sum is not comparable "
                            "with a full one): set min_answered to ",
                            n, " or use method: mean"));
  }
}

void ValidateComposite(const Instrument& instrument, const Composite& composite, size_t index,
                       Errors& errors) {
  const std::string where = composite.id.empty() ? absl::StrCat("composites[", index, "]")
                                                 : absl::StrCat("composite '", composite.id, "'");
  if (composite.id.empty()) {
    errors.Add(where, "id", "is required");
  } else if (!ValidId(composite.id)) {
    errors.Add(where, "id", "may only contain letters, digits, '_', '-' and '.'");
  }
  if (composite.components.empty()) {
    errors.Add(where, "components", "a composite needs at least one scale");
  }
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < composite.components.size(); ++i) {
    const CompositeComponent& component = composite.components[i];
    const std::string field = absl::StrCat("components[", i, "]");
    if (!seen.insert(component.scale).second) {
      errors.Add(where, field + ".scale",
                 absl::StrCat("scale '", component.scale, "' is listed twice"));
    } else if (instrument.FindScale(component.scale) == nullptr) {
      errors.Add(where, field + ".scale", absl::StrCat("unknown scale '", component.scale, "'"));
    }
    if (!std::isfinite(component.weight) || component.weight == 0) {
      errors.Add(where, field + ".weight", "must be a finite, non-zero number");
    }
  }
  const int n = static_cast<int>(composite.components.size());
  if (composite.min_components < 1 || (n > 0 && composite.min_components > n)) {
    errors.Add(where, "min_components",
               absl::StrCat("must be between 1 and the number of components (", n, "), got ",
                            composite.min_components));
  } else if (composite.method == Aggregation::kSum && composite.min_components != n) {
    errors.Add(where, "min_components",
               absl::StrCat("a sum needs every component: set min_components to ", n,
                            " or use method: mean"));
  }
}

bool SameItem(const Item& a, const Item& b) {
  if (a.type != b.type || a.id != b.id || a.label != b.label || a.required != b.required ||
      a.qualtrics_import_id != b.qualtrics_import_id || a.column != b.column ||
      a.labels.size() != b.labels.size() || a.min_label != b.min_label ||
      a.max_label != b.max_label || a.max_length != b.max_length) {
    return false;
  }
  for (size_t i = 0; i < a.labels.size(); ++i) {
    if (a.labels[i].label != b.labels[i].label || a.labels[i].code != b.labels[i].code) {
      return false;
    }
  }
  if ((a.type == ItemType::kLikert || a.type == ItemType::kNumeric) &&
      (a.min != b.min || a.max != b.max || a.integer != b.integer)) {
    return false;
  }
  if (a.options.size() != b.options.size()) return false;
  for (size_t i = 0; i < a.options.size(); ++i) {
    if (a.options[i].code != b.options[i].code || a.options[i].label != b.options[i].label ||
        a.options[i].score != b.options[i].score) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::string_view ItemTypeName(ItemType type) {
  switch (type) {
    case ItemType::kLikert:
      return "likert";
    case ItemType::kNumeric:
      return "numeric";
    case ItemType::kSingleChoice:
      return "single_choice";
    case ItemType::kFreeText:
      return "free_text";
  }
  return "unknown";
}

absl::string_view AggregationName(Aggregation aggregation) {
  return aggregation == Aggregation::kSum ? "sum" : "mean";
}

bool Item::Scorable() const {
  switch (type) {
    case ItemType::kLikert:
    case ItemType::kNumeric:
      return true;
    case ItemType::kSingleChoice:
      return !options.empty() &&
             std::all_of(options.begin(), options.end(),
                         [](const ChoiceOption& o) { return o.score.has_value(); });
    case ItemType::kFreeText:
      return false;
  }
  return false;
}

double Item::ScoreMin() const {
  if (type != ItemType::kSingleChoice) return min;
  double lowest = 0;
  bool first = true;
  for (const ChoiceOption& option : options) {
    if (!option.score.has_value()) continue;
    if (first || *option.score < lowest) lowest = *option.score;
    first = false;
  }
  return lowest;
}

double Item::ScoreMax() const {
  if (type != ItemType::kSingleChoice) return max;
  double highest = 0;
  bool first = true;
  for (const ChoiceOption& option : options) {
    if (!option.score.has_value()) continue;
    if (first || *option.score > highest) highest = *option.score;
    first = false;
  }
  return highest;
}

const Item* Instrument::FindItem(absl::string_view item_id) const {
  for (const Item& item : items) {
    if (item.id == item_id) return &item;
  }
  return nullptr;
}

bool Instrument::Personalised() const {
  if (!blocks_ordered_by.empty() || !decisions.empty()) return true;
  return std::any_of(pages.begin(), pages.end(),
                     [](const Page& page) { return !page.text_by_arm.empty(); });
}

const DecisionBlock* Instrument::FindDecisionBlock(absl::string_view block_id) const {
  for (const DecisionBlock& block : decisions) {
    if (block.id == block_id) return &block;
  }
  return nullptr;
}

std::optional<std::string> Stimulus::AttributeConflict(absl::string_view attribute,
                                                      absl::string_view value) const {
  auto declared = attributes.find(attribute);
  if (declared == attributes.end() || declared->second == value) return std::nullopt;
  return absl::StrCat("stimulus ", id, "'s ", attribute, " is ", declared->second);
}

const Stimulus* DecisionBlock::FindStimulus(absl::string_view stimulus_id) const {
  for (const Stimulus& stimulus : stimuli) {
    if (stimulus.id == stimulus_id) return &stimulus;
  }
  return nullptr;
}

std::optional<DecisionBlock::Misfit> DecisionBlock::CheckPlace(int index,
                                                              absl::string_view item_id) const {
  if (index < 1 || static_cast<size_t>(index) > items.size()) {
    return Misfit{Misfit::Part::kIndex, absl::StrCat("beyond block ", id, "'s ", items.size(), " decisions")};
  }
  const std::string& item = items[static_cast<size_t>(index) - 1];
  if (!item_id.empty() && item_id != item) {
    return Misfit{Misfit::Part::kItem,
                  absl::StrCat("decision ", index, " of block ", id, " is answered by item ", item)};
  }
  return std::nullopt;
}

std::vector<Page> Instrument::FormPages() const {
  if (!pages.empty()) return pages;
  Page all;
  for (const Item& item : items) all.items.push_back(item.id);
  return {std::move(all)};
}

const Scale* Instrument::FindScale(absl::string_view scale_id) const {
  for (const Scale& scale : scales) {
    if (scale.id == scale_id) return &scale;
  }
  return nullptr;
}

const Composite* Instrument::FindComposite(absl::string_view composite_id) const {
  for (const Composite& composite : composites) {
    if (composite.id == composite_id) return &composite;
  }
  return nullptr;
}

std::string Instrument::Name() const {
  return absl::StrCat(id.empty() ? "(no id)" : id, " v", version);
}

std::string DefinitionError::ToString() const {
  std::string out = absl::StrCat("instrument ", instrument);
  if (!where.empty()) absl::StrAppend(&out, ", ", where);
  if (!field.empty()) absl::StrAppend(&out, ", field '", field, "'");
  absl::StrAppend(&out, ": ", message);
  return out;
}

std::vector<DefinitionError> ValidateInstrument(const Instrument& instrument) {
  Errors errors(instrument.Name());
  if (instrument.id.empty()) {
    errors.Add("", "id", "is required");
  } else if (!ValidId(instrument.id)) {
    errors.Add("", "id", "may only contain letters, digits, '_', '-' and '.'");
  }
  if (instrument.version < 1) {
    errors.Add("", "version", absl::StrCat("must be 1 or more, got ", instrument.version));
  }
  if (instrument.items.empty()) errors.Add("", "items", "an instrument needs at least one item");

  std::set<std::string, std::less<>> item_ids;
  std::map<std::string, std::string, std::less<>> columns;     // column -> item
  std::map<std::string, std::string, std::less<>> import_ids;  // import id -> item
  for (size_t i = 0; i < instrument.items.size(); ++i) {
    const Item& item = instrument.items[i];
    ValidateItem(item, i, errors);
    if (item.id.empty()) continue;
    if (!item_ids.insert(item.id).second) {
      errors.Add(ItemWhere(item, i), "id", absl::StrCat("duplicate item id '", item.id, "'"));
      continue;
    }
    auto [column, fresh_column] = columns.emplace(item.ColumnName(), item.id);
    if (!fresh_column) {
      errors.Add(ItemWhere(item, i), "column",
                 absl::StrCat("column '", item.ColumnName(), "' is already used by item '",
                              column->second, "'"));
    }
    if (!item.qualtrics_import_id.empty()) {
      auto [import_id, fresh] = import_ids.emplace(item.qualtrics_import_id, item.id);
      if (!fresh) {
        errors.Add(ItemWhere(item, i), "qualtrics_import_id",
                   absl::StrCat("ImportId '", item.qualtrics_import_id,
                                "' is already used by item '", import_id->second, "'"));
      }
    }
  }

  std::set<std::string, std::less<>> missing_codes;
  for (const std::string& code : instrument.missing_codes) {
    if (TrimBlanks(code).empty()) {
      errors.Add("", "missing_codes", "a missing-value code may not be blank");
      continue;
    }
    if (!missing_codes.insert(code).second) {
      errors.Add("", "missing_codes", absl::StrCat("code '", code, "' is listed twice"));
    }
    // A code that is also a real answer would silently erase that answer.
    for (const Item& item : instrument.items) {
      if (item.type != ItemType::kFreeText && ValidAnswer(item, code)) {
        errors.Add("", "missing_codes",
                   absl::StrCat("code '", code, "' is a valid answer to item '", item.id, "'"));
      }
    }
  }

  ValidatePages(instrument, errors);
  ValidateOnlineExperiment(instrument, errors);
  if (!ValidLanguageTag(instrument.language)) {
    errors.Add("", "language",
               absl::StrCat("expected a language tag such as en, en-GB or cy, got '",
                            instrument.language, "'"));
  }

  // Scales and composites share one namespace: their scores are stored side by side.
  std::set<std::string, std::less<>> score_ids;
  for (size_t i = 0; i < instrument.scales.size(); ++i) {
    const Scale& scale = instrument.scales[i];
    ValidateScale(instrument, scale, i, errors);
    if (!scale.id.empty() && !score_ids.insert(scale.id).second) {
      errors.Add(absl::StrCat("scale '", scale.id, "'"), "id",
                 absl::StrCat("duplicate scale id '", scale.id, "'"));
    }
  }
  for (size_t i = 0; i < instrument.composites.size(); ++i) {
    const Composite& composite = instrument.composites[i];
    ValidateComposite(instrument, composite, i, errors);
    if (!composite.id.empty() && !score_ids.insert(composite.id).second) {
      errors.Add(absl::StrCat("composite '", composite.id, "'"), "id",
                 absl::StrCat("id '", composite.id, "' is already used by a scale or composite"));
    }
  }
  return errors.Take();
}

std::vector<DefinitionError> CheckVersionCompatibility(const Instrument& earlier,
                                                       const Instrument& later) {
  Errors errors(later.Name());
  if (earlier.id != later.id) {
    errors.Add("", "id", absl::StrCat("is not a version of instrument '", earlier.id, "'"));
    return errors.Take();
  }
  if (later.version <= earlier.version) {
    errors.Add("", "version",
               absl::StrCat("must be higher than ", earlier.version, ", got ", later.version));
  }
  for (const Item& next : later.items) {
    const Item* before = earlier.FindItem(next.id);
    if (before == nullptr) continue;
    const std::string where = absl::StrCat("item '", next.id, "'");
    const std::string was = absl::StrCat(" in v", earlier.version);
    if (before->type != next.type) {
      errors.Add(where, "type",
                 absl::StrCat("changed from ", ItemTypeName(before->type), was, " to ",
                              ItemTypeName(next.type),
                              "; an item id keeps its meaning across versions: use a new id"));
      continue;
    }
    if ((next.type == ItemType::kLikert || next.type == ItemType::kNumeric) &&
        (before->min != next.min || before->max != next.max)) {
      errors.Add(where, "min/max",
                 absl::StrCat("range changed from ", Num(before->min), "..", Num(before->max), was,
                              " to ", Num(next.min), "..", Num(next.max),
                              "; scores would not be comparable: use a new id"));
    }
    if (next.type == ItemType::kSingleChoice) {
      for (const ChoiceOption& old_option : before->options) {
        auto it = std::find_if(next.options.begin(), next.options.end(),
                               [&](const ChoiceOption& o) { return o.code == old_option.code; });
        if (it == next.options.end()) {
          errors.Add(where, "options",
                     absl::StrCat("code '", old_option.code, "' from v", earlier.version,
                                  " was removed; responses already collected use it"));
        } else if (it->score != old_option.score) {
          errors.Add(where, "options",
                     absl::StrCat("the score of code '", old_option.code, "' changed", was));
        }
      }
    }
  }
  return errors.Take();
}

absl::Status ErrorsToStatus(const std::vector<DefinitionError>& errors) {
  if (errors.empty()) return absl::OkStatus();
  std::vector<std::string> parts;
  parts.reserve(errors.size());
  for (const DefinitionError& error : errors) parts.push_back(error.ToString());
  return absl::InvalidArgumentError(absl::StrJoin(parts, "; "));
}

bool SameDefinition(const Instrument& a, const Instrument& b) {
  if (a.id != b.id || a.version != b.version || a.title != b.title ||
      a.description != b.description || a.items.size() != b.items.size() ||
      a.scales.size() != b.scales.size() || a.composites.size() != b.composites.size() ||
      a.missing_codes != b.missing_codes || a.introduction != b.introduction ||
      a.privacy != b.privacy || a.language != b.language || a.pages.size() != b.pages.size()) {
    return false;
  }
  for (size_t i = 0; i < a.pages.size(); ++i) {
    const Page& x = a.pages[i];
    const Page& y = b.pages[i];
    if (x.title != y.title || x.items != y.items || x.text != y.text ||
        x.text_by_arm != y.text_by_arm || x.block != y.block || x.decisions != y.decisions) {
      return false;
    }
  }
  if (a.blocks_ordered_by != b.blocks_ordered_by || a.decisions.size() != b.decisions.size()) {
    return false;
  }
  for (size_t i = 0; i < a.decisions.size(); ++i) {
    const DecisionBlock& x = a.decisions[i];
    const DecisionBlock& y = b.decisions[i];
    if (x.id != y.id || x.items != y.items || x.cases != y.cases ||
        x.stimuli_factor != y.stimuli_factor || x.per_page_factor != y.per_page_factor ||
        x.per_page != y.per_page || x.stimuli.size() != y.stimuli.size() ||
        x.qualtrics_loop != y.qualtrics_loop) {
      return false;
    }
    for (size_t j = 0; j < x.stimuli.size(); ++j) {
      if (x.stimuli[j].id != y.stimuli[j].id || x.stimuli[j].text != y.stimuli[j].text ||
          x.stimuli[j].attributes != y.stimuli[j].attributes) {
        return false;
      }
    }
  }
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (!SameItem(a.items[i], b.items[i])) return false;
  }
  for (size_t i = 0; i < a.scales.size(); ++i) {
    const Scale& x = a.scales[i];
    const Scale& y = b.scales[i];
    if (x.id != y.id || x.label != y.label || x.items != y.items ||
        x.reverse_items != y.reverse_items || x.method != y.method ||
        x.min_answered != y.min_answered) {
      return false;
    }
  }
  for (size_t i = 0; i < a.composites.size(); ++i) {
    const Composite& x = a.composites[i];
    const Composite& y = b.composites[i];
    if (x.id != y.id || x.label != y.label || x.method != y.method ||
        x.min_components != y.min_components || x.components.size() != y.components.size()) {
      return false;
    }
    for (size_t j = 0; j < x.components.size(); ++j) {
      if (x.components[j].scale != y.components[j].scale ||
          x.components[j].weight != y.components[j].weight) {
        return false;
      }
    }
  }
  return true;
}

absl::Status InstrumentCatalog::Add(Instrument instrument) {
  if (absl::Status status = ErrorsToStatus(ValidateInstrument(instrument)); !status.ok()) {
    return status;
  }
  auto& versions = instruments_[instrument.id];
  if (auto it = versions.find(instrument.version); it != versions.end()) {
    if (SameDefinition(it->second, instrument)) return absl::OkStatus();
    return absl::AlreadyExistsError(absl::StrCat("instrument ", instrument.Name(),
                                                 " already exists with a different definition; "
                                                 "publish the change as a new version"));
  }
  std::vector<DefinitionError> errors;
  for (const auto& [version, existing] : versions) {
    std::vector<DefinitionError> found = version < instrument.version
                                             ? CheckVersionCompatibility(existing, instrument)
                                             : CheckVersionCompatibility(instrument, existing);
    // Comparing against a later version reports the version order as an error; that
    // order is legitimate here (versions may be registered out of order).
    for (DefinitionError& error : found) {
      if (error.field != "version") errors.push_back(std::move(error));
    }
  }
  if (absl::Status status = ErrorsToStatus(errors); !status.ok()) {
    if (versions.empty()) instruments_.erase(instrument.id);
    return status;
  }
  const int version = instrument.version;
  versions.emplace(version, std::move(instrument));
  return absl::OkStatus();
}

absl::StatusOr<const Instrument*> InstrumentCatalog::Get(absl::string_view id, int version) const {
  auto it = instruments_.find(id);
  if (it == instruments_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown instrument '", id, "'"));
  }
  auto v = it->second.find(version);
  if (v == it->second.end()) {
    return absl::NotFoundError(absl::StrCat("instrument '", id, "' has no version ", version));
  }
  return &v->second;
}

absl::StatusOr<const Instrument*> InstrumentCatalog::Latest(absl::string_view id) const {
  auto it = instruments_.find(id);
  if (it == instruments_.end() || it->second.empty()) {
    return absl::NotFoundError(absl::StrCat("unknown instrument '", id, "'"));
  }
  return &it->second.rbegin()->second;
}

}  // namespace fieldwork::survey_ingest

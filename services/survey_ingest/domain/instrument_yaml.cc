#include "services/survey_ingest/domain/instrument_yaml.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/survey_ingest/domain/number_format.h"
#include "yaml-cpp/yaml.h"

namespace fieldwork::survey_ingest {
namespace {

std::string Line(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return "";
  return absl::StrCat(" (line ", mark.line + 1, ")");
}

// Walks the YAML tree, collecting every problem instead of stopping at the first.
class Parser {
 public:
  std::vector<DefinitionError>& errors() { return errors_; }

  void SetInstrumentName(std::string name) { instrument_ = std::move(name); }
  const std::string& instrument() const { return instrument_; }

  void Error(const std::string& where, const std::string& field, const std::string& message,
             const YAML::Node& node) {
    errors_.push_back({instrument_, where, field, message + Line(node)});
  }

  // Reports keys of `map` not in `allowed`.
  void CheckKeys(const YAML::Node& map, const std::string& where,
                 std::initializer_list<absl::string_view> allowed) {
    for (const auto& entry : map) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "?";
      bool known = false;
      for (absl::string_view name : allowed) known = known || key == name;
      if (!known) {
        std::string list;
        for (absl::string_view name : allowed)
          absl::StrAppend(&list, list.empty() ? "" : ", ", name);
        Error(where, key, absl::StrCat("unknown field (expected one of: ", list, ")"), entry.first);
      }
    }
  }

  bool String(const YAML::Node& map, const std::string& where, const char* field, std::string* out,
              bool required) {
    const YAML::Node node = map[field];
    if (!node.IsDefined() || node.IsNull()) {
      if (required) Error(where, field, "is required", map);
      return false;
    }
    if (!node.IsScalar()) {
      Error(where, field, "expected a text value", node);
      return false;
    }
    *out = node.Scalar();
    return true;
  }

  bool Number(const YAML::Node& map, const std::string& where, const char* field, double* out,
              bool required) {
    const YAML::Node node = map[field];
    if (!node.IsDefined() || node.IsNull()) {
      if (required) Error(where, field, "is required", map);
      return false;
    }
    std::optional<double> value;
    if (node.IsScalar()) value = ParseNumber(node.Scalar());
    if (!value.has_value()) {
      Error(where, field,
            absl::StrCat("expected a number, got '",
                         node.IsScalar() ? node.Scalar() : "(a list or map)", "'"),
            node);
      return false;
    }
    *out = *value;
    return true;
  }

  bool Int(const YAML::Node& map, const std::string& where, const char* field, int* out,
           bool required) {
    double value = 0;
    if (!Number(map, where, field, &value, required)) return false;
    if (std::floor(value) != value || value < std::numeric_limits<int>::min() ||
        value > std::numeric_limits<int>::max()) {
      Error(where, field, absl::StrCat("expected a whole number, got ", FormatNumber(value)),
            map[field]);
      return false;
    }
    *out = static_cast<int>(value);
    return true;
  }

  bool Bool(const YAML::Node& map, const std::string& where, const char* field, bool* out) {
    const YAML::Node node = map[field];
    if (!node.IsDefined() || node.IsNull()) return false;
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
      *out = node.Scalar() == "true";
      return true;
    }
    Error(where, field,
          absl::StrCat("expected true or false, got '", node.IsScalar() ? node.Scalar() : "?", "'"),
          node);
    return false;
  }

  // A sequence of scalars (e.g. item ids).
  std::vector<std::string> StringList(const YAML::Node& map, const std::string& where,
                                      const char* field, bool required) {
    std::vector<std::string> out;
    const YAML::Node node = map[field];
    if (!node.IsDefined() || node.IsNull()) {
      if (required) Error(where, field, "is required", map);
      return out;
    }
    if (!node.IsSequence()) {
      Error(where, field, "expected a list", node);
      return out;
    }
    for (const YAML::Node& element : node) {
      if (!element.IsScalar()) {
        Error(where, field, "expected a list of ids", element);
        continue;
      }
      out.push_back(element.Scalar());
    }
    return out;
  }

  Aggregation Method(const YAML::Node& map, const std::string& where) {
    std::string method;
    if (!String(map, where, "method", &method, false) || method == "mean") {
      return Aggregation::kMean;
    }
    if (method == "sum") return Aggregation::kSum;
    Error(where, "method", absl::StrCat("expected mean or sum, got '", method, "'"), map["method"]);
    return Aggregation::kMean;
  }

  Item ParseItem(const YAML::Node& node, size_t index) {
    Item item;
    std::string where = absl::StrCat("items[", index, "]");
    if (!node.IsMap()) {
      Error(where, "", "expected a map with id, label, type, ...", node);
      return item;
    }
    if (String(node, where, "id", &item.id, true)) {
      where = absl::StrCat("item '", item.id, "'");
    }
    CheckKeys(node, where,
              {"id", "label", "type", "min", "max", "integer", "required", "options",
               "qualtrics_import_id", "column", "labels", "min_label", "max_label",
               "max_length"});
    String(node, where, "label", &item.label, true);
    std::string type;
    if (String(node, where, "type", &type, true)) {
      if (type == "likert") {
        item.type = ItemType::kLikert;
      } else if (type == "numeric") {
        item.type = ItemType::kNumeric;
      } else if (type == "single_choice") {
        item.type = ItemType::kSingleChoice;
      } else if (type == "free_text") {
        item.type = ItemType::kFreeText;
      } else {
        Error(
            where, "type",
            absl::StrCat("expected likert, numeric, single_choice or free_text, got '", type, "'"),
            node["type"]);
      }
    }
    const bool ranged = item.type == ItemType::kLikert || item.type == ItemType::kNumeric;
    if (ranged) {
      Number(node, where, "min", &item.min, true);
      Number(node, where, "max", &item.max, true);
    } else {
      for (const char* field : {"min", "max"}) {
        if (node[field].IsDefined()) {
          Error(where, field, absl::StrCat("a ", ItemTypeName(item.type), " item has no ", field),
                node[field]);
        }
      }
    }
    if (Bool(node, where, "integer", &item.integer) && item.type != ItemType::kNumeric) {
      Error(where, "integer", "only a numeric item takes `integer`", node["integer"]);
    }
    Bool(node, where, "required", &item.required);
    String(node, where, "qualtrics_import_id", &item.qualtrics_import_id, false);
    String(node, where, "column", &item.column, false);
    const YAML::Node options = node["options"];
    if (options.IsDefined() && !options.IsNull()) {
      if (!options.IsSequence()) {
        Error(where, "options", "expected a list of {code, label, score}", options);
      } else {
        for (size_t i = 0; i < options.size(); ++i) {
          const YAML::Node option_node = options[i];
          const std::string option_where = absl::StrCat(where, ", options[", i, "]");
          ChoiceOption option;
          if (!option_node.IsMap()) {
            Error(option_where, "", "expected a map with code, label and score", option_node);
            continue;
          }
          CheckKeys(option_node, option_where, {"code", "label", "score"});
          String(option_node, option_where, "code", &option.code, true);
          String(option_node, option_where, "label", &option.label, true);
          double score = 0;
          if (Number(option_node, option_where, "score", &score, false)) option.score = score;
          item.options.push_back(std::move(option));
        }
      }
    }
    ParseLabels(node["labels"], where, item);
    for (const char* field : {"min_label", "max_label"}) {
      std::string* out = field == std::string_view("min_label") ? &item.min_label : &item.max_label;
      if (String(node, where, field, out, false) && item.type != ItemType::kLikert) {
        Error(where, field, "only a likert item has anchor labels", node[field]);
      }
    }
    if (Int(node, where, "max_length", &item.max_length, false)) {
      if (item.type != ItemType::kFreeText) {
        Error(where, "max_length", "only a free_text item takes `max_length`", node["max_length"]);
      } else if (item.max_length < 1 || item.max_length > kMaxFreeTextLength) {
        Error(where, "max_length",
              absl::StrCat("expected 1 to ", kMaxFreeTextLength, " characters, got ",
                           item.max_length),
              node["max_length"]);
      }
    }
    return item;
  }

  // `labels: [Never, Rarely, ...]` names a Likert item's points from min up; `labels: {Never:
  // "0", ...}` maps each text to its code, for any item type.
  void ParseLabels(const YAML::Node& node, const std::string& where, Item& item) {
    if (!node.IsDefined() || node.IsNull()) return;
    if (node.IsMap()) {
      for (const auto& entry : node) {
        if (!entry.first.IsScalar() || !entry.second.IsScalar()) {
          Error(where, "labels", "expected label: code pairs", entry.first);
          continue;
        }
        item.labels.push_back({entry.first.Scalar(), entry.second.Scalar()});
      }
      return;
    }
    if (!node.IsSequence()) {
      Error(where, "labels", "expected a list of labels or a map of label: code", node);
      return;
    }
    if (item.type != ItemType::kLikert) {
      Error(where, "labels",
            "a list of labels needs a likert item (one label per point from min to max); "
            "otherwise map each label to its code",
            node);
      return;
    }
    const double points = item.max - item.min + 1;
    if (static_cast<double>(node.size()) != points) {
      Error(
          where, "labels",
          absl::StrCat("expected one label per point from ", FormatNumber(item.min), " to ",
                       FormatNumber(item.max), " (", FormatNumber(points), "), got ", node.size()),
          node);
      return;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar()) {
        Error(where, "labels", "expected a list of texts", node[i]);
        continue;
      }
      item.labels.push_back({node[i].Scalar(), FormatNumber(item.min + static_cast<double>(i))});
    }
  }

  Scale ParseScale(const YAML::Node& node, size_t index) {
    Scale scale;
    std::string where = absl::StrCat("scales[", index, "]");
    if (!node.IsMap()) {
      Error(where, "", "expected a map with id, items, ...", node);
      return scale;
    }
    if (String(node, where, "id", &scale.id, true)) {
      where = absl::StrCat("scale '", scale.id, "'");
    }
    CheckKeys(node, where, {"id", "label", "items", "reverse", "method", "min_answered"});
    String(node, where, "label", &scale.label, false);
    scale.items = StringList(node, where, "items", true);
    scale.reverse_items = StringList(node, where, "reverse", false);
    scale.method = Method(node, where);
    if (!Int(node, where, "min_answered", &scale.min_answered, false)) {
      scale.min_answered = static_cast<int>(scale.items.size());
    }
    return scale;
  }

  Composite ParseComposite(const YAML::Node& node, size_t index) {
    Composite composite;
    std::string where = absl::StrCat("composites[", index, "]");
    if (!node.IsMap()) {
      Error(where, "", "expected a map with id, components, ...", node);
      return composite;
    }
    if (String(node, where, "id", &composite.id, true)) {
      where = absl::StrCat("composite '", composite.id, "'");
    }
    CheckKeys(node, where, {"id", "label", "components", "method", "min_components"});
    String(node, where, "label", &composite.label, false);
    composite.method = Method(node, where);
    const YAML::Node components = node["components"];
    if (!components.IsDefined() || components.IsNull()) {
      Error(where, "components", "is required", node);
    } else if (!components.IsSequence()) {
      Error(where, "components", "expected a list of {scale, weight}", components);
    } else {
      for (size_t i = 0; i < components.size(); ++i) {
        const YAML::Node c = components[i];
        const std::string c_where = absl::StrCat(where, ", components[", i, "]");
        CompositeComponent component;
        if (!c.IsMap()) {
          Error(c_where, "", "expected a map with scale and weight", c);
          continue;
        }
        CheckKeys(c, c_where, {"scale", "weight"});
        String(c, c_where, "scale", &component.scale, true);
        Number(c, c_where, "weight", &component.weight, false);
        composite.components.push_back(std::move(component));
      }
    }
    if (!Int(node, where, "min_components", &composite.min_components, false)) {
      composite.min_components = static_cast<int>(composite.components.size());
    }
    return composite;
  }

  Page ParsePage(const YAML::Node& node, size_t index) {
    Page page;
    const std::string where = absl::StrCat("pages[", index, "]");
    if (!node.IsMap()) {
      Error(where, "", "expected a map with title and items", node);
      return page;
    }
    CheckKeys(node, where, {"title", "items", "text", "text_by_arm", "block", "decisions"});
    String(node, where, "title", &page.title, false);
    String(node, where, "text", &page.text, false);
    String(node, where, "block", &page.block, false);
    // A page repeating over a decision block lists no items of its own.
    const bool repeats = String(node, where, "decisions", &page.decisions, false);
    page.items = StringList(node, where, "items", !repeats);
    page.text_by_arm = ParseArmTexts(node, where);
    return page;
  }

  // text_by_arm: {factor: F, texts: {arm: text, ...}}
  ArmTexts ParseArmTexts(const YAML::Node& map, const std::string& where) {
    ArmTexts out;
    const YAML::Node node = map["text_by_arm"];
    if (!node.IsDefined() || node.IsNull()) return out;
    const std::string here = absl::StrCat(where, " text_by_arm");
    if (!node.IsMap()) {
      Error(where, "text_by_arm", "expected a map with factor and texts", node);
      return out;
    }
    CheckKeys(node, here, {"factor", "texts"});
    String(node, here, "factor", &out.factor, true);
    out.texts = StringMap(node, here, "texts", true);
    return out;
  }

  // A map of names to texts (arm -> text, attribute -> value).
  std::map<std::string, std::string, std::less<>> StringMap(const YAML::Node& map,
                                                            const std::string& where,
                                                            const char* field, bool required) {
    std::map<std::string, std::string, std::less<>> out;
    const YAML::Node node = map[field];
    if (!node.IsDefined() || node.IsNull()) {
      if (required) Error(where, field, "is required", map);
      return out;
    }
    if (!node.IsMap()) {
      Error(where, field, "expected a map of names to texts", node);
      return out;
    }
    for (const auto& entry : node) {
      if (!entry.first.IsScalar() || !entry.second.IsScalar()) {
        Error(where, field, "expected a map of names to texts", entry.first);
        continue;
      }
      out[entry.first.Scalar()] = entry.second.Scalar();
    }
    return out;
  }

  DecisionBlock ParseDecisionBlock(const YAML::Node& node, size_t index) {
    DecisionBlock block;
    std::string where = absl::StrCat("decisions[", index, "]");
    if (!node.IsMap()) {
      Error(where, "", "expected a map with id, items, stimuli_factor and stimuli", node);
      return block;
    }
    if (String(node, where, "id", &block.id, true)) where = absl::StrCat("decisions '", block.id, "'");
    CheckKeys(node, where,
              {"id", "items", "cases", "stimuli_factor", "stimuli", "per_page", "qualtrics_loop"});
    block.items = StringList(node, where, "items", true);
    block.cases = StringList(node, where, "cases", false);
    String(node, where, "stimuli_factor", &block.stimuli_factor, true);
    block.stimuli = ParseList<Stimulus>(node, "stimuli", true, [&](const YAML::Node& n, size_t i) {
      Stimulus stimulus;
      const std::string at = absl::StrCat(where, " stimuli[", i, "]");
      if (!n.IsMap()) {
        Error(at, "", "expected a map with id, text and attributes", n);
        return stimulus;
      }
      CheckKeys(n, at, {"id", "text", "attributes"});
      String(n, at, "id", &stimulus.id, true);
      String(n, at, "text", &stimulus.text, true);
      stimulus.attributes = StringMap(n, at, "attributes", false);
      return stimulus;
    }, where);
    const YAML::Node loop = node["qualtrics_loop"];
    if (loop.IsDefined() && !loop.IsNull()) {
      const std::string at = absl::StrCat(where, " qualtrics_loop");
      if (!loop.IsMap()) {
        Error(where, "qualtrics_loop",
              "expected a map with question, stimulus_column and attribute_columns", loop);
      } else {
        CheckKeys(loop, at, {"question", "stimulus_column", "attribute_columns"});
        String(loop, at, "question", &block.qualtrics_loop.question, true);
        String(loop, at, "stimulus_column", &block.qualtrics_loop.stimulus_column, false);
        block.qualtrics_loop.attribute_columns = StringMap(loop, at, "attribute_columns", false);
      }
    }
    const YAML::Node per_page = node["per_page"];
    if (per_page.IsDefined() && !per_page.IsNull()) {
      const std::string at = absl::StrCat(where, " per_page");
      if (!per_page.IsMap()) {
        Error(where, "per_page", "expected a map with factor and counts", per_page);
        return block;
      }
      CheckKeys(per_page, at, {"factor", "counts"});
      String(per_page, at, "factor", &block.per_page_factor, true);
      for (const auto& [arm, text] : StringMap(per_page, at, "counts", true)) {
        std::optional<double> count = ParseNumber(text);
        if (!count.has_value() || *count < 1 || *count > 100 || *count != std::floor(*count)) {
          Error(at, "counts", absl::StrCat("arm '", arm, "': expected a whole number from 1 to 100, got '", text, "'"), per_page);
          continue;
        }
        block.per_page[arm] = static_cast<int>(*count);
      }
    }
    return block;
  }

  template <typename T, typename F>
  std::vector<T> ParseList(const YAML::Node& root, const char* field, bool required, F parse,
                           const std::string& where = "") {
    std::vector<T> out;
    const YAML::Node node = root[field];
    if (!node.IsDefined() || node.IsNull()) {
      if (required) Error(where, field, "is required", root);
      return out;
    }
    if (!node.IsSequence()) {
      Error(where, field, "expected a list", node);
      return out;
    }
    for (size_t i = 0; i < node.size(); ++i) out.push_back(parse(node[i], i));
    return out;
  }

 private:
  std::string instrument_ = "(unnamed)";
  std::vector<DefinitionError> errors_;
};

}  // namespace

absl::StatusOr<Instrument> ParseInstrumentYaml(absl::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    // yaml-cpp 0.7 also refuses a '?' in an unquoted text inside {...} ("unknown token").
    return absl::InvalidArgumentError(
        absl::StrCat("instrument definition is not valid YAML: ", e.msg, " (line ", e.mark.line + 1,
                     "); inside {...}, quote any text containing '?', ':', ',' or '#'"));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        "instrument definition: expected a YAML map with id, version, items, ...");
  }
  Parser parser;
  Instrument instrument;
  try {
    const bool has_id = parser.String(root, "", "id", &instrument.id, true);
    const bool has_version = parser.Int(root, "", "version", &instrument.version, true);
    parser.SetInstrumentName(has_version ? instrument.Name()
                                         : (has_id ? instrument.id : std::string("(no id)")));
    // Errors found so far were named "(unnamed)"; name them now that the id is known.
    for (DefinitionError& error : parser.errors()) error.instrument = parser.instrument();
    parser.CheckKeys(root, "",
                     {"id", "version", "title", "description", "introduction", "privacy",
                      "language", "missing_codes", "items", "pages", "blocks_ordered_by",
                      "decisions", "scales", "composites"});
    parser.String(root, "", "title", &instrument.title, false);
    parser.String(root, "", "description", &instrument.description, false);
    parser.String(root, "", "introduction", &instrument.introduction, false);
    parser.String(root, "", "privacy", &instrument.privacy, false);
    parser.String(root, "", "language", &instrument.language, false);
    instrument.missing_codes = parser.StringList(root, "", "missing_codes", false);
    instrument.items = parser.ParseList<Item>(
        root, "items", true, [&](const YAML::Node& n, size_t i) { return parser.ParseItem(n, i); });
    instrument.pages = parser.ParseList<Page>(
        root, "pages", false,
        [&](const YAML::Node& n, size_t i) { return parser.ParsePage(n, i); });
    parser.String(root, "", "blocks_ordered_by", &instrument.blocks_ordered_by, false);
    instrument.decisions = parser.ParseList<DecisionBlock>(
        root, "decisions", false,
        [&](const YAML::Node& n, size_t i) { return parser.ParseDecisionBlock(n, i); });
    instrument.scales = parser.ParseList<Scale>(
        root, "scales", false,
        [&](const YAML::Node& n, size_t i) { return parser.ParseScale(n, i); });
    instrument.composites = parser.ParseList<Composite>(
        root, "composites", false,
        [&](const YAML::Node& n, size_t i) { return parser.ParseComposite(n, i); });
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("instrument ", instrument.Name(), ": ", e.msg,
                                                   " (line ", e.mark.line + 1, ")"));
  }
  std::vector<DefinitionError> errors = std::move(parser.errors());
  // Validate the definition itself only once it parsed: a type error would otherwise be
  // reported twice (e.g. a missing min as both "required" and "min >= max").
  if (errors.empty()) errors = ValidateInstrument(instrument);
  if (absl::Status status = ErrorsToStatus(errors); !status.ok()) return status;
  return instrument;
}

}  // namespace fieldwork::survey_ingest

#include "services/survey_ingest/domain/scoring.h"

#include <cmath>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/survey_ingest/domain/number_format.h"

namespace fieldwork::survey_ingest {

size_t TextLength(absl::string_view text) {
  size_t n = 0;  // every byte that does not continue a UTF-8 sequence starts a code point
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

namespace {


template <typename T>
const T* FindById(const std::vector<T>& list, absl::string_view id, std::string T::*member) {
  for (const T& element : list) {
    if (element.*member == id) return &element;
  }
  return nullptr;
}

std::string CodeList(const Item& item) {
  std::string out;
  constexpr size_t kShown = 12;
  for (size_t i = 0; i < item.options.size() && i < kShown; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", item.options[i].code);
  }
  if (item.options.size() > kShown) absl::StrAppend(&out, ", ...");
  return out;
}

}  // namespace

const ItemValue* ScoredResponse::FindItem(absl::string_view item_id) const {
  return FindById(items, item_id, &ItemValue::item_id);
}

const ScaleScore* ScoredResponse::FindScale(absl::string_view scale_id) const {
  return FindById(scales, scale_id, &ScaleScore::scale_id);
}

const CompositeScore* ScoredResponse::FindComposite(absl::string_view composite_id) const {
  return FindById(composites, composite_id, &CompositeScore::composite_id);
}

absl::StatusOr<Scorer> Scorer::Create(Instrument instrument) {
  if (absl::Status status = ErrorsToStatus(ValidateInstrument(instrument)); !status.ok()) {
    return status;
  }
  return Scorer(std::move(instrument));
}

Scorer::Scorer(Instrument instrument) : instrument_(std::move(instrument)) {
  for (size_t i = 0; i < instrument_.items.size(); ++i) {
    item_index_.emplace(instrument_.items[i].id, static_cast<int>(i));
  }
  for (const Scale& scale : instrument_.scales) {
    ScalePlan plan;
    for (const std::string& item_id : scale.items) {
      plan.items.push_back(ItemIndex(item_id));
      bool reverse = false;
      for (const std::string& r : scale.reverse_items) reverse = reverse || r == item_id;
      plan.reverse.push_back(reverse);
    }
    scale_plans_.push_back(std::move(plan));
  }
  for (const Composite& composite : instrument_.composites) {
    CompositePlan plan;
    for (const CompositeComponent& component : composite.components) {
      for (size_t s = 0; s < instrument_.scales.size(); ++s) {
        if (instrument_.scales[s].id == component.scale) plan.scales.push_back(static_cast<int>(s));
      }
    }
    composite_plans_.push_back(std::move(plan));
  }
}

int Scorer::ItemIndex(absl::string_view item_id) const {
  auto it = item_index_.find(item_id);
  return it == item_index_.end() ? -1 : it->second;
}

void Scorer::ScoreItem(int index, const RawRef& raw, bool enforce_required, ItemValue& out,
                       std::vector<FieldError>& errors) const {
  const Item& item = instrument_.items[static_cast<size_t>(index)];
  out.item_id = item.id;
  absl::string_view text;
  double number = 0;
  bool is_number = false;
  bool missing = false;
  if (std::holds_alternative<std::monostate>(raw)) {
    missing = true;
  } else if (const auto* t = std::get_if<absl::string_view>(&raw)) {
    text = *t;
    missing = TrimBlanks(text).empty();
  } else {
    number = std::get<double>(raw);
    is_number = true;
  }
  if (missing) {
    if (item.required && enforce_required) {
      errors.push_back({item.id, "missing required item", std::string(text)});
    }
    return;
  }
  out.raw = is_number ? FormatNumber(number) : std::string(text);

  switch (item.type) {
    case ItemType::kFreeText: {
      // Characters, not bytes: the limit a form states and a browser's maxlength enforce.
      if (item.max_length > 0 && TextLength(out.raw) > static_cast<size_t>(item.max_length)) {
        errors.push_back(
            {item.id, absl::StrCat("longer than ", item.max_length, " characters"), out.raw});
        return;
      }
      out.answered = true;
      out.text = out.raw;
      return;
    }
    case ItemType::kSingleChoice: {
      const std::string code = is_number ? FormatNumber(number) : std::string(TrimBlanks(text));
      const ChoiceOption* chosen = nullptr;
      for (const ChoiceOption& option : item.options) {
        if (option.code == code) chosen = &option;
      }
      // Exports made with "use choice text" carry the label instead of the code.
      for (size_t i = 0; chosen == nullptr && i < item.options.size(); ++i) {
        if (item.options[i].label == code) chosen = &item.options[i];
      }
      if (chosen == nullptr) {
        errors.push_back({item.id,
                          absl::StrCat("unknown code (expected one of: ", CodeList(item), ")"),
                          out.raw});
        return;
      }
      out.answered = true;
      out.text = chosen->code;
      out.number = chosen->score;
      return;
    }
    case ItemType::kLikert:
    case ItemType::kNumeric: {
      std::optional<double> value;
      if (is_number) {
        if (std::isfinite(number)) value = number;
      } else {
        value = ParseNumber(text);
      }
      if (!value.has_value()) {
        errors.push_back({item.id, "not a number", out.raw});
        return;
      }
      const bool whole = item.type == ItemType::kLikert || item.integer;
      if (whole && std::floor(*value) != *value) {
        errors.push_back({item.id,
                          absl::StrCat("not a whole number (expected ", FormatNumber(item.min),
                                       "..", FormatNumber(item.max), ")"),
                          out.raw});
        return;
      }
      if (*value < item.min || *value > item.max) {
        errors.push_back(
            {item.id,
             absl::StrCat("out of range ", FormatNumber(item.min), "..", FormatNumber(item.max)),
             out.raw});
        return;
      }
      out.answered = true;
      out.number = *value;
      return;
    }
  }
}

ScoringResult Scorer::Score(const RawResponse& response, const ScoreOptions& options) const {
  std::vector<RawRef> aligned(instrument_.items.size());
  std::vector<FieldError> unknown;
  for (const auto& [item_id, value] : response) {
    const int index = ItemIndex(item_id);
    if (index < 0) {
      const std::string raw = std::holds_alternative<double>(value)
                                  ? FormatNumber(std::get<double>(value))
                                  : std::get<std::string>(value);
      unknown.push_back({item_id,
                         absl::StrCat("unknown item (not in instrument ", instrument_.Name(), ")"),
                         raw});
      continue;
    }
    if (const auto* text = std::get_if<std::string>(&value)) {
      aligned[static_cast<size_t>(index)] = absl::string_view(*text);
    } else {
      aligned[static_cast<size_t>(index)] = std::get<double>(value);
    }
  }
  ScoringResult result = ScoreAligned(aligned, options);
  for (FieldError& error : unknown) result.errors.push_back(std::move(error));
  return result;
}

ScoringResult Scorer::ScoreAligned(std::span<const RawRef> raw, const ScoreOptions& options) const {
  ScoringResult result;
  ScoredResponse& scored = result.scored;
  const size_t n_items = instrument_.items.size();
  scored.items.resize(n_items);
  for (size_t i = 0; i < n_items; ++i) {
    const RawRef none;
    ScoreItem(static_cast<int>(i), i < raw.size() ? raw[i] : none, options.enforce_required,
              scored.items[i], result.errors);
  }

  scored.scales.resize(instrument_.scales.size());
  for (size_t s = 0; s < instrument_.scales.size(); ++s) {
    const Scale& scale = instrument_.scales[s];
    const ScalePlan& plan = scale_plans_[s];
    ScaleScore& out = scored.scales[s];
    out.scale_id = scale.id;
    out.items = static_cast<int>(plan.items.size());
    double sum = 0;
    for (size_t k = 0; k < plan.items.size(); ++k) {
      const size_t index = static_cast<size_t>(plan.items[k]);
      const ItemValue& value = scored.items[index];
      if (!value.answered || !value.number.has_value()) continue;
      const Item& item = instrument_.items[index];
      const double x =
          plan.reverse[k] ? item.ScoreMin() + item.ScoreMax() - *value.number : *value.number;
      sum += x;
      ++out.answered;
    }
    if (out.answered >= scale.min_answered && out.answered > 0) {
      out.value = scale.method == Aggregation::kMean ? sum / out.answered : sum;
    }
  }
  ScoreComposites(scored, options.norms);
  return result;
}

void Scorer::ScoreComposites(ScoredResponse& scored, const ScaleNorms* norms) const {
  scored.composites.assign(instrument_.composites.size(), CompositeScore{});
  for (size_t c = 0; c < instrument_.composites.size(); ++c) {
    const Composite& composite = instrument_.composites[c];
    const CompositePlan& plan = composite_plans_[c];
    CompositeScore& out = scored.composites[c];
    out.composite_id = composite.id;
    if (norms == nullptr) {
      out.missing_reason = "no reference norms supplied";
      continue;
    }
    double weighted = 0;
    double weights = 0;
    std::string problems;
    for (size_t k = 0; k < plan.scales.size(); ++k) {
      const Scale& scale = instrument_.scales[static_cast<size_t>(plan.scales[k])];
      const double weight = composite.components[k].weight;
      const auto s = static_cast<size_t>(plan.scales[k]);
      const ScaleScore* score = s < scored.scales.size() && scored.scales[s].scale_id == scale.id
                                    ? &scored.scales[s]
                                    : scored.FindScale(scale.id);
      if (score == nullptr || !score->value.has_value()) {
        absl::StrAppend(&problems, problems.empty() ? "" : "; ", "scale '", scale.id,
                        "' is missing");
        continue;
      }
      auto norm = norms->find(scale.id);
      if (norm == norms->end()) {
        absl::StrAppend(&problems, problems.empty() ? "" : "; ", "no reference norm for scale '",
                        scale.id, "'");
        continue;
      }
      if (!std::isfinite(norm->second.mean) || !std::isfinite(norm->second.sd) ||
          norm->second.sd <= 0) {
        absl::StrAppend(&problems, problems.empty() ? "" : "; ", "the reference norm for scale '",
                        scale.id, "' needs a finite mean and a positive SD");
        continue;
      }
      const double z = (*score->value - norm->second.mean) / norm->second.sd;
      weighted += weight * z;
      weights += std::fabs(weight);
      ++out.available;
    }
    if (out.available < composite.min_components) {
      out.missing_reason =
          absl::StrCat(out.available, " of ", plan.scales.size(), " components available, ",
                       composite.min_components, " needed: ", problems);
      continue;
    }
    out.value = composite.method == Aggregation::kMean ? weighted / weights : weighted;
  }
}

RawResponse RawAnswers(const ScoredResponse& scored) {
  RawResponse out;
  for (const ItemValue& item : scored.items) {
    if (!item.raw.empty()) out.emplace(item.item_id, item.raw);
  }
  return out;
}

ScaleNorms ComputeNorms(const Instrument& instrument, std::span<const ScoredResponse> responses) {
  ScaleNorms norms;
  std::vector<double> values;
  for (const Scale& scale : instrument.scales) {
    values.clear();
    for (const ScoredResponse& response : responses) {
      const ScaleScore* score = response.FindScale(scale.id);
      if (score != nullptr && score->value.has_value()) values.push_back(*score->value);
    }
    if (std::optional<Norm> norm = NormOf(values)) norms.emplace(scale.id, *norm);
  }
  return norms;
}

std::optional<Norm> NormOf(std::span<const double> values) {
  if (values.size() < 2) return std::nullopt;
  // Long double and a correction pass, as R's mean() and var(), so that reference values
  // computed in R agree to the last few bits.
  const auto n = static_cast<long double>(values.size());
  long double mean = 0;
  for (double x : values) mean += x;
  mean /= n;
  long double correction = 0;
  for (double x : values) correction += x - mean;
  mean += correction / n;
  long double squares = 0;
  for (double x : values) squares += (x - mean) * (x - mean);
  const double sd = std::sqrt(static_cast<double>(squares / (n - 1)));
  if (!(sd > 0) || !std::isfinite(sd)) return std::nullopt;
  return Norm{static_cast<double>(mean), sd};
}

}  // namespace fieldwork::survey_ingest

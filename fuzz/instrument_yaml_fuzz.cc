// Fuzzes the instrument YAML loader. Checks, beyond not crashing: failures are
// INVALID_ARGUMENT with a message; an accepted instrument is valid (ValidateInstrument finds
// nothing, a Scorer can be made), reads the same twice, and scores an answer to every item
// (its lowest whole or decimal value as allowed, or its first option) without error.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "fuzz/check.h"
#include "services/survey_ingest/domain/instrument.h"
#include "services/survey_ingest/domain/instrument_yaml.h"
#include "services/survey_ingest/domain/scoring.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fieldwork::survey_ingest;  // NOLINT(build/namespaces): a fuzz entry point
  using fieldwork::fuzz::Check;
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Instrument> instrument = ParseInstrumentYaml(yaml);
  if (!instrument.ok()) {
    Check(instrument.status().code() == absl::StatusCode::kInvalidArgument &&
              !instrument.status().message().empty(),
          "a rejected instrument is INVALID_ARGUMENT with a reason", instrument.status().ToString());
    return 0;
  }
  Check(ValidateInstrument(*instrument).empty(), "an accepted instrument is valid");
  absl::StatusOr<Instrument> again = ParseInstrumentYaml(yaml);
  Check(again.ok() && SameDefinition(*instrument, *again), "the same text reads the same twice");

  absl::StatusOr<Scorer> scorer = Scorer::Create(*instrument);
  Check(scorer.ok(), "an accepted instrument makes a Scorer", scorer.status().ToString());
  RawResponse answers;
  for (const Item& item : instrument->items) {
    switch (item.type) {
      case ItemType::kLikert:
      case ItemType::kNumeric:
        answers[item.id] = item.type == ItemType::kLikert || item.integer ? std::ceil(item.min)
                                                                          : item.min;
        break;
      case ItemType::kSingleChoice:
        answers[item.id] = item.options.front().code;
        break;
      case ItemType::kFreeText:
        answers[item.id] = std::string("text");
        break;
    }
  }
  const ScoringResult scored = scorer->Score(answers);
  Check(scored.errors.empty(), "an answer to every item at its minimum (or first option) scores",
        absl::StrJoin(scored.errors, "; ", [](std::string* out, const auto& e) {
          out->append(e.field + ": " + e.reason);
        }));
  return 0;
}

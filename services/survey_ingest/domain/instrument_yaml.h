// Reads instrument definitions from YAML text (the format of examples/instruments/*.yaml).
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_INSTRUMENT_YAML_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_INSTRUMENT_YAML_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/survey_ingest/domain/instrument.h"

namespace fieldwork::survey_ingest {

// Parses one instrument from a YAML document and validates it (ValidateInstrument).
// The format, field by field:
//
//   id: ons4                      # required; letters, digits, '_', '-', '.'
//   version: 1                    # required; >= 1
//   title: ...                    # optional
//   description: ...              # optional; for researchers, never shown to respondents
//   introduction: ...             # optional: the hosted form's text above the first page
//   privacy: ...                  # optional: the form's privacy line, under every page
//   language: en-GB               # optional, default en: the form's lang
//   missing_codes: ["-99", "-98"] # optional: answers that mean "no answer" in an import
//   items:                        # required, at least one
//     - id: life_satisfaction     # required, unique
//       label: ...                # required: the question as asked
//       type: likert              # likert | numeric | single_choice | free_text
//       min: 0                    # likert, numeric
//       max: 10                   # likert, numeric
//       integer: false            # numeric only: whole numbers only
//       required: false           # default false
//       qualtrics_import_id: QID1 # optional; matched before the column name
//       column: Q1                # optional; default the item id
//       labels: [Never, ..., Always]  # optional, likert: one text per point from min to max
//       labels: {Never: "0", Always: "10"}  # or any item but free text: text -> code
//       min_label: Not at all     # optional, likert: the form's words at the ends
//       max_label: Completely
//       max_length: 500           # optional, free_text: longest answer in characters
//       options:                  # single_choice only
//         - {code: "1", label: Progress to interview, score: 1}
//   pages:                        # optional: the form's pages; default one page of all items
//     - {title: About you, items: [life_satisfaction]}   # every item on exactly one page
//   scales:                       # optional
//     - id: evaluative
//       label: ...
//       items: [life_satisfaction, worthwhile]
//       reverse: []               # items scored min + max - x
//       method: mean              # mean | sum (default mean)
//       min_answered: 1           # default: every item
//   composites:                   # optional
//     - id: subjective_wellbeing
//       label: ...
//       method: mean              # mean | sum (default mean)
//       min_components: 2         # default: every component
//       components:
//         - {scale: evaluative, weight: 1}
//         - {scale: anxiety, weight: -1}
//
// Inside a {flow: map}, quote texts containing '?', ':', ',' or '#' (yaml-cpp 0.7 rejects
// `{label: Why?, ...}`); in block style they need no quotes.
// Unknown fields are errors (a misspelt `reverse` must not silently score a scale the wrong
// way). On failure the status is INVALID_ARGUMENT and lists every problem, each naming the
// instrument, the item/scale/composite, the field and, for YAML problems, the line.
absl::StatusOr<Instrument> ParseInstrumentYaml(absl::string_view yaml);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_INSTRUMENT_YAML_H_

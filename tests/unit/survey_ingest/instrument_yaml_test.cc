#include "services/survey_ingest/domain/instrument_yaml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fieldwork::survey_ingest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(InstrumentYamlTest, ParsesEveryField) {
  const absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(R"yaml(
id: wb
version: 3
title: Well-being
description: A test
items:
  - id: sat
    label: Satisfied?
    type: likert
    min: 0
    max: 10
    required: true
    qualtrics_import_id: QID7
  - id: days
    label: Days off
    type: numeric
    min: 0
    max: 92
    integer: true
    column: SA_days
  - id: pick
    label: Progress?
    type: single_choice
    options:
      - {code: 1, label: "Yes", score: 1}
      - {code: 0, label: "No", score: 0}
  - {id: note, label: "Anything else?", type: free_text}
scales:
  - id: s
    label: Sat
    items: [sat]
  - {id: d, items: [days, pick], reverse: [pick], method: sum}
composites:
  - id: c
    method: mean
    min_components: 1
    components:
      - {scale: s, weight: -0.5}
      - {scale: d}
)yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const Instrument& i = *parsed;
  EXPECT_EQ(i.Name(), "wb v3");
  EXPECT_EQ(i.title, "Well-being");
  ASSERT_EQ(i.items.size(), 4u);
  EXPECT_EQ(i.items[0].type, ItemType::kLikert);
  EXPECT_TRUE(i.items[0].required);
  EXPECT_EQ(i.items[0].qualtrics_import_id, "QID7");
  EXPECT_EQ(i.items[0].ColumnName(), "sat");
  EXPECT_EQ(i.items[1].type, ItemType::kNumeric);
  EXPECT_TRUE(i.items[1].integer);
  EXPECT_EQ(i.items[1].max, 92);
  EXPECT_EQ(i.items[1].ColumnName(), "SA_days");
  ASSERT_EQ(i.items[2].options.size(), 2u);
  EXPECT_EQ(i.items[2].options[1].code, "0");
  EXPECT_EQ(i.items[2].options[1].score, 0.0);
  EXPECT_EQ(i.items[3].type, ItemType::kFreeText);
  EXPECT_EQ(i.scales[0].min_answered, 1);  // default: every item
  EXPECT_EQ(i.scales[1].method, Aggregation::kSum);
  EXPECT_EQ(i.scales[1].min_answered, 2);
  EXPECT_EQ(i.scales[1].reverse_items, std::vector<std::string>{"pick"});
  ASSERT_EQ(i.composites[0].components.size(), 2u);
  EXPECT_EQ(i.composites[0].components[0].weight, -0.5);
  EXPECT_EQ(i.composites[0].components[1].weight, 1.0);  // default
  EXPECT_EQ(i.composites[0].min_components, 1);
}

TEST(InstrumentYamlTest, ErrorsNameInstrumentItemFieldAndLine) {
  const absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(R"yaml(
id: wb
version: 1
items:
  - id: sat
    label: Satisfied?
    type: likert
    min: zero
    max: 10
  - id: anx
    label: Anxious?
    type: lickert
    min: 0
    max: 10
  - id: worth
    label: Worthwhile?
    type: likert
    min: 0
    max: 10
    reversed: true
)yaml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(parsed.status().message());
  EXPECT_THAT(message, HasSubstr("instrument wb v1, item 'sat', field 'min': expected a number, "
                                 "got 'zero' (line 8)"));
  EXPECT_THAT(message, HasSubstr("instrument wb v1, item 'anx', field 'type': expected likert, "
                                 "numeric, single_choice or free_text, got 'lickert' (line 12)"));
  EXPECT_THAT(message,
              HasSubstr("instrument wb v1, item 'worth', field 'reversed': unknown field"));
}

TEST(InstrumentYamlTest, DefinitionErrorsAfterParsing) {
  const absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(R"yaml(
id: wb
version: 1
items:
  - {id: a, label: A, type: likert, min: 5, max: 1}
  - {id: a, label: A again, type: likert, min: 1, max: 5}
scales:
  - {id: s, items: [a, b], reverse: [c]}
)yaml");
  ASSERT_FALSE(parsed.ok());
  const std::string message(parsed.status().message());
  EXPECT_THAT(message, HasSubstr("item 'a', field 'max': must be greater than min (min 5, max 1)"));
  EXPECT_THAT(message, HasSubstr("item 'a', field 'id': duplicate item id 'a'"));
  EXPECT_THAT(message, HasSubstr("scale 's', field 'items': unknown item 'b'"));
  EXPECT_THAT(message,
              HasSubstr("scale 's', field 'reverse': item 'c' is not one of the scale's items"));
}

TEST(InstrumentYamlTest, StructuralProblems) {
  EXPECT_THAT(std::string(ParseInstrumentYaml("id: [unclosed").status().message()),
              HasSubstr("not valid YAML"));
  EXPECT_THAT(std::string(ParseInstrumentYaml("- a\n- b\n").status().message()),
              HasSubstr("expected a YAML map"));
  const std::string missing(ParseInstrumentYaml("title: x\n").status().message());
  EXPECT_THAT(missing, HasSubstr("field 'id': is required"));
  EXPECT_THAT(missing, HasSubstr("field 'version': is required"));
  EXPECT_THAT(missing, HasSubstr("field 'items': is required"));
  EXPECT_THAT(
      std::string(ParseInstrumentYaml("id: x\nversion: 1.5\nitems: []\n").status().message()),
      HasSubstr("field 'version': expected a whole number, got 1.5"));
  EXPECT_THAT(std::string(ParseInstrumentYaml(
                              "id: x\nversion: 1\nitems:\n  - {id: a, label: A, type: free_text, "
                              "min: 1}\n")
                              .status()
                              .message()),
              HasSubstr("item 'a', field 'min': a free_text item has no min"));
  EXPECT_THAT(std::string(ParseInstrumentYaml("id: x\nversion: 1\nitems:\n  - {id: a, label: A, "
                                              "type: likert, min: 1, max: 5, required: yes}\n")
                              .status()
                              .message()),
              HasSubstr("field 'required': expected true or false, got 'yes'"));
  EXPECT_THAT(std::string(ParseInstrumentYaml("id: x\nversion: 1\nitems:\n  - {id: a, label: A, "
                                              "type: likert, min: 1, max: 5}\nscales:\n  - {id: "
                                              "s, items: [a], method: median}\n")
                              .status()
                              .message()),
              HasSubstr("scale 's', field 'method': expected mean or sum, got 'median'"));
}

// Labels (a list per Likert point, or a map of text to code) and missing-value codes parse,
// and the traps they open are refused: a label for an invalid code, a list of the wrong
// length, a missing code that is a real answer.
TEST(InstrumentYamlTest, LabelsAndMissingCodes) {
  const absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(R"yaml(
id: att
version: 1
missing_codes: ["-99", "-98"]
items:
  - {id: a, label: A, type: likert, min: 0, max: 2, labels: [Never, Sometimes, Always]}
  - id: b
    label: B
    type: single_choice
    options: [{code: x, label: X}, {code: y, label: Y}]
    labels: {Ex: x, Why: y}
)yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->missing_codes, (std::vector<std::string>{"-99", "-98"}));
  ASSERT_EQ(parsed->items[0].labels.size(), 3u);
  EXPECT_EQ(parsed->items[0].labels[2].label, "Always");
  EXPECT_EQ(parsed->items[0].labels[2].code, "2");
  ASSERT_EQ(parsed->items[1].labels.size(), 2u);
  EXPECT_EQ(parsed->items[1].labels[1].label, "Why");
  EXPECT_EQ(parsed->items[1].labels[1].code, "y");

  const std::string message(ParseInstrumentYaml(R"yaml(
id: att
version: 1
missing_codes: ["3", "-99"]
items:
  - {id: a, label: A, type: likert, min: 1, max: 5, labels: [Low, High]}
  - {id: b, label: B, type: numeric, min: 0, max: 10, labels: {Lots: "11", lots: "10"}}
  - {id: c, label: C, type: free_text, labels: {Hi: hi}}
  - {id: d, label: D, type: single_choice, options: [{code: x, label: X}], labels: [X]}
)yaml")
                                .status()
                                .message());
  EXPECT_THAT(message, HasSubstr("item 'a', field 'labels': expected one label per point from 1 "
                                 "to 5 (5), got 2"));
  EXPECT_THAT(message, HasSubstr("item 'd', field 'labels': a list of labels needs a likert item"));
  const std::string valid(ParseInstrumentYaml(R"yaml(
id: att
version: 1
missing_codes: ["3", "-99"]
items:
  - {id: b, label: B, type: numeric, min: 0, max: 10, labels: {Lots: "11", lots: "10"}}
  - {id: c, label: C, type: free_text, labels: {Hi: hi}}
)yaml")
                              .status()
                              .message());
  EXPECT_THAT(valid, HasSubstr("field 'missing_codes': code '3' is a valid answer to item 'b'"));
  EXPECT_THAT(valid, HasSubstr("item 'b', field 'labels': label 'Lots' stands for '11', which is "
                               "not a valid answer to the item"));
  EXPECT_THAT(valid, HasSubstr("item 'b', field 'labels': label 'lots' is declared twice"));
  EXPECT_THAT(valid, HasSubstr("item 'c', field 'labels': a free_text item has no labels"));
}

}  // namespace
}  // namespace fieldwork::survey_ingest

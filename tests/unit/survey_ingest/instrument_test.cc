#include "services/survey_ingest/domain/instrument.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fieldwork::survey_ingest {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Item Likert(std::string id, double min = 1, double max = 5) {
  Item item;
  item.id = std::move(id);
  item.label = "label of " + item.id;
  item.type = ItemType::kLikert;
  item.min = min;
  item.max = max;
  return item;
}

Instrument Valid() {
  Instrument instrument;
  instrument.id = "wb";
  instrument.version = 1;
  instrument.items = {Likert("a"), Likert("b"), Likert("c")};
  Scale scale;
  scale.id = "s";
  scale.items = {"a", "b", "c"};
  scale.reverse_items = {"b"};
  scale.min_answered = 2;
  instrument.scales.push_back(scale);
  Composite composite;
  composite.id = "comp";
  composite.components = {{"s", -1}};
  composite.min_components = 1;
  instrument.composites.push_back(composite);
  return instrument;
}

std::vector<std::string> Messages(const Instrument& instrument) {
  std::vector<std::string> out;
  for (const DefinitionError& error : ValidateInstrument(instrument)) {
    out.push_back(error.ToString());
  }
  return out;
}

TEST(InstrumentTest, ValidInstrumentHasNoErrors) { EXPECT_THAT(Messages(Valid()), IsEmpty()); }

TEST(InstrumentTest, UnknownItemInScaleNamesInstrumentScaleAndField) {
  Instrument instrument = Valid();
  instrument.scales[0].items.push_back("nope");
  EXPECT_THAT(Messages(instrument),
              Contains("instrument wb v1, scale 's', field 'items': unknown item 'nope'"));
}

TEST(InstrumentTest, MinMustBeBelowMax) {
  Instrument instrument = Valid();
  instrument.items[1].min = 5;
  EXPECT_THAT(Messages(instrument),
              Contains("instrument wb v1, item 'b', field 'max': must be greater than min "
                       "(min 5, max 5)"));
  instrument.items[1].min = 1;
  instrument.items[1].max = 4.5;
  EXPECT_THAT(Messages(instrument), Contains(HasSubstr("field 'max': must be a whole number")));
}

TEST(InstrumentTest, DuplicateIds) {
  Instrument instrument = Valid();
  instrument.items.push_back(Likert("a"));
  instrument.scales.push_back(instrument.scales[0]);
  instrument.composites[0].id = "s";
  const std::vector<std::string> messages = Messages(instrument);
  EXPECT_THAT(messages, Contains(HasSubstr("duplicate item id 'a'")));
  EXPECT_THAT(messages, Contains(HasSubstr("duplicate scale id 's'")));
  EXPECT_THAT(messages, Contains(HasSubstr("id 's' is already used by a scale or composite")));
}

TEST(InstrumentTest, ScaleRules) {
  Instrument instrument = Valid();
  Scale& scale = instrument.scales[0];
  scale.reverse_items = {"b", "zz"};
  scale.min_answered = 4;
  std::vector<std::string> messages = Messages(instrument);
  EXPECT_THAT(messages,
              Contains(HasSubstr("field 'reverse': item 'zz' is not one of the scale's items")));
  EXPECT_THAT(messages, Contains(HasSubstr("field 'min_answered': must be between 1 and the number "
                                           "of items (3), got 4")));
  scale.reverse_items = {"b"};
  scale.min_answered = 2;
  scale.method = Aggregation::kSum;
  EXPECT_THAT(Messages(instrument), Contains(HasSubstr("a sum needs every item answered")));
}

TEST(InstrumentTest, OnlyScorableItemsInScales) {
  Instrument instrument = Valid();
  Item text;
  text.id = "t";
  text.label = "Anything else?";
  text.type = ItemType::kFreeText;
  Item choice;
  choice.id = "ch";
  choice.label = "Pick";
  choice.type = ItemType::kSingleChoice;
  choice.options = {{"1", "yes", 1.0}, {"2", "no", std::nullopt}};
  instrument.items.push_back(text);
  instrument.items.push_back(choice);
  instrument.scales[0].items = {"a", "b", "t", "ch"};
  const std::vector<std::string> messages = Messages(instrument);
  EXPECT_THAT(messages, Contains(HasSubstr("item 't' is free text and cannot be scored")));
  EXPECT_THAT(messages, Contains(HasSubstr("options do not all have a score")));
}

TEST(InstrumentTest, ChoiceItemsNeedDistinctCodes) {
  Instrument instrument = Valid();
  Item choice;
  choice.id = "ch";
  choice.label = "Pick";
  choice.type = ItemType::kSingleChoice;
  choice.options = {{"1", "yes", 1.0}, {"1", "no", 0.0}};
  instrument.items.push_back(choice);
  EXPECT_THAT(Messages(instrument),
              Contains("instrument wb v1, item 'ch', field 'options[1].code': duplicate code '1'"));
  instrument.items.back().options.clear();
  EXPECT_THAT(Messages(instrument), Contains(HasSubstr("needs at least one option")));
}

TEST(InstrumentTest, CompositeRules) {
  Instrument instrument = Valid();
  instrument.composites[0].components = {{"s", 0}, {"missing", 1}, {"s", 1}};
  instrument.composites[0].min_components = 5;
  const std::vector<std::string> messages = Messages(instrument);
  EXPECT_THAT(messages, Contains(HasSubstr("components[0].weight': must be a finite, non-zero")));
  EXPECT_THAT(messages, Contains(HasSubstr("components[1].scale': unknown scale 'missing'")));
  EXPECT_THAT(messages, Contains(HasSubstr("components[2].scale': scale 's' is listed twice")));
  EXPECT_THAT(messages, Contains(HasSubstr("field 'min_components'")));
}

TEST(InstrumentTest, ColumnsAndImportIdsAreUnique) {
  Instrument instrument = Valid();
  instrument.items[0].qualtrics_import_id = "QID1";
  instrument.items[1].qualtrics_import_id = "QID1";
  instrument.items[2].column = "a";
  const std::vector<std::string> messages = Messages(instrument);
  EXPECT_THAT(messages, Contains(HasSubstr("ImportId 'QID1' is already used by item 'a'")));
  EXPECT_THAT(messages, Contains(HasSubstr("column 'a' is already used by item 'a'")));
}

TEST(InstrumentTest, InstrumentFields) {
  Instrument instrument = Valid();
  instrument.id = "has space";
  instrument.version = 0;
  const std::vector<std::string> messages = Messages(instrument);
  EXPECT_THAT(messages, Contains(HasSubstr("field 'id': may only contain")));
  EXPECT_THAT(messages, Contains(HasSubstr("field 'version': must be 1 or more, got 0")));
}

TEST(InstrumentTest, VersionCompatibilityKeepsItemMeaning) {
  const Instrument v1 = Valid();
  Instrument v2 = Valid();
  v2.version = 2;
  v2.items.push_back(Likert("d"));       // added: fine
  v2.items.erase(v2.items.begin() + 2);  // c dropped: fine
  v2.scales[0].items = {"a", "b", "d"};
  EXPECT_THAT(CheckVersionCompatibility(v1, v2), IsEmpty());

  v2.items[0].max = 7;  // a now 1..7
  v2.items[1].type = ItemType::kNumeric;
  std::vector<std::string> messages;
  for (const DefinitionError& e : CheckVersionCompatibility(v1, v2))
    messages.push_back(e.ToString());
  EXPECT_THAT(
      messages,
      Contains(HasSubstr("item 'a', field 'min/max': range changed from 1..5 in v1 to 1..7")));
  EXPECT_THAT(messages,
              Contains(HasSubstr("item 'b', field 'type': changed from likert in v1 to numeric")));

  Instrument same_version = Valid();
  EXPECT_THAT(CheckVersionCompatibility(v1, same_version),
              Contains(::testing::Field(&DefinitionError::field, "version")));
}

TEST(InstrumentTest, CatalogKeepsVersionsAndIsIdempotent) {
  InstrumentCatalog catalog;
  ASSERT_TRUE(catalog.Add(Valid()).ok());
  EXPECT_TRUE(catalog.Add(Valid()).ok());  // same definition again: no-op

  Instrument changed = Valid();
  changed.items[0].label = "reworded";
  EXPECT_EQ(catalog.Add(changed).code(), absl::StatusCode::kAlreadyExists);

  Instrument v2 = Valid();
  v2.version = 2;
  v2.items[0].label = "reworded";
  ASSERT_TRUE(catalog.Add(v2).ok());
  Instrument v3 = Valid();
  v3.version = 3;
  v3.items[0].max = 10;
  EXPECT_EQ(catalog.Add(v3).code(), absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(catalog.Get("wb", 1).ok());
  EXPECT_EQ((*catalog.Get("wb", 1))->items[0].label, "label of a");
  EXPECT_EQ((*catalog.Latest("wb"))->version, 2);
  EXPECT_EQ(catalog.Get("wb", 9).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(catalog.Get("nope", 1).status().code(), absl::StatusCode::kNotFound);

  Instrument invalid = Valid();
  invalid.id = "other";
  invalid.items.clear();
  EXPECT_EQ(catalog.Add(invalid).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog.Latest("other").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fieldwork::survey_ingest

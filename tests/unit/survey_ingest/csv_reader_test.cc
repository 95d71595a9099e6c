#include "services/survey_ingest/domain/csv_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fieldwork::survey_ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Read {
  std::vector<CsvRecord> records;
  std::vector<CsvError> errors;
};

Read ReadAll(absl::string_view data) {
  Read out;
  CsvReader reader(data);
  CsvRecord record;
  CsvError error;
  while (true) {
    const CsvReader::Result result = reader.Next(record, error);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kRecord) {
      out.records.push_back(record);
    } else {
      out.errors.push_back(error);
    }
  }
  return out;
}

TEST(CsvReaderTest, PlainRecordsWithLf) {
  const Read r = ReadAll("a,b,c\n1,2,3\n");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_THAT(r.records[0].fields, ElementsAre("a", "b", "c"));
  EXPECT_THAT(r.records[1].fields, ElementsAre("1", "2", "3"));
  EXPECT_EQ(r.records[0].line, 1);
  EXPECT_EQ(r.records[1].line, 2);
  EXPECT_EQ(r.records[1].raw, "1,2,3");
}

TEST(CsvReaderTest, CrlfCrAndNoFinalNewline) {
  const Read r = ReadAll("a,b\r\n1,2\r3,4\r\n5,6");
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_THAT(r.records[1].fields, ElementsAre("1", "2"));
  EXPECT_THAT(r.records[2].fields, ElementsAre("3", "4"));
  EXPECT_THAT(r.records[3].fields, ElementsAre("5", "6"));
  EXPECT_EQ(r.records[3].line, 4);
  EXPECT_EQ(r.records[1].raw, "1,2");  // no CR left on the raw text
}

TEST(CsvReaderTest, Utf8BomIsSkipped) {
  const Read r = ReadAll("\xEF\xBB\xBFStartDate,EndDate\r\nx,y\r\n");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].fields[0], "StartDate");
  // Only a leading BOM is special.
  const Read inner = ReadAll("a\n\xEF\xBB\xBFx\n");
  EXPECT_EQ(inner.records[1].fields[0], "\xEF\xBB\xBFx");
}

TEST(CsvReaderTest, QuotedFieldsWithCommasDoubledQuotesAndNewlines) {
  const std::string data =
      "id,comment,score\r\n"
      "1,\"Hello, world\",5\r\n"
      "2,\"She said \"\"thanks\"\"\",4\r\n"
      "3,\"line one\r\nline two\nline three\",3\r\n"
      "4,\"\",\"\"\r\n"
      "5,ok,2\r\n";
  const Read r = ReadAll(data);
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.records.size(), 6u);
  EXPECT_THAT(r.records[1].fields, ElementsAre("1", "Hello, world", "5"));
  EXPECT_THAT(r.records[2].fields, ElementsAre("2", "She said \"thanks\"", "4"));
  // Embedded line breaks are kept as written.
  EXPECT_THAT(r.records[3].fields, ElementsAre("3", "line one\r\nline two\nline three", "3"));
  EXPECT_EQ(r.records[3].line, 4);
  EXPECT_EQ(r.records[3].end_line, 6);
  EXPECT_THAT(r.records[4].fields, ElementsAre("4", "", ""));
  // Physical lines keep counting after a multi-line record.
  EXPECT_EQ(r.records[4].line, 7);
  EXPECT_EQ(r.records[5].line, 8);
}

TEST(CsvReaderTest, EmptyFieldsTrailingCommaAndBlankLines) {
  const Read r = ReadAll("a,,c,\n\n\r\n,\n");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_THAT(r.records[0].fields, ElementsAre("a", "", "c", ""));
  EXPECT_THAT(r.records[1].fields, ElementsAre("", ""));
  EXPECT_EQ(r.records[1].line, 4);  // blank lines 2 and 3 are skipped, but counted
}

TEST(CsvReaderTest, RaggedRowsAreReadAsTheyAre) {
  // Field counts are the importer's business; the reader reports what is there.
  const Read r = ReadAll("a,b,c\n1,2\n1,2,3,4\n");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[1].fields.size(), 2u);
  EXPECT_EQ(r.records[2].fields.size(), 4u);
}

// A quote never closed that swallows the rows after it is found before anything is read for
// real; one left open on the last line, or quoted fields that span lines, are not.
TEST(CsvReaderTest, ARunawayQuoteIsFoundWithTheLinesItSwallows) {
  EXPECT_EQ(FindRunawayQuote("a,b\n\"x,1\nok,2\n\nok,3\n"),
            "line 2: field 1: a quoted field opened on line 2 is never closed: the 2 line(s) "
            "after it would be read as part of it");
  EXPECT_EQ(FindRunawayQuote("a,b\r\nok,1\r\nok,\"2\r\n"), std::nullopt);
  EXPECT_EQ(FindRunawayQuote("a,b\nok,\"two\nlines\"\n\"x\"y,3\nok,4\n"), std::nullopt);
  EXPECT_EQ(FindRunawayQuote(""), std::nullopt);
}

TEST(CsvReaderTest, MalformedRecordsAreErrorsAndReadingResumes) {
  const std::string data =
      "a,b\n"
      "\"x\"y,1\n"  // text after the closing quote
      "ok,2\n"
      "ab\"c,3\n"  // quote inside an unquoted field
      "ok,4\n"
      "\"never closed,5\n"  // swallows the rest of the input
      "ok,6\n";
  const Read r = ReadAll(data);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("field 1: text after the closing quote"));
  EXPECT_EQ(r.errors[0].raw, "\"x\"y,1");
  EXPECT_EQ(r.errors[1].line, 4);
  EXPECT_THAT(r.errors[1].reason, HasSubstr("quote inside an unquoted field"));
  EXPECT_EQ(r.errors[2].line, 6);
  EXPECT_THAT(r.errors[2].reason, HasSubstr("opened on line 6 is never closed"));
  EXPECT_EQ(r.errors[2].raw, "\"never closed,5\nok,6\n");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_THAT(r.records[1].fields, ElementsAre("ok", "2"));
  EXPECT_EQ(r.records[1].line, 3);
  EXPECT_THAT(r.records[2].fields, ElementsAre("ok", "4"));
  EXPECT_EQ(r.records[2].line, 5);
}

TEST(CsvReaderTest, QuoteAndAppendRoundTrip) {
  const std::vector<std::string> fields = {"plain", "a,b", "say \"hi\"", "two\nlines", "", " pad"};
  std::string out;
  AppendCsvRecord(out, fields);
  EXPECT_EQ(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,\" pad\"\r\n");
  const Read r = ReadAll(out);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].fields, fields);
}

}  // namespace
}  // namespace fieldwork::survey_ingest

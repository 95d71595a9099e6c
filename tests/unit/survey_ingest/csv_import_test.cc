#include "services/survey_ingest/domain/csv_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "services/survey_ingest/domain/content_hash.h"
#include "services/survey_ingest/domain/instrument_yaml.h"
#include "services/survey_ingest/domain/timestamp.h"

namespace fieldwork::survey_ingest {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;
using ::testing::SizeIs;

constexpr absl::string_view kInstrument = R"yaml(
id: wb
version: 1
items:
  - {id: sat, label: "Satisfied?", type: likert, min: 0, max: 10, required: true,
     qualtrics_import_id: QID1}
  - id: worn
    label: Worn out?
    type: single_choice
    qualtrics_import_id: QID2_1
    options:
      - {code: "0", label: Never, score: 0}
      - {code: "50", label: Sometimes, score: 50}
      - {code: "100", label: Always, score: 100}
  - {id: mood, label: Mood, type: likert, min: 1, max: 5}
  - {id: comment, label: "Anything else?", type: free_text, qualtrics_import_id: QID9_TEXT}
scales:
  - {id: wellbeing, label: W, items: [sat, mood], min_answered: 1}
)yaml";

Scorer MakeScorer() {
  absl::StatusOr<Instrument> instrument = ParseInstrumentYaml(kInstrument);
  EXPECT_TRUE(instrument.ok()) << instrument.status();
  return *Scorer::Create(*std::move(instrument));
}

std::string Lines(std::initializer_list<absl::string_view> lines, absl::string_view eol = "\r\n") {
  std::string out;
  for (absl::string_view line : lines) absl::StrAppend(&out, line, eol);
  return out;
}

// A Qualtrics export (UTF-8 BOM, CRLF) with three header rows.
const std::string kQualtricsHeader =
    "\xEF\xBB\xBF" +
    Lines(
        {"StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,"
         "RecordedDate,ResponseId,RecipientEmail,ExternalReference,Q1,Q2_1,mood,Q9_TEXT",
         "Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,"
         "Recorded Date,Response ID,Recipient Email,External Data Reference,"
         "\"How satisfied are you, overall?\",Worn out - at the end of the day,Mood,"
         "\"Anything else? (\"\"optional\"\")\"",
         R"("{""ImportId"":""startDate"",""timeZone"":""UTC""}",)"
         R"("{""ImportId"":""endDate"",""timeZone"":""UTC""}",)"
         R"("{""ImportId"":""status""}","{""ImportId"":""ipAddress""}",)"
         R"("{""ImportId"":""progress""}","{""ImportId"":""duration""}",)"
         R"("{""ImportId"":""finished""}","{""ImportId"":""recordedDate"",""timeZone"":""UTC""}",)"
         R"("{""ImportId"":""_recordId""}","{""ImportId"":""recipientEmail""}",)"
         R"("{""ImportId"":""externalDataReference""}","{""ImportId"":""QID1""}",)"
         R"("{""ImportId"":""QID2_1""}","{""ImportId"":""QID5""}","{""ImportId"":""QID9_TEXT""}")"});

TEST(CsvImportTest, QualtricsExportRowByRow) {
  const Scorer scorer = MakeScorer();
  const std::string content =
      kQualtricsHeader +
      Lines({
          // line 4: good
          "2021-03-04 10:15:00,2021-03-04 10:20:30,0,,100,330,1,2021-03-04 10:20:31,R_good,,P001,"
          "7,50,4,\"Fine, thanks\"",
          // line 5: out of range, non-numeric, unknown code
          "2021-03-04 11:00:00,2021-03-04 11:05:00,0,,100,300,1,2021-03-04 11:05:01,R_bad,,P002,"
          "11,33,high,",
          // line 6-7: good, comment spans two lines; email present (to be blanked)
          "2021-03-05 09:00:00,2021-03-05 09:10:00,0,10.0.0.1,100,600,True,2021-03-05 09:10:01,"
          "R_multi,someone@example.org,P003,0,100,,\"first line\r\nsecond line\"",
          // line 8: unfinished
          "2021-03-05 12:00:00,2021-03-05 12:01:00,0,,40,60,0,2021-03-06 12:01:00,R_part,,P004,"
          "5,,,",
          // line 9: ragged
          "2021-03-05 12:00:00,2021-03-05 12:01:00,0,,100,60,1",
          // line 10: no participant, missing required item, bad date
          "yesterday,2021-03-05 12:01:00,0,,100,60,1,2021-03-05 12:01:00,R_anon,,,,0,3,",
          // line 11: good, after all the bad ones
          "2021-03-06 08:00:00,2021-03-06 08:05:00,0,,100,300,1,2021-03-06 08:05:01,R_last,,P005,"
          "10,0,5,",
      });
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->layout, CsvLayout::kQualtrics);
  EXPECT_EQ(result->content_sha256, Sha256Hex(content));
  EXPECT_THAT(result->unknown_columns, IsEmpty());
  EXPECT_THAT(result->unmapped_items, IsEmpty());
  EXPECT_THAT(result->warnings, IsEmpty());

  // Columns: items by ImportId, then by name; Qualtrics metadata known.
  const std::vector<ImportColumn>& columns = result->columns;
  ASSERT_EQ(columns.size(), 15u);
  EXPECT_EQ(columns[0].role, ColumnRole::kStartDate);
  EXPECT_EQ(columns[0].time_zone, "UTC");
  EXPECT_EQ(columns[2].role, ColumnRole::kMetadata);
  EXPECT_EQ(columns[3].role, ColumnRole::kPersonalData);
  EXPECT_EQ(columns[5].role, ColumnRole::kMetadata);
  EXPECT_EQ(columns[8].role, ColumnRole::kResponseId);
  EXPECT_EQ(columns[10].role, ColumnRole::kParticipant);
  EXPECT_EQ(columns[11].item_id, "sat");
  EXPECT_EQ(columns[11].matched_by, MatchedBy::kImportId);
  EXPECT_EQ(columns[11].question, "How satisfied are you, overall?");
  EXPECT_EQ(columns[12].item_id, "worn");
  EXPECT_EQ(columns[13].item_id, "mood");
  EXPECT_EQ(columns[13].matched_by, MatchedBy::kName);
  EXPECT_EQ(columns[14].item_id, "comment");
  EXPECT_EQ(columns[14].question, "Anything else? (\"optional\")");

  ASSERT_EQ(result->rows.size(), 7u);
  EXPECT_EQ(result->accepted(), 3u);
  EXPECT_EQ(result->rejected(), 4u);

  const ImportedRow& good = result->rows[0];
  EXPECT_EQ(good.line, 4);
  ASSERT_TRUE(good.response.has_value());
  const ImportedResponse& r = *good.response;
  EXPECT_EQ(r.participant_id, "P001");
  EXPECT_EQ(r.submission_id, "R_good");
  EXPECT_TRUE(r.submission_id_from_source);
  EXPECT_EQ(r.start_date,
            absl::FromCivil(absl::CivilSecond(2021, 3, 4, 10, 15, 0), absl::UTCTimeZone()));
  EXPECT_EQ(r.end_date,
            absl::FromCivil(absl::CivilSecond(2021, 3, 4, 10, 20, 30), absl::UTCTimeZone()));
  EXPECT_EQ(r.recorded_date,
            absl::FromCivil(absl::CivilSecond(2021, 3, 4, 10, 20, 31), absl::UTCTimeZone()));
  EXPECT_EQ(r.finished, true);
  EXPECT_EQ(r.progress, 100.0);
  EXPECT_FALSE(r.partial);
  const RawResponse answers = RawAnswers(r.scored);
  EXPECT_EQ(answers.size(), 4u);
  EXPECT_EQ(std::get<std::string>(answers.at("comment")), "Fine, thanks");
  EXPECT_EQ(std::get<std::string>(answers.at("sat")), "7");
  EXPECT_THAT(r.scored.FindScale("wellbeing")->value, Optional(5.5));
  EXPECT_EQ(r.scored.FindItem("worn")->text, "50");

  const ImportedRow& bad = result->rows[1];
  EXPECT_EQ(bad.line, 5);
  EXPECT_FALSE(bad.response.has_value());
  EXPECT_THAT(
      bad.errors,
      ElementsAre(AllOf(Field(&RowError::row, 5), Field(&RowError::field, "Q1"),
                        Field(&RowError::reason, "item 'sat': out of range 0..10"),
                        Field(&RowError::value, "11")),
                  AllOf(Field(&RowError::field, "Q2_1"),
                        Field(&RowError::reason, HasSubstr("item 'worn': unknown code")),
                        Field(&RowError::value, "33")),
                  AllOf(Field(&RowError::field, "mood"), Field(&RowError::reason, "not a number"),
                        Field(&RowError::value, "high"))));
  EXPECT_EQ(bad.raw,
            "2021-03-04 11:00:00,2021-03-04 11:05:00,0,,100,300,1,2021-03-04 11:05:01,R_bad,,P002,"
            "11,33,high,");

  const ImportedRow& multi = result->rows[2];
  EXPECT_EQ(multi.line, 6);
  ASSERT_TRUE(multi.response.has_value()) << multi.errors.front().reason;
  EXPECT_EQ(multi.response->scored.FindItem("comment")->text, "first line\r\nsecond line");
  EXPECT_THAT(multi.response->scored.FindScale("wellbeing")->value, Optional(0.0));
  // Personal data never reaches the raw content kept for rejects.
  EXPECT_THAT(multi.raw, Not(HasSubstr("someone@example.org")));
  EXPECT_THAT(multi.raw, Not(HasSubstr("10.0.0.1")));
  EXPECT_THAT(multi.raw, HasSubstr("R_multi"));

  const ImportedRow& partial = result->rows[3];
  EXPECT_EQ(partial.line, 8);
  EXPECT_THAT(partial.errors,
              ElementsAre(AllOf(Field(&RowError::field, "Finished"),
                                Field(&RowError::reason, "response not finished (progress 40%)"),
                                Field(&RowError::value, "0"))));

  const ImportedRow& ragged = result->rows[4];
  EXPECT_EQ(ragged.line, 9);
  EXPECT_THAT(
      ragged.errors,
      ElementsAre(AllOf(Field(&RowError::row, 9), Field(&RowError::field, ""),
                        Field(&RowError::reason, "the row has 7 fields, the header has 15"))));

  const ImportedRow& anon = result->rows[5];
  EXPECT_EQ(anon.line, 10);
  EXPECT_THAT(anon.errors,
              ElementsAre(Field(&RowError::field, "ExternalReference"),
                          AllOf(Field(&RowError::field, "StartDate"),
                                Field(&RowError::reason, HasSubstr("not a timestamp")),
                                Field(&RowError::value, "yesterday")),
                          AllOf(Field(&RowError::field, "Q1"),
                                Field(&RowError::reason, "item 'sat': missing required item"))));

  const ImportedRow& last = result->rows[6];
  EXPECT_EQ(last.line, 11);
  ASSERT_TRUE(last.response.has_value());
  EXPECT_EQ(last.response->participant_id, "P005");
}

TEST(CsvImportTest, PlainCsvWithHashSubmissionIds) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "participant";
  const std::string content = Lines(
      {"participant,sat,worn,mood,comment", "P1,5,0,3,", "P2,6,50,,\"hello, there\"", "P1,5,0,3,"},
      "\n");
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->layout, CsvLayout::kPlain);
  ASSERT_EQ(result->accepted(), 3u);
  const ImportedResponse& first = *result->rows[0].response;
  EXPECT_EQ(result->rows[0].line, 2);
  EXPECT_FALSE(first.submission_id_from_source);
  EXPECT_THAT(first.submission_id, HasSubstr("sha256:"));
  EXPECT_EQ(first.submission_id.size(), 7u + 64u);
  EXPECT_NE(first.submission_id, result->rows[1].response->submission_id);
  // The same answers again: the same id (a re-submission is a duplicate).
  EXPECT_EQ(first.submission_id, result->rows[2].response->submission_id);
  EXPECT_EQ(first.start_date, std::nullopt);
  EXPECT_EQ(first.finished, std::nullopt);

  // The id does not depend on column order or quoting.
  const std::string reordered =
      Lines({"comment,mood,worn,sat,participant", "\"\",\"3\",0,5,P1"}, "\r\n");
  const absl::StatusOr<ImportResult> again = ImportSurveyCsv(reordered, scorer, options);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->accepted(), 1u);
  EXPECT_EQ(again->rows[0].response->submission_id, first.submission_id);
  EXPECT_NE(again->content_sha256, result->content_sha256);
}

// A column of survey link tokens: each value resolved, as of the row's end date, else its
// recorded date, else its start date; a failure is the row's error on that column, the value
// not repeated.
TEST(CsvImportTest, AResolvedParticipantColumnIsResolvedAsOfTheRowsDate) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "t";
  std::vector<std::pair<std::string, std::optional<absl::Time>>> asked;
  options.resolve_participant = [&asked](absl::string_view token,
                                         std::optional<absl::Time> answered_at)
      -> absl::StatusOr<std::string> {
    asked.emplace_back(std::string(token), answered_at);
    if (token == "bad") return absl::InvalidArgumentError("not a valid survey link token");
    return absl::StrCat("P-", token);
  };
  const std::string content =
      Lines({"t,StartDate,EndDate,RecordedDate,sat", "a,2021-03-01 09:00,2021-03-01 10:00,2021-03-01 11:00,5",
             "b,2021-03-01 09:00,,2021-03-01 11:00,5", "c,2021-03-01 09:00,,,5", "d,,,,5",
             "bad,2021-03-01 09:00,,,5"},
             "\n");
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows.size(), 5u);
  EXPECT_EQ(result->rows[0].response->participant_id, "P-a");
  EXPECT_EQ(result->rows[3].response->participant_id, "P-d");
  const absl::Time day = absl::FromCivil(absl::CivilHour(2021, 3, 1, 0), absl::UTCTimeZone());
  ASSERT_EQ(asked.size(), 5u);
  EXPECT_EQ(asked[0].second, day + absl::Hours(10));  // end
  EXPECT_EQ(asked[1].second, day + absl::Hours(11));  // recorded
  EXPECT_EQ(asked[2].second, day + absl::Hours(9));   // start
  EXPECT_EQ(asked[3].second, std::nullopt);
  EXPECT_FALSE(result->rows[4].response.has_value());
  ASSERT_EQ(result->rows[4].errors.size(), 1u);
  EXPECT_EQ(result->rows[4].errors[0].field, "t");
  EXPECT_EQ(result->rows[4].errors[0].reason, "not a valid survey link token");
  EXPECT_EQ(result->rows[4].errors[0].value, "");
}

TEST(CsvImportTest, StreamingHandsOverEachRowInOrder) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "p";
  std::vector<int> lines;
  std::vector<bool> valid;
  const absl::StatusOr<ImportResult> result =
      ImportSurveyCsv("p,sat\nA,1\nB,x\nC,3\n", scorer, options, [&](ImportedRow row) {
        lines.push_back(row.line);
        valid.push_back(row.response.has_value());
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(lines, ElementsAre(2, 3, 4));
  EXPECT_THAT(valid, ElementsAre(true, false, true));
  EXPECT_THAT(result->rows, IsEmpty());
  EXPECT_EQ(result->accepted(), 2u);
  EXPECT_EQ(result->rejected(), 1u);
  // A whole-file error hands over nothing.
  int calls = 0;
  EXPECT_FALSE(
      ImportSurveyCsv("x,sat\nA,1\n", scorer, options, [&](ImportedRow) { ++calls; }).ok());
  EXPECT_EQ(calls, 0);
}

TEST(CsvImportTest, UnfinishedResponsesCanBeKeptAsPartial) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "pid";
  options.unfinished = UnfinishedPolicy::kKeepPartial;
  const std::string content = Lines(
      {"pid,Progress,Finished,sat,mood", "A,60,0,,2", "B,100,1,,2", "C,80,,4,", "D,abc,1,4,"});
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows.size(), 4u);
  // A: unfinished, required `sat` missing: kept, flagged partial.
  ASSERT_TRUE(result->rows[0].response.has_value());
  EXPECT_TRUE(result->rows[0].response->partial);
  EXPECT_EQ(result->rows[0].response->progress, 60.0);
  // B: finished, so `sat` is required.
  EXPECT_THAT(result->rows[1].errors,
              ElementsAre(AllOf(Field(&RowError::field, "sat"),
                                Field(&RowError::reason, "missing required item"))));
  // C: no Finished value; Progress below 100 means unfinished.
  ASSERT_TRUE(result->rows[2].response.has_value());
  EXPECT_TRUE(result->rows[2].response->partial);
  EXPECT_THAT(result->rows[3].errors, ElementsAre(AllOf(Field(&RowError::field, "Progress"),
                                                        Field(&RowError::value, "abc"))));
}

TEST(CsvImportTest, UnknownColumnsAreReported) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "pid";
  options.ignored_columns = {"site"};
  const std::string content = Lines(
      {"pid,sat,surprise,Q7_DO_1,site,Status,UserLanguage", "A,1,,x,s1,0,EN", "B,2,boo,x,s2,0,EN"});
  absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->unknown_columns, ElementsAre("surprise"));
  EXPECT_EQ(result->columns[3].role, ColumnRole::kDisplayOrder);  // known without listing
  EXPECT_EQ(result->columns[4].role, ColumnRole::kIgnored);
  EXPECT_EQ(result->columns[5].role, ColumnRole::kMetadata);
  EXPECT_EQ(result->columns[6].role, ColumnRole::kMetadata);
  EXPECT_THAT(result->unmapped_items, ElementsAre("worn", "mood", "comment"));
  EXPECT_THAT(result->warnings,
              ElementsAre(HasSubstr("no column for item(s) worn, mood, comment")));
  // A blank unknown cell loses nothing; a filled one is not dropped silently.
  EXPECT_TRUE(result->rows[0].response.has_value());
  EXPECT_THAT(result->rows[1].errors,
              ElementsAre(AllOf(Field(&RowError::field, "surprise"),
                                Field(&RowError::reason, HasSubstr("unknown column")),
                                // The flag that exists, not the `ignored_columns` that did not.
                                Field(&RowError::reason, HasSubstr("--ignore_columns")),
                                Field(&RowError::value, "boo"))));

  options.unknown_columns = UnknownColumnPolicy::kIgnore;
  result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->accepted(), 2u);
  EXPECT_THAT(result->unknown_columns, ElementsAre("surprise"));
}

TEST(CsvImportTest, ImportIdTakesPrecedenceOverName) {
  const Scorer scorer = MakeScorer();
  // Column "mood" carries sat's ImportId, so it is sat; the column named "sat" is then
  // unknown (ImportIds win); mood has no column.
  const std::string content = Lines(
      {"ExternalReference,mood,sat", "Participant,Mood?,Sat?",
       R"("{""ImportId"":""externalDataReference""}","{""ImportId"":""QID1""}","{""ImportId"":""QID77""}")",
       "P1,9,"});
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->columns[1].item_id, "sat");
  EXPECT_EQ(result->columns[1].matched_by, MatchedBy::kImportId);
  EXPECT_EQ(result->columns[2].role, ColumnRole::kUnknown);
  ASSERT_TRUE(result->rows[0].response.has_value());
  EXPECT_EQ(result->rows[0].line, 4);
  EXPECT_THAT(result->rows[0].response->scored.FindItem("sat")->number, Optional(9.0));
}

// The zone Qualtrics declares in the ImportId row is loaded from tzdata, so times are right on
// both sides of a clock change; an explicit offset still wins.
TEST(CsvImportTest, DeclaredTimeZonesFollowSummerTime) {
  const Scorer scorer = MakeScorer();
  auto export_in = [](absl::string_view zone) {
    return Lines({"StartDate,EndDate,RecordedDate,ExternalReference,sat",
                  "Start,End,Recorded,Ref,Sat",
                  absl::StrCat(R"("{""ImportId"":""startDate"",""timeZone"":"")", zone,
                               R"(""}","{""ImportId"":""endDate"",""timeZone"":"")", zone,
                               R"(""}","{""ImportId"":""recordedDate"",""timeZone"":"")", zone,
                               R"(""}","{""ImportId"":""externalDataReference""}",)"
                               R"("{""ImportId"":""QID1""}")"),
                  // BST (UTC+1), GMT, and an ISO time with its own offset.
                  "2021-06-01 10:00:00,2021-06-01 10:05:00,2021-06-01 10:05:01,P1,5",
                  "2021-01-15 10:00:00,2021-01-15 10:05:00,2021-01-15 10:05:01,P2,5",
                  "2021-06-01T10:00:00Z,2021-06-01T10:05:00Z,2021-06-01T10:05:01Z,P3,5"});
  };
  const absl::TimeZone utc = absl::UTCTimeZone();
  absl::StatusOr<ImportResult> result = ImportSurveyCsv(export_in("Europe/London"), scorer);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->accepted(), 3u);
  const ImportedResponse& summer = *result->rows[0].response;
  EXPECT_EQ(summer.start_date, absl::FromCivil(absl::CivilSecond(2021, 6, 1, 9, 0, 0), utc));
  EXPECT_EQ(summer.end_date, absl::FromCivil(absl::CivilSecond(2021, 6, 1, 9, 5, 0), utc));
  EXPECT_EQ(summer.recorded_date, absl::FromCivil(absl::CivilSecond(2021, 6, 1, 9, 5, 1), utc));
  EXPECT_EQ(result->rows[1].response->start_date,
            absl::FromCivil(absl::CivilSecond(2021, 1, 15, 10, 0, 0), utc));
  EXPECT_EQ(result->rows[2].response->start_date,
            absl::FromCivil(absl::CivilSecond(2021, 6, 1, 10, 0, 0), utc));

  // A zone tzdata does not know is a whole-file error naming the column and the zone.
  result = ImportSurveyCsv(export_in("Europe/Atlantis"), scorer);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              AllOf(HasSubstr("column 'StartDate' declares time zone 'Europe/Atlantis'"),
                    HasSubstr("not in the time-zone database")));
}

// Qualtrics' own previews are the survey's authors trying it: skipped and counted, never rows.
TEST(CsvImportTest, SurveyPreviewRowsAreSkippedAndCounted) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "pid";
  const std::string content = Lines({"pid,Status,DistributionChannel,sat",
                                     "P1,IP Address,anonymous,5",  // line 2: real
                                     "P2,Survey Preview,preview,5",
                                     "P3,1,email,5",        // status code 1: preview
                                     ",0,preview,",         // a preview without a participant
                                     "P4,0,anonymous,5"});  // line 6: real
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->preview_rows, 3u);
  EXPECT_EQ(result->accepted(), 2u);
  EXPECT_EQ(result->rejected(), 0u);
  ASSERT_THAT(result->rows, SizeIs(2));
  EXPECT_EQ(result->rows[0].line, 2);
  EXPECT_EQ(result->rows[1].line, 6);
}

// A ResponseId seen again for the same participant is the same response exported twice
// (reported with both lines); for another participant it is an error, not a silent drop.
TEST(CsvImportTest, RepeatedResponseIds) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "pid";
  const std::string content =
      Lines({"pid,ResponseId,sat", "P1,R_1,5", "P2,R_2,6", "P1,R_1,5", "P3,R_1,7", "P4,R_4,8"});
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_THAT(result->repeated, SizeIs(1));
  EXPECT_EQ(result->repeated[0].line, 4);
  EXPECT_EQ(result->repeated[0].first_line, 2);
  EXPECT_EQ(result->repeated[0].response_id, "R_1");
  EXPECT_EQ(result->accepted(), 3u);
  ASSERT_THAT(result->rows, SizeIs(4));
  EXPECT_EQ(result->rows[2].line, 5);
  EXPECT_THAT(result->rows[2].errors,
              ElementsAre(AllOf(Field(&RowError::row, 5), Field(&RowError::field, "ResponseId"),
                                Field(&RowError::reason,
                                      "duplicate response id: line 2 has the same id for "
                                      "participant P1"),
                                Field(&RowError::value, "R_1"))));
}

// Finished=True does not make a response complete when Progress says it stopped short.
TEST(CsvImportTest, FinishedAndProgressMustBothSayComplete) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "pid";
  const std::string content =
      Lines({"pid,Finished,Progress,sat", "A,True,60,5", "B,False,100,5", "C,True,100,5"});
  absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(
      result->rows[0].errors,
      ElementsAre(AllOf(Field(&RowError::field, "Progress"), Field(&RowError::value, "60"),
                        Field(&RowError::reason,
                              "response not finished: Finished is True but progress is 60%"))));
  EXPECT_THAT(result->rows[1].errors, ElementsAre(AllOf(Field(&RowError::field, "Finished"),
                                                        Field(&RowError::value, "False"))));
  EXPECT_TRUE(result->rows[2].response.has_value());

  options.unfinished = UnfinishedPolicy::kKeepPartial;
  result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->accepted(), 3u);
  EXPECT_TRUE(result->rows[0].response->partial);
  EXPECT_TRUE(result->rows[1].response->partial);
  EXPECT_FALSE(result->rows[2].response->partial);
}

// Missing-value codes and choice texts as the instrument declares them; display-order columns
// are known without being listed.
TEST(CsvImportTest, MissingCodesLabelsAndDisplayOrderColumns) {
  absl::StatusOr<Instrument> instrument = ParseInstrumentYaml(R"yaml(
id: att
version: 1
missing_codes: ["-99", "-98"]
items:
  - id: agree
    label: I like my job
    type: likert
    min: 1
    max: 5
    required: true
    labels: [Strongly disagree, Disagree, Neither, Agree, Strongly agree]
  - {id: hours, label: Hours, type: numeric, min: 0, max: 80, labels: {None: "0"}}
  - id: team
    label: Team
    type: single_choice
    options:
      - {code: "1", label: Alpha, score: 1}
      - {code: "2", label: Beta, score: 2}
    labels: {Alpha team: "1", Beta team: "2"}
scales:
  - {id: s, label: S, items: [agree, team], min_answered: 1}
)yaml");
  ASSERT_TRUE(instrument.ok()) << instrument.status();
  const Scorer scorer = *Scorer::Create(*std::move(instrument));
  ImportOptions options;
  options.participant_column = "pid";
  const std::string content = Lines(
      {"pid,agree,hours,team,Q5_DO,Q7_DO_1,FL_3_DO", "A,Strongly agree,None,beta team,4|1|2,x,y",
       "B, agree ,-98,2,,,", "C,-99,40,1,,,", "D,Quite agree,12,1,,,"});
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->unknown_columns, IsEmpty());
  EXPECT_EQ(result->columns[4].role, ColumnRole::kDisplayOrder);
  EXPECT_EQ(result->columns[5].role, ColumnRole::kDisplayOrder);
  EXPECT_EQ(result->columns[6].role, ColumnRole::kDisplayOrder);

  const ScoredResponse& a = result->rows[0].response->scored;
  EXPECT_THAT(a.FindItem("agree")->number, Optional(5.0));
  EXPECT_EQ(a.FindItem("agree")->raw, "5");
  EXPECT_THAT(a.FindItem("hours")->number, Optional(0.0));
  EXPECT_EQ(a.FindItem("team")->text, "2");
  const ScoredResponse& b = result->rows[1].response->scored;
  EXPECT_THAT(b.FindItem("agree")->number, Optional(4.0));
  EXPECT_FALSE(b.FindItem("hours")->answered);  // -98: declared missing, not out of range
  // -99 for a required item is a missing answer, not a value out of range.
  EXPECT_THAT(result->rows[2].errors,
              ElementsAre(AllOf(Field(&RowError::field, "agree"),
                                Field(&RowError::reason, "missing required item"))));
  // A text that is not a declared label is still an error.
  EXPECT_THAT(result->rows[3].errors, ElementsAre(AllOf(Field(&RowError::field, "agree"),
                                                        Field(&RowError::value, "Quite agree"))));
}

TEST(CsvImportTest, WholeFileProblems) {
  const Scorer scorer = MakeScorer();
  EXPECT_THAT(std::string(ImportSurveyCsv("", scorer).status().message()), HasSubstr("empty"));
  EXPECT_THAT(std::string(ImportSurveyCsv("\xEF\xBB\xBF\r\n", scorer).status().message()),
              HasSubstr("empty"));
  EXPECT_THAT(std::string(ImportSurveyCsv("pid,sat\nP1,3\n", scorer).status().message()),
              HasSubstr("no participant column 'ExternalReference'"));
  EXPECT_THAT(
      std::string(ImportSurveyCsv("\"ExternalReference\"x,sat\n", scorer).status().message()),
      HasSubstr("header row (line 1) is malformed"));
  ImportOptions options;
  options.participant_column = "pid";
  EXPECT_THAT(
      std::string(ImportSurveyCsv("pid,sat,sat\nP1,3,4\n", scorer, options).status().message()),
      HasSubstr("columns 'sat' and 'sat' both map to item 'sat'"));
  options.layout = CsvLayout::kQualtrics;
  EXPECT_THAT(
      std::string(ImportSurveyCsv("pid,sat\nP1,3\nP2,4\n", scorer, options).status().message()),
      HasSubstr("not a Qualtrics export"));
}

TEST(CsvImportTest, MalformedRecordsAndHeaderLikeDataInPlainFiles) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "pid";
  const std::string content = Lines({"pid,sat", "P1,\"3\"x", "P2,4", "\"P3,5"});
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, scorer, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rows.size(), 3u);
  EXPECT_THAT(result->rows[0].errors,
              ElementsAre(AllOf(Field(&RowError::row, 2),
                                Field(&RowError::reason, HasSubstr("malformed CSV record")))));
  EXPECT_EQ(result->rows[0].raw, "P1,\"3\"x");
  EXPECT_TRUE(result->rows[1].response.has_value());
  EXPECT_THAT(result->rows[2].errors, SizeIs(1));
  EXPECT_EQ(result->rows[2].line, 4);
}

// A quote never closed that would swallow the rows after it refuses the file before any row
// reaches the sink (which stores them in the service): nothing is imported up to it.
TEST(CsvImportTest, ARunawayQuoteRefusesTheFileBeforeAnyRowIsPassedOn) {
  const Scorer scorer = MakeScorer();
  ImportOptions options;
  options.participant_column = "pid";
  const std::string content = Lines({"pid,sat", "P1,3", "P2,4", "\"P3,5", "P4,6", "P5,7"});
  int passed_on = 0;
  const absl::StatusOr<ImportResult> result =
      ImportSurveyCsv(content, scorer, options, [&](ImportedRow) { ++passed_on; });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("line 4: field 1: a quoted field opened on line 4 is never closed: the 2 "
                        "line(s) after it would be read as part of it; nothing imported"));
  EXPECT_EQ(passed_on, 0);
}

TEST(CsvImportTest, CompositesUseTheSuppliedNorms) {
  absl::StatusOr<Instrument> instrument = ParseInstrumentYaml(R"yaml(
id: z
version: 1
items:
  - {id: a, label: A, type: likert, min: 0, max: 10}
  - {id: b, label: B, type: likert, min: 0, max: 10}
scales:
  - {id: sa, label: A, items: [a]}
  - {id: sb, label: B, items: [b]}
composites:
  - {id: c, label: C, components: [{scale: sa}, {scale: sb, weight: -1}]}
)yaml");
  ASSERT_TRUE(instrument.ok()) << instrument.status();
  const Scorer scorer = *Scorer::Create(*instrument);
  const ScaleNorms norms = {{"sa", {5, 2}}, {"sb", {4, 1}}};
  ImportOptions options;
  options.participant_column = "p";
  options.norms = &norms;
  const absl::StatusOr<ImportResult> result = ImportSurveyCsv("p,a,b\nX,9,3\n", scorer, options);
  ASSERT_TRUE(result.ok());
  // ((9 - 5) / 2 - (3 - 4) / 1) / 2 = 1.5
  EXPECT_THAT(result->rows[0].response->scored.FindComposite("c")->value, Optional(1.5));
}

TEST(TimestampTest, QualtricsAndIso8601) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time t = absl::FromCivil(absl::CivilSecond(2021, 3, 4, 10, 15, 0), utc);
  EXPECT_EQ(ParseSurveyTimestamp("2021-03-04 10:15:00", utc), t);
  EXPECT_EQ(ParseSurveyTimestamp(" 2021-03-04 10:15 ", utc), t);
  EXPECT_EQ(ParseSurveyTimestamp("2021-03-04T10:15:00Z", utc), t);
  EXPECT_EQ(ParseSurveyTimestamp("2021-03-04T11:15:00+01:00", utc), t);
  EXPECT_EQ(ParseSurveyTimestamp("2021-03-04T10:15:00.250Z", utc), t + absl::Milliseconds(250));
  EXPECT_EQ(ParseSurveyTimestamp("2021-03-04T10:15:00", absl::FixedTimeZone(-3600)),
            t + absl::Hours(1));
  EXPECT_EQ(ParseSurveyTimestamp("2021-02-30 10:00:00", utc), std::nullopt);
  EXPECT_EQ(ParseSurveyTimestamp("2021-02-28 24:00:00", utc), std::nullopt);
  EXPECT_EQ(ParseSurveyTimestamp("2021-02-28 10:0a:00", utc), std::nullopt);
  EXPECT_EQ(ParseSurveyTimestamp("2024-02-29 23:59:59", utc),
            absl::FromCivil(absl::CivilSecond(2024, 2, 29, 23, 59, 59), utc));
  EXPECT_EQ(ParseSurveyTimestamp("2021-03-04 10:15:00", absl::FixedTimeZone(3600)),
            t - absl::Hours(1));
  EXPECT_EQ(ParseSurveyTimestamp("04/03/2021 10:15", utc), std::nullopt);
  EXPECT_EQ(ParseSurveyTimestamp("2021-03-04 10:15:00 junk", utc), std::nullopt);
  EXPECT_EQ(ParseSurveyTimestamp("", utc), std::nullopt);
}

TEST(ContentHashTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_NE(PartsHasher().Add("ab").Add("c").HexDigest(),
            PartsHasher().Add("a").Add("bc").HexDigest());
}

}  // namespace
}  // namespace fieldwork::survey_ingest

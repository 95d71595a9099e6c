// Per-decision (long-format) data through ImportCsv (LAYOUT_LONG), on the real stack: each
// participant's rows become one response with its decisions and answers; a re-import changes
// nothing; every kind of bad row rejects its participant whole, naming the line and the column,
// while the file's good participants are stored; an undeclared attribute column refuses the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"

// A namespace of its own: the test files here are compiled together (unity build).
namespace fieldwork::survey_ingest::long_import {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kTrial[] = "long-import";

// Ten decisions r01..r10 (Likert 1-7, required), each shown with stimulus s01..s10 whose
// attributes are its CV and the ethnicity of the name; and an optional comment. A Qualtrics
// loop-and-merge export holds loop i's answer in i_Q12, its name in name_i and (sometimes) the
// name's ethnicity in eth_i.
std::string LongYaml() {
  std::string items, stimuli, ids;
  for (int i = 1; i <= 10; ++i) {
    absl::StrAppendFormat(&ids, "%sr%02d", i == 1 ? "" : ", ", i);
    absl::StrAppendFormat(&items,
                          "  - {id: r%02d, label: Rate application %d, type: likert, min: 1, "
                          "max: 7, required: true}\n",
                          i, i);
    absl::StrAppendFormat(&stimuli,
                          "      - {id: s%02d, text: \"Candidate %d\", attributes: {cv: cv%02d, "
                          "ethnicity: %s}}\n",
                          i, i, i, i <= 5 ? "white_british" : "minority_ethnic");
  }
  return absl::StrCat(
      "id: cvx\nversion: 1\ntitle: Ten applications\npages:\n"
      "  - {title: Shortlist, decisions: rate}\n"
      "  - {title: Anything else, items: [comment]}\n"
      "decisions:\n  - id: rate\n    items: [", ids, "]\n    stimuli_factor: names\n",
      "    qualtrics_loop: {question: Q12, stimulus_column: \"name_{i}\",\n",
      "                     attribute_columns: {ethnicity: \"eth_{i}\"}}\n",
      "    stimuli:\n", stimuli, "items:\n", items,
      "  - {id: comment, label: \"Anything else?\", type: free_text}\n");
}

constexpr char kHeader[] =
    "participant_id,wave_id,block,decision,item_id,value,stimulus,stimulus_text,cv,ethnicity\n";

// One row as `responses decisions` writes it; `value` 1-7 from the participant and decision.
std::string Row(const std::string& participant, int decision, const std::string& value = "") {
  const std::string shown = absl::StrFormat("s%02d", 11 - decision);  // a reversed order
  return absl::StrFormat("%s,endline,rate,%d,r%02d,%s,%s,Candidate %d,cv%02d,%s\n", participant,
                         decision, decision,
                         value.empty() ? absl::StrCat(1 + (static_cast<size_t>(decision) + participant.size()) % 7)
                                       : value,
                         shown, 11 - decision, 11 - decision,
                         11 - decision <= 5 ? "white_british" : "minority_ethnic");
}

std::string Rows(const std::string& participant, int from = 1, int to = 10) {
  std::string rows;
  for (int d = from; d <= to; ++d) rows += Row(participant, d);
  return rows;
}

class LongImportTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();
    CreateTrial(kTrial);
    Enrol(kTrial, {{"A1", "LA1"}, {"A2", "LA1"}, {"A3", "LA1"}, {"A4", "LA1"}, {"A5", "LA1"},
                   {"A6", "LA1"}, {"A7", "LA1"}, {"A8", "LA2"}, {"A9", "LA2"}, {"B1", "LA2"},
                   {"B2", "LA2"}, {"B3", "LA2"}});
    PutInstrument(kTrial, LongYaml());
    PutWave(kTrial, "endline", "cvx");
  }

  grpc::Status Import(const std::string& content, v1::ImportCsvResponse& response,
                      bool keep_unfinished = false) {
    v1::ImportCsvRequest request;
    request.set_trial_id(kTrial);
    request.set_wave_id("endline");
    request.set_file_name("decisions.csv");
    request.set_layout(v1::ImportCsvRequest::LAYOUT_LONG);
    request.set_content(content);
    request.set_keep_unfinished(keep_unfinished);
    return ingest().ImportCsv(ContextWith(kResearcher).get(), request, &response);
  }

  // The stored responses (counted or not) by participant.
  std::map<std::string, v1::Response> Stored() {
    std::map<std::string, v1::Response> by_participant;
    for (v1::Response& r : ListResponses(kTrial, "endline", true)) {
      by_participant[r.participant_id()] = std::move(r);
    }
    return by_participant;
  }
};

// "file:line: field: reason" of every error, for messages and matching.
std::vector<std::string> Lines(const v1::ImportCsvResponse& response) {
  std::vector<std::string> lines;
  for (const v1::RowError& e : response.errors()) {
    lines.push_back(absl::StrCat(e.row(), ": ", e.field(), ": ", e.reason(), " (", e.value(), ")"));
  }
  return lines;
}

TEST_F(LongImportTest, ThreeParticipantsTenDecisionsBecomeThreeResponsesAndAReimportIsADuplicate) {
  // A3's rows are spread through the file and out of order.
  const std::string file = absl::StrCat(kHeader, Rows("A1"), Row("A3", 10), Rows("A2"),
                                        Rows("A3", 1, 5), Row("A3", 9), Rows("A3", 6, 8));
  v1::ImportCsvResponse response;
  grpc::Status status = Import(file, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted(), 3) << ::testing::PrintToString(Lines(response));
  EXPECT_EQ(response.rejected(), 0);
  EXPECT_THAT(Lines(response), ::testing::IsEmpty());

  std::map<std::string, v1::Response> stored = Stored();
  ASSERT_THAT(stored, SizeIs(3));
  for (const std::string participant : {"A1", "A2", "A3"}) {
    SCOPED_TRACE(participant);
    const v1::Response& r = stored[participant];
    EXPECT_FALSE(r.partial());
    EXPECT_TRUE(r.counted());
    EXPECT_EQ(r.source(), absl::StrCat("csv:", response.content_sha256()));
    ASSERT_EQ(r.decisions_size(), 10);
    EXPECT_THAT(r.answers(), SizeIs(10));
    for (int i = 0; i < 10; ++i) {
      const v1::Decision& d = r.decisions(i);
      const int index = i + 1;
      EXPECT_EQ(d.block(), "rate");
      EXPECT_EQ(d.index(), index) << "in index order, whatever the file's";
      EXPECT_EQ(d.item_id(), absl::StrFormat("r%02d", index));
      const std::string value = absl::StrCat(1 + (index + 2) % 7);
      EXPECT_EQ(d.value(), value);
      EXPECT_EQ(r.answers().at(d.item_id()), value);
      EXPECT_EQ(d.stimulus(), absl::StrFormat("s%02d", 11 - index));
      EXPECT_EQ(d.stimulus_text(), absl::StrCat("Candidate ", 11 - index));
      ASSERT_THAT(d.attributes(), SizeIs(2));
      EXPECT_EQ(d.attributes().at("cv"), absl::StrFormat("cv%02d", 11 - index));
      EXPECT_EQ(d.attributes().at("ethnicity"),
                11 - index <= 5 ? "white_british" : "minority_ethnic");
    }
  }

  // The same file again: already imported, nothing changed.
  v1::ImportCsvResponse again;
  status = Import(file, again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.already_imported());
  EXPECT_EQ(again.accepted(), 0);
  // The same decisions in another file (rows reordered, a participant more): duplicates, by
  // the participant's decisions, not a second response each.
  const std::string reordered =
      absl::StrCat(kHeader, Rows("A2"), Rows("A1"), Rows("A3"), Rows("A4"));
  v1::ImportCsvResponse other;
  status = Import(reordered, other);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(other.already_imported());
  EXPECT_EQ(other.duplicate(), 3) << ::testing::PrintToString(Lines(other));
  EXPECT_EQ(other.accepted(), 1);
  stored = Stored();
  EXPECT_THAT(stored, SizeIs(4));
  EXPECT_THAT(ListResponses(kTrial, "endline", true), SizeIs(4)) << "one response each";
}

TEST_F(LongImportTest, EachBadParticipantIsRejectedWholeNamingLineAndColumn) {
  std::string file = kHeader;  // line 1
  file += Rows("A1");          // lines 2-11: good
  file += Rows("A2", 1, 3) + Rows("A2", 5, 10);  // lines 12-20: no decision 4
  file += Rows("A3", 1, 5) + Row("A3", 2, "6") + Rows("A3", 6, 10);  // lines 21-31: 2 twice
  file += Rows("A4") + Row("A4", 11);                               // lines 32-42: 11 of 10
  std::string a5 = Rows("A5");                                      // lines 43-52
  a5.replace(a5.find(",rate,3,"), 8, ",rank,3,");                   // line 45: unknown block
  file += a5;
  file += Rows("A6", 1, 6) + Row("A6", 7, "lots") + Rows("A6", 8, 10);  // lines 53-62
  file += Rows("A7", 1, 2) + Row("A7", 3, "9") + Rows("A7", 4, 10);    // lines 63-72
  file += Rows("Z9");                                                  // lines 73-82: unknown
  std::string a8 = Rows("A8");                                         // lines 83-92
  a8.replace(a8.find(",r05,"), 5, ",r06,");                            // line 87: wrong item
  file += a8;
  file += Rows("A9");  // lines 93-102: good
  std::string b1 = Rows("B1");  // lines 103-112
  b1.replace(b1.find(",s07,"), 5, ",s99,");  // line 106: a stimulus the block does not have
  file += b1;
  std::string b2 = Rows("B2");  // lines 113-122
  b2.replace(b2.find("cv09,minority_ethnic"), 20, "cv09,white_british");  // line 114
  file += b2;
  std::string b3 = Rows("B3");  // lines 123-132
  b3.replace(b3.find("B3,endline,rate,10,"), 19, "B3,baseline,rate,10,");  // line 132
  file += b3;

  v1::ImportCsvResponse response;
  const grpc::Status status = Import(file, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::vector<std::string> errors = Lines(response);
  EXPECT_EQ(response.accepted(), 2) << ::testing::PrintToString(errors);
  EXPECT_EQ(response.rejected(), 11) << ::testing::PrintToString(errors);
  auto has = [&](const std::string& expected) {
    EXPECT_THAT(errors, ::testing::Contains(HasSubstr(expected)))
        << ::testing::PrintToString(errors);
  };
  has("12: decision: participant A2 has no decision 4 of block rate (their rows of it: lines "
      "12-20)");
  has("26: decision: participant A3's decision 2 of block rate again (first on line 22) (2)");
  has("42: decision: beyond block rate's 10 decisions (11)");
  has("45: block: unknown decision block (instrument cvx v1 has rate) (rank)");
  has("59: value: not a number (item r07) (lots)");
  has("65: value: out of range 1..7 (item r03) (9)");
  has("73: participant_id: unknown participant: not enrolled in trial long-import (Z9)");
  has("87: item_id: decision 5 of block rate is answered by item r05 (r06)");
  has("106: stimulus: not a stimulus of block rate (s99)");
  has("114: ethnicity: stimulus s09's ethnicity is minority_ethnic (white_british)");
  has("132: wave_id: not the wave imported into (endline) (baseline)");
  // A5's other nine rows are not half-stored; nor anyone else's.
  std::map<std::string, v1::Response> stored = Stored();
  EXPECT_THAT(stored, SizeIs(2));
  EXPECT_EQ(stored.count("A1"), 1u);
  EXPECT_EQ(stored.count("A9"), 1u);
  EXPECT_EQ(stored["A9"].decisions_size(), 10);

  // Every rejected participant is in the rejects log once, with all of their rows.
  std::map<std::string, v1::Reject> rejects;
  for (const v1::Reject& reject : ListRejects(kTrial)) {
    rejects[reject.errors(0).value() == "Z9" ? "Z9" : absl::StrCat(reject.row())] = reject;
  }
  ASSERT_THAT(rejects, SizeIs(11));
  EXPECT_EQ(rejects["43"].row(), 43);
  EXPECT_THAT(rejects["43"].raw(), HasSubstr("A5,endline,rate,10,"));
  EXPECT_THAT(rejects["43"].raw(), HasSubstr("A5,endline,rank,3,"));
  // The unknown participant's decisions are kept whole, to be replayed once they are enrolled.
  EXPECT_EQ(rejects["Z9"].submission().decisions_size(), 10);
}

TEST_F(LongImportTest, AnAttributeColumnNoStimulusDeclaresRefusesTheWholeFile) {
  std::string file =
      absl::StrCat("participant_id,block,decision,value,ethnicity,gender\n",
                   "A1,rate,1,3,white_british,female\n", "A2,rate,1,3,white_british,male\n");
  v1::ImportCsvResponse response;
  grpc::Status status = Import(file, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("decisions.csv: column \"gender\": not an attribute of the stimuli of "
                        "instrument cvx v1's decision blocks (they declare cv, ethnicity)"));
  EXPECT_THAT(Stored(), ::testing::IsEmpty());
  EXPECT_THAT(ListRejects(kTrial), ::testing::IsEmpty());

  // A required column missing is the file's error too.
  status = Import("participant_id,block,value\nA1,rate,3\n", response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("decisions.csv: no column \"decision\""));
  EXPECT_THAT(Stored(), ::testing::IsEmpty());
}

TEST_F(LongImportTest, AnUnfinishedParticipantIsRejectedUnlessKeptPartial) {
  v1::ImportCsvResponse response;
  grpc::Status status = Import(absl::StrCat(kHeader, Rows("A1", 1, 7), Rows("A2")), response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted(), 1);
  EXPECT_THAT(Lines(response),
              ::testing::ElementsAre(HasSubstr(
                  "2: decision: participant A1 has decisions 1-7 of block rate's 10 decisions: an "
                  "unfinished response (keep_unfinished keeps it, flagged partial)")));
  EXPECT_EQ(Stored().count("A1"), 0u);

  status = Import(absl::StrCat(kHeader, Rows("A3", 1, 7)), response, /*keep_unfinished=*/true);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted(), 1) << ::testing::PrintToString(Lines(response));
  std::map<std::string, v1::Response> stored = Stored();
  ASSERT_EQ(stored.count("A3"), 1u);
  EXPECT_TRUE(stored["A3"].partial());
  EXPECT_FALSE(stored["A3"].counted());
  EXPECT_EQ(stored["A3"].decisions_size(), 7);
}

// The wide Qualtrics export of the loop-and-merge block: each loop's answer, stimulus and
// attribute columns become the participant's decisions, with the stimulus's declared text and
// attributes; a stimulus the block lacks, or an attribute contradicting its stimulus, rejects the
// row naming the column.
TEST_F(LongImportTest, AQualtricsLoopAndMergeExportBecomesDecisions) {
  PutWave(kTrial, "wide", "cvx");
  std::string header = "ExternalReference,ResponseId,EndDate";
  for (int i = 1; i <= 10; ++i) absl::StrAppend(&header, ",", i, "_Q12");
  for (int i = 1; i <= 10; ++i) absl::StrAppend(&header, ",name_", i);
  for (int i = 1; i <= 10; ++i) absl::StrAppend(&header, ",eth_", i);
  // Loop i shows the name s(11-i); only loop 1 exports its ethnicity. `change` alters a cell.
  auto row = [](const std::string& participant, int cell, const std::string& value) {
    std::vector<std::string> cells = {participant, "R_" + participant, "2021-03-10 12:00:00"};
    for (int i = 1; i <= 10; ++i) cells.push_back(absl::StrCat(1 + i % 7));
    for (int i = 1; i <= 10; ++i) cells.push_back(absl::StrFormat("s%02d", 11 - i));
    cells.push_back("minority_ethnic");
    for (int i = 2; i <= 10; ++i) cells.push_back("");
    if (cell >= 0) cells[static_cast<size_t>(cell)] = value;
    return absl::StrCat(absl::StrJoin(cells, ","), "\n");
  };
  const std::string file = absl::StrCat(header, "\n", row("A1", -1, ""),
                                        row("A2", 3 + 10 + 2, "s99"),             // name_3
                                        row("A3", 3 + 20 + 1, "white_british"));  // eth_2: s09
  v1::ImportCsvRequest request;
  request.set_trial_id(kTrial);
  request.set_wave_id("wide");
  request.set_file_name("wide.csv");
  request.set_layout(v1::ImportCsvRequest::LAYOUT_PLAIN);
  request.set_content(file);
  v1::ImportCsvResponse response;
  const grpc::Status status = ingest().ImportCsv(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::vector<std::string> errors = Lines(response);
  EXPECT_EQ(response.accepted(), 1) << ::testing::PrintToString(errors);
  EXPECT_THAT(errors, ::testing::UnorderedElementsAre(
                          "3: name_3: not a stimulus of block rate (s99)",
                          "4: eth_2: stimulus s09's ethnicity is minority_ethnic (white_british)"));
  for (const v1::IgnoredColumn& column : response.ignored_columns()) {
    EXPECT_THAT(column.name(), ::testing::Not(::testing::StartsWith("name_")));
    EXPECT_THAT(column.name(), ::testing::Not(::testing::StartsWith("eth_")));
  }

  const std::vector<v1::Response> stored = ListResponses(kTrial, "wide", true);
  ASSERT_THAT(stored, SizeIs(1));
  const v1::Response& r = stored[0];
  EXPECT_EQ(r.participant_id(), "A1");
  ASSERT_EQ(r.decisions_size(), 10);
  for (int i = 0; i < 10; ++i) {
    const v1::Decision& d = r.decisions(i);
    const int loop = i + 1;
    EXPECT_EQ(d.block(), "rate");
    EXPECT_EQ(d.index(), loop);
    EXPECT_EQ(d.item_id(), absl::StrFormat("r%02d", loop));
    EXPECT_EQ(d.value(), absl::StrCat(1 + loop % 7));
    EXPECT_EQ(d.stimulus(), absl::StrFormat("s%02d", 11 - loop));
    EXPECT_EQ(d.stimulus_text(), absl::StrCat("Candidate ", 11 - loop));
    EXPECT_EQ(d.attributes().at("cv"), absl::StrFormat("cv%02d", 11 - loop));
    EXPECT_EQ(d.attributes().at("ethnicity"), 11 - loop <= 5 ? "white_british" : "minority_ethnic");
  }
}

}  // namespace
}  // namespace fieldwork::survey_ingest::long_import

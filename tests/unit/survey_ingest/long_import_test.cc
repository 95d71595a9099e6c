// ReadLongCsv's edges that the integration tests do not reach: the header's own problems,
// malformed records and rows without a participant, ignored columns, CRLF and a BOM.
#include "services/survey_ingest/domain/long_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/survey_ingest/domain/instrument_yaml.h"

namespace fieldwork::survey_ingest::long_import_unit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kTwoDecisions[] = R"yaml(
id: pair
version: 1
pages:
  - {title: Two, decisions: d}
decisions:
  - id: d
    items: [d1, d2]
    stimuli_factor: names
    stimuli:
      - {id: n1, text: One, attributes: {group: a}}
      - {id: n2, text: Two, attributes: {group: b}}
items:
  - {id: d1, label: First, type: likert, min: 0, max: 3, required: true}
  - {id: d2, label: Second, type: likert, min: 0, max: 3, required: true}
)yaml";

Scorer PairScorer() {
  absl::StatusOr<Instrument> instrument = ParseInstrumentYaml(kTwoDecisions);
  EXPECT_TRUE(instrument.ok()) << instrument.status();
  absl::StatusOr<Scorer> scorer = Scorer::Create(*instrument);
  EXPECT_TRUE(scorer.ok()) << scorer.status();
  return *std::move(scorer);
}

LongImportOptions Options() {
  LongImportOptions options;
  options.wave_id = "w";
  return options;
}

TEST(LongImportUnitTest, HeaderProblemsRefuseTheFile) {
  const Scorer scorer = PairScorer();
  auto refusal = [&](const std::string& file) {
    return std::string(ReadLongCsv(file, scorer, Options()).status().message());
  };
  EXPECT_THAT(refusal(""), HasSubstr("no header row"));
  EXPECT_THAT(refusal("participant_id,block,block,decision,value\n"),
              HasSubstr("column \"block\" appears twice (columns 2 and 3)"));
  // The missing participant column is named, not "pid" as an unknown attribute.
  EXPECT_THAT(refusal("pid,block,decision,value\n"), HasSubstr("no column \"participant_id\""));
  // A quote never closed that would swallow the rows after it.
  EXPECT_THAT(refusal("participant_id,block,decision,value\np1,d,1,\"2\np2,d,1,3\n"),
              HasSubstr("line 2: field 4: a quoted field opened on line 2 is never closed: the 1 "
                        "line(s) after it would be read as part of it; nothing imported"));
}

TEST(LongImportUnitTest, IgnoredColumnsBomAndCrlfAreReadAndOddRowsStandAlone) {
  const Scorer scorer = PairScorer();
  LongImportOptions options = Options();
  options.ignored_columns = {"note*"};
  const std::string file =
      "\xEF\xBB\xBFparticipant_id,block,decision,value,group,notes\r\n"
      "p1,d,1,2,a,seen\r\n"
      ",d,1,2,a,\r\n"           // line 3: no participant
      "p2,d,1,\"unclosed\r\n";  // line 4: a quote never closed
  absl::StatusOr<std::vector<LongParticipant>> read = ReadLongCsv(file, scorer, options);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_THAT(*read, SizeIs(3));
  const LongParticipant& p1 = (*read)[0];
  EXPECT_EQ(p1.participant_id, "p1");
  // Decision 2 missing at the end: unfinished, rejected without keep_unfinished.
  ASSERT_THAT(p1.errors, SizeIs(1));
  EXPECT_THAT(p1.errors[0].reason, HasSubstr("has decisions 1-1 of block d's 2 decisions"));
  EXPECT_EQ((*read)[1].line, 3);
  ASSERT_THAT((*read)[1].errors, SizeIs(1));
  EXPECT_EQ((*read)[1].errors[0].reason, "missing participant id");
  EXPECT_EQ((*read)[2].line, 4);
  EXPECT_THAT((*read)[2].errors, SizeIs(1));

  options.keep_unfinished = true;
  read = ReadLongCsv(file, scorer, options);
  ASSERT_TRUE(read.ok()) << read.status();
  const LongParticipant& kept = (*read)[0];
  EXPECT_THAT(kept.errors, IsEmpty());
  EXPECT_FALSE(kept.finished);
  ASSERT_THAT(kept.decisions, SizeIs(1));
  EXPECT_EQ(kept.decisions[0].item_id, "d1");
  EXPECT_THAT(kept.decisions[0].attributes, ElementsAre(std::make_pair("group", "a")));
  EXPECT_EQ(kept.answers.at("d1"), "2");
  EXPECT_EQ(kept.submission_id.rfind("long:", 0), 0u);
}

}  // namespace
}  // namespace fieldwork::survey_ingest::long_import_unit

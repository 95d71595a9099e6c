// fieldwork responses import and replay against the real services (redis-server, the
// randomisation, survey-ingest and analysis binaries, the fieldwork binary): a Qualtrics export
// with the traps partners' exports have — an embedded-data participant column, an extra column,
// a Survey Preview row, a ResponseId exported twice and one reused for another participant, a
// response marked Finished that stopped at 60%, choice texts, a missing-value code, a
// display-order column — then a re-import, a replay after the roster is complete, and a later
// export that reuses a stored ResponseId and holds Qualtrics' generated test responses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/integration/cli/cli_services.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::CliRun;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kInstrument[] = R"(id: att
version: 1
title: Attitudes
missing_codes: ["-99"]
items:
  - id: agree
    label: I like my job
    type: likert
    min: 1
    max: 5
    required: true
    column: Q1
    labels: [Strongly disagree, Disagree, Neither, Agree, Strongly agree]
  - {id: hours, label: Hours worked, type: numeric, min: 0, max: 80, column: Q2}
)";

constexpr char kProtocol[] = R"(trial:
  id: qx
  title: Qualtrics traps
  sites: [north, south]
  factors:
    - {name: arm, method: complete_within_strata, strata: [site], arms: [control, treatment]}
instruments:
  - att.yaml
waves:
  - {id: endline, instrument: att, opens: 2021-03-01T00:00:00Z, closes: 2021-04-01T00:00:00Z}
lock_design: true
)";

// A CSV cell with its quotes doubled.
std::string Quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The three header rows of the export, then `rows`.
std::string QualtricsFile(const std::string& rows) {
  const std::vector<std::string> import_ids = {
      R"({"ImportId":"startDate","timeZone":"Europe/London"})",
      R"({"ImportId":"endDate","timeZone":"Europe/London"})",
      R"({"ImportId":"status"})",
      R"({"ImportId":"progress"})",
      R"({"ImportId":"finished"})",
      R"({"ImportId":"recordedDate","timeZone":"Europe/London"})",
      R"({"ImportId":"_recordId"})",
      R"({"ImportId":"distributionChannel"})",
      R"({"ImportId":"pid"})",
      R"({"ImportId":"site"})",
      R"({"ImportId":"QID1"})",
      R"({"ImportId":"QID1_DO"})",
      R"({"ImportId":"QID2_TEXT"})"};
  std::vector<std::string> quoted;
  for (const std::string& id : import_ids) quoted.push_back(Quoted(id));
  return absl::StrCat(
      "StartDate,EndDate,Status,Progress,Finished,RecordedDate,ResponseId,DistributionChannel,"
      "pid,site,Q1,Q1_DO,Q2\n",
      "Start Date,End Date,Response Type,Progress,Finished,Recorded Date,Response ID,"
      "Distribution Channel,pid,site,I like my job,I like my job - Display Order,Hours\n",
      absl::StrJoin(quoted, ","), "\n", rows);
}

constexpr char kTimes[] = "2021-03-30 10:00:00,2021-03-30 10:05:00,";

std::string QualtricsExport() {
  const std::string t = kTimes;
  return QualtricsFile(absl::StrCat(
      // line 4: choice text, a missing-value code, a display order
      t, "IP Address,100,True,2021-03-30 10:05:01,R_1,anonymous,p1,north,Agree,5|4|3|2|1,-99\n",
      // line 5: the authors' preview
      t, "Survey Preview,100,True,2021-03-30 10:05:01,R_prev,preview,,,Agree,,\n",
      // lines 6 and 7: one response exported twice
      t, "IP Address,100,True,2021-03-30 10:05:01,R_2,anonymous,p2,south,Strongly agree,,40\n",
      t, "IP Address,100,True,2021-03-30 10:05:01,R_2,anonymous,p2,south,Strongly agree,,40\n",
      // line 8: the same ResponseId for another participant
      t, "IP Address,100,True,2021-03-30 10:05:01,R_2,anonymous,p3,north,Neither,,30\n",
      // line 9: a participant not enrolled yet
      t, "IP Address,100,True,2021-03-30 10:05:01,R_5,anonymous,p5,north,Disagree,,20\n",
      // line 10: Finished, but only 60% of the way
      t, "IP Address,60,True,2021-03-30 10:05:01,R_4,anonymous,p4,south,Agree,,\n"));
}

TEST(ResponsesCliTest, QualtricsExportReimportAndReplay) {
  fieldwork::testing::CliServices services;
  const std::string dir = services.dir();
  fieldwork::testing::WriteText(dir + "/att.yaml", kInstrument);
  fieldwork::testing::WriteText(dir + "/qx.yaml", kProtocol);
  CliRun applied = services.Fieldwork({"apply", dir + "/qx.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  fieldwork::testing::WriteText(dir + "/roster.csv",
                                "participant_id,site\np1,north\np2,south\np3,north\np4,south\n");
  CliRun enrolled = services.Fieldwork({"enrol", "qx", dir + "/roster.csv"});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  const std::string file = dir + "/export.csv";
  fieldwork::testing::WriteText(file, QualtricsExport());

  // The participant ids are in the embedded-data column pid, not ExternalReference.
  CliRun no_column = services.Fieldwork({"responses", "import", "qx", "endline", file});
  EXPECT_EQ(no_column.exit_code, 1) << no_column.output;
  EXPECT_THAT(no_column.output, HasSubstr("no participant column 'ExternalReference'"));

  const std::vector<std::string> import = {"responses", "import",
                                           "qx",        "endline",
                                           file,        "--participant_column=pid",
                                           "--ignore_columns=site"};
  CliRun first = services.Fieldwork(import);
  EXPECT_EQ(first.exit_code, 1) << first.output;
  EXPECT_THAT(first.output,
              HasSubstr("accepted 2, duplicate 1, rejected 3, survey previews skipped 1"));
  EXPECT_THAT(first.output, HasSubstr(file + ":7: ResponseId: the same response as line 6, not "
                                             "imported again (\"R_2\")"));
  EXPECT_THAT(first.output, HasSubstr(file + ":8: ResponseId: duplicate response id: line 6 has "
                                             "the same id for participant p2 (\"R_2\")"));
  EXPECT_THAT(first.output, HasSubstr(file + ":9: "));
  EXPECT_THAT(first.output, HasSubstr(file + ":10: Progress: response not finished: Finished is "
                                             "True but progress is 60%"));
  EXPECT_THAT(first.output,
              HasSubstr("columns not imported: Status (metadata), DistributionChannel (metadata), "
                        "site (ignored), Q1_DO (display_order)"));
  EXPECT_THAT(first.output, Not(HasSubstr("unknown column")));

  // The same file again changes nothing, but says what of it is still rejected, and fails.
  CliRun again = services.Fieldwork(import);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_THAT(again.output, AllOf(HasSubstr("already imported"),
                                  HasSubstr("3 rows of it are still rejected"),
                                  HasSubstr(file + ":9: "), HasSubstr("unknown participant"),
                                  HasSubstr("fieldwork responses replay qx --wave=endline")));

  // Once p5 is enrolled, a replay accepts its row; the two bad rows stay rejected.
  fieldwork::testing::WriteText(dir + "/late.csv", "participant_id,site\np5,north\n");
  CliRun late = services.Fieldwork({"enrol", "qx", dir + "/late.csv"});
  ASSERT_EQ(late.exit_code, 0) << late.output;
  CliRun replayed = services.Fieldwork({"responses", "replay", "qx", "--wave=endline"});
  EXPECT_EQ(replayed.exit_code, 1) << replayed.output;
  EXPECT_THAT(replayed.output, HasSubstr("replayed: accepted 1, still rejected 2"));
  CliRun after = services.Fieldwork(import);
  EXPECT_EQ(after.exit_code, 1) << after.output;
  EXPECT_THAT(after.output, HasSubstr("2 rows of it are still rejected"));
  EXPECT_THAT(after.output, Not(HasSubstr(file + ":9: ")));

  EXPECT_EQ(services.Fieldwork({"responses", "replay"}).exit_code, 2);

  // A later export: R_1 (stored for p1 by the first file) again for p1 is a duplicate; R_2
  // (stored for p2) for p3 is an error on its line, not a silent duplicate; Qualtrics'
  // generated test responses are skipped and counted.
  const std::string t = kTimes;
  const std::string later = dir + "/later.csv";
  fieldwork::testing::WriteText(
      later,
      QualtricsFile(absl::StrCat(
          t, "IP Address,100,True,2021-03-30 10:05:01,R_1,anonymous,p1,north,Agree,,-99\n",
          t, "IP Address,100,True,2021-03-30 10:05:01,R_2,anonymous,p3,north,Agree,,10\n",
          t, "Survey Test,100,True,2021-03-30 10:05:01,R_t1,test,p4,south,Agree,,10\n",
          t, "2,100,True,2021-03-30 10:05:01,R_t2,,p4,south,Agree,,10\n")));
  CliRun reused = services.Fieldwork({"responses", "import", "qx", "endline", later,
                                      "--participant_column=pid", "--ignore_columns=site"});
  EXPECT_EQ(reused.exit_code, 1) << reused.output;
  EXPECT_THAT(reused.output, HasSubstr("accepted 0, duplicate 1, rejected 1, survey previews "
                                       "skipped 0, test responses skipped 2"));
  EXPECT_THAT(reused.output,
              HasSubstr(later + ":5: ResponseId: this submission id already belongs to another "
                                "participant's response (\"R_2\")"));
}

constexpr char kShortlistInstrument[] = R"(id: shortlist
version: 1
title: Shortlisting
pages:
  - {title: Four applications, decisions: progress}
decisions:
  - id: progress
    items: [progress_1, progress_2, progress_3, progress_4]
    stimuli_factor: names
    stimuli:
      - {id: n1, text: "Bennett, Oliver", attributes: {group: white_british}}
      - {id: n2, text: "Hughes, Emily", attributes: {group: white_british}}
      - {id: n3, text: "Mensah, Kwame", attributes: {group: minority_ethnic}}
      - {id: n4, text: "Rahman, Aisha", attributes: {group: minority_ethnic}}
items:
  - id: progress_1
    label: Progress this candidate to interview?
    type: single_choice
    required: true
    options: &progress
      - {code: "1", label: Progress}
      - {code: "0", label: Do not progress}
  - {id: progress_2, label: "Progress?", type: single_choice, required: true, options: *progress}
  - {id: progress_3, label: "Progress?", type: single_choice, required: true, options: *progress}
  - {id: progress_4, label: "Progress?", type: single_choice, required: true, options: *progress}
)";

std::string ShortlistProtocol(const std::string& trial) {
  return absl::StrCat("trial:\n  id: ", trial, R"(
  title: Long-format decisions
  sites: [north]
  factors:
    - {name: names, method: latin_square, order_items: [n1, n2, n3, n4]}
instruments:
  - shortlist.yaml
waves:
  - {id: exp, instrument: shortlist, opens: 2021-01-01T00:00:00Z, closes: 2099-01-01T00:00:00Z}
lock_design: true
)");
}

// Decisions exported by `responses decisions` import back with `responses import --long` into
// another trial and export the same; a bad long file names FILE:LINE: COLUMN and exits 1.
TEST(ResponsesCliTest, LongDecisionsExportImportBackUnchangedAndBadRowsAreNamed) {
  fieldwork::testing::CliServices services;
  const std::string dir = services.dir();
  fieldwork::testing::WriteText(dir + "/shortlist.yaml", kShortlistInstrument);
  fieldwork::testing::WriteText(dir + "/roster.csv",
                                "participant_id,site\np1,north\np2,north\np3,north\n");
  for (const std::string trial : {"lx1", "lx2"}) {
    fieldwork::testing::WriteText(dir + "/" + trial + ".yaml", ShortlistProtocol(trial));
    CliRun applied = services.Fieldwork({"apply", dir + "/" + trial + ".yaml"});
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
    CliRun enrolled = services.Fieldwork({"enrol", trial, dir + "/roster.csv"});
    ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  }
  // A partner's file: the required columns, the stimulus shown and its attribute, each
  // participant's names in their row of the latin square.
  std::string source = "participant_id,block,decision,value,stimulus,stimulus_text,group\n";
  const std::vector<std::string> names = {"n1", "n2", "n3", "n4"};
  const std::vector<std::string> texts = {"\"Bennett, Oliver\"", "\"Hughes, Emily\"",
                                          "\"Mensah, Kwame\"", "\"Rahman, Aisha\""};
  for (int p = 0; p < 3; ++p) {
    for (int d = 0; d < 4; ++d) {
      const size_t shown = static_cast<size_t>((p + d) % 4);
      absl::StrAppend(&source, "p", p + 1, ",progress,", d + 1, ",", (p + d) % 2, ",",
                      names[shown], ",", texts[shown], ",",
                      shown < 2 ? "white_british" : "minority_ethnic", "\n");
    }
  }
  fieldwork::testing::WriteText(dir + "/source.csv", source);
  CliRun imported =
      services.Fieldwork({"responses", "import", "lx1", "exp", dir + "/source.csv", "--long"});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_THAT(imported.output, HasSubstr("accepted 3, duplicate 0, rejected 0"));

  CliRun exported = services.Fieldwork({"responses", "decisions", "lx1", "--wave=exp"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_THAT(exported.output,
              HasSubstr("participant_id,wave_id,block,decision,item_id,value,stimulus,"
                        "stimulus_text,group\r\np1,exp,progress,1,progress_1,0,n1,\"Bennett, "
                        "Oliver\",white_british\r\n"));
  EXPECT_EQ(std::count(exported.output.begin(), exported.output.end(), '\n'), 13)
      << exported.output;
  const std::string exported_file = dir + "/exported.csv";
  fieldwork::testing::WriteText(exported_file, exported.output);

  // The export imports into another trial as it is, and exports the same decisions.
  CliRun back =
      services.Fieldwork({"responses", "import", "lx2", "exp", exported_file, "--long"});
  ASSERT_EQ(back.exit_code, 0) << back.output;
  EXPECT_THAT(back.output, HasSubstr("accepted 3, duplicate 0, rejected 0"));
  CliRun again = services.Fieldwork({"responses", "decisions", "lx2", "--wave=exp"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output, exported.output);
  CliRun repeated =
      services.Fieldwork({"responses", "import", "lx2", "exp", exported_file, "--long"});
  EXPECT_EQ(repeated.exit_code, 0) << repeated.output;
  EXPECT_THAT(repeated.output, HasSubstr("already imported"));

  // A bad value and a missing decision: the participants' rows are named, nothing of them is
  // stored, and the command exits 1.
  std::string bad = exported.output;
  const std::string answer = "p2,exp,progress,2,progress_2,0,";
  bad.replace(bad.find(answer), answer.size(), "p2,exp,progress,2,progress_2,7,");
  const size_t third = bad.find("p3,exp,progress,3,");
  bad.erase(third, bad.find('\n', third) + 1 - third);
  const std::string bad_file = dir + "/bad.csv";
  fieldwork::testing::WriteText(bad_file, bad);
  CliRun refused = services.Fieldwork({"responses", "import", "lx2", "exp", bad_file, "--long"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr(bad_file + ":7: value: unknown code (expected one of: 1, "
                                                   "0) (item progress_2) (\"7\")"));
  EXPECT_THAT(refused.output,
              HasSubstr(bad_file + ":10: decision: participant p3 has no decision 3 of block "
                                   "progress (their rows of it: lines 10-12)"));
  EXPECT_THAT(refused.output, HasSubstr("accepted 0, duplicate 1, rejected 2"));

  // An attribute no stimulus declares refuses the file as a whole.
  const std::string undeclared = dir + "/undeclared.csv";
  fieldwork::testing::WriteText(undeclared, "participant_id,block,decision,value,gender\n"
                                            "p1,progress,1,1,female\n");
  CliRun whole = services.Fieldwork({"responses", "import", "lx2", "exp", undeclared, "--long"});
  EXPECT_EQ(whole.exit_code, 1) << whole.output;
  EXPECT_THAT(whole.output, HasSubstr(undeclared + ": column \"gender\": not an attribute"));
}

}  // namespace
}  // namespace fieldwork

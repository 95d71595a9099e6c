// The fieldwork command as a researcher uses it: separate processes for the command, the
// randomisation service and redis-server.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/auth.h"
#include "services/randomisation/keys.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::BinaryPath;
using ::fieldwork::testing::ChildProcess;
using ::testing::HasSubstr;

constexpr char kToken[] = "researcher-token";

void Write(const std::string& path, const std::string& content) {
  std::ofstream out(path);
  out << content;
}

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string tokens = dir_.path() + "/tokens.yaml";
    Write(tokens, absl::StrCat("tokens:\n  - name: researcher\n    sha256: ", HashToken(kToken),
                               "\n    roles: [researcher]\n    trials: [\"*\"]\n"));
    address_ = absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort());
    service_ = std::make_unique<fieldwork::testing::ServiceProcess>(
        "fieldwork-randomisation",
        std::vector<std::string>{"--listen_address=" + address_,
                                 absl::StrCat("--metrics_port=", fieldwork::testing::PickFreePort()),
                                 "--redis_url=" + redis_.url(), "--tokens_file=" + tokens,
                                 // An in-memory test Redis: these tests are about the CLI.
                                 "--allow_volatile_redis", "--drain_delay=0s"},
        address_, dir_.path());
  }

  CliRun Fieldwork(const std::vector<std::string>& args, const std::string& address = "") {
    std::vector<std::string> argv = {BinaryPath("fieldwork"),
                                     "--randomisation_address=" + (address.empty() ? address_ : address),
                                     "--survey_ingest_address=127.0.0.1:1"};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = dir_.path() + "/cli-" + std::to_string(runs_++) + ".log";
    ChildProcess cli(argv, {{"FIELDWORK_TOKEN", kToken}}, log);
    const std::optional<int> code = cli.WaitForExit(absl::Seconds(60));
    return {code.value_or(-1), cli.ReadLog()};
  }

  fieldwork::testing::TempDir dir_;
  fieldwork::testing::RedisServer redis_;
  std::string address_;
  std::unique_ptr<fieldwork::testing::ServiceProcess> service_;
  int runs_ = 0;
};

constexpr char kProtocol[] = R"(trial:
  id: mod-ing
  title: MoD inspiring the next generation
  sites: [army, navy]
  covariates:
    - {name: age, kind: numeric}
  factors:
    - {name: messages, method: complete_within_strata, strata: [site], arms: [treatment, control]}
lock_design: true
)";

TEST_F(CliTest, AppliesEnrolsRandomisesAndExports) {
  const std::string protocol = dir_.path() + "/mod-ing.yaml";
  Write(protocol, kProtocol);
  CliRun applied = Fieldwork({"apply", protocol});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_THAT(applied.output, HasSubstr("created trial mod-ing; secret commitment"));
  EXPECT_THAT(applied.output, HasSubstr("locked the design; sha256"));
  CliRun again = Fieldwork({"apply", protocol});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("design unchanged"));

  std::string roster = "participant_id,site,age\n";
  for (int i = 0; i < 40; ++i) absl::StrAppend(&roster, "m", i, ",", i % 2 ? "army" : "navy", ",", 20 + i, "\n");
  absl::StrAppend(&roster, "bad-age,army,old\n", "bad-site,airforce,30\n");
  const std::string roster_path = dir_.path() + "/roster.csv";
  Write(roster_path, roster);
  CliRun enrolled = Fieldwork({"enrol", "mod-ing", roster_path});
  EXPECT_EQ(enrolled.exit_code, 1) << enrolled.output;
  EXPECT_THAT(enrolled.output, HasSubstr("roster.csv:42: age: is not a number (\"old\")"));
  EXPECT_THAT(enrolled.output, HasSubstr("roster.csv:43: site: is not a site of the design (\"airforce\")"));
  EXPECT_THAT(enrolled.output, HasSubstr("enrolled 40, unchanged 0, rejected 2"));

  CliRun randomised = Fieldwork({"randomise", "mod-ing"});
  ASSERT_EQ(randomised.exit_code, 0) << randomised.output;
  EXPECT_THAT(randomised.output, HasSubstr("newly allocated 40"));
  EXPECT_THAT(randomised.output, HasSubstr("messages/treatment: 20"));

  CliRun exported = Fieldwork({"export", "mod-ing"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  std::vector<std::string> lines = absl::StrSplit(exported.output, "\r\n", absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 41u);
  EXPECT_EQ(lines[0], "participant_id,site,cohort,cluster,messages,withdrawn,left_on");

  CliRun balance = Fieldwork({"balance", "mod-ing"});
  EXPECT_EQ(balance.exit_code, 0) << balance.output;
  EXPECT_THAT(balance.output, HasSubstr("sample ratio mismatch"));

  // Only randomisation runs here: status prints its part, names the services it could not
  // reach and exits 3 (tests/integration/cli/analyse_cli_test.cc covers the full status).
  CliRun status = Fieldwork({"status", "mod-ing"});
  EXPECT_EQ(status.exit_code, 3) << status.output;
  EXPECT_THAT(status.output, HasSubstr("survey-ingest unavailable"));
  EXPECT_THAT(status.output, HasSubstr("enrolled 40, allocated 40"));
  EXPECT_THAT(status.output, HasSubstr("army: control=10 treatment=10"));

  // The locked design refuses a change, naming it.
  std::string changed = kProtocol;
  changed.replace(changed.find("arms: [treatment, control]"), 26, "arms: [treatment, control, waitlist]");
  Write(protocol, changed);
  CliRun refused = Fieldwork({"apply", protocol});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("LOCKED; refusing these changes"));
  EXPECT_THAT(refused.output, HasSubstr("waitlist"));
}

TEST_F(CliTest, ExitCodesForBadInputAndUnreachableServices) {
  const std::string protocol = dir_.path() + "/bad.yaml";
  Write(protocol, "trial:\n  id: x\n  factors:\n    - {name: f, method: dice, arms: [a, b]}\n");
  CliRun bad = Fieldwork({"apply", protocol});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("bad.yaml: trial.factors[0].method \"dice\" is not a method"));
  EXPECT_EQ(Fieldwork({"apply", dir_.path() + "/missing.yaml"}).exit_code, 2);
  EXPECT_EQ(Fieldwork({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Fieldwork({"randomise"}).exit_code, 2);
  CliRun unknown = Fieldwork({"randomise", "no-such-trial"});
  EXPECT_EQ(unknown.exit_code, 4) << unknown.output;
  EXPECT_THAT(unknown.output, HasSubstr("no trial \"no-such-trial\""));
  CliRun down = Fieldwork({"status", "x"}, absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort()));
  EXPECT_EQ(down.exit_code, 3) << down.output;
}

// An empty or binary file, or one whose quote is never closed, is the caller's mistake (exit 2,
// naming the file), found before any service is called; it used to reach the service and come back
// as rejected rows or a failure.
TEST_F(CliTest, EmptyAndBinaryInputFilesAreUsageErrors) {
  const std::string protocol = dir_.path() + "/trial.yaml";
  Write(protocol, kProtocol);
  ASSERT_EQ(Fieldwork({"apply", protocol}).exit_code, 0);
  const std::string empty = dir_.path() + "/empty.csv";
  Write(empty, "\xEF\xBB\xBF \r\n");
  const std::string binary = dir_.path() + "/roster.xlsx";
  Write(binary, std::string("PK\x03\x04\x14\x00\x06\x00", 8) + "[Content_Types].xml");
  const std::string latin1 = dir_.path() + "/latin1.csv";
  Write(latin1, "participant_id,site\nJos\xE9,army\n");
  const std::string runaway = dir_.path() + "/runaway.csv";
  Write(runaway, "participant_id,site\np1,army\n\"p2,army\np3,army\np4,army\n");
  for (const std::string& file : {empty, binary, latin1, runaway}) {
    for (const std::vector<std::string>& command :
         std::vector<std::vector<std::string>>{{"enrol", "mod-ing", file},
                                               {"contacts", "mod-ing", file},
                                               {"responses", "import", "mod-ing", "baseline", file},
                                               {"outcomes", "import", "mod-ing", file},
                                               {"leavers", "import", "mod-ing", file}}) {
      const CliRun run = Fieldwork(command);
      SCOPED_TRACE(absl::StrJoin(command, " "));
      EXPECT_EQ(run.exit_code, 2) << run.output;
      EXPECT_THAT(run.output, HasSubstr(file + ": "));
    }
  }
  CliRun run = Fieldwork({"enrol", "mod-ing", empty});
  EXPECT_THAT(run.output, HasSubstr("the file is empty"));
  run = Fieldwork({"enrol", "mod-ing", binary});
  EXPECT_THAT(run.output, HasSubstr("byte 5 is NUL"));
  run = Fieldwork({"enrol", "mod-ing", latin1});
  EXPECT_THAT(run.output, HasSubstr("byte 23 is not UTF-8"));
  run = Fieldwork({"enrol", "mod-ing", runaway});
  EXPECT_THAT(run.output, HasSubstr("runaway.csv: line 3: field 1: a quoted field opened on line 3 "
                                    "is never closed: the 2 line(s) after it would be read as "
                                    "part of it; nothing read"));
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// audit anchor keeps the audit log's head in a file; audit verify checks the log against it,
// and catches the log cut back behind it (as a Redis rollback leaves it), which the chain
// alone cannot show.
TEST_F(CliTest, AuditAnchorRecordsTheHeadAndVerifyCatchesARollback) {
  const std::string protocol = dir_.path() + "/mod-ing.yaml";
  Write(protocol, kProtocol);
  ASSERT_EQ(Fieldwork({"apply", protocol}).exit_code, 0);
  const std::string roster = dir_.path() + "/roster.csv";
  Write(roster, "participant_id,site,age\na1,army,30\na2,army,31\nn1,navy,32\nn2,navy,33\n");
  ASSERT_EQ(Fieldwork({"enrol", "mod-ing", roster}).exit_code, 0);
  const std::string anchors = dir_.path() + "/mod-ing.audit-anchors";
  CliRun first = Fieldwork({"audit", "anchor", "mod-ing", "--out=" + anchors});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_EQ(Fieldwork({"randomise", "mod-ing"}).exit_code, 0);
  CliRun second = Fieldwork({"audit", "anchor", "mod-ing", "--out=" + anchors});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("the log matched 1 earlier anchor(s)"));

  // The file: a comment naming the format, then RECORDED_AT TRIAL LENGTH SHA256 per anchor.
  const std::vector<std::string> lines = Lines(anchors);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "# fieldwork audit anchors: RECORDED_AT TRIAL LENGTH SHA256 (docs/audit-anchors.md)");
  const std::vector<std::string> before = absl::StrSplit(lines[1], ' ');
  const std::vector<std::string> after = absl::StrSplit(lines[2], ' ');
  ASSERT_EQ(before.size(), 4u) << lines[1];
  ASSERT_EQ(after.size(), 4u) << lines[2];
  EXPECT_THAT(before[0], ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
  EXPECT_EQ(before[1], "mod-ing");
  EXPECT_THAT(after[3], ::testing::MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(std::stoi(after[2]), std::stoi(before[2]) + 1) << "randomise appended one entry";
  EXPECT_THAT(second.output, HasSubstr(lines[2]));

  CliRun verified = Fieldwork({"audit", "verify", "mod-ing", "--anchors=" + anchors});
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_THAT(verified.output, HasSubstr(absl::StrCat("anchor ", after[2], " ", after[3], " recorded ", after[0],
                                                      ": matched")));
  EXPECT_THAT(verified.output, HasSubstr("2 anchor(s) checked: valid"));

  // The rollback: the allocation entry and the allocations gone, the head back at the entry
  // before, as a restore of an older copy of Redis leaves them.
  std::unique_ptr<RedisClient> redis = redis_.NewClient();
  ASSERT_TRUE(redis->Command({"RPOP", randomisation::keys::Audit("mod-ing")}).ok());
  ASSERT_TRUE(redis->Command({"SET", randomisation::keys::AuditHead("mod-ing"), before[3]}).ok());
  ASSERT_TRUE(redis->Command({"DEL", randomisation::keys::Allocations("mod-ing")}).ok());

  const std::string none = dir_.path() + "/none.audit-anchors";
  Write(none, "# no anchors yet\n");
  CliRun chain_only = Fieldwork({"audit", "verify", "mod-ing", "--anchors=" + none});
  EXPECT_EQ(chain_only.exit_code, 0) << "the chain alone cannot tell: " << chain_only.output;
  EXPECT_THAT(chain_only.output, HasSubstr("no anchors in"));
  CliRun caught = Fieldwork({"audit", "verify", "mod-ing", "--anchors=" + anchors});
  EXPECT_EQ(caught.exit_code, 1) << caught.output;
  EXPECT_THAT(caught.output, HasSubstr(absl::StrCat(": matched")));
  EXPECT_THAT(caught.output, HasSubstr(absl::StrCat("TRUNCATED: the log has ", before[2], " entries but an anchor recorded at ",
                                                    after[0], " has ", after[2])));
  EXPECT_THAT(caught.output, HasSubstr("NOT VALID at entry " + before[2]));
  CliRun refused = Fieldwork({"audit", "anchor", "mod-ing", "--out=" + anchors});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("no anchor recorded"));
  EXPECT_EQ(Lines(anchors).size(), 3u) << "nothing appended";

  const std::string bad = dir_.path() + "/bad.anchors";
  Write(bad, absl::StrCat(after[0], " mod-ing x ", after[3], "\n"));
  CliRun malformed = Fieldwork({"audit", "verify", "mod-ing", "--anchors=" + bad});
  EXPECT_EQ(malformed.exit_code, 2) << malformed.output;
  EXPECT_THAT(malformed.output, HasSubstr("bad.anchors:1: length: is not a positive whole number (\"x\")"));
  CliRun missing = Fieldwork({"audit", "verify", "mod-ing", "--anchors=" + dir_.path() + "/missing"});
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("no such anchor file"));
}

// Every command answers --help with its own usage, what it does and its flags, and exits 0;
// an unknown command's help lists the commands and exits 2.
TEST(CliHelpTest, EveryCommandHasItsOwnHelp) {
  fieldwork::testing::TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> commands = {
      {{"apply"}, "--dry_run"},           {{"enrol"}, "--all_or_nothing"},
      {{"contacts"}, "CONTACTS.csv"},     {{"randomise"}, "--cohort"},
      {{"balance"}, "--cohort"},          {{"export"}, "--cohort"},
      {{"responses", "import"}, "--keep_unfinished"}, {{"outcomes", "import"}, "participant_id,outcome,period_start,period_end,value"},
      {{"leavers", "import"}, "LEAVERS.csv"},  {{"campaign", "start"}, "CAMPAIGN"},
      {{"campaign", "pause"}, "CAMPAIGN"}, {{"campaign", "resume"}, "CAMPAIGN"},
      {{"campaign", "status"}, "CAMPAIGN"}, {{"status"}, "--cohort"},
      {{"analyse"}, "--allow_unlocked"},   {{"report"}, "--candidate_groups"},
      {{"simulate", "roster"}, "--n"},     {{"simulate", "responses"}, "--differential_attrition"},
      {{"simulate", "outcomes"}, "--leaver_rate"}, {{"simulate", "clicks"}, "--rate"},
      {{"audit", "anchor"}, "--out"},      {{"audit", "verify"}, "--anchors"}};
  int run = 0;
  for (const auto& [words, expected_flag] : commands) {
    std::vector<std::string> argv = {BinaryPath("fieldwork")};
    argv.insert(argv.end(), words.begin(), words.end());
    argv.push_back("--help");
    ChildProcess cli(argv, {}, dir.path() + "/help-" + std::to_string(run++) + ".log");
    const std::string name = absl::StrJoin(words, " ");
    EXPECT_EQ(cli.WaitForExit(absl::Seconds(30)), 0) << name;
    const std::string out = cli.ReadLog();
    EXPECT_THAT(out, HasSubstr("usage: fieldwork [flags] " + name + " ")) << out;
    EXPECT_THAT(out, HasSubstr(expected_flag)) << name;
    EXPECT_THAT(out, HasSubstr("--randomisation_address")) << name;
  }
  ChildProcess unknown({BinaryPath("fieldwork"), "bogus", "--help"}, {}, dir.path() + "/bogus.log");
  EXPECT_EQ(unknown.WaitForExit(absl::Seconds(30)), 2);
  EXPECT_THAT(unknown.ReadLog(), HasSubstr("simulate responses"));
}

}  // namespace
}  // namespace fieldwork

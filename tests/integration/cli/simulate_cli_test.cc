// The simulator driving a trial end to end through the fieldwork command, against the real
// randomisation and survey-ingest binaries over a real redis-server: simulate roster → apply →
// enrol → randomise → export → simulate responses → responses import → simulate outcomes →
// outcomes import → leavers import. Counts must match exactly what the simulator wrote.
#include <algorithm>
#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/auth.h"
#include "services/survey_ingest/domain/csv_reader.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::BinaryPath;
using ::fieldwork::testing::ChildProcess;
using ::testing::HasSubstr;

constexpr char kAdminToken[] = "admin-token-for-the-simulator-test";
constexpr char kIngestToken[] = "survey-ingest-token-for-the-simulator-test";

void Write(const std::string& path, const std::string& content) {
  std::ofstream out(path);
  out << content;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The number after `word` in `text` ("accepted 57, ..." → 57); -1 when absent.
int64_t NumberAfter(const std::string& text, const std::string& word) {
  const size_t at = text.find(word + " ");
  if (at == std::string::npos) return -1;
  int64_t n = -1;
  const std::string rest = text.substr(at + word.size() + 1);
  if (!absl::SimpleAtoi(rest.substr(0, rest.find_first_not_of("0123456789")), &n)) return -1;
  return n;
}

// Data rows of a CSV file (records after `header_rows` header records).
std::vector<std::vector<std::string>> Records(const std::string& csv, int header_rows) {
  survey_ingest::CsvReader reader(csv);
  survey_ingest::CsvRecord record;
  survey_ingest::CsvError error;
  std::vector<std::vector<std::string>> rows;
  int seen = 0;
  while (reader.Next(record, error) == survey_ingest::CsvReader::Result::kRecord) {
    if (seen++ >= header_rows) rows.push_back(record.fields);
  }
  return rows;
}

constexpr char kProtocol[] = R"(trial:
  id: sim-pilot
  title: Simulated two-site trial
  sites: [la1, la2]
  covariates:
    - {name: age, kind: numeric}
  factors:
    - {name: messages, method: complete_within_strata, strata: [site], arms: [treatment, control]}
instruments:
  - instruments/ons4.yaml
waves:
  - {id: baseline, instrument: ons4, opens: 2021-01-04T00:00:00Z, closes: 2021-01-25T00:00:00Z}
  - {id: endline, instrument: ons4, opens: 2021-03-08T00:00:00Z, closes: 2021-03-29T00:00:00Z,
     norms_wave: baseline}
lock_design: true
)";

class SimulateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string tokens = dir_.path() + "/tokens.yaml";
    Write(tokens, absl::StrCat("tokens:\n  - name: admin\n    sha256: ", HashToken(kAdminToken),
                               "\n    roles: [admin]\n    trials: [\"*\"]\n", "  - name: survey-ingest\n    sha256: ",
                               HashToken(kIngestToken), "\n    roles: [analyst]\n    trials: [\"*\"]\n"));
    Write(dir_.path() + "/ingest.token", std::string(kIngestToken) + "\n");
    randomisation_address_ = absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort());
    randomisation_ = std::make_unique<fieldwork::testing::ServiceProcess>(
        "fieldwork-randomisation",
        std::vector<std::string>{"--listen_address=" + randomisation_address_,
                                 absl::StrCat("--metrics_port=", fieldwork::testing::PickFreePort()),
                                 "--redis_url=" + redis_.url(), "--allow_volatile_redis",  // in-memory test Redis
                                 "--tokens_file=" + tokens, "--drain_delay=0s"},
        randomisation_address_, dir_.path());
    ingest_address_ = absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort());
    ingest_ = std::make_unique<fieldwork::testing::ServiceProcess>(
        "fieldwork-survey-ingest",
        std::vector<std::string>{"--listen_address=" + ingest_address_,
                                 absl::StrCat("--metrics_port=", fieldwork::testing::PickFreePort()),
                                 "--metrics_bind_address=127.0.0.1", "--redis_url=" + redis_.url(),
                                 "--allow_volatile_redis", "--tokens_file=" + tokens,
                                 "--randomisation_address=" + randomisation_address_,
                                 "--service_token_file=" + dir_.path() + "/ingest.token", "--drain_delay=0s",
                                 "--http_listen_address="},
        ingest_address_, dir_.path());
    std::filesystem::create_directories(dir_.path() + "/instruments");
    Write(dir_.path() + "/instruments/ons4.yaml",
          Read(std::string(FIELDWORK_TEST_SOURCE_DIR) + "/examples/instruments/ons4.yaml"));
    protocol_ = dir_.path() + "/trial.yaml";
    Write(protocol_, kProtocol);
  }

  struct Run {
    int exit_code;
    std::string output;
  };

  // Runs fieldwork; stdout goes to `stdout_path` when given (else with stderr to the log).
  Run Fieldwork(const std::vector<std::string>& args, const std::string& stdout_path = "") {
    std::vector<std::string> argv = {BinaryPath("fieldwork"), "--randomisation_address=" + randomisation_address_,
                                     "--survey_ingest_address=" + ingest_address_};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = dir_.path() + "/cli-" + std::to_string(runs_++) + ".log";
    std::vector<std::string> shell = {"/bin/sh", "-c", ""};
    std::string command;
    for (const std::string& a : argv) absl::StrAppend(&command, "'", a, "' ");
    if (!stdout_path.empty()) absl::StrAppend(&command, "> '", stdout_path, "'");
    shell[2] = command;
    ChildProcess cli(stdout_path.empty() ? argv : shell, {{"FIELDWORK_TOKEN", kAdminToken}}, log);
    const std::optional<int> code = cli.WaitForExit(absl::Seconds(120));
    return {code.value_or(-1), cli.ReadLog()};
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  fieldwork::testing::TempDir dir_;
  fieldwork::testing::RedisServer redis_;
  std::string randomisation_address_, ingest_address_, protocol_;
  std::unique_ptr<fieldwork::testing::ServiceProcess> randomisation_, ingest_;
  int runs_ = 0;
};

TEST_F(SimulateCliTest, RosterToResponsesToLeaversThroughTheRealServices) {
  constexpr int kParticipants = 160;
  Run roster = Fieldwork({"simulate", "roster", protocol_, absl::StrCat("--n=", kParticipants), "--seed=4",
                          "--out=" + Path("sim")});
  ASSERT_EQ(roster.exit_code, 0) << roster.output;
  EXPECT_THAT(roster.output, HasSubstr(absl::StrCat("simulated ", kParticipants, " participants")));

  Run apply = Fieldwork({"apply", protocol_});
  ASSERT_EQ(apply.exit_code, 0) << apply.output;
  Run enrol = Fieldwork({"enrol", "sim-pilot", Path("sim/roster.csv")});
  ASSERT_EQ(enrol.exit_code, 0) << enrol.output;
  EXPECT_EQ(NumberAfter(enrol.output, "enrolled"), kParticipants) << enrol.output;
  Run randomise = Fieldwork({"randomise", "sim-pilot"});
  ASSERT_EQ(randomise.exit_code, 0) << randomise.output;
  ASSERT_EQ(Fieldwork({"export", "sim-pilot"}, Path("allocations.csv")).exit_code, 0);
  ASSERT_EQ(Records(Read(Path("allocations.csv")), 1).size(), static_cast<size_t>(kParticipants));

  // Responses: the same seed gives the same file, and survey-ingest accepts every row.
  const std::vector<std::string> simulate_responses = {
      "simulate", "responses", protocol_, Path("allocations.csv"), "--wave=endline", "--seed=4", "--effect=0.3",
      "--response_rate=0.7", "--differential_attrition=10"};
  std::vector<std::string> first = simulate_responses, second = simulate_responses;
  first.push_back("--out=" + Path("endline.csv"));
  second.push_back("--out=" + Path("endline-again.csv"));
  Run responses = Fieldwork(first);
  ASSERT_EQ(responses.exit_code, 0) << responses.output;
  ASSERT_EQ(Fieldwork(second).exit_code, 0);
  EXPECT_EQ(Read(Path("endline.csv")), Read(Path("endline-again.csv")));
  const int64_t written = NumberAfter(responses.output, "simulated");
  ASSERT_GT(written, 0) << responses.output;
  EXPECT_LT(written, kParticipants);  // a 70% response rate, not everyone
  EXPECT_EQ(static_cast<int64_t>(Records(Read(Path("endline.csv")), 3).size()), written);
  Run imported = Fieldwork({"responses", "import", "sim-pilot", "endline", Path("endline.csv")});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_EQ(NumberAfter(imported.output, "accepted"), written) << imported.output;
  EXPECT_EQ(NumberAfter(imported.output, "rejected"), 0) << imported.output;

  // Outcomes and leavers.
  Run outcomes = Fieldwork({"simulate", "outcomes", protocol_, Path("allocations.csv"), "--seed=4",
                            "--leaver_rate=0.2", "--out=" + Path("admin")});
  ASSERT_EQ(outcomes.exit_code, 0) << outcomes.output;
  const int64_t outcome_rows = NumberAfter(outcomes.output, "simulated");
  const int64_t leavers = NumberAfter(outcomes.output, "and");
  ASSERT_EQ(outcome_rows, kParticipants) << outcomes.output;  // one outcome, sickness absence
  ASSERT_GT(leavers, 0) << outcomes.output;
  Run recorded = Fieldwork({"outcomes", "import", "sim-pilot", Path("admin/outcomes.csv")});
  ASSERT_EQ(recorded.exit_code, 0) << recorded.output;
  EXPECT_EQ(NumberAfter(recorded.output, "recorded"), outcome_rows) << recorded.output;
  Run left = Fieldwork({"leavers", "import", "sim-pilot", Path("admin/leavers.csv")});
  ASSERT_EQ(left.exit_code, 0) << left.output;
  EXPECT_EQ(NumberAfter(left.output, "recorded"), leavers) << left.output;

  ASSERT_EQ(Fieldwork({"export", "sim-pilot"}, Path("after.csv")).exit_code, 0);
  int64_t with_left_on = 0;
  for (const auto& row : Records(Read(Path("after.csv")), 1)) with_left_on += row.back().empty() ? 0 : 1;
  EXPECT_EQ(with_left_on, leavers);
}

TEST_F(SimulateCliTest, LeaversImportWithdrawsWithAReasonAndRefusesABadFileWhole) {
  ASSERT_EQ(Fieldwork({"simulate", "roster", protocol_, "--n=6", "--seed=1", "--out=" + Path("sim")}).exit_code, 0);
  ASSERT_EQ(Fieldwork({"apply", protocol_}).exit_code, 0);
  ASSERT_EQ(Fieldwork({"enrol", "sim-pilot", Path("sim/roster.csv")}).exit_code, 0);
  ASSERT_EQ(Fieldwork({"randomise", "sim-pilot"}).exit_code, 0);

  // A bad date on line 3: nothing is recorded, not even line 2.
  Write(Path("bad.csv"), "participant_id,left_on\nsim-pilot-000001,2021-02-01\nsim-pilot-000002,2021-02-30\n");
  Run bad = Fieldwork({"leavers", "import", "sim-pilot", Path("bad.csv")});
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr(Path("bad.csv") + ":3: left_on: is not a date"));
  ASSERT_EQ(Fieldwork({"export", "sim-pilot"}, Path("unchanged.csv")).exit_code, 0);
  for (const auto& row : Records(Read(Path("unchanged.csv")), 1)) EXPECT_EQ(row.back(), "") << row[0];

  // One leaver, one withdrawal with its reason, one unknown participant (rejected by the service).
  Write(Path("leavers.csv"),
        "participant_id,left_on,withdraw_reason\nsim-pilot-000001,2021-02-01,\n"
        "sim-pilot-000002,2021-02-03,moved to another authority\nnobody-here,2021-02-04,\n");
  Run left = Fieldwork({"leavers", "import", "sim-pilot", Path("leavers.csv")});
  EXPECT_EQ(left.exit_code, 1) << left.output;
  EXPECT_THAT(left.output, HasSubstr("recorded 2 leavers, withdrew 1, rejected 1"));
  EXPECT_THAT(left.output, HasSubstr(Path("leavers.csv") + ":4: participant_id:"));
  ASSERT_EQ(Fieldwork({"export", "sim-pilot"}, Path("after.csv")).exit_code, 0);
  std::map<std::string, std::vector<std::string>> by_id;
  for (const auto& row : Records(Read(Path("after.csv")), 1)) by_id[row[0]] = row;
  EXPECT_EQ(by_id["sim-pilot-000001"].back(), "2021-02-01");
  EXPECT_EQ(by_id["sim-pilot-000001"][by_id["sim-pilot-000001"].size() - 2], "false");
  EXPECT_EQ(by_id["sim-pilot-000002"][by_id["sim-pilot-000002"].size() - 2], "true");
}

// The pilots' non-random method through the real service: the arm each participant gets is
// the one the simulated roster gives in its arm column, and their simulated responses import.
// A design whose only factor is an order of sub-experiments has no arms to put an effect
// between: simulate responses says so, names the protocol and writes nothing.
TEST_F(SimulateCliTest, ResponsesNeedAFactorWithArms) {
  std::string order_only = kProtocol;
  const std::string arms_factor =
      "{name: messages, method: complete_within_strata, strata: [site], arms: [treatment, control]}";
  const size_t at = order_only.find(arms_factor);
  ASSERT_NE(at, std::string::npos);
  order_only.replace(at, arms_factor.size(),
                     "{name: order, method: random_order, order_items: [first, second]}");
  Write(Path("order.yaml"), order_only);
  Write(Path("order-allocations.csv"),
        "participant_id,site,cohort,cluster,order,withdrawn,left_on\nP1,la1,,,first|second,false,\n");
  const Run run = Fieldwork({"simulate", "responses", Path("order.yaml"), Path("order-allocations.csv"),
                             "--wave=baseline", "--out=" + Path("order-responses.csv")});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr(Path("order.yaml") + ": the design has no factor with arms"));
  EXPECT_FALSE(std::filesystem::exists(Path("order-responses.csv")));
}

TEST_F(SimulateCliTest, AssignedCohortsKeepTheRostersArmAndTheirResponsesImport) {
  Write(Path("pilot.yaml"), R"(trial:
  id: sim-assigned
  sites: [brent, coventry]
  covariates:
    - {name: app, kind: categorical, levels: [dictation, comparison], required: true}
  factors:
    - {name: app, method: assigned, arms: [dictation, comparison]}
instruments:
  - instruments/ons4.yaml
waves:
  - {id: post, instrument: ons4, opens: 2021-06-21T00:00:00Z, closes: 2021-07-05T00:00:00Z}
lock_design: true
)");
  ASSERT_EQ(Fieldwork({"simulate", "roster", Path("pilot.yaml"), "--n=40", "--seed=8", "--out=" + Path("pilot")}).exit_code, 0);
  Run apply = Fieldwork({"apply", Path("pilot.yaml")});
  ASSERT_EQ(apply.exit_code, 0) << apply.output;
  ASSERT_EQ(Fieldwork({"enrol", "sim-assigned", Path("pilot/roster.csv")}).exit_code, 0);
  Run allocate = Fieldwork({"randomise", "sim-assigned"});
  ASSERT_EQ(allocate.exit_code, 0) << allocate.output;
  ASSERT_EQ(Fieldwork({"export", "sim-assigned"}, Path("pilot-allocations.csv")).exit_code, 0);

  std::map<std::string, std::string> given;  // participant -> the roster's app column
  const auto roster = Records(Read(Path("pilot/roster.csv")), 0);
  const auto& header = roster.front();
  const size_t app_column = static_cast<size_t>(std::find(header.begin(), header.end(), "app") - header.begin());
  ASSERT_LT(app_column, header.size());
  for (size_t r = 1; r < roster.size(); ++r) given[roster[r][0]] = roster[r][app_column];
  const auto allocations = Records(Read(Path("pilot-allocations.csv")), 1);
  ASSERT_EQ(allocations.size(), 40u);
  std::set<std::string> arms;
  for (const auto& row : allocations) {
    EXPECT_EQ(row[4], given.at(row[0])) << row[0];  // participant_id,site,cohort,cluster,app,...
    arms.insert(row[4]);
  }
  EXPECT_EQ(arms.size(), 2u);

  Run responses = Fieldwork({"simulate", "responses", Path("pilot.yaml"), Path("pilot-allocations.csv"), "--wave=post",
                             "--seed=8", "--response_rate=0.9", "--out=" + Path("post.csv")});
  ASSERT_EQ(responses.exit_code, 0) << responses.output;
  Run imported = Fieldwork({"responses", "import", "sim-assigned", "post", Path("post.csv")});
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_EQ(NumberAfter(imported.output, "accepted"), NumberAfter(responses.output, "simulated"));
}

}  // namespace
}  // namespace fieldwork

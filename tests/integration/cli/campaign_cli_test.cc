// `fieldwork apply` with templates, campaigns and an analysis plan, `fieldwork contacts` and
// `fieldwork campaign`, as a researcher runs them: the fieldwork binary against the four
// service binaries as processes over one real redis-server, with the shipped SWING protocol.
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "services/common/auth.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::BinaryPath;
using ::fieldwork::testing::ChildProcess;
using ::fieldwork::testing::ServiceProcess;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "researcher-token";
constexpr char kServiceToken[] = "service-token";
// 32-byte keys in hex, for tests only.
constexpr char kContactKeyHex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kLinkKeyHex[] = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

void Write(const std::string& path, const std::string& content) { std::ofstream(path) << content; }

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

class CampaignCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = dir_.path();
    Write(dir + "/tokens.yaml",
          absl::StrCat("tokens:\n  - name: researcher\n    sha256: ", HashToken(kToken),
                       "\n    roles: [researcher, analyst, partner]\n    trials: [\"*\"]\n",
                       "  - name: services\n    sha256: ", HashToken(kServiceToken),
                       "\n    roles: [analyst]\n    trials: [\"*\"]\n"));
    Write(dir + "/service.token", absl::StrCat(kServiceToken, "\n"));
    Write(dir + "/contact.key", absl::StrCat(kContactKeyHex, "\n"));
    Write(dir + "/link.key", absl::StrCat(kLinkKeyHex, "\n"));
    const std::string upstream = "--service_token_file=" + dir + "/service.token";

    randomisation_ = Free();
    services_.push_back(std::make_unique<ServiceProcess>("fieldwork-randomisation", Common(randomisation_), randomisation_, dir));
    ingest_ = Free();
    std::vector<std::string> ingest = Common(ingest_);
    ingest.insert(ingest.end(), {"--randomisation_address=" + randomisation_, upstream,
                                 "--http_listen_address="});  // no questionnaire form here
    services_.push_back(std::make_unique<ServiceProcess>("fieldwork-survey-ingest", ingest, ingest_, dir));
    messaging_ = Free();
    const int http_port = fieldwork::testing::PickFreePort();
    std::vector<std::string> messaging = Common(messaging_);
    messaging.insert(messaging.end(),
                     {"--randomisation_address=" + randomisation_, "--survey_ingest_address=" + ingest_, upstream,
                      "--contact_key_file=" + dir + "/contact.key", "--link_key_file=" + dir + "/link.key",
                      "--file_channel_path=" + dir + "/messages.jsonl", absl::StrCat("--http_port=", http_port),
                      "--http_bind_address=127.0.0.1", absl::StrCat("--link_base_url=http://127.0.0.1:", http_port),
                      "--worker_threads=1"});
    services_.push_back(std::make_unique<ServiceProcess>("fieldwork-messaging", messaging, messaging_, dir));
    analysis_ = Free();
    std::vector<std::string> analysis = Common(analysis_);
    analysis.insert(analysis.end(), {"--randomisation_address=" + randomisation_, "--survey_ingest_address=" + ingest_,
                                     "--messaging_address=" + messaging_, upstream, "--monitor_interval=0s"});
    services_.push_back(std::make_unique<ServiceProcess>("fieldwork-analysis", analysis, analysis_, dir));
  }

  CliRun Fieldwork(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {BinaryPath("fieldwork"), "--randomisation_address=" + randomisation_,
                                     "--survey_ingest_address=" + ingest_, "--messaging_address=" + messaging_,
                                     "--analysis_address=" + analysis_};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = dir_.path() + "/cli-" + std::to_string(runs_++) + ".log";
    ChildProcess cli(argv, {{"FIELDWORK_TOKEN", kToken}}, log);
    const std::optional<int> code = cli.WaitForExit(absl::Seconds(120));
    return {code.value_or(-1), cli.ReadLog()};
  }

  // The shipped SWING protocol, copied with its instrument and template paths made absolute
  // so that the copy can be edited, and the 2020 texts moved to 2099 so that nothing is due
  // while the test looks at the campaign (what is planned does not depend on the clock).
  std::string CopyOfSwing() const {
    const std::string examples = std::string(FIELDWORK_TEST_SOURCE_DIR) + "/examples/";
    const std::string swing = Read(examples + "swing.yaml");
    std::string copy = absl::StrReplaceAll(swing, {{"- instruments/", "- " + examples + "instruments/"},
                                                  {"body_file: templates/", "body_file: " + examples + "templates/"},
                                                  {"start: 2020-10-05T09:00:00+01:00", "start: 2099-10-05T09:00:00+01:00"}});
    EXPECT_NE(copy.find("start: 2099-10-05"), std::string::npos) << "swing.yaml's 2020 texts start elsewhere";
    return copy;
  }

  std::string Free() const { return absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort()); }

  std::vector<std::string> Common(const std::string& listen) const {
    return {"--listen_address=" + listen, absl::StrCat("--metrics_port=", fieldwork::testing::PickFreePort()),
            "--metrics_bind_address=127.0.0.1", "--redis_url=" + redis_.url(),
            "--allow_volatile_redis",  // an in-memory test Redis: durability is not the point here
            "--tokens_file=" + dir_.path() + "/tokens.yaml", "--drain_delay=0s"};
  }

  fieldwork::testing::TempDir dir_;
  fieldwork::testing::RedisServer redis_;
  std::string randomisation_, ingest_, messaging_, analysis_;
  std::vector<std::unique_ptr<ServiceProcess>> services_;
  int runs_ = 0;
};

TEST_F(CampaignCliTest, ApplyCreatesCampaignsAndPlanOnceThenContactsAndCampaignControl) {
  const std::string protocol = dir_.path() + "/swing.yaml";
  const std::string swing = CopyOfSwing();
  Write(protocol, swing);

  // A dry run prints the changes and makes none.
  CliRun dry = Fieldwork({"apply", protocol, "--dry_run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_THAT(dry.output, HasSubstr("campaign swing-texts-2020: will be created"));
  EXPECT_THAT(dry.output, HasSubstr("analysis plan main: will be registered"));
  EXPECT_THAT(dry.output, HasSubstr("dry run: nothing was changed"));

  CliRun applied = Fieldwork({"apply", protocol});
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  EXPECT_THAT(applied.output, HasSubstr("created trial swing"));
  EXPECT_THAT(applied.output, HasSubstr("wave endline_absence: ok"));
  EXPECT_THAT(applied.output, HasSubstr("template swing-peer-text: v1"));
  EXPECT_THAT(applied.output, HasSubstr("campaign swing-texts-2020: created (8 steps)"));
  EXPECT_THAT(applied.output, HasSubstr("campaign swing-emails-2021: created (6 steps)"));
  EXPECT_THAT(applied.output, HasSubstr("campaign swing-baseline-invitation: created (3 steps)"));
  EXPECT_THAT(applied.output, HasSubstr("campaign swing-endline-invitation: created (3 steps)"));
  EXPECT_THAT(applied.output, HasSubstr("analysis plan main: registered, version 1"));
  EXPECT_THAT(applied.output, HasSubstr("locked the analysis plan main; sha256 "));

  // Applying the same file again changes nothing, and says so.
  CliRun again = Fieldwork({"apply", protocol});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("design unchanged"));
  EXPECT_THAT(again.output, HasSubstr("wave endline: unchanged"));
  EXPECT_THAT(again.output, HasSubstr("campaign swing-texts-2020: unchanged"));
  EXPECT_THAT(again.output, HasSubstr("analysis plan main: unchanged (locked)"));
  EXPECT_THAT(again.output, HasSubstr("nothing to change"));
  EXPECT_THAT(again.output, HasSubstr("template swing-peer-text: v1"));
  EXPECT_THAT(again.output, Not(HasSubstr("created")));
  EXPECT_THAT(again.output, Not(HasSubstr("registered")));

  // The locked plan refuses a change, naming the field, and nothing else is changed either.
  std::string changed = absl::StrReplaceAll(swing, {{"\n  alpha: 0.05\n", "\n  alpha: 0.1\n"}});
  ASSERT_NE(changed, swing);
  Write(protocol, changed);
  CliRun refused = Fieldwork({"apply", protocol});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("analysis plan main: is LOCKED (pre-registered); refusing these changes"));
  EXPECT_THAT(refused.output, HasSubstr("alpha: 0.05 -> 0.1"));
  EXPECT_THAT(refused.output, HasSubstr("refused: nothing was changed"));
  // With a reason, the same change is made and kept as a deviation (the report's Appendix A).
  CliRun deviated = Fieldwork({"apply", protocol, "--deviation_reason=alpha agreed with the funder"});
  EXPECT_EQ(deviated.exit_code, 0) << deviated.output;
  EXPECT_THAT(deviated.output, HasSubstr("these changes will be recorded as a deviation (\"alpha agreed with the funder\")"));
  EXPECT_THAT(deviated.output, HasSubstr("recorded deviation 1 (alpha)"));
  CliRun after_deviation = Fieldwork({"apply", protocol});
  EXPECT_EQ(after_deviation.exit_code, 0) << after_deviation.output;
  EXPECT_THAT(after_deviation.output, HasSubstr("analysis plan main: unchanged (locked)"));

  // A created campaign cannot be redefined: the difference is printed and refused.
  Write(protocol, absl::StrReplaceAll(swing, {{"weekly: {count: 8, template: swing-peer-text}",
                                               "weekly: {count: 9, template: swing-peer-text}"}}));
  CliRun redefined = Fieldwork({"apply", protocol});
  EXPECT_EQ(redefined.exit_code, 1) << redefined.output;
  EXPECT_THAT(redefined.output, HasSubstr("campaign swing-texts-2020: exists with a different definition"));
  EXPECT_THAT(redefined.output, HasSubstr("added: steps[8]"));
  Write(protocol, swing);

  // Twenty trainees in the two cohorts, randomised within cohort.
  std::string roster = "participant_id,site,cohort,baseline_wellbeing\n";
  for (int i = 0; i < 20; ++i) absl::StrAppend(&roster, "t", i, ",frontline,", i < 10 ? "2020" : "2021", ",", i % 7, "\n");
  Write(dir_.path() + "/roster.csv", roster);
  CliRun enrolled = Fieldwork({"enrol", "swing", dir_.path() + "/roster.csv"});
  ASSERT_EQ(enrolled.exit_code, 0) << enrolled.output;
  CliRun randomised = Fieldwork({"randomise", "swing"});
  ASSERT_EQ(randomised.exit_code, 0) << randomised.output;

  // Contacts: good rows are stored; a bad channel (found locally) and a bad phone number
  // (found by the service) are reported by file line, without echoing the number.
  std::string contacts = "participant_id,first_name,email,phone,preferred_channel,time_zone\n";
  for (int i = 0; i < 18; ++i) {
    absl::StrAppend(&contacts, "t", i, ",Name", i, ",t", i, "@example.org,+4477009001", 10 + i, ",sms,Europe/London\n");
  }
  absl::StrAppend(&contacts, "t18,Ann,t18@example.org,,pigeon,\n", "t19,Bob,,+12,sms,\n");
  Write(dir_.path() + "/contacts.csv", contacts);
  CliRun stored = Fieldwork({"contacts", "swing", dir_.path() + "/contacts.csv"});
  EXPECT_EQ(stored.exit_code, 1) << stored.output;
  EXPECT_THAT(stored.output, HasSubstr("contacts.csv:20: preferred_channel: must be email, sms or empty (\"pigeon\")"));
  EXPECT_THAT(stored.output, HasSubstr("contacts.csv:21: phone: not an E.164 number"));
  EXPECT_THAT(stored.output, Not(HasSubstr("\"+12\"")));
  EXPECT_THAT(stored.output, HasSubstr("contacts stored 18, rejected 2"));

  // Start, pause, resume and look at the 2020 cohort's texts: the 5 treated trainees of 2020
  // get 8 texts each.
  CliRun started = Fieldwork({"campaign", "start", "swing", "swing-texts-2020"});
  ASSERT_EQ(started.exit_code, 0) << started.output;
  EXPECT_THAT(started.output, HasSubstr("campaign swing-texts-2020: running; sends planned 40"));
  CliRun paused = Fieldwork({"campaign", "pause", "swing", "swing-texts-2020"});
  ASSERT_EQ(paused.exit_code, 0) << paused.output;
  CliRun status = Fieldwork({"campaign", "status", "swing", "swing-texts-2020"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_THAT(status.output, HasSubstr("campaign swing-texts-2020 (intervention, sms): paused"));
  EXPECT_THAT(status.output, HasSubstr("audience: messages = treatment; cohorts 2020"));
  // Per step (template, offset) and per arm: scheduled, sent, failed, dead, skipped, opened, clicked.
  EXPECT_THAT(status.output, ContainsRegex("0 swing-peer-text \\+0 +5 +0 +0 +0 +0 +0 +0\n +treatment +5 +0"));
  EXPECT_THAT(status.output, ContainsRegex("7 swing-peer-text \\+49d +5 +0"));
  CliRun resumed = Fieldwork({"campaign", "resume", "swing", "swing-texts-2020"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  CliRun running = Fieldwork({"campaign", "status", "swing", "swing-texts-2020"});
  ASSERT_EQ(running.exit_code, 0) << running.output;
  EXPECT_THAT(running.output, HasSubstr("campaign swing-texts-2020 (intervention, sms): running"));

  // Unknown campaigns and bad command lines get the documented exit codes.
  EXPECT_EQ(Fieldwork({"campaign", "status", "swing", "no-such-campaign"}).exit_code, 4);
  EXPECT_EQ(Fieldwork({"campaign", "start", "swing"}).exit_code, 2);
  EXPECT_EQ(Fieldwork({"contacts", "swing", dir_.path() + "/missing.csv"}).exit_code, 2);
}

}  // namespace
}  // namespace fieldwork

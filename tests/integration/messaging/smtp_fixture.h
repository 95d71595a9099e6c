// The SMTP test stack: a real SMTP server (aiosmtpd, smtp_sink.py) whose answers a test can
// change or hold, worker processes (fieldwork-messaging --role=worker) delivering to it, and a
// scheduler on a clock of the test's choosing in a thread of its own.
#ifndef FIELDWORK_TESTS_INTEGRATION_MESSAGING_SMTP_FIXTURE_H_
#define FIELDWORK_TESTS_INTEGRATION_MESSAGING_SMTP_FIXTURE_H_

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/messaging/convert.h"
#include "services/messaging/smtp_channel.h"
#include "tests/integration/messaging/messaging_fixture.h"
#include "tests/testing/ports.h"

namespace fieldwork::messaging {

inline bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// A scheduler in a thread of its own (on the real clock unless told), for tests with worker
// processes.
class BackgroundScheduler {
 public:
  explicit BackgroundScheduler(SendQueue& queue, const Clock& clock = RealClock::Get())
      : scheduler_(queue, clock, nullptr),
        thread_([this] { scheduler_.Run(stop_, absl::Milliseconds(100)); }) {}
  ~BackgroundScheduler() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  Scheduler scheduler_;
  std::thread thread_;
};

class SmtpTest : public MessagingTest {
 protected:
  void SetUp() override {
    MessagingTest::SetUp();
    port_ = fieldwork::testing::PickFreePort();
    sink_path_ = dir_.path() + "/smtp.jsonl";
    control_path_ = dir_.path() + "/smtp.control";
    sink_ = std::make_unique<fieldwork::testing::ChildProcess>(
        std::vector<std::string>{
            "/usr/bin/python3",
            fieldwork::testing::SourcePath("tests/integration/messaging/smtp_sink.py"),
            absl::StrCat(port_), sink_path_, control_path_},
        std::map<std::string, std::string>{}, dir_.path() + "/smtp.log");
    for (int i = 0; i < 200 && !Accepts(port_); ++i) absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(Accepts(port_)) << sink_->ReadLog();
    SmtpOptions options;
    options.url = absl::StrCat("smtp://127.0.0.1:", port_);
    options.from_address = "Study team <study@fieldwork.example>";
    options.timeout = absl::Seconds(30);
    smtp_ = std::make_unique<SmtpChannel>(options);
  }

  void Answer(const std::string& reply) { std::ofstream(control_path_, std::ios::trunc) << reply; }

  // The messages the sink has written whole: the sink may be half-way through a line (the
  // last, without its newline yet) while a test reads, and that one is left for the next read.
  std::vector<nlohmann::json> Received() const {
    std::vector<nlohmann::json> out;
    std::ifstream in(sink_path_);
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // no newline after it: still being written
      out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }

  // A one-step e-mail campaign to both arms, due now (with `weekly_steps` > 1, one more step
  // each week after the first). Returns the number of sends.
  int StartCampaignNow(const std::string& trial, int n,
                       absl::Time now = absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0),
                                                        absl::UTCTimeZone()),
                       int weekly_steps = 1) {
    CreateTwoArmTrial(trial, n);
    SaveTemplate(trial, "hello");
    clock_.Set(now);
    fieldwork::v1::CreateCampaignRequest create;
    create.set_trial_id(trial);
    fieldwork::v1::CampaignDefinition& c = *create.mutable_campaign();
    c.set_campaign_id("invite");
    c.set_kind(fieldwork::v1::CAMPAIGN_KIND_INTERVENTION);
    for (int step = 0; step < weekly_steps; ++step) {
      fieldwork::v1::CampaignStep* s = c.add_steps();
      s->set_template_id("hello");
      s->mutable_offset()->set_seconds(int64_t{7} * 24 * 3600 * step);
    }
    c.mutable_audience()->set_factor("messages");
    c.mutable_audience()->add_arms("treatment");
    c.mutable_audience()->add_arms("control");
    c.set_channel(fieldwork::v1::MESSAGE_CHANNEL_EMAIL);
    for (int d = 1; d <= 7; ++d) c.mutable_window()->add_days(d);
    c.mutable_window()->set_start_hour(0);
    c.mutable_window()->set_end_hour(24);
    c.set_trial_time_zone("UTC");
    c.mutable_window()->set_zone(fieldwork::v1::ZONE_SOURCE_TRIAL);
    *c.mutable_start() = ToTimestamp(clock_.Now());
    EXPECT_TRUE(messenger_->CreateCampaign(create).ok());
    fieldwork::v1::StartCampaignRequest start;
    start.set_trial_id(trial);
    start.set_campaign_id("invite");
    absl::StatusOr<fieldwork::v1::StartCampaignResponse> started = messenger_->StartCampaign(start);
    EXPECT_TRUE(started.ok()) << started.status();
    return static_cast<int>(started->planned());
  }

  // A separate fieldwork-messaging --role=worker process on the real clock, delivering to the
  // sink; lease and reclaim idle time are short so a successor takes over quickly.
  // `extra_flags` are added at the end; with `short_lease` false the worker keeps its default
  // lease and reclaim idle time.
  std::unique_ptr<fieldwork::testing::ChildProcess> StartWorkerProcess(
      const std::string& name, const std::vector<std::string>& extra_flags = {},
      bool short_lease = true) {
    const std::string token_file = dir_.path() + "/service.token";
    const std::string contact_key = dir_.path() + "/contact.key";
    const std::string link_key = dir_.path() + "/link.key";
    std::ofstream(token_file) << kAnalystToken << "\n";
    std::ofstream(contact_key) << kContactKeyHex << "\n";
    std::ofstream(link_key) << kLinkKeyHex << "\n";
    std::vector<std::string> argv = {fieldwork::testing::BinaryPath("fieldwork-messaging"),
                                     "--role=worker",
                                     "--redis_url=" + redis_server_->url(),
                                     "--insecure_no_auth",
                                     "--metrics_port=0",
                                     "--randomisation_address=" + randomisation_->address(),
                                     "--service_token_file=" + token_file,
                                     "--contact_key_file=" + contact_key,
                                     "--link_key_file=" + link_key,
                                     absl::StrCat("--smtp_url=smtp://127.0.0.1:", port_),
                                     "--from_address=Study team <study@fieldwork.example>",
                                     "--worker_threads=2",
                                     "--retry_initial_delay=1s",
                                     "--worker_name=" + name};
    if (short_lease) argv.insert(argv.end(), {"--lease=3s", "--reclaim_idle=3s"});
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    return std::make_unique<fieldwork::testing::ChildProcess>(
        argv, std::map<std::string, std::string>{}, dir_.path() + "/worker-" + name + ".log");
  }

  int64_t SentCount(const std::string& trial, int step = 0) {
    fieldwork::v1::GetCampaignStatusRequest request;
    request.set_trial_id(trial);
    request.set_campaign_id("invite");
    absl::StatusOr<fieldwork::v1::GetCampaignStatusResponse> status =
        messenger_->GetCampaignStatus(request);
    return status.ok() && status->steps_size() > step ? status->steps(step).sent() : -1;
  }

  // Polls `done` every 100 ms for up to `limit`.
  template <typename F>
  bool WaitFor(F done, absl::Duration limit) {
    for (absl::Time end = absl::Now() + limit; absl::Now() < end;) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return done();
  }

  void ExpectEachMessageExactlyOnce(const std::string& trial, int n) {
    const std::vector<nlohmann::json> received = Received();
    std::map<std::string, int> by_id;
    for (const nlohmann::json& m : received) by_id[m["message_id"].get<std::string>()] += 1;
    EXPECT_EQ(received.size(), static_cast<size_t>(n));
    EXPECT_EQ(by_id.size(), static_cast<size_t>(n));
    for (const auto& [id, count] : by_id) EXPECT_EQ(count, 1) << id;
    EXPECT_EQ(SentCount(trial), n);
  }

  int port_ = 0;
  std::string sink_path_;
  std::string control_path_;
  std::unique_ptr<fieldwork::testing::ChildProcess> sink_;
  std::unique_ptr<SmtpChannel> smtp_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_TESTS_INTEGRATION_MESSAGING_SMTP_FIXTURE_H_

// fieldwork simulate clicks: reads delivered mails (RFC 822 files, as scripts/run.sh's SMTP sink
// writes them), and follows a deterministic share of their tracked links with real HTTP GETs
// over loopback — here to a cpp-httplib server standing in for messaging's click route, which
// answers 302 like the real one. The redirect target must never be fetched.
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <mutex>
#include <thread>
#include <vector>
#include <utility>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/cli/simulate/mail_links.h"
#include "tests/testing/process.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::BinaryPath;
using ::fieldwork::testing::ChildProcess;
using ::testing::HasSubstr;

class ClickServer {
 public:
  ClickServer() {
    server_.Get(R"(/c/(.+))", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard<std::mutex> lock(mutex_);
      clicks_.push_back(request.path);
      response.status = 302;
      response.set_header("Location", absl::StrCat("http://127.0.0.1:", port_, "/landing"));
    });
    server_.Get("/landing", [this](const httplib::Request&, httplib::Response& response) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++landings_;
      response.set_content("landing", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });  // connections queue until then
  }
  ~ClickServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::multiset<std::string> clicks() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {clicks_.begin(), clicks_.end()};
  }
  int landings() {
    std::lock_guard<std::mutex> lock(mutex_);
    return landings_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> clicks_;
  int landings_ = 0;
};

TEST(SimulateClicksCliTest, FollowsTheSameDeterministicShareOfTrackedLinksAndNeverTheRedirect) {
  fieldwork::testing::TempDir dir;
  ClickServer server;
  const std::string mail_dir = dir.path() + "/mail";
  std::filesystem::create_directories(mail_dir);
  constexpr int kMails = 30;
  std::multiset<std::string> expected;
  for (int m = 0; m < kMails; ++m) {
    const std::string name = absl::StrCat("message-", m, ".eml");
    const std::string base = absl::StrCat("http://127.0.0.1:", server.port());
    const std::string first = absl::StrCat(base, "/c/tip-", m), second = absl::StrCat(base, "/c/guide-", m);
    std::ofstream(mail_dir + "/" + name)
        << "From: pilot@example.org\r\nTo: p" << m << "@example.org\r\nSubject: Tip\r\n"
        << "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        << "Tip: " << first << "\r\nGuide: " << second << "\r\nUnsubscribe: " << base << "/u/x" << m
        << "\r\nElsewhere: http://example.com/c/not-ours\r\n--b\r\nContent-Type: text/html\r\n\r\n<a href=\"" << first
        << "\">tip</a>\r\n--b--\r\n";
    for (const std::string& url : {first, second}) {
      if (cli::simulate::Follows(3, 0.5, name, url)) expected.insert(url.substr(base.size()));
    }
  }
  ASSERT_GT(expected.size(), 0u);
  ASSERT_LT(expected.size(), 2u * kMails);

  auto run = [&](int index) {
    const std::string log = dir.path() + "/clicks-" + std::to_string(index) + ".log";
    ChildProcess cli({BinaryPath("fieldwork"), "simulate", "clicks", mail_dir, "--rate=0.5", "--seed=3"}, {}, log);
    const std::optional<int> code = cli.WaitForExit(absl::Seconds(60));
    EXPECT_EQ(code, std::optional<int>(0)) << cli.ReadLog();
    return cli.ReadLog();
  };
  const std::string output = run(0);
  EXPECT_THAT(output, HasSubstr(absl::StrCat("followed ", expected.size(), " of ", 2 * kMails,
                                             " tracked links in ", kMails, " mails")));
  EXPECT_EQ(server.clicks(), expected);
  // The same seed follows the same links again.
  run(1);
  std::multiset<std::string> twice = expected;
  twice.insert(expected.begin(), expected.end());
  EXPECT_EQ(server.clicks(), twice);
  EXPECT_EQ(server.landings(), 0) << "the redirect target was fetched";
}

// simulate responses --via_links from outside: bad command lines and files are usage errors
// naming what is wrong, and a form it cannot reach is "unavailable" (exit 3), naming the
// participant, never the link (a credential).
TEST(SimulateClicksCliTest, ResponsesViaLinksRefuseBadInputAndSayWhenTheFormIsUnreachable) {
  fieldwork::testing::TempDir dir;
  const std::string protocol = fieldwork::testing::SourcePath("tests/browser/fixtures/protocol.yaml");
  const std::string contacts = fieldwork::testing::SourcePath("tests/browser/fixtures/contacts.csv");
  const std::string allocations = dir.path() + "/allocations.csv";
  std::ofstream(allocations) << "participant_id,site,cohort,cluster,arm,withdrawn,left_on\n"
                                "p01,site1,,,treatment,false,\n";
  const std::string mail_dir = dir.path() + "/mail";
  std::filesystem::create_directories(mail_dir);
  std::ofstream(mail_dir + "/00000001.eml")
      << "X-Sink-To: p01@example.org\r\nTo: <p01@example.org>\r\nSubject: Your survey\r\n\r\n"
         "Take the survey: http://127.0.0.1:1/s/secrettoken\r\n";
  int runs = 0;
  auto run = [&](std::vector<std::string> flags) {
    std::vector<std::string> argv = {BinaryPath("fieldwork"), "simulate", "responses", protocol,
                                     allocations, "--wave=survey", "--response_rate=1"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ChildProcess cli(argv, {}, absl::StrCat(dir.path(), "/run-", ++runs, ".log"));
    const std::optional<int> code = cli.WaitForExit(absl::Seconds(60));
    return std::make_pair(code.value_or(-1), cli.ReadLog());
  };
  const std::string via = "--via_links=" + mail_dir;
  auto [code, log] = run({via});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("--contacts=CONTACTS.csv"));
  std::tie(code, log) = run({via, "--contacts=" + contacts, "--out=" + dir.path() + "/x.csv"});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("usage: fieldwork simulate responses"));
  std::tie(code, log) = run({via, "--contacts=" + dir.path() + "/none.csv"});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("none.csv"));
  std::tie(code, log) = run({"--via_links=" + dir.path() + "/nomail", "--contacts=" + contacts});
  EXPECT_EQ(code, 2) << log;
  EXPECT_THAT(log, HasSubstr("nomail"));
  std::tie(code, log) = run({via, "--contacts=" + contacts});
  EXPECT_EQ(code, 3) << log;
  EXPECT_THAT(log, HasSubstr("participant p01"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("secrettoken")));
}

}  // namespace
}  // namespace fieldwork

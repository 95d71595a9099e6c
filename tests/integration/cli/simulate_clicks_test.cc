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

}  // namespace
}  // namespace fieldwork

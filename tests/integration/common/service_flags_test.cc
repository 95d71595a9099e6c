// The four service binaries' flags, as --helpfull lists them: a flag every server needs is
// defined once (services/common/server_flags.cc) and never copied into a main.cc, and each
// binary still gets its own defaults. This is what fails when a binary's flags drift.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tests/testing/process.h"

namespace fieldwork::testing {
namespace {

const std::vector<std::string> kServices = {"fieldwork-randomisation", "fieldwork-messaging",
                                            "fieldwork-survey-ingest", "fieldwork-analysis"};
constexpr char kServerFlags[] = "services/common/server_flags.cc";

struct FlagHelp {
  std::string file;   // the defining source file, from "services/" on
  std::string help;   // the text in parentheses
  std::string value;  // the binary's default: "currently" when it set one, else "default"
};

// The value after `key` ("default: ", "currently: ") up to its ';'.
std::string ValueAfter(const std::string& rest, const std::string& key) {
  const size_t at = rest.find(key);
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size();
  return rest.substr(begin, rest.find(';', begin) - begin);
}

// Runs `binary --helpfull` and reads Abseil's listing: "  Flags from FILE:" headings, then
// "    --name (help); default: V;" entries wrapped onto lines indented further.
std::map<std::string, FlagHelp> HelpFull(const std::string& binary) {
  TempDir dir;
  const std::string log = dir.path() + "/help.txt";
  ChildProcess process({BinaryPath(binary), "--helpfull"}, {}, log);
  EXPECT_TRUE(process.WaitForExit(absl::Seconds(30)).has_value()) << binary;
  std::map<std::string, FlagHelp> flags;
  std::string file;
  std::vector<std::string> entries;  // joined, each with its file
  std::vector<std::string> files;
  std::istringstream lines(process.ReadLog());
  for (std::string line; std::getline(lines, line);) {
    if (absl::StartsWith(line, "  Flags from ")) {
      file = std::string(absl::StripSuffix(line.substr(13), ":"));
      if (const size_t at = file.find("services/"); at != std::string::npos) file.erase(0, at);
    } else if (absl::StartsWith(line, "    --")) {
      entries.push_back(line.substr(6));
      files.push_back(file);
    } else if (absl::StartsWith(line, "      ") && !entries.empty()) {
      entries.back() += " " + std::string(absl::StripLeadingAsciiWhitespace(line));
    }
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& entry = entries[i];
    const size_t open = entry.find(" (");
    const size_t close = entry.rfind("); default: ");
    if (open == std::string::npos || close == std::string::npos) {
      ADD_FAILURE() << binary << ": cannot read --helpfull entry " << entry;
      continue;
    }
    const std::string rest = entry.substr(close + 3);
    std::string value = ValueAfter(rest, "currently: ");
    if (value.empty()) value = ValueAfter(rest, "default: ");
    flags[entry.substr(0, open)] = {files[i], entry.substr(open + 2, close - open - 2), value};
  }
  EXPECT_FALSE(flags.empty()) << binary << " --helpfull listed no flags";
  return flags;
}

class ServiceFlagsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const std::string& service : kServices) (*help_)[service] = HelpFull(service);
  }
  static std::map<std::string, std::map<std::string, FlagHelp>>* help_;
};

std::map<std::string, std::map<std::string, FlagHelp>>* ServiceFlagsTest::help_ =
    new std::map<std::string, std::map<std::string, FlagHelp>>();

// A flag two binaries define in their own files (a main.cc each) has drifted, or will.
TEST_F(ServiceFlagsTest, EachFlagIsDefinedInOneFile) {
  std::map<std::string, std::set<std::string>> files_of;
  for (const auto& [service, flags] : *help_) {
    for (const auto& [name, flag] : flags) files_of[name].insert(flag.file);
  }
  for (const auto& [name, files] : files_of) {
    EXPECT_EQ(files.size(), 1u) << "--" << name << " is defined in " << absl::StrJoin(files, ", ");
  }
}

TEST_F(ServiceFlagsTest, EveryServiceHasTheSharedServerFlagsWithOneHelpText) {
  const std::map<std::string, FlagHelp>& first = help_->at(kServices[0]);
  std::map<std::string, std::string> shared;  // name -> help
  for (const auto& [name, flag] : first) {
    if (flag.file == kServerFlags) shared[name] = flag.help;
  }
  for (const char* name : {"listen_address", "metrics_port", "metrics_bind_address", "redis_url",
                           "redis_pool_size", "redis_timeout", "tokens_file", "insecure_no_auth",
                           "tls_cert_file", "tls_key_file", "drain_delay", "shutdown_grace",
                           "simulated_clock", "allow_volatile_redis"}) {
    EXPECT_TRUE(shared.count(name)) << "--" << name << " is not defined in " << kServerFlags;
  }
  for (const std::string& service : kServices) {
    std::map<std::string, std::string> theirs;
    for (const auto& [name, flag] : help_->at(service)) {
      if (flag.file == kServerFlags) theirs[name] = flag.help;
    }
    EXPECT_EQ(theirs, shared) << service;
  }
}

TEST_F(ServiceFlagsTest, EachServiceKeepsItsOwnDefaults) {
  const std::map<std::string, std::vector<std::string>> expected = {
      // listen_address, metrics_port, redis_pool_size
      {"fieldwork-randomisation", {"\"0.0.0.0:50051\"", "9464", "8"}},
      {"fieldwork-messaging", {"\"0.0.0.0:50052\"", "9465", "16"}},
      {"fieldwork-survey-ingest", {"\"0.0.0.0:50053\"", "9466", "8"}},
      {"fieldwork-analysis", {"\"0.0.0.0:50054\"", "9467", "8"}},
  };
  for (const auto& [service, values] : expected) {
    const std::map<std::string, FlagHelp>& flags = help_->at(service);
    ASSERT_TRUE(flags.count("listen_address") && flags.count("metrics_port") &&
                flags.count("redis_pool_size"))
        << service;
    EXPECT_EQ(flags.at("listen_address").value, values[0]) << service;
    EXPECT_EQ(flags.at("metrics_port").value, values[1]) << service;
    EXPECT_EQ(flags.at("redis_pool_size").value, values[2]) << service;
  }
}

}  // namespace
}  // namespace fieldwork::testing

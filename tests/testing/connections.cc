#include "tests/testing/connections.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace fieldwork::testing {
namespace {

constexpr char kEstablished[] = "01";  // the state column of /proc/net/tcp

// "socket:[12345]" links under /proc/self/fd, as inodes.
std::set<std::string> OwnSocketInodes() {
  std::set<std::string> inodes;
  std::error_code error;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    const std::string target = std::filesystem::read_symlink(fd.path(), error).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  return inodes;
}

// Each row of /proc/net/tcp and tcp6 in the established state: its peer port and inode.
std::vector<std::pair<int, std::string>> EstablishedRows() {
  std::vector<std::pair<int, std::string>> rows;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (fields.size() < 10 || fields[3] != kEstablished) continue;
      const std::string& remote = fields[2];
      int port = 0;
      if (!absl::SimpleHexAtoi(remote.substr(remote.find(':') + 1), &port)) continue;
      rows.emplace_back(port, fields[9]);
    }
  }
  return rows;
}

}  // namespace

std::set<std::string> EstablishedConnectionsTo(const std::set<int>& ports) {
  const std::set<std::string> own = OwnSocketInodes();
  std::set<std::string> connections;
  for (const auto& [port, inode] : EstablishedRows()) {
    if (ports.contains(port) && own.contains(inode)) connections.insert(inode);
  }
  return connections;
}

bool WaitUntilNoneEstablished(const std::set<std::string>& connections, absl::Duration limit) {
  const absl::Time give_up = absl::Now() + limit;
  while (true) {
    const std::vector<std::pair<int, std::string>> rows = EstablishedRows();
    if (std::none_of(rows.begin(), rows.end(),
                     [&](const auto& row) { return connections.contains(row.second); })) {
      return true;
    }
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
}

}  // namespace fieldwork::testing

#include "tests/testing/ports.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <stdexcept>

namespace fieldwork::testing {
namespace {

// The kernel's choice for a bind to port 0, released at once.
int KernelsFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error("bind() to a free port failed");
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

int PickFreePort() {
  // The kernel may choose a port it has just released again, so two picks in a row (a
  // service's gRPC and metrics ports) could be the same one: each port is handed out once per
  // process.
  static std::mutex mutex;
  static std::set<int>* const handed_out = new std::set<int>;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = KernelsFreePort();
    const std::lock_guard<std::mutex> lock(mutex);
    if (handed_out->insert(port).second) return port;
  }
  throw std::runtime_error("no free port that this process has not handed out already");
}

}  // namespace fieldwork::testing

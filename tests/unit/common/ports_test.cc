// PickFreePort, the tests' own helper: never the same port twice in one process, which the
// kernel's choice alone can be (a service given one port for gRPC and the same for metrics
// failed to start, 7 Dec 2026).
#include "tests/testing/ports.h"

#include <gtest/gtest.h>

#include <set>

namespace fieldwork::testing {
namespace {

TEST(PortsTest, NoPortIsHandedOutTwice) {
  // Without the helper's own record, 2,000 picks repeated a port 130 times (7 Dec 2026): the
  // kernel often hands a just-released port out again.
  std::set<int> ports;
  for (int i = 0; i < 2000; ++i) {
    const int port = PickFreePort();
    EXPECT_GT(port, 0);
    EXPECT_TRUE(ports.insert(port).second) << "port " << port << " handed out again";
  }
}

}  // namespace
}  // namespace fieldwork::testing

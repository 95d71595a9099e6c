// This process's TCP connections as the kernel sees them, for tests that need to know a peer's
// close has reached this side (a FIN on loopback can wait in a softirq queue on a busy machine).
#ifndef FIELDWORK_TESTS_TESTING_CONNECTIONS_H_
#define FIELDWORK_TESTS_TESTING_CONNECTIONS_H_

#include <set>
#include <string>

#include "absl/time/time.h"

namespace fieldwork::testing {

// The socket inodes of this process's established TCP connections to any of `ports` on the
// peer's side.
std::set<std::string> EstablishedConnectionsTo(const std::set<int>& ports);

// Waits (up to `limit`) until none of `connections` is still established: each peer's close
// has reached this side, so a poll on it now reports the hang-up. False when the limit passed.
bool WaitUntilNoneEstablished(const std::set<std::string>& connections, absl::Duration limit);

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_CONNECTIONS_H_

// Free loopback ports for servers started by tests.
#ifndef FIELDWORK_TESTS_TESTING_PORTS_H_
#define FIELDWORK_TESTS_TESTING_PORTS_H_

namespace fieldwork::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0), and
// never one this process was given before: a test that picks several ports for one server
// gets different ones.
int PickFreePort();

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_PORTS_H_

// What the fuzz targets use to check a property: on failure, print it and abort, which
// libFuzzer reports as a crash (saving the input) and the replay test as a failure.
#ifndef FIELDWORK_FUZZ_CHECK_H_
#define FIELDWORK_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"

namespace fieldwork::fuzz {

inline void Check(bool holds, absl::string_view property, absl::string_view detail = "") {
  if (holds) return;
  std::fprintf(stderr, "fuzz property violated: %.*s\n%.*s\n", static_cast<int>(property.size()),
               property.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace fieldwork::fuzz

#endif  // FIELDWORK_FUZZ_CHECK_H_

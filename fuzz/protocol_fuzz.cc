// Fuzzes the protocol loader (`fieldwork apply`'s ParseProtocol). Files it names are served
// from memory: any .yaml is a small instrument, anything else a template body, and a path
// containing "missing" cannot be read. Checks, beyond not crashing (an exception escaping
// ParseProtocol is a crash): every error is INVALID_ARGUMENT and names the file first; an
// accepted protocol's campaigns use only templates it defines, and a locked plan exists.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/check.h"
#include "services/cli/protocol.h"

namespace {

constexpr char kPath[] = "trials/fuzz.yaml";

absl::StatusOr<std::string> ReadFromMemory(const std::string& path) {
  if (absl::StrContains(path, "missing")) return absl::InvalidArgumentError(path + ": cannot be read");
  if (absl::EndsWith(path, ".yaml")) {
    return std::string("id: ons4\nversion: 1\nitems:\n  - {id: a, label: A, type: likert, min: 0, max: 10}\n");
  }
  return std::string("Hello {{first_name}}: {{survey_link}} {{tracked_link:https://e.org/w}}");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fieldwork::fuzz::Check;
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<fieldwork::cli::Protocol> protocol =
      fieldwork::cli::ParseProtocol(yaml, kPath, ReadFromMemory);
  if (!protocol.ok()) {
    Check(protocol.status().code() == absl::StatusCode::kInvalidArgument &&
              absl::StartsWith(protocol.status().message(), absl::StrCat(kPath, ": ")),
          "a rejected protocol is INVALID_ARGUMENT naming the file first",
          protocol.status().ToString());
    return 0;
  }
  for (const auto& campaign : protocol->campaigns) {
    for (const auto& step : campaign.steps()) {
      bool defined = false;
      for (const auto& t : protocol->templates) defined = defined || t.id == step.template_id();
      Check(defined, "a campaign step uses a template the protocol defines", step.template_id());
    }
  }
  Check(!protocol->lock_plan || !protocol->plans.empty(), "a locked plan exists");
  return 0;
}

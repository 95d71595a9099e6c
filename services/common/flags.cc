#include "services/common/flags.h"

#include <cstdlib>
#include <iostream>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace fieldwork {

std::string EnvironmentVariableForFlag(absl::string_view flag_name) {
  return absl::StrCat("FIELDWORK_", absl::AsciiStrToUpper(flag_name));
}

absl::Status ApplyFlagsFromEnvironment() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string variable = EnvironmentVariableForFlag(name);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", variable, "=\"", value,
                       "\" does not set flag --", name, ": ", error));
    }
  }
  return absl::OkStatus();
}

std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv) {
  if (absl::Status status = ApplyFlagsFromEnvironment(); !status.ok()) {
    std::cerr << status.message() << "\n";
    std::exit(2);
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace fieldwork

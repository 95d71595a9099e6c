// `fieldwork --help`, `fieldwork COMMAND --help` and `fieldwork help [COMMAND]`: what a command
// does, its arguments, the flags it reads (with their defaults) and the global flags.
#ifndef FIELDWORK_SERVICES_CLI_HELP_H_
#define FIELDWORK_SERVICES_CLI_HELP_H_

#include <ostream>
#include <string>
#include <vector>

namespace fieldwork::cli {

// The help asked for on this command line, if any: true when argv holds --help, -h, -help or
// starts with the word "help"; `words` receives the command words before it (e.g. "campaign",
// "start").
bool HelpRequested(int argc, char** argv, std::vector<std::string>& words);

// Prints the help for the command named by `words` (or the list of commands when `words` is
// empty or names none) on `out`. Returns false when `words` names no command.
bool PrintHelp(const std::vector<std::string>& words, std::ostream& out);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_HELP_H_

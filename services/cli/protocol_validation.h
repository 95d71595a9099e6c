// The one check of a protocol that `fieldwork apply` runs, with and without --dry_run, before it
// reads or writes any service: so that a dry run passes exactly what the real apply accepts, and
// the real apply never stops half-way on input the services refuse.
#ifndef FIELDWORK_SERVICES_CLI_PROTOCOL_VALIDATION_H_
#define FIELDWORK_SERVICES_CLI_PROTOCOL_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/cli/protocol.h"

namespace fieldwork::cli {

struct ProtocolProblem {
  std::string field;  // the YAML path, e.g. "campaigns[1].steps[0].template"
  std::string reason;
};

// Every problem the services would refuse in a parsed protocol, in file order, under its YAML
// path; empty when there is none. The services' own rules are linked, not repeated: the design
// (randomisation), instruments (survey-ingest), templates and campaigns (messaging) and the plan
// (analysis). Added here are the rules that need the whole protocol: a wave's instrument must be
// one of the protocol's instruments, its norms wave one listed before it, and an outcome's scale
// or composite must exist in the instrument of its wave.
std::vector<ProtocolProblem> ValidateProtocol(const Protocol& protocol);

// What the services accept but the researcher should know before applying, in the same form
// as ValidateProtocol's problems: a survey_url carrying {participant_id}, which lets anyone who
// edits the link answer for a colleague. `fieldwork apply` prints them, with and without
// --dry_run, and applies anyway (old protocols keep working).
std::vector<ProtocolProblem> ProtocolWarnings(const Protocol& protocol);

// Reads, parses (ParseProtocol) and validates (ValidateProtocol) the protocol at `path`. On
// failure INVALID_ARGUMENT whose message has one line per problem, each
// "<path>: <field> <reason>". Parsing stops at the first malformed field; validation lists all.
absl::StatusOr<Protocol> LoadProtocol(const std::string& path);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_PROTOCOL_VALIDATION_H_

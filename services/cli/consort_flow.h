// The counts of the report's CONSORT flow diagram that the CLI's own trial snapshot gives:
// enrolled, allocated per arm, and per follow-up wave who was withdrawn, left the organisation
// or did not respond. Take-up and the analysed numbers come from Analyse (analysis_tables.h).
// Pure.
#ifndef FIELDWORK_SERVICES_CLI_CONSORT_FLOW_H_
#define FIELDWORK_SERVICES_CLI_CONSORT_FLOW_H_

#include <optional>
#include <string>

#include "services/cli/report_html.h"
#include "services/cli/trial_snapshot.h"

namespace fieldwork::cli {

// The flow of `factor`'s arms (design order; waves in the trial's order, then any wave only
// responses name). Unset when nobody is allocated to the factor. Each participant counts once
// per wave, in the first of: withdrawn (whether or not they answered: the analysis excludes
// them), responded (a counted response), left (a leaver without a response), did not respond.
std::optional<ReportConsort> ConsortFlow(const TrialSnapshot& snapshot, const std::string& factor);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_CONSORT_FLOW_H_

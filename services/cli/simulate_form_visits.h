// fieldwork simulate responses --via_links: the simulated participants answer one wave on
// survey-ingest's hosted form over HTTP, as people would — through the personal link in the
// invitation (or reminder) the mail sink received, page by page, some leaving part-way and
// coming back, some abandoning — instead of as a CSV to import.
#ifndef FIELDWORK_SERVICES_CLI_SIMULATE_FORM_VISITS_H_
#define FIELDWORK_SERVICES_CLI_SIMULATE_FORM_VISITS_H_

#include <cstdint>
#include <string>

#include "services/cli/simulate/responses_sim.h"

namespace fieldwork::cli {

struct FormVisitOptions {
  std::string wave_id;
  std::uint64_t seed = 1;
  std::string mail_dir;       // the sink's directory of delivered mails and texts
  std::string contacts_path;  // the contacts CSV: whom each mail went to
};

// Each participant's newest mail or text with a survey link is theirs to follow (the wave's
// invitation or a reminder: survey links of earlier waves are older). Who responds, and what
// they answer, is `responses`' model; how they use the link, simulate::ChooseVisit. Prints a
// summary; returns an ExitCode (kUnavailable when the form cannot be reached, kRejected when a
// page was refused).
int AnswerThroughLinks(const simulate::SimulatedResponses& responses,
                       const FormVisitOptions& options);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_SIMULATE_FORM_VISITS_H_

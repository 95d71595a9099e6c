// How a simulated participant uses the personal survey link in their invitation, drawn
// deterministically from the seed, the wave and the participant. Pure.
#ifndef FIELDWORK_SERVICES_CLI_SIMULATE_LINK_VISITS_H_
#define FIELDWORK_SERVICES_CLI_SIMULATE_LINK_VISITS_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace fieldwork::cli::simulate {

enum class LinkVisit {
  kIgnores,    // never opens the link
  kOpensOnly,  // opens it and answers nothing
  kAbandons,   // answers the first page (unless it is the last), leaves and never returns
  kReturns,    // the same, then opens the link again later and finishes
  kCompletes,  // answers every page in one sitting
};

// `responds`: whether the response model (SimulateResponses) has the participant respond, so
// the response rate and the effect stay those asked for. Respondents: kReturns with
// probability kReturnRate, else kCompletes. The others: kOpensOnly and kAbandons with
// probability kOpenOnlyRate and kAbandonRate each, else kIgnores.
inline constexpr double kReturnRate = 0.25;
inline constexpr double kOpenOnlyRate = 0.10;
inline constexpr double kAbandonRate = 0.10;
LinkVisit ChooseVisit(std::uint64_t seed, absl::string_view wave, absl::string_view participant,
                      bool responds);

}  // namespace fieldwork::cli::simulate

#endif  // FIELDWORK_SERVICES_CLI_SIMULATE_LINK_VISITS_H_

#include "services/cli/simulate/link_visits.h"

#include "absl/strings/str_cat.h"
#include "services/cli/simulate/random.h"

namespace fieldwork::cli::simulate {

LinkVisit ChooseVisit(std::uint64_t seed, absl::string_view wave, absl::string_view participant,
                      bool responds) {
  // A stream of its own, so choosing visits changes none of the response model's draws.
  Random random(seed, absl::StrCat("link-visit/", wave, "/", participant));
  const double u = random.Uniform();
  if (responds) return u < kReturnRate ? LinkVisit::kReturns : LinkVisit::kCompletes;
  if (u < kOpenOnlyRate) return LinkVisit::kOpensOnly;
  if (u < kOpenOnlyRate + kAbandonRate) return LinkVisit::kAbandons;
  return LinkVisit::kIgnores;
}

}  // namespace fieldwork::cli::simulate

#include "services/survey_link/survey_link_flags.h"

#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, survey_link_keys, "",
          "Survey link key ring file (services/survey_link/key_ring.h), shared by messaging, "
          "which seals participants' links, and survey-ingest, whose form opens them");

namespace fieldwork::survey_link {

absl::StatusOr<std::optional<SurveyLinkKeyRing>> SurveyLinkKeysFromFlag() {
  const std::string path = absl::GetFlag(FLAGS_survey_link_keys);
  if (path.empty()) return std::optional<SurveyLinkKeyRing>();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("--survey_link_keys: cannot read ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<SurveyLinkKeyRing> ring = SurveyLinkKeyRing::Parse(text.str(), path);
  if (!ring.ok()) return ring.status();
  return std::optional<SurveyLinkKeyRing>(*std::move(ring));
}

}  // namespace fieldwork::survey_link

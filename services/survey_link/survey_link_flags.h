// --survey_link_keys, the key ring file of personal survey links: defined once here for every
// binary that seals or opens them (messaging seals them, survey-ingest's form opens them).
#ifndef FIELDWORK_SERVICES_SURVEY_LINK_KEY_RING_FLAG_H_
#define FIELDWORK_SERVICES_SURVEY_LINK_KEY_RING_FLAG_H_

#include <optional>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "services/survey_link/key_ring.h"

ABSL_DECLARE_FLAG(std::string, survey_link_keys);

namespace fieldwork::survey_link {

// The ring in the --survey_link_keys file, or nullopt when the flag is empty. Fails naming the
// flag and the file when it cannot be read, or the file's line and reason (never key material)
// when it does not parse.
absl::StatusOr<std::optional<SurveyLinkKeyRing>> SurveyLinkKeysFromFlag();

}  // namespace fieldwork::survey_link

#endif  // FIELDWORK_SERVICES_SURVEY_LINK_KEY_RING_FLAG_H_

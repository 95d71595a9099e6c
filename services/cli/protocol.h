// The trial protocol file (trial.yaml): the design, instruments, waves, message templates,
// campaigns and analysis plan of a trial, read into the services' protos. docs/protocol.md
// documents every field.
#ifndef FIELDWORK_SERVICES_CLI_PROTOCOL_H_
#define FIELDWORK_SERVICES_CLI_PROTOCOL_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fieldwork/v1/analysis.pb.h"
#include "fieldwork/v1/messaging.pb.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "fieldwork/v1/survey_ingest.pb.h"

namespace fieldwork::cli {

struct Protocol {
  fieldwork::v1::TrialDesign design;
  // Instrument definitions (YAML text) in the order listed, with the file they came from.
  struct InstrumentFile {
    std::string path;
    std::string definition_yaml;
  };
  std::vector<InstrumentFile> instruments;
  std::vector<fieldwork::v1::Wave> waves;
  // Lock the design when applying (the default once the protocol is final).
  bool lock_design = false;
  // Message templates (MessagingService.UpdateTemplate), bodies read from their files.
  struct Template {
    std::string id;
    fieldwork::v1::TemplateContent content;
  };
  std::vector<Template> templates;
  // Campaigns (MessagingService.CreateCampaign), in the order listed.
  std::vector<fieldwork::v1::CampaignDefinition> campaigns;
  // The analysis plans (AnalysisService.RegisterPlan): the one `analysis:` section, or each of
  // the `analyses:` list (several pre-registered analyses, each with its own plan_id).
  std::vector<fieldwork::v1::AnalysisPlan> plans;
  // Lock the plans when applying (pre-registration).
  bool lock_plan = false;
};

// Parses a protocol. `path` names the file in errors and resolves relative instrument paths;
// `read_file` reads those (injected so parsing is testable without files). Errors name the
// file, the field path (e.g. "trial.factors[0].arms[1].weight",
// "campaigns[1].steps[3].template") and the reason. Unknown keys are errors. Template bodies
// given as `body_file:` are read with `read_file`, relative to the protocol.
absl::StatusOr<Protocol> ParseProtocol(
    absl::string_view yaml, const std::string& path,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& read_file);

// Reads a whole file; INVALID_ARGUMENT naming it when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_PROTOCOL_H_

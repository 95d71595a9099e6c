// The protocol sections beyond the design (internal to the protocol parser): message
// templates and campaigns (protocol_messaging.cc) and the analysis plan (protocol_analysis.cc).
// Each checks its references against what the protocol has defined before it (factors, arms,
// sites, cohorts, waves, templates, campaigns) and fails with ProtocolError naming the field.
#ifndef FIELDWORK_SERVICES_CLI_PROTOCOL_SECTIONS_H_
#define FIELDWORK_SERVICES_CLI_PROTOCOL_SECTIONS_H_

#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"
#include "services/cli/protocol.h"

namespace fieldwork::cli {

using FileReader = std::function<absl::StatusOr<std::string>(const std::string&)>;

// `templates:`; body files are read relative to `base_dir`.
std::vector<Protocol::Template> ParseTemplates(const YAML::Node& node, const std::string& base_dir,
                                               const FileReader& read_file);

// `campaigns:`, against the design, waves and templates already in `protocol`.
std::vector<fieldwork::v1::CampaignDefinition> ParseCampaigns(const YAML::Node& node, const Protocol& protocol);

// `analysis:`, against the design, waves and campaigns already in `protocol`.
// `analysis:` (one plan, plan_id "main" unless given) or `analyses:` (a list of plans, each with
// its own plan_id), not both.
std::vector<fieldwork::v1::AnalysisPlan> ParseAnalysisPlans(const YAML::Node& root, const Protocol& protocol);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_PROTOCOL_SECTIONS_H_

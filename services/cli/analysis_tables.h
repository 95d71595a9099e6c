// The Analyse result as the evaluation report shows it: per outcome n, M and SE per arm, the
// estimate, CI, p and adjusted p; the attrition table; the MDES ledger. Printed as text for
// `fieldwork analyse` and converted to the HTML report's struct for `fieldwork report`. Pure.
#ifndef FIELDWORK_SERVICES_CLI_ANALYSIS_TABLES_H_
#define FIELDWORK_SERVICES_CLI_ANALYSIS_TABLES_H_

#include <ostream>

#include "fieldwork/v1/analysis.pb.h"
#include "services/cli/report_html.h"

namespace fieldwork::cli {

void PrintAnalysis(const fieldwork::v1::AnalyseResponse& analysis, std::ostream& out);

// Fills the outcome, attrition and MDES parts, the plan's identity and the warnings of `report`.
void AddAnalysisToReport(const fieldwork::v1::AnalyseResponse& analysis, ReportData& report);

// The progression figure from the first long-format outcome's cells (model means with CIs
// clustered by participant) into report.progression and its title; false when there is none.
bool AddInteractionProgression(const fieldwork::v1::AnalyseResponse& analysis, ReportData& report);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_ANALYSIS_TABLES_H_

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

// Fills the outcome (with their time bins), forest-plot, attrition and MDES parts, the plan's
// identity and the warnings of `report`.
// `one_of_several`: the trial's report shows several plans; each outcome is labelled with its
// plan, and the page's plan line names every plan with its hash.
void AddAnalysisToReport(const fieldwork::v1::AnalyseResponse& analysis, ReportData& report,
                         bool one_of_several = false);

// The progression figure from the first long-format outcome's cells (model means with CIs
// clustered by participant) into report.progression and its title; false when there is none.
bool AddInteractionProgression(const fieldwork::v1::AnalyseResponse& analysis, ReportData& report);

// Adds what only Analyse knows to the CONSORT flow: who received the intervention (the take-up
// rates of the plan's take-up campaign, for the arms it measured) and, per outcome, how many of
// each arm were analysed. Arms the flow lacks are left out.
void AddAnalysisToConsort(const fieldwork::v1::AnalyseResponse& analysis, ReportConsort& flow);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_ANALYSIS_TABLES_H_

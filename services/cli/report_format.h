// How the trial tables print numbers, shared by analyse, status and the HTML report so the
// terminal and the page agree: means and SEs to 2 decimals, p-values to 3 (or "<0.001"), rates
// as percentages to 1 decimal. Not-a-number prints as "NA", as R does.
#ifndef FIELDWORK_SERVICES_CLI_REPORT_FORMAT_H_
#define FIELDWORK_SERVICES_CLI_REPORT_FORMAT_H_

#include <string>

namespace fieldwork::cli {

std::string FormatFixed(double value, int decimals);
// "[low, high]" with two decimals: a confidence interval.
std::string FormatInterval(double low, double high);
std::string FormatP(double p);
// A share in [0, 1] as "62.5%".
std::string FormatPercent(double share);
// Degrees of freedom: whole numbers as they are ("52"), others (Bell–McCaffrey, 2SLS with
// clusters) to 1 decimal ("17.3").
std::string FormatDf(double df);
// The MDES ledger's standardised MDES to 3 decimals; a planned one the plan has no power section
// for, or an achieved one not estimated (0: nobody has responded yet), in words, not "0.000".
std::string FormatPlannedMdes(bool planned_known, double planned);
std::string FormatAchievedMdes(double achieved);
// Said wherever an assigned (non-random) factor's comparisons are shown.
std::string DescriptiveNote(const std::string& factor);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_REPORT_FORMAT_H_

// How the trial tables print numbers, shared by analyse, status and the HTML report so the
// terminal and the page agree: means and SEs to 2 decimals, p-values to 3 (or "<0.001"), rates
// as percentages to 1 decimal. Not-a-number prints as "NA", as R does.
#ifndef FIELDWORK_SERVICES_CLI_REPORT_FORMAT_H_
#define FIELDWORK_SERVICES_CLI_REPORT_FORMAT_H_

#include <string>

namespace fieldwork::cli {

std::string FormatFixed(double value, int decimals);
std::string FormatP(double p);
// A share in [0, 1] as "62.5%".
std::string FormatPercent(double share);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_REPORT_FORMAT_H_

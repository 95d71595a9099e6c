// The warnings `status` (and the HTML report) give when a trial drifts below its power
// assumptions. Pure: the thresholds are applied to the analysis and balance results.
#ifndef FIELDWORK_SERVICES_CLI_DRIFT_WARNINGS_H_
#define FIELDWORK_SERVICES_CLI_DRIFT_WARNINGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "fieldwork/v1/analysis.pb.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::cli {

inline constexpr double kMdesDriftRatio = 1.25;     // achieved MDES above 1.25 × planned
inline constexpr double kDifferentialPoints = 5;    // differential attrition of 5 points or more
inline constexpr double kDifferentialAlpha = 0.05;  //   with p below 0.05
inline constexpr double kSrmAlpha = 0.001;          // sample ratio mismatch p below 0.001

// Per outcome: achieved MDES > 1.25 × planned; response rate below the plan's expected rate;
// |differential attrition| ≥ 5 points with p < 0.05.
std::vector<std::string> AnalysisWarnings(const fieldwork::v1::AnalyseResponse& analysis);

// Per factor with allocations: SRM p < 0.001.
std::vector<std::string> SrmWarnings(const fieldwork::v1::BalanceResponse& balance,
                                     int64_t allocated);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_DRIFT_WARNINGS_H_

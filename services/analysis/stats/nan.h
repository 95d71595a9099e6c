// The quiet NaN the analysis code returns for "not estimable", named once.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_NAN_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_NAN_H_

#include <limits>

namespace fieldwork::analysis {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_NAN_H_

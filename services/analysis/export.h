// The joined analysis dataset as CSV for R and Stata users, with a codebook: one row per
// participant allocated to the plan's factor (withdrawn ones included and flagged).
#ifndef FIELDWORK_SERVICES_ANALYSIS_EXPORT_H_
#define FIELDWORK_SERVICES_ANALYSIS_EXPORT_H_

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "fieldwork/v1/analysis.pb.h"
#include "services/analysis/join.h"

namespace fieldwork::analysis {

// The dataset's columns, known before any line is written.
struct DatasetLayout {
  std::vector<fieldwork::v1::ExportDatasetResponse::Column> codebook;
  std::string header;  // the CSV header line, "\n"-terminated
  std::vector<std::string> waves;      // one responded_<wave> column each
  std::vector<std::string> campaigns;  // one took_up_<campaign> column each
};

struct Dataset {
  std::vector<fieldwork::v1::ExportDatasetResponse::Column> codebook;
  std::string header;              // the CSV header line, "\n"-terminated
  std::vector<std::string> lines;  // one "\n"-terminated CSV line per participant
};

// Columns: participant_id, site, cohort, cluster, arm, withdrawn, left, the plan's covariates,
// the plan's weights (when not a covariate already), one column per outcome (its codebook entry
// says how Analyse reports its effects: SE, df, Hedges' g, weights) and <outcome>_baseline when
// the plan has one, responded_<wave> per wave, took_up_<campaign> with engagement data. Missing
// values are empty cells; numbers are written in the shortest form that reads back exactly.
Dataset BuildDataset(const fieldwork::v1::AnalysisPlan& plan, const JoinedTrial& joined);

// The same in two steps, so that an export can write each line as it is made instead of
// holding the whole CSV: the columns, then `write` called with each "\n"-terminated line in
// participant id order (stopping when it returns false).
DatasetLayout LayoutDataset(const fieldwork::v1::AnalysisPlan& plan, const JoinedTrial& joined);
// The same from the parts the columns depend on: `taken_up` holds the campaigns some enrolled
// participant opened or clicked, null when there is no engagement source.
DatasetLayout LayoutDataset(const fieldwork::v1::AnalysisPlan& plan,
                            const fieldwork::v1::Trial& trial,
                            const std::vector<fieldwork::v1::Wave>& waves,
                            const std::set<std::string>* taken_up);
void ForEachDatasetLine(const fieldwork::v1::AnalysisPlan& plan, const JoinedTrial& joined,
                        const DatasetLayout& layout,
                        const std::function<bool(const std::string& line)>& write);

// A CSV field quoted as RFC 4180 requires (when it holds a comma, quote, CR or LF).
std::string CsvField(const std::string& value);
// The shortest decimal that reads back as `value`.
std::string FormatNumber(double value);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_EXPORT_H_

// Test data shared by the survey-ingest benchmarks: a 30-item instrument and Qualtrics exports
// of it, with participants P0, P1, ... (row r answers for participant P<r>).
#ifndef FIELDWORK_BENCH_SURVEY_INGEST_BENCH_DATA_H_
#define FIELDWORK_BENCH_SURVEY_INGEST_BENCH_DATA_H_

#include <string>

#include "absl/strings/string_view.h"
#include "services/survey_ingest/domain/scoring.h"

namespace fieldwork::survey_ingest {

// The instrument's YAML definition (id "bench", version 1).
extern const absl::string_view kBenchInstrument;

// The instrument, parsed, and a scorer for it.
const Scorer& BenchScorer();

// A Qualtrics export of `rows` responses, deterministic for a given `rows`.
std::string MakeExport(int rows);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_BENCH_SURVEY_INGEST_BENCH_DATA_H_

// Submissions of the benchmarks' 30-item instrument (bench_data.h) as partners send them over
// gRPC, answers drawn like the CSV export's.
#ifndef FIELDWORK_BENCH_SURVEY_INGEST_BENCH_SUBMISSIONS_H_
#define FIELDWORK_BENCH_SURVEY_INGEST_BENCH_SUBMISSIONS_H_

#include <cstdint>
#include <string>

#include "fieldwork/v1/survey_ingest.pb.h"

namespace fieldwork::survey_ingest {

// Submission i of `trial`'s wave "grpc": participant P<i>, submission id api-<i>, a finished
// response; `state` is the answers' random state, advanced.
fieldwork::v1::Submission MakeBenchSubmission(const std::string& trial, int i, uint64_t& state);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_BENCH_SURVEY_INGEST_BENCH_SUBMISSIONS_H_

// Benchmark of the pure part of ImportCsv: read, map, validate and score a 100,000-row Qualtrics
// export of a 30-item instrument (the issue's target for the whole import, Redis included, is
// <= 10 s). Also the CSV reader alone and scoring alone, to show where the time goes.
// Figures are printed, never asserted. Run a Release build:
//   build/h-ing-rel/bin/survey_ingest_import_bench
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/survey_ingest/bench_data.h"
#include "services/survey_ingest/domain/csv_import.h"
#include "services/survey_ingest/domain/csv_reader.h"
#include "services/survey_ingest/domain/instrument_yaml.h"
#include "services/survey_ingest/domain/scoring.h"

namespace fieldwork::survey_ingest {
namespace {

const ScaleNorms& Norms() {
  static const ScaleNorms* norms =
      new ScaleNorms{{"evaluative", {6, 2}}, {"happiness", {6.5, 2.5}}, {"anxiety", {4, 3}}};
  return *norms;
}

const std::string& Export100k() {
  static const std::string* content = new std::string(MakeExport(100'000));
  return *content;
}

void BM_ImportQualtrics100k(benchmark::State& state) {
  const std::string& content = Export100k();
  ImportOptions options;
  options.norms = &Norms();
  size_t accepted = 0;
  for (auto _ : state) {
    absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, BenchScorer(), options);
    accepted = result->accepted();
    benchmark::DoNotOptimize(result);
  }
  state.counters["rows/s"] = benchmark::Counter(100'000.0 * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  state.counters["MB"] = static_cast<double>(content.size()) / 1e6;
  state.counters["accepted"] = static_cast<double>(accepted);
  state.SetLabel("target for the whole ImportCsv (Redis included): <= 10 s");
}
BENCHMARK(BM_ImportQualtrics100k)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3);

// As the service should use it: each row handed over as it is read (here, only counted), so
// memory stays bounded whatever the file size.
void BM_ImportQualtrics100kStreaming(benchmark::State& state) {
  const std::string& content = Export100k();
  ImportOptions options;
  options.norms = &Norms();
  size_t scored = 0;
  for (auto _ : state) {
    absl::StatusOr<ImportResult> result =
        ImportSurveyCsv(content, BenchScorer(), options, [&scored](ImportedRow row) {
          scored += row.response.has_value() ? row.response->scored.scales.size() : 0;
        });
    benchmark::DoNotOptimize(result);
  }
  benchmark::DoNotOptimize(scored);
  state.counters["rows/s"] = benchmark::Counter(100'000.0 * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  state.SetLabel("target for the whole ImportCsv (Redis included): <= 10 s");
}
BENCHMARK(BM_ImportQualtrics100kStreaming)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3);

void BM_CsvReaderOnly100k(benchmark::State& state) {
  const std::string& content = Export100k();
  for (auto _ : state) {
    CsvReader reader(content);
    CsvRecord record;
    CsvError error;
    size_t fields = 0;
    while (reader.Next(record, error) != CsvReader::Result::kEnd) fields += record.fields.size();
    benchmark::DoNotOptimize(fields);
  }
  state.counters["MB/s"] = benchmark::Counter(
      static_cast<double>(content.size()) * static_cast<double>(state.iterations()) / 1e6,
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CsvReaderOnly100k)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ScoreOneResponse(benchmark::State& state) {
  const Scorer& scorer = BenchScorer();
  RawResponse response;
  for (const Item& item : scorer.instrument().items) {
    response[item.id] = item.type == ItemType::kSingleChoice ? "50"
                        : item.type == ItemType::kFreeText   ? "ok"
                                                             : "3";
  }
  ScoreOptions options;
  options.norms = &Norms();
  for (auto _ : state) {
    ScoringResult result = scorer.Score(response, options);
    benchmark::DoNotOptimize(result);
  }
  state.counters["responses/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ScoreOneResponse);

}  // namespace
}  // namespace fieldwork::survey_ingest

BENCHMARK_MAIN();

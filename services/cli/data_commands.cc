// enrol, responses import|replay, outcomes import: the commands that upload a partner's files.
#include <algorithm>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/analysis/plan_validation.h"
#include "services/cli/commands.h"
#include "services/cli/input_file.h"
#include "services/cli/protocol.h"
#include "services/cli/roster.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr int kEnrolChunk = 5'000;

void PrintRowError(const std::string& path, int64_t line, const std::string& field,
                   const std::string& reason, const std::string& value) {
  std::cerr << path << ":" << line << ": " << (field.empty() ? "" : field + ": ") << reason;
  if (!value.empty()) std::cerr << " (\"" << value << "\")";
  std::cerr << "\n";
}

bool ParseDate(absl::string_view text, v1::CivilDate& date) {
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) return false;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return true;
}

// A file imported before changes nothing; what the user needs then is what of it is still
// rejected (e.g. rows that arrived before their participants were enrolled), found by the
// rejects' source in whichever wave the file went to.
int ReportEarlierImport(CliContext& cli, const std::string& trial, const std::string& path,
                        const v1::ImportCsvResponse& response) {
  std::cout << "already imported (sha256 " << response.content_sha256() << "): nothing changed\n";
  v1::ListRejectsRequest request;
  request.set_trial_id(trial);
  auto context = cli.Call();
  auto reader = cli.survey_ingest().ListRejects(context.get(), request);
  const std::string source = "csv:" + response.content_sha256();
  constexpr int kShown = 5;
  int64_t remaining = 0;
  std::string wave;
  v1::ListRejectsResponse item;
  while (reader->Read(&item)) {
    const v1::Reject& reject = item.reject();
    if (reject.source() != source || reject.replayed()) continue;
    wave = reject.wave_id();
    if (++remaining <= kShown) {
      for (const auto& e : reject.errors()) PrintRowError(path, e.row(), e.field(), e.reason(), e.value());
    }
  }
  if (auto s = reader->Finish(); !s.ok()) return ReportFailure("ListRejects", s);
  if (remaining == 0) return kOk;
  if (remaining > kShown) std::cerr << path << ": ... and " << remaining - kShown << " more rejected rows\n";
  std::cout << remaining << " rows of it are still rejected; rows rejected for their participant (not yet "
            << "enrolled) are validated again by `fieldwork responses replay " << trial << " --wave=" << wave
            << "`\n";
  return kRejected;
}

}  // namespace

// When the trial's main analysis plan is weighted, a row whose weight the analysis would refuse
// (missing, not a number, not > 0) is an error of that row here, so that nobody is enrolled who
// could not be analysed. Without a reachable analysis service or a plan there is nothing to
// check: RegisterPlan and Analyse check the weights again.
void CheckRosterWeights(CliContext& cli, const std::string& trial_id, Roster& roster) {
  v1::GetPlanRequest get;
  get.set_trial_id(trial_id);
  v1::GetPlanResponse plan;
  if (!cli.analysis().GetPlan(cli.Call().get(), get, &plan).ok()) return;
  const std::string& weights = plan.record().plan().weights();
  if (weights.empty()) return;
  std::vector<RosterRow> kept;
  for (RosterRow& row : roster.rows) {
    std::optional<std::string> problem = analysis::WeightProblem(weights, row.participant);
    if (!problem.has_value()) {
      kept.push_back(std::move(row));
      continue;
    }
    auto it = row.participant.covariates().find(weights);
    const std::string value = it == row.participant.covariates().end() ? ""
                              : it->second.has_number()             ? absl::StrCat(it->second.number())
                                                                    : it->second.category();
    roster.errors.push_back({row.line, weights,
                             absl::StrCat("the analysis plan's weight ", *problem), value});
  }
  roster.rows = std::move(kept);
  std::stable_sort(roster.errors.begin(), roster.errors.end(),
                   [](const RosterError& a, const RosterError& b) { return a.line < b.line; });
}

int Enrol(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 2) {
    std::cerr << "usage: fieldwork enrol TRIAL ROSTER.csv [--all_or_nothing]\n";
    return kUsage;
  }
  const std::string& trial_id = args[0];
  const std::string& path = args[1];
  absl::StatusOr<std::string> csv = ReadCsvFile(path);
  if (!csv.ok()) return std::cerr << "fieldwork: " << csv.status().message() << "\n", kUsage;
  v1::GetTrialRequest get;
  get.set_trial_id(trial_id);
  v1::GetTrialResponse trial;
  if (auto s = cli.randomisation().GetTrial(cli.Call().get(), get, &trial); !s.ok()) return ReportFailure("GetTrial", s);
  absl::StatusOr<Roster> roster = ReadRoster(*csv, path, trial.trial().design());
  if (!roster.ok()) return std::cerr << "fieldwork: " << roster.status().message() << "\n", kUsage;
  CheckRosterWeights(cli, trial_id, *roster);
  for (const RosterError& e : roster->errors) PrintRowError(path, e.line, e.column, e.reason, e.value);
  if (options.all_or_nothing && !roster->errors.empty()) {
    std::cerr << "fieldwork: --all_or_nothing: nothing enrolled\n";
    return kRejected;
  }

  // One stream: the service checks the whole roster as one batch (all_or_nothing applies to
  // it whole) and reports rows by their position in the stream, mapped back to file lines.
  auto context = cli.Call(1800);
  v1::EnrolResponse response;
  auto writer = cli.randomisation().EnrolStream(context.get(), &response);
  Progress progress("enrol " + path, static_cast<int64_t>(roster->rows.size()));
  v1::EnrolRequest chunk;
  chunk.set_trial_id(trial_id);
  chunk.set_all_or_nothing(options.all_or_nothing);
  for (size_t i = 0; i < roster->rows.size(); ++i) {
    *chunk.add_participants() = roster->rows[i].participant;
    if (chunk.participants_size() == kEnrolChunk || i + 1 == roster->rows.size()) {
      if (!writer->Write(chunk)) break;
      chunk.clear_participants();
      progress.Update(static_cast<int64_t>(i + 1));
    }
  }
  progress.Finish();
  writer->WritesDone();
  if (auto s = writer->Finish(); !s.ok()) return ReportFailure("EnrolStream", s);
  for (const auto& e : response.errors()) {
    const auto index = static_cast<size_t>(e.row() - 1);
    const int64_t line = index < roster->rows.size() ? roster->rows[index].line : e.row();
    PrintRowError(path, line, e.field(), e.reason(), e.value());
  }
  std::cout << "enrolled " << response.enrolled() << ", unchanged " << response.unchanged()
            << ", rejected " << response.rejected() + static_cast<int64_t>(roster->errors.size()) << "\n";
  return response.rejected() == 0 && roster->errors.empty() ? kOk : kRejected;
}

int ImportResponses(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 3) {
    std::cerr << "usage: fieldwork responses import TRIAL WAVE FILE.csv [--long] [--keep_unfinished] "
                 "[--participant_column=NAME | --token_column=NAME] [--ignore_columns=A,B,...]\n";
    return kUsage;
  }
  const std::string& path = args[2];
  absl::StatusOr<std::string> csv = ReadCsvFile(path);
  if (!csv.ok()) return std::cerr << "fieldwork: " << csv.status().message() << "\n", kUsage;
  v1::ImportCsvRequest request;
  request.set_trial_id(args[0]);
  request.set_wave_id(args[1]);
  request.set_content(*csv);
  request.set_file_name(path);
  request.set_keep_unfinished(options.keep_unfinished);
  request.set_participant_column(options.participant_column);
  request.set_token_column(options.token_column);
  if (options.long_format) request.set_layout(v1::ImportCsvRequest::LAYOUT_LONG);
  for (absl::string_view column : absl::StrSplit(options.ignore_columns, ',', absl::SkipWhitespace())) {
    request.add_ignore_columns(std::string(absl::StripAsciiWhitespace(column)));
  }
  v1::ImportCsvResponse response;
  if (auto s = cli.survey_ingest().ImportCsv(cli.Call(1800).get(), request, &response); !s.ok()) {
    return ReportFailure("ImportCsv " + path, s);
  }
  if (response.already_imported()) return ReportEarlierImport(cli, args[0], path, response);
  for (const auto& e : response.errors()) PrintRowError(path, e.row(), e.field(), e.reason(), e.value());
  for (const auto& r : response.repeated_response_ids()) {
    PrintRowError(path, r.row(), r.field(), r.reason() + ", not imported again", r.value());
  }
  for (const auto& w : response.warnings()) std::cerr << path << ": warning: " << w << "\n";
  if (response.ignored_columns_size() > 0) {
    std::vector<std::string> ignored;
    for (const auto& c : response.ignored_columns()) ignored.push_back(absl::StrCat(c.name(), " (", c.reason(), ")"));
    std::cout << "columns not imported: " << absl::StrJoin(ignored, ", ") << "\n";
  }
  std::cout << "accepted " << response.accepted() << ", duplicate " << response.duplicate() << ", rejected "
            << response.rejected() << ", survey previews skipped " << response.preview();
  if (response.test_responses() > 0) {
    std::cout << ", test responses skipped " << response.test_responses();
  }
  std::cout << "\n";
  return response.rejected() == 0 ? kOk : kRejected;
}

int ReplayResponses(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 1) {
    std::cerr << "usage: fieldwork responses replay TRIAL [--wave=W]\n";
    return kUsage;
  }
  v1::ReplayRejectsRequest request;
  request.set_trial_id(args[0]);
  request.set_wave_id(options.wave);
  v1::ReplayRejectsResponse response;
  if (auto s = cli.survey_ingest().ReplayRejects(cli.Call(1800).get(), request, &response); !s.ok()) {
    return ReportFailure("ReplayRejects", s);
  }
  std::cout << "replayed: accepted " << response.accepted() << ", still rejected " << response.still_rejected()
            << "\n";
  return response.still_rejected() == 0 ? kOk : kRejected;
}

int ExportDecisions(CliContext& cli, const Args& args, const CommandOptions& options) {
  if (args.size() != 1) {
    std::cerr << "usage: fieldwork responses decisions TRIAL [--wave=W]\n";
    return kUsage;
  }
  v1::ListResponsesRequest request;
  request.set_trial_id(args[0]);
  request.set_wave_id(options.wave);
  // Every response's decisions are read before any row is written (an attribute seen late is
  // a column of every row), and only they are kept: not the answers or the scores. ListResponses
  // gives the counted response of each participant (the one the analysis reads).
  std::vector<v1::Response> decided;  // participant, wave and decisions only
  std::set<std::string> attributes;
  auto context = cli.Call();
  auto reader = cli.survey_ingest().ListResponses(context.get(), request);
  v1::ListResponsesResponse item;
  while (reader->Read(&item)) {
    v1::Response& response = *item.mutable_response();
    if (response.decisions_size() == 0) continue;
    for (const v1::Decision& d : response.decisions()) {
      for (const auto& [name, value] : d.attributes()) attributes.insert(name);
    }
    v1::Response& kept = decided.emplace_back();
    kept.set_participant_id(response.participant_id());
    kept.set_wave_id(response.wave_id());
    kept.mutable_decisions()->Swap(response.mutable_decisions());
  }
  if (auto s = reader->Finish(); !s.ok()) return ReportFailure("ListResponses", s);
  std::vector<std::string> columns = {"participant_id", "wave_id", "block", "decision",
                                      "item_id", "value", "stimulus", "stimulus_text"};
  columns.insert(columns.end(), attributes.begin(), attributes.end());
  std::string line;
  survey_ingest::AppendCsvRecord(line, columns);
  std::cout << line;
  for (const v1::Response& r : decided) {
    for (const v1::Decision& d : r.decisions()) {
      std::vector<std::string> fields = {r.participant_id(), r.wave_id(), d.block(),
                                         absl::StrCat(d.index()), d.item_id(), d.value(),
                                         d.stimulus(), d.stimulus_text()};
      for (const std::string& name : attributes) {
        auto value = d.attributes().find(name);
        fields.push_back(value == d.attributes().end() ? "" : value->second);
      }
      line.clear();
      survey_ingest::AppendCsvRecord(line, fields);
      std::cout << line;
    }
  }
  return kOk;
}

int ImportOutcomes(CliContext& cli, const Args& args, const CommandOptions& /*options*/) {
  if (args.size() != 2) {
    std::cerr << "usage: fieldwork outcomes import TRIAL FILE.csv\n"
                 "  columns: participant_id, outcome, period_start, period_end (YYYY-MM-DD), value\n";
    return kUsage;
  }
  const std::string& path = args[1];
  absl::StatusOr<std::string> csv = ReadCsvFile(path);
  if (!csv.ok()) return std::cerr << "fieldwork: " << csv.status().message() << "\n", kUsage;
  survey_ingest::CsvReader reader(*csv);
  survey_ingest::CsvRecord record;
  survey_ingest::CsvError error;
  const std::vector<std::string> expected = {"participant_id", "outcome", "period_start", "period_end", "value"};
  if (reader.Next(record, error) != survey_ingest::CsvReader::Result::kRecord || record.fields != expected) {
    std::cerr << "fieldwork: " << path << ": the header must be participant_id,outcome,period_start,period_end,value\n";
    return kUsage;
  }
  v1::RecordOutcomesRequest request;
  request.set_trial_id(args[0]);
  std::vector<int> lines;
  int local_errors = 0;
  while (true) {
    const auto result = reader.Next(record, error);
    if (result == survey_ingest::CsvReader::Result::kEnd) break;
    if (result == survey_ingest::CsvReader::Result::kError) {
      PrintRowError(path, error.line, "", error.reason, std::string(error.raw));
      ++local_errors;
      continue;
    }
    v1::Outcome outcome;
    outcome.set_trial_id(args[0]);
    double value = 0;
    bool ok = record.fields.size() == expected.size();
    if (!ok) PrintRowError(path, record.line, "", "does not have 5 fields", std::string(record.raw));
    if (ok && !ParseDate(record.fields[2], *outcome.mutable_period_start())) {
      PrintRowError(path, record.line, "period_start", "is not a date YYYY-MM-DD", record.fields[2]);
      ok = false;
    }
    if (ok && !ParseDate(record.fields[3], *outcome.mutable_period_end())) {
      PrintRowError(path, record.line, "period_end", "is not a date YYYY-MM-DD", record.fields[3]);
      ok = false;
    }
    if (ok && !absl::SimpleAtod(record.fields[4], &value)) {
      PrintRowError(path, record.line, "value", "is not a number", record.fields[4]);
      ok = false;
    }
    if (!ok) {
      ++local_errors;
      continue;
    }
    outcome.set_participant_id(record.fields[0]);
    outcome.set_outcome(record.fields[1]);
    outcome.set_value(value);
    *request.add_outcomes() = std::move(outcome);
    lines.push_back(record.line);
  }
  v1::RecordOutcomesResponse response;
  if (auto s = cli.survey_ingest().RecordOutcomes(cli.Call().get(), request, &response); !s.ok()) {
    return ReportFailure("RecordOutcomes", s);
  }
  for (const auto& e : response.errors()) {
    const auto index = static_cast<size_t>(e.row() - 1);
    PrintRowError(path, index < lines.size() ? lines[index] : e.row(), e.field(), e.reason(), e.value());
  }
  std::cout << "recorded " << response.recorded() << ", unchanged " << response.unchanged() << ", rejected "
            << response.rejected() + local_errors << "\n";
  return response.rejected() == 0 && local_errors == 0 ? kOk : kRejected;
}

}  // namespace fieldwork::cli

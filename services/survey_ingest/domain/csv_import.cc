#include "services/survey_ingest/domain/csv_import.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "services/survey_ingest/domain/content_hash.h"
#include "services/survey_ingest/domain/csv_reader.h"
#include "services/survey_ingest/domain/number_format.h"
#include "services/survey_ingest/domain/timestamp.h"

namespace fieldwork::survey_ingest {
namespace {

// Qualtrics' own columns, by export name and by ImportId. Known, so never "unknown".
struct KnownColumn {
  absl::string_view name;
  absl::string_view import_id;
  ColumnRole role;
};
constexpr KnownColumn kQualtricsColumns[] = {
    {"StartDate", "startDate", ColumnRole::kStartDate},
    {"EndDate", "endDate", ColumnRole::kEndDate},
    {"RecordedDate", "recordedDate", ColumnRole::kRecordedDate},
    {"Finished", "finished", ColumnRole::kFinished},
    {"Progress", "progress", ColumnRole::kProgress},
    {"Status", "status", ColumnRole::kMetadata},
    {"Duration (in seconds)", "duration", ColumnRole::kMetadata},
    {"ResponseId", "_recordId", ColumnRole::kMetadata},
    {"ExternalReference", "externalDataReference", ColumnRole::kMetadata},
    {"DistributionChannel", "distributionChannel", ColumnRole::kMetadata},
    {"UserLanguage", "userLanguage", ColumnRole::kMetadata},
    {"IPAddress", "ipAddress", ColumnRole::kPersonalData},
    {"RecipientEmail", "recipientEmail", ColumnRole::kPersonalData},
    {"RecipientFirstName", "recipientFirstName", ColumnRole::kPersonalData},
    {"RecipientLastName", "recipientLastName", ColumnRole::kPersonalData},
    {"LocationLatitude", "locationLatitude", ColumnRole::kPersonalData},
    {"LocationLongitude", "locationLongitude", ColumnRole::kPersonalData},
    {"Q_RecaptchaScore", "Q_RecaptchaScore", ColumnRole::kMetadata},
    {"Q_RelevantIDDuplicate", "Q_RelevantIDDuplicate", ColumnRole::kMetadata},
    {"Q_RelevantIDDuplicateScore", "Q_RelevantIDDuplicateScore", ColumnRole::kMetadata},
    {"Q_RelevantIDFraudScore", "Q_RelevantIDFraudScore", ColumnRole::kMetadata},
    {"Q_RelevantIDLastStartDate", "Q_RelevantIDLastStartDate", ColumnRole::kMetadata},
    {"Q_BallotBoxStuffing", "Q_BallotBoxStuffing", ColumnRole::kMetadata},
    {"Q_TotalDuration", "Q_TotalDuration", ColumnRole::kMetadata},
    {"Q_DataPolicyViolations", "Q_DataPolicyViolations", ColumnRole::kMetadata},
    {"Q_Language", "Q_Language", ColumnRole::kMetadata},
    {"Q_URL", "Q_URL", ColumnRole::kMetadata},
};

struct ImportIdCell {
  std::string import_id;
  std::string time_zone;
};

// {"ImportId":"QID12_1"} or {"ImportId":"startDate","timeZone":"Europe/London"}.
std::optional<ImportIdCell> ParseImportIdCell(absl::string_view cell) {
  cell = TrimBlanks(cell);
  if (cell.empty() || cell.front() != '{') return std::nullopt;
  const nlohmann::json json = nlohmann::json::parse(cell, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  auto id = json.find("ImportId");
  if (id == json.end() || !id->is_string()) return std::nullopt;
  ImportIdCell out{id->get<std::string>(), ""};
  auto zone = json.find("timeZone");
  if (zone != json.end() && zone->is_string()) out.time_zone = zone->get<std::string>();
  return out;
}

bool IsImportIdRow(const CsvRecord& record) {
  bool any = false;
  for (const std::string& field : record.fields) {
    if (TrimBlanks(field).empty()) continue;
    if (!ParseImportIdCell(field).has_value()) return false;
    any = true;
  }
  return any;
}

bool MatchesPattern(absl::string_view name, absl::string_view pattern) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return name.substr(0, pattern.size()) == pattern;
  }
  return name == pattern;
}

// Q5_DO, Q7_DO_1, FL_12_DO: Qualtrics' record of the order in which choices, questions or
// blocks were shown ("display order"), exported when the survey randomises them.
bool IsDisplayOrderColumn(absl::string_view name) {
  for (size_t pos = name.find("_DO"); pos != absl::string_view::npos;
       pos = name.find("_DO", pos + 1)) {
    if (pos > 0 && (pos + 3 == name.size() || name[pos + 3] == '_')) return true;
  }
  return false;
}

std::optional<bool> ParseFinished(absl::string_view text) {
  text = TrimBlanks(text);
  if (text == "1" || text == "True" || text == "true" || text == "TRUE") return true;
  if (text == "0" || text == "False" || text == "false" || text == "FALSE") return false;
  return std::nullopt;
}

// The file-level plan: what each column is, and where the special columns are.
struct Plan {
  std::vector<ImportColumn> columns;
  std::vector<int> item_column;  // per instrument item: column index or -1
  int participant = -1;
  int response_id = -1;
  int start_date = -1;
  int end_date = -1;
  int recorded_date = -1;
  int finished = -1;
  int progress = -1;
  int status = -1;                // Qualtrics' response type: 1 is a preview
  int distribution_channel = -1;  // "preview" for a preview
  std::vector<int> unknown;
  std::vector<int> personal;
  std::vector<absl::TimeZone> zones;  // per column, for date columns
  // Per instrument item: lower-cased label -> code.
  std::vector<std::map<std::string, std::string, std::less<>>> labels;
  std::vector<std::string> missing_codes;  // the instrument's
  // Per decision block with a qualtrics_loop: per loop (0-based) its stimulus column and its
  // attribute columns (attribute -> column), -1 / absent when the file has none.
  struct Loop {
    const DecisionBlock* block = nullptr;
    std::vector<int> stimulus;
    std::vector<std::map<std::string, int>> attributes;
  };
  std::vector<Loop> loops;
};

// "{i}" in a qualtrics_loop column name replaced by the loop number.
std::string LoopColumnName(absl::string_view pattern, size_t loop) {
  return absl::StrReplaceAll(pattern, {{"{i}", absl::StrCat(loop)}});
}

absl::StatusOr<Plan> MakePlan(const CsvRecord& header, const CsvRecord* questions,
                              const CsvRecord* import_ids, const Scorer& scorer,
                              const ImportOptions& options, ImportResult& result) {
  const Instrument& instrument = scorer.instrument();
  Plan plan;
  const size_t n = header.fields.size();
  plan.columns.resize(n);
  plan.zones.assign(n, options.time_zone);
  plan.item_column.assign(instrument.items.size(), -1);
  plan.labels.resize(instrument.items.size());
  for (size_t i = 0; i < instrument.items.size(); ++i) {
    for (const AnswerLabel& label : instrument.items[i].labels) {
      plan.labels[i].emplace(absl::AsciiStrToLower(TrimBlanks(label.label)), label.code);
    }
  }
  plan.missing_codes = instrument.missing_codes;

  std::map<std::string, int, std::less<>> item_by_import_id;
  std::map<std::string, int, std::less<>> item_by_column;
  for (size_t i = 0; i < instrument.items.size(); ++i) {
    const Item& item = instrument.items[i];
    if (!item.qualtrics_import_id.empty()) {
      item_by_import_id.emplace(item.qualtrics_import_id, static_cast<int>(i));
    }
    item_by_column.emplace(item.ColumnName(), static_cast<int>(i));
  }
  // A loop-and-merge block's columns: "<i>_<question>" is items[i-1]'s answer (unless an item
  // has that column name already); the loop's embedded data is found by name below.
  struct LoopSlot {
    size_t loop;
    size_t decision;        // 0-based
    std::string attribute;  // empty: the stimulus column
  };
  std::map<std::string, LoopSlot, std::less<>> loop_slot;
  for (const DecisionBlock& block : instrument.decisions) {
    const QualtricsLoop& loop = block.qualtrics_loop;
    if (loop.empty()) continue;
    Plan::Loop& columns = plan.loops.emplace_back();
    columns.block = &block;
    columns.stimulus.assign(block.items.size(), -1);
    columns.attributes.resize(block.items.size());
    for (size_t d = 0; d < block.items.size(); ++d) {
      item_by_column.emplace(absl::StrCat(d + 1, "_", loop.question),
                             scorer.ItemIndex(block.items[d]));
      if (!loop.stimulus_column.empty()) {
        loop_slot.emplace(LoopColumnName(loop.stimulus_column, d + 1),
                          LoopSlot{plan.loops.size() - 1, d, ""});
      }
      for (const auto& [attribute, pattern] : loop.attribute_columns) {
        loop_slot.emplace(LoopColumnName(pattern, d + 1),
                          LoopSlot{plan.loops.size() - 1, d, attribute});
      }
    }
  }

  std::vector<std::string> problems;
  auto claim_item = [&](int item, int column, MatchedBy how) {
    const size_t i = static_cast<size_t>(item);
    if (plan.item_column[i] >= 0) {
      problems.push_back(absl::StrCat("columns '",
                                      plan.columns[static_cast<size_t>(plan.item_column[i])].name,
                                      "' and '", plan.columns[static_cast<size_t>(column)].name,
                                      "' both map to item '", instrument.items[i].id, "'"));
      return;
    }
    plan.item_column[i] = column;
    ImportColumn& c = plan.columns[static_cast<size_t>(column)];
    c.role = ColumnRole::kItem;
    c.item_id = instrument.items[i].id;
    c.matched_by = how;
  };

  for (size_t col = 0; col < n; ++col) {
    ImportColumn& column = plan.columns[col];
    const int index = static_cast<int>(col);
    column.index = index;
    column.name = std::string(TrimBlanks(header.fields[col]));
    if (questions != nullptr && col < questions->fields.size()) {
      column.question = questions->fields[col];
    }
    if (import_ids != nullptr && col < import_ids->fields.size()) {
      if (auto cell = ParseImportIdCell(import_ids->fields[col])) {
        column.import_id = cell->import_id;
        column.time_zone = cell->time_zone;
      }
    }

    if (column.name == options.participant_column) {
      if (plan.participant >= 0) {
        problems.push_back(
            absl::StrCat("the participant column '", column.name, "' appears more than once"));
      }
      column.role = ColumnRole::kParticipant;
      plan.participant = index;
      continue;
    }
    if (!options.response_id_column.empty() && column.name == options.response_id_column) {
      column.role = ColumnRole::kResponseId;
      plan.response_id = index;
      continue;
    }
    if (!column.import_id.empty()) {
      if (auto it = item_by_import_id.find(column.import_id); it != item_by_import_id.end()) {
        claim_item(it->second, index, MatchedBy::kImportId);
        continue;
      }
    }
    if (auto it = item_by_column.find(column.name); it != item_by_column.end()) {
      // An item matched by ImportId elsewhere keeps that column; this one is then unknown
      // rather than a conflict, since ImportIds take precedence over names.
      const int item = it->second;
      const int existing = plan.item_column[static_cast<size_t>(item)];
      if (existing < 0 ||
          plan.columns[static_cast<size_t>(existing)].matched_by != MatchedBy::kImportId) {
        claim_item(item, index, MatchedBy::kName);
        continue;
      }
    }
    if (auto slot = loop_slot.find(column.name); slot != loop_slot.end()) {
      column.role = ColumnRole::kDecisionData;
      Plan::Loop& loop = plan.loops[slot->second.loop];
      if (slot->second.attribute.empty()) {
        loop.stimulus[slot->second.decision] = index;
      } else {
        loop.attributes[slot->second.decision][slot->second.attribute] = index;
      }
      continue;
    }
    if (MatchesColumnPattern(column.name, options.personal_data_columns)) {
      column.role = ColumnRole::kPersonalData;
      plan.personal.push_back(index);
      continue;
    }
    const KnownColumn* known = nullptr;
    for (const KnownColumn& k : kQualtricsColumns) {
      if (column.name == k.name || (!column.import_id.empty() && column.import_id == k.import_id)) {
        known = &k;
        break;
      }
    }
    if (known != nullptr) {
      column.role = known->role;
      int* slot = nullptr;
      switch (known->role) {
        case ColumnRole::kStartDate:
          slot = &plan.start_date;
          break;
        case ColumnRole::kEndDate:
          slot = &plan.end_date;
          break;
        case ColumnRole::kRecordedDate:
          slot = &plan.recorded_date;
          break;
        case ColumnRole::kFinished:
          slot = &plan.finished;
          break;
        case ColumnRole::kProgress:
          slot = &plan.progress;
          break;
        case ColumnRole::kPersonalData:
          plan.personal.push_back(index);
          break;
        default:
          if (known->import_id == "status") slot = &plan.status;
          if (known->import_id == "distributionChannel") slot = &plan.distribution_channel;
          break;
      }
      if (slot != nullptr) {
        if (*slot >= 0) {
          problems.push_back(absl::StrCat("column '", column.name, "' appears more than once"));
        }
        *slot = index;
      }
      continue;
    }
    if (IsDisplayOrderColumn(column.name) || IsDisplayOrderColumn(column.import_id)) {
      column.role = ColumnRole::kDisplayOrder;
      continue;
    }
    if (MatchesColumnPattern(column.name, options.ignored_columns)) {
      column.role = ColumnRole::kIgnored;
      continue;
    }
    column.role = ColumnRole::kUnknown;
    plan.unknown.push_back(index);
    result.unknown_columns.push_back(column.name);
  }

  // Time zones declared by Qualtrics for its date columns.
  for (int index : {plan.start_date, plan.end_date, plan.recorded_date}) {
    if (index < 0) continue;
    const ImportColumn& column = plan.columns[static_cast<size_t>(index)];
    if (column.time_zone.empty()) continue;
    absl::TimeZone zone;
    if (absl::LoadTimeZone(column.time_zone, &zone)) {
      plan.zones[static_cast<size_t>(index)] = zone;
    } else {
      problems.push_back(absl::StrCat("column '", column.name, "' declares time zone '",
                                      column.time_zone,
                                      "', which is not in the time-zone database (tzdata)"));
    }
  }

  if (plan.participant < 0) {
    problems.push_back(
        absl::StrCat("no participant column '", options.participant_column, "' in the header"));
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot import the file for instrument ",
                                                   instrument.Name(), ": ",
                                                   absl::StrJoin(problems, "; ")));
  }
  for (size_t i = 0; i < instrument.items.size(); ++i) {
    if (plan.item_column[i] < 0) result.unmapped_items.push_back(instrument.items[i].id);
  }
  if (!result.unmapped_items.empty()) {
    result.warnings.push_back(absl::StrCat("no column for item(s) ",
                                           absl::StrJoin(result.unmapped_items, ", "),
                                           "; they are unanswered in every row"));
  }
  return plan;
}

// The record's raw text, or a re-serialised copy with personal data blanked.
std::string RedactedRaw(const CsvRecord& record, const Plan& plan) {
  bool has_personal = false;
  for (int index : plan.personal) {
    const size_t i = static_cast<size_t>(index);
    has_personal = has_personal || (i < record.fields.size() && !record.fields[i].empty());
  }
  if (!has_personal) return std::string(record.raw);
  static const std::string kBlank;
  std::vector<std::reference_wrapper<const std::string>> fields(record.fields.begin(),
                                                                record.fields.end());
  for (int index : plan.personal) {
    if (static_cast<size_t>(index) < fields.size()) fields[static_cast<size_t>(index)] = kBlank;
  }
  std::string out;
  out.reserve(record.raw.size() + 8);
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(CsvQuote(fields[i].get()));
  }
  return out;
}

// Whether a Qualtrics row is of the kind given by its Status (as a number or as text) or its
// DistributionChannel: exports carry either form, and some carry only one of the two columns.
bool IsRowKind(absl::string_view status, absl::string_view channel, absl::string_view code,
               absl::string_view status_text, absl::string_view channel_text) {
  status = TrimBlanks(status);
  return status == code || absl::EqualsIgnoreCase(status, status_text) ||
         absl::EqualsIgnoreCase(TrimBlanks(channel), channel_text);
}

bool IsPreview(absl::string_view status, absl::string_view channel) {
  return IsRowKind(status, channel, "1", "Survey Preview", "preview");
}

bool IsTestResponse(absl::string_view status, absl::string_view channel) {
  return IsRowKind(status, channel, "2", "Survey Test", "test");
}

class RowImporter {
 public:
  RowImporter(const Plan& plan, const Scorer& scorer, const ImportOptions& options,
              ImportResult& result)
      : plan_(plan), scorer_(scorer), options_(options), result_(result) {
    raw_.resize(scorer.instrument().items.size());
  }

  // The row, or nullopt for a preview or a repeated response (counted in the result).
  std::optional<ImportedRow> Import(const CsvRecord& record) {
    ImportedRow row;
    row.line = record.line;
    row.raw = RedactedRaw(record, plan_);
    auto error = [&](std::string field, std::string reason, std::string value) {
      row.errors.push_back({record.line, std::move(field), std::move(reason), std::move(value)});
    };
    if (record.fields.size() != plan_.columns.size()) {
      error("",
            absl::StrCat("the row has ", record.fields.size(), " fields, the header has ",
                         plan_.columns.size()),
            "");
      return row;
    }
    auto field = [&](int index) -> absl::string_view {
      return index < 0 ? absl::string_view() : record.fields[static_cast<size_t>(index)];
    };
    auto name = [&](int index) -> const std::string& {
      return plan_.columns[static_cast<size_t>(index)].name;
    };
    if (IsPreview(field(plan_.status), field(plan_.distribution_channel))) {
      ++result_.preview_rows;
      return std::nullopt;
    }
    if (IsTestResponse(field(plan_.status), field(plan_.distribution_channel))) {
      ++result_.test_rows;
      return std::nullopt;
    }

    ImportedResponse response;
    response.participant_id = std::string(TrimBlanks(field(plan_.participant)));
    if (response.participant_id.empty()) {
      error(name(plan_.participant), "missing participant id", "");
    }
    const absl::string_view source_id = TrimBlanks(field(plan_.response_id));
    if (!source_id.empty()) {
      auto [first, fresh] =
          first_seen_.try_emplace(std::string(source_id), record.line, response.participant_id);
      const auto& [first_line, first_participant] = first->second;
      if (!fresh && first_participant == response.participant_id) {
        result_.repeated.push_back({record.line, first_line, std::string(source_id)});
        return std::nullopt;
      }
      // With resolve_participant these are the raw values (tokens: one per participant and
      // wave, so the comparison holds), which a message must not repeat.
      if (!fresh) {
        error(name(plan_.response_id),
              absl::StrCat("duplicate response id: line ", first_line, " has the same id for ",
                           options_.resolve_participant
                               ? std::string("another participant")
                               : absl::StrCat("participant ", first_participant)),
              std::string(source_id));
      }
    }

    auto timestamp = [&](int index, std::optional<absl::Time>& out) {
      if (index < 0) return;
      const absl::string_view text = field(index);
      if (TrimBlanks(text).empty()) return;
      out = ParseSurveyTimestamp(text, plan_.zones[static_cast<size_t>(index)]);
      if (!out.has_value()) {
        error(name(index),
              "not a timestamp (expected e.g. 2021-03-04 10:15:00 or 2021-03-04T10:15:00Z)",
              std::string(text));
      }
    };
    timestamp(plan_.start_date, response.start_date);
    timestamp(plan_.end_date, response.end_date);
    timestamp(plan_.recorded_date, response.recorded_date);
    if (options_.resolve_participant && !response.participant_id.empty()) {
      // A survey link token, checked as of when it was used: the end, else recorded, else
      // start date. Its error never repeats the value (a token is a credential).
      absl::StatusOr<std::string> resolved = options_.resolve_participant(
          response.participant_id,
          response.end_date ? response.end_date
                            : response.recorded_date ? response.recorded_date : response.start_date);
      if (resolved.ok()) {
        response.participant_id = *std::move(resolved);
      } else {
        error(name(plan_.participant), std::string(resolved.status().message()), "");
        response.participant_id.clear();
      }
    }

    bool finished_ok = true;
    if (plan_.finished >= 0 && !TrimBlanks(field(plan_.finished)).empty()) {
      response.finished = ParseFinished(field(plan_.finished));
      if (!response.finished.has_value()) {
        finished_ok = false;
        error(name(plan_.finished), "expected 1/0 or True/False",
              std::string(field(plan_.finished)));
      }
    }
    if (plan_.progress >= 0 && !TrimBlanks(field(plan_.progress)).empty()) {
      response.progress = ParseNumber(field(plan_.progress));
      if (!response.progress.has_value() || *response.progress < 0 || *response.progress > 100) {
        finished_ok = false;
        response.progress.reset();
        error(name(plan_.progress), "expected a percentage from 0 to 100",
              std::string(field(plan_.progress)));
      }
    }
    // Complete needs both: Qualtrics can mark a response Finished that stopped short of the
    // end (a closed partial response, an edited record), and such a row is not complete.
    const bool not_finished = response.finished.has_value() && !*response.finished;
    const bool short_progress = response.progress.has_value() && *response.progress < 100;
    if (finished_ok && (not_finished || short_progress)) {
      if (options_.unfinished == UnfinishedPolicy::kReject) {
        const int column = not_finished ? plan_.finished : plan_.progress;
        std::string reason = "response not finished";
        if (short_progress) {
          absl::StrAppend(&reason,
                          not_finished ? " (progress " : ": Finished is True but progress is ",
                          FormatNumber(*response.progress), not_finished ? "%)" : "%");
        }
        error(name(column), std::move(reason), std::string(field(column)));
      } else {
        response.partial = true;
      }
    }

    if (options_.unknown_columns == UnknownColumnPolicy::kRejectRowsWithValues) {
      for (int index : plan_.unknown) {
        if (TrimBlanks(field(index)).empty()) continue;
        error(
            name(index),
            absl::StrCat("unknown column: not an item of instrument ", scorer_.instrument().Name(),
                         " nor a known Qualtrics column (name it in --ignore_columns, "
                         "ImportCsvRequest.ignore_columns, to skip it)"),
            std::string(field(index)));
      }
    }

    const std::vector<Item>& items = scorer_.instrument().items;
    for (size_t i = 0; i < items.size(); ++i) {
      const int column = plan_.item_column[i];
      raw_[i] = column < 0 ? RawRef() : Recode(i, field(column));
    }
    ScoreOptions score_options;
    score_options.enforce_required = !response.partial;
    score_options.norms = options_.norms;
    ScoringResult scored = scorer_.ScoreAligned(raw_, score_options);
    for (FieldError& problem : scored.errors) {
      const int index = scorer_.ItemIndex(problem.field);
      const int column = index < 0 ? -1 : plan_.item_column[static_cast<size_t>(index)];
      if (column < 0) {
        // A required item with no column in the file.
        error(problem.field, absl::StrCat(problem.reason, " (the file has no column for it)"),
              std::move(problem.raw));
      } else if (name(column) == problem.field) {
        error(name(column), std::move(problem.reason), std::move(problem.raw));
      } else {
        error(name(column), absl::StrCat("item '", problem.field, "': ", problem.reason),
              std::move(problem.raw));
      }
    }
    ReadDecisions(scored.scored, field, name, response.decisions, error);
    if (!row.errors.empty()) return row;

    response.scored = std::move(scored.scored);

    if (!source_id.empty()) {
      response.submission_id = std::string(source_id);
      response.submission_id_from_source = true;
    } else {
      PartsHasher hasher;
      hasher.Add("fieldwork.survey_response.v1").Add(response.participant_id);
      for (int index : {plan_.start_date, plan_.end_date, plan_.recorded_date}) {
        hasher.Add(TrimBlanks(field(index)));
      }
      for (size_t i = 0; i < items.size(); ++i) {
        hasher.Add(items[i].id).Add(field(plan_.item_column[i]));
      }
      for (const ImportedDecision& d : response.decisions) {  // what each loop showed
        hasher.Add(d.block).Add(absl::StrCat(d.index)).Add(d.stimulus);
        for (const auto& [attribute, value] : d.attributes) hasher.Add(attribute).Add(value);
      }
      response.submission_id = absl::StrCat("sha256:", hasher.HexDigest());
    }
    row.response = std::move(response);
    return row;
  }

 private:
  // The row's decisions of the loop-and-merge blocks: a loop is a decision when it has an
  // answer, a stimulus or an attribute. A stimulus must be the block's, and an attribute the
  // same as its stimulus declares; the stimulus's text and other attributes are filled in.
  template <typename Field, typename Name, typename Error>
  void ReadDecisions(const ScoredResponse& scored, const Field& field, const Name& name,
                     std::vector<ImportedDecision>& decisions, const Error& error) const {
    for (const Plan::Loop& loop : plan_.loops) {
      const DecisionBlock& block = *loop.block;
      for (size_t i = 0; i < block.items.size(); ++i) {
        ImportedDecision d;
        d.block = block.id;
        d.index = static_cast<int>(i + 1);
        d.item_id = block.items[i];
        const int item = scorer_.ItemIndex(d.item_id);
        const bool answered = item >= 0 && scored.items[static_cast<size_t>(item)].answered;
        const Stimulus* stimulus = nullptr;
        if (loop.stimulus[i] >= 0) {
          d.stimulus = std::string(TrimBlanks(field(loop.stimulus[i])));
          if (!d.stimulus.empty()) {
            stimulus = block.FindStimulus(d.stimulus);
            if (stimulus == nullptr) {
              error(name(loop.stimulus[i]), absl::StrCat("not a stimulus of block ", block.id),
                    d.stimulus);
            } else {
              d.stimulus_text = stimulus->text;
              d.attributes.insert(stimulus->attributes.begin(), stimulus->attributes.end());
            }
          }
        }
        for (const auto& [attribute, column] : loop.attributes[i]) {
          const std::string value(TrimBlanks(field(column)));
          if (value.empty()) continue;
          if (stimulus != nullptr) {
            if (std::optional<std::string> conflict = stimulus->AttributeConflict(attribute, value)) {
              error(name(column), *std::move(conflict), value);
            }
          }
          d.attributes[attribute] = value;
        }
        if (answered || !d.stimulus.empty() || !d.attributes.empty()) {
          decisions.push_back(std::move(d));
        }
      }
    }
  }

  // A missing-value code is no answer; a declared label stands for its code.
  RawRef Recode(size_t item, absl::string_view text) const {
    const absl::string_view trimmed = TrimBlanks(text);
    for (const std::string& code : plan_.missing_codes) {
      if (trimmed == code) return RawRef();
    }
    const auto& labels = plan_.labels[item];
    if (!labels.empty() && !trimmed.empty()) {
      if (auto it = labels.find(absl::AsciiStrToLower(trimmed)); it != labels.end()) {
        return absl::string_view(it->second);
      }
    }
    return text;
  }

  const Plan& plan_;
  const Scorer& scorer_;
  const ImportOptions& options_;
  ImportResult& result_;
  std::vector<RawRef> raw_;
  // Response id -> the line and participant it was first seen with, to tell a repeat (same
  // participant) from a clash (another participant).
  std::map<std::string, std::pair<int, std::string>, std::less<>> first_seen_;
};

}  // namespace

bool MatchesColumnPattern(absl::string_view name, const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return MatchesPattern(name, p); });
}

absl::string_view ColumnRoleName(ColumnRole role) {
  switch (role) {
    case ColumnRole::kItem:
      return "item";
    case ColumnRole::kParticipant:
      return "participant";
    case ColumnRole::kResponseId:
      return "response_id";
    case ColumnRole::kStartDate:
      return "start_date";
    case ColumnRole::kEndDate:
      return "end_date";
    case ColumnRole::kRecordedDate:
      return "recorded_date";
    case ColumnRole::kFinished:
      return "finished";
    case ColumnRole::kProgress:
      return "progress";
    case ColumnRole::kMetadata:
      return "metadata";
    case ColumnRole::kDecisionData:
      return "decision";
    case ColumnRole::kDisplayOrder:
      return "display_order";
    case ColumnRole::kPersonalData:
      return "personal_data";
    case ColumnRole::kIgnored:
      return "ignored";
    case ColumnRole::kUnknown:
      return "unknown";
  }
  return "unknown";
}

absl::StatusOr<ImportResult> ImportSurveyCsv(absl::string_view content, const Scorer& scorer,
                                             const ImportOptions& options) {
  std::vector<ImportedRow> rows;
  absl::StatusOr<ImportResult> result = ImportSurveyCsv(
      content, scorer, options, [&rows](ImportedRow row) { rows.push_back(std::move(row)); });
  if (result.ok()) result->rows = std::move(rows);
  return result;
}

absl::StatusOr<ImportResult> ImportSurveyCsv(absl::string_view content, const Scorer& scorer,
                                             const ImportOptions& options,
                                             const ImportedRowSink& sink) {
  // Checked before any row reaches `sink` (which may store it): a file with a runaway quote is
  // refused whole rather than stored up to it.
  if (std::optional<std::string> runaway = FindRunawayQuote(content)) {
    return absl::InvalidArgumentError(absl::StrCat(*runaway, "; nothing imported"));
  }
  ImportResult result;
  result.content_sha256 = Sha256Hex(content);
  CsvReader reader(content);
  CsvError error;

  // The first three records decide the layout; in a plain file the second and third are data.
  std::vector<CsvRecord> head;
  std::vector<std::optional<CsvError>> head_errors;
  while (head.size() < 3) {
    CsvRecord record;
    const CsvReader::Result read = reader.Next(record, error);
    if (read == CsvReader::Result::kEnd) break;
    if (read == CsvReader::Result::kError) {
      head_errors.push_back(error);
      record.line = error.line;
      record.raw = error.raw;
    } else {
      head_errors.push_back(std::nullopt);
    }
    head.push_back(std::move(record));
  }
  if (head.empty()) return absl::InvalidArgumentError("the file is empty: no header row");
  if (head_errors[0].has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("the header row (line ", head_errors[0]->line,
                                                   ") is malformed: ", head_errors[0]->reason));
  }
  const bool import_id_row =
      head.size() >= 3 && !head_errors[2].has_value() && IsImportIdRow(head[2]);
  if (options.layout == CsvLayout::kQualtrics && !import_id_row) {
    return absl::InvalidArgumentError(
        "not a Qualtrics export: the third row is not a row of {\"ImportId\": ...} cells");
  }
  result.layout = options.layout == CsvLayout::kPlain || !import_id_row ? CsvLayout::kPlain
                                                                        : CsvLayout::kQualtrics;
  const bool qualtrics = result.layout == CsvLayout::kQualtrics;
  if (qualtrics && head_errors[1].has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("the question-text row (line ",
                                                   head_errors[1]->line,
                                                   ") is malformed: ", head_errors[1]->reason));
  }

  absl::StatusOr<Plan> plan = MakePlan(head[0], qualtrics ? &head[1] : nullptr,
                                       qualtrics ? &head[2] : nullptr, scorer, options, result);
  if (!plan.ok()) return plan.status();
  result.columns = plan->columns;

  RowImporter importer(*plan, scorer, options, result);
  auto emit = [&](ImportedRow row) {
    ++(row.response.has_value() ? result.accepted_rows : result.rejected_rows);
    sink(std::move(row));
  };
  auto import = [&](const CsvRecord& record) {
    if (std::optional<ImportedRow> row = importer.Import(record)) emit(*std::move(row));
  };
  auto malformed = [&](const CsvError& e) {
    ImportedRow row;
    row.line = e.line;
    row.raw = std::string(e.raw);
    row.errors.push_back({e.line, "", absl::StrCat("malformed CSV record: ", e.reason), ""});
    emit(std::move(row));
  };
  for (size_t i = qualtrics ? 3 : 1; i < head.size(); ++i) {
    if (head_errors[i].has_value()) {
      malformed(*head_errors[i]);
    } else {
      import(head[i]);
    }
  }
  CsvRecord record;
  while (true) {
    const CsvReader::Result read = reader.Next(record, error);
    if (read == CsvReader::Result::kEnd) break;
    if (read == CsvReader::Result::kError) {
      malformed(error);
    } else {
      import(record);
    }
  }
  return result;
}

}  // namespace fieldwork::survey_ingest

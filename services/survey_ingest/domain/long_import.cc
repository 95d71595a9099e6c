#include "services/survey_ingest/domain/long_import.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/survey_ingest/domain/content_hash.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::survey_ingest {
namespace {

// Where each known column is (-1: absent), and the attribute columns.
struct LongColumns {
  int participant = -1;
  int wave = -1;
  int block = -1;
  int decision = -1;
  int item = -1;
  int value = -1;
  int stimulus = -1;
  int stimulus_text = -1;
  std::vector<std::pair<int, std::string>> attributes;  // column index, name
  size_t count = 0;
};

// One row, as far as it could be read.
struct LongRow {
  int line = 0;
  const DecisionBlock* block = nullptr;  // null: unknown block
  bool index_ok = false;                 // decision is 1..the block's item count
  ImportedDecision decision;
};

// A participant's rows while the file is read.
struct LongGroup {
  LongParticipant out;
  std::vector<LongRow> rows;
};

std::string CellOf(const CsvRecord& record, int column) {
  if (column < 0 || static_cast<size_t>(column) >= record.fields.size()) return "";
  return record.fields[static_cast<size_t>(column)];
}

std::string TrimmedCell(const CsvRecord& record, int column) {
  return std::string(absl::StripAsciiWhitespace(CellOf(record, column)));
}

// Every attribute any stimulus of any decision block declares.
std::set<std::string> DeclaredAttributes(const Instrument& instrument) {
  std::set<std::string> names;
  for (const DecisionBlock& block : instrument.decisions) {
    for (const Stimulus& stimulus : block.stimuli) {
      for (const auto& [name, value] : stimulus.attributes) names.insert(name);
    }
  }
  return names;
}

bool BlockDeclares(const DecisionBlock& block, const std::string& attribute) {
  return std::any_of(block.stimuli.begin(), block.stimuli.end(), [&](const Stimulus& s) {
    return s.attributes.count(attribute) > 0;
  });
}

absl::StatusOr<LongColumns> ResolveLongColumns(const CsvRecord& header,
                                               const Instrument& instrument,
                                               const LongImportOptions& options) {
  LongColumns columns;
  columns.count = header.fields.size();
  const std::set<std::string> declared = DeclaredAttributes(instrument);
  const std::pair<std::string, int LongColumns::*> known[] = {
      {options.participant_column, &LongColumns::participant},
      {"wave_id", &LongColumns::wave},
      {"block", &LongColumns::block},
      {"decision", &LongColumns::decision},
      {"item_id", &LongColumns::item},
      {"value", &LongColumns::value},
      {"stimulus", &LongColumns::stimulus},
      {"stimulus_text", &LongColumns::stimulus_text}};
  std::map<std::string, int> seen;
  // Reported after a missing required column, which is the likelier mistake ("pid" for the
  // participant column is unknown because the participant column is missing).
  std::string unknown;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string name(absl::StripAsciiWhitespace(header.fields[i]));
    const int index = static_cast<int>(i);
    if (auto [it, inserted] = seen.emplace(name, index); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat("column \"", name, "\" appears twice (columns ",
                                                     it->second + 1, " and ", index + 1, ")"));
    }
    auto role = std::find_if(std::begin(known), std::end(known),
                             [&](const auto& k) { return k.first == name; });
    if (role != std::end(known)) {
      columns.*(role->second) = index;
    } else if (MatchesColumnPattern(name, options.ignored_columns)) {
      continue;
    } else if (declared.count(name) > 0) {
      columns.attributes.emplace_back(index, name);
    } else if (unknown.empty()) {
      unknown = name;
    }
  }
  const std::pair<std::string, int> required[] = {{options.participant_column, columns.participant},
                                                  {"block", columns.block},
                                                  {"decision", columns.decision},
                                                  {"value", columns.value}};
  for (const auto& [name, index] : required) {
    if (index < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no column \"", name, "\" (a long file's header names ", options.participant_column,
          ", block, decision and value, and optionally wave_id, item_id, stimulus, "
          "stimulus_text and attributes)"));
    }
  }
  if (!unknown.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "column \"", unknown, "\": not an attribute of the stimuli of instrument ",
        instrument.Name(), "'s decision blocks (",
        declared.empty() ? std::string("they declare none")
                         : absl::StrCat("they declare ", absl::StrJoin(declared, ", ")),
        "); list it in ignore_columns to skip it"));
  }
  return columns;
}

// Reads one record's decision; its problems go to `errors`.
LongRow ReadLongRow(const CsvRecord& record, const LongColumns& columns,
                    const Instrument& instrument, const LongImportOptions& options,
                    std::vector<RowError>& errors) {
  LongRow row;
  row.line = record.line;
  auto error = [&](std::string field, std::string reason, std::string value) {
    errors.push_back({record.line, std::move(field), std::move(reason), std::move(value)});
  };
  if (record.fields.size() != columns.count) {
    error("", absl::StrCat("has ", record.fields.size(), " fields where the header has ",
                           columns.count),
          "");
  }
  ImportedDecision& d = row.decision;
  if (columns.wave >= 0) {
    const std::string wave = TrimmedCell(record, columns.wave);
    if (wave != options.wave_id) {
      error("wave_id", absl::StrCat("not the wave imported into (", options.wave_id, ")"), wave);
    }
  }
  d.block = TrimmedCell(record, columns.block);
  row.block = instrument.FindDecisionBlock(d.block);
  if (row.block == nullptr) {
    std::vector<std::string> ids;
    for (const DecisionBlock& b : instrument.decisions) ids.push_back(b.id);
    error("block",
          absl::StrCat("unknown decision block (instrument ", instrument.Name(), " has ",
                       absl::StrJoin(ids, ", "), ")"),
          d.block);
  }
  const std::string index_text = TrimmedCell(record, columns.decision);
  const std::string item = TrimmedCell(record, columns.item);
  if (!absl::SimpleAtoi(index_text, &d.index) || d.index < 1) {
    error("decision", "not a whole number from 1 (the decision's index in its block)",
          index_text);
  } else if (row.block != nullptr) {
    std::optional<DecisionBlock::Misfit> misfit = row.block->CheckPlace(d.index, item);
    if (misfit.has_value() && misfit->part == DecisionBlock::Misfit::Part::kIndex) {
      error("decision", std::move(misfit->reason), index_text);
    } else {
      row.index_ok = true;
      d.item_id = row.block->items[static_cast<size_t>(d.index) - 1];
      if (misfit.has_value()) error("item_id", std::move(misfit->reason), item);
    }
  }
  d.value = CellOf(record, columns.value);
  d.stimulus = TrimmedCell(record, columns.stimulus);
  d.stimulus_text = CellOf(record, columns.stimulus_text);
  const Stimulus* stimulus = nullptr;
  if (row.block != nullptr && !d.stimulus.empty()) {
    stimulus = row.block->FindStimulus(d.stimulus);
    if (stimulus == nullptr) {
      error("stimulus", absl::StrCat("not a stimulus of block ", d.block), d.stimulus);
    }
  }
  for (const auto& [column, name] : columns.attributes) {
    std::string value = TrimmedCell(record, column);
    if (value.empty()) continue;
    if (row.block != nullptr && !BlockDeclares(*row.block, name)) {
      error(name, absl::StrCat("block ", d.block, "'s stimuli declare no attribute ", name), value);
    } else if (stimulus != nullptr) {
      if (std::optional<std::string> conflict = stimulus->AttributeConflict(name, value)) {
        error(name, *std::move(conflict), value);
      }
    }
    d.attributes.emplace(name, std::move(value));
  }
  return row;
}

// "2-4, 7": lines as ranges.
std::string LineRanges(std::vector<int> lines) {
  std::sort(lines.begin(), lines.end());
  std::vector<std::string> parts;
  for (size_t i = 0; i < lines.size();) {
    size_t j = i;
    while (j + 1 < lines.size() && lines[j + 1] == lines[j] + 1) ++j;
    parts.push_back(j == i ? absl::StrCat(lines[i]) : absl::StrCat(lines[i], "-", lines[j]));
    i = j + 1;
  }
  return absl::StrJoin(parts, ", ");
}

// Checks the participant's set of decisions (no repeat, no gap, complete or unfinished) and
// their values, and fills in the response when nothing is wrong.
void FinishParticipant(LongGroup& group, const Scorer& scorer, const LongImportOptions& options) {
  LongParticipant& out = group.out;
  const Instrument& instrument = scorer.instrument();
  const std::string& who = out.participant_id;
  // (block, index) -> the first row with it.
  std::map<std::pair<const DecisionBlock*, int>, int> first_line;
  std::map<const DecisionBlock*, std::vector<int>> lines_of_block;
  for (const LongRow& row : group.rows) {
    if (row.block != nullptr) lines_of_block[row.block].push_back(row.line);
    if (!row.index_ok) continue;
    auto [it, inserted] = first_line.emplace(std::make_pair(row.block, row.decision.index), row.line);
    if (!inserted) {
      out.errors.push_back({row.line, "decision",
                            absl::StrCat("participant ", who, "'s decision ", row.decision.index,
                                         " of block ", row.decision.block,
                                         " again (first on line ", it->second, ")"),
                            absl::StrCat(row.decision.index)});
    }
  }
  bool finished = true;
  for (const DecisionBlock& block : instrument.decisions) {
    int last = 0;
    std::vector<int> missing;
    for (const auto& [key, line] : first_line) {
      if (key.first == &block) last = std::max(last, key.second);
    }
    for (int i = 1; i < last; ++i) {
      if (first_line.count({&block, i}) == 0) missing.push_back(i);
    }
    const std::vector<int>& lines = lines_of_block[&block];
    for (int i : missing) {
      out.errors.push_back({*std::min_element(lines.begin(), lines.end()), "decision",
                            absl::StrCat("participant ", who, " has no decision ", i, " of block ",
                                         block.id, " (their rows of it: lines ",
                                         LineRanges(lines), ")"),
                            ""});
    }
    const int size = static_cast<int>(block.items.size());
    if (!missing.empty() || last == size) continue;
    finished = false;
    if (!options.keep_unfinished) {
      out.errors.push_back(
          {lines.empty() ? out.line : *std::min_element(lines.begin(), lines.end()), "decision",
           absl::StrCat("participant ", who, " has ",
                        last == 0 ? std::string("none") : absl::StrCat("decisions 1-", last),
                        " of block ", block.id, "'s ", size,
                        " decisions: an unfinished response (keep_unfinished keeps it, "
                        "flagged partial)"),
           ""});
    }
  }

  // The values, checked by the scorer as a submission's answers are; each error on the row of
  // the decision whose value it is.
  std::vector<RawRef> aligned(instrument.items.size());
  std::map<std::string, int, std::less<>> line_of_item;
  for (const LongRow& row : group.rows) {
    if (!row.index_ok) continue;
    const int item = scorer.ItemIndex(row.decision.item_id);
    if (item < 0) continue;  // a block's items are the instrument's (Instrument validation)
    aligned[static_cast<size_t>(item)] = absl::string_view(row.decision.value);
    line_of_item.emplace(row.decision.item_id, row.line);
  }
  ScoreOptions score_options;
  score_options.enforce_required = finished;
  ScoringResult scored = scorer.ScoreAligned(aligned, score_options);
  for (FieldError& e : scored.errors) {
    auto line = line_of_item.find(e.field);
    if (line != line_of_item.end()) {
      out.errors.push_back(
          {line->second, "value", absl::StrCat(e.reason, " (item ", e.field, ")"), e.raw});
    } else {
      out.errors.push_back({out.line, e.field,
                            absl::StrCat(e.reason, " (not a decision: a long file cannot hold it)"),
                            e.raw});
    }
  }
  std::stable_sort(out.errors.begin(), out.errors.end(),
                   [](const RowError& a, const RowError& b) { return a.row < b.row; });
  if (!out.errors.empty()) return;

  auto block_position = [&](const std::string& id) {
    return instrument.FindDecisionBlock(id) - instrument.decisions.data();
  };
  std::sort(group.rows.begin(), group.rows.end(), [&](const LongRow& a, const LongRow& b) {
    return std::make_pair(block_position(a.decision.block), a.decision.index) <
           std::make_pair(block_position(b.decision.block), b.decision.index);
  });
  PartsHasher hasher;
  hasher.Add(who).Add(options.wave_id);
  for (LongRow& row : group.rows) {
    ImportedDecision& d = row.decision;
    hasher.Add(d.block).Add(absl::StrCat(d.index)).Add(d.item_id).Add(d.value).Add(d.stimulus);
    hasher.Add(d.stimulus_text).Add(absl::StrCat(d.attributes.size()));
    for (const auto& [name, value] : d.attributes) hasher.Add(name).Add(value);
    out.answers[d.item_id] = d.value;
    out.decisions.push_back(std::move(d));
  }
  out.finished = finished;
  out.submission_id = absl::StrCat("long:", hasher.HexDigest());
}

}  // namespace

absl::StatusOr<std::vector<LongParticipant>> ReadLongCsv(absl::string_view content,
                                                        const Scorer& scorer,
                                                        const LongImportOptions& options) {
  const Instrument& instrument = scorer.instrument();
  if (instrument.decisions.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "instrument ", instrument.Name(),
        " declares no decision blocks: a long file has nothing to be imported into"));
  }
  if (std::optional<std::string> runaway = FindRunawayQuote(content)) {
    return absl::InvalidArgumentError(absl::StrCat(*runaway, "; nothing imported"));
  }
  CsvReader reader(content);
  CsvRecord record;
  CsvError csv_error;
  CsvReader::Result read = reader.Next(record, csv_error);
  if (read == CsvReader::Result::kEnd) return absl::InvalidArgumentError("no header row");
  if (read == CsvReader::Result::kError) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", csv_error.line, ": the header row: ", csv_error.reason));
  }
  absl::StatusOr<LongColumns> columns = ResolveLongColumns(record, instrument, options);
  if (!columns.ok()) return columns.status();
  const std::string header(record.raw);

  std::vector<LongGroup> groups;
  std::map<std::string, size_t> group_of;  // participant id -> index in groups
  auto alone = [&](int line, absl::string_view raw, RowError error) {
    LongGroup& group = groups.emplace_back();
    group.out.line = line;
    group.out.raw = absl::StrCat(header, "\n", raw);
    group.out.errors.push_back(std::move(error));
  };
  while ((read = reader.Next(record, csv_error)) != CsvReader::Result::kEnd) {
    if (read == CsvReader::Result::kError) {
      alone(csv_error.line, csv_error.raw, {csv_error.line, "", csv_error.reason, ""});
      continue;
    }
    const std::string participant = TrimmedCell(record, columns->participant);
    if (participant.empty()) {
      alone(record.line, record.raw,
            {record.line, options.participant_column, "missing participant id", ""});
      continue;
    }
    auto [it, inserted] = group_of.emplace(participant, groups.size());
    if (inserted) {
      LongGroup& group = groups.emplace_back();
      group.out.line = record.line;
      group.out.participant_id = participant;
      group.out.raw = header;
    }
    LongGroup& group = groups[it->second];
    absl::StrAppend(&group.out.raw, "\n", record.raw);
    group.rows.push_back(ReadLongRow(record, *columns, instrument, options, group.out.errors));
  }
  std::vector<LongParticipant> participants;
  participants.reserve(groups.size());
  for (LongGroup& group : groups) {
    if (!group.out.participant_id.empty()) FinishParticipant(group, scorer, options);
    participants.push_back(std::move(group.out));
  }
  return participants;
}

}  // namespace fieldwork::survey_ingest

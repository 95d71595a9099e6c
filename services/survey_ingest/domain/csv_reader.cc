#include "services/survey_ingest/domain/csv_reader.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fieldwork::survey_ingest {
namespace {

constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool IsLineBreak(char c) { return c == '\n' || c == '\r'; }

}  // namespace

CsvReader::CsvReader(absl::string_view data, char delimiter) : data_(data), delimiter_(delimiter) {
  if (data_.substr(0, kUtf8Bom.size()) == kUtf8Bom) pos_ = kUtf8Bom.size();
}

void CsvReader::ConsumeLineBreak() {
  if (data_[pos_] == '\r' && pos_ + 1 < data_.size() && data_[pos_ + 1] == '\n') ++pos_;
  ++pos_;
  ++line_;
}

// Counts the line breaks inside a chunk of a quoted field; `next` is the index just after it
// (a CR at the end of the chunk followed by LF is one break, counted at the LF).
void CsvReader::CountLineBreaks(absl::string_view chunk, size_t next) {
  for (size_t i = 0; i < chunk.size(); ++i) {
    if (chunk[i] == '\n') {
      ++line_;
    } else if (chunk[i] == '\r') {
      const char following = i + 1 < chunk.size()  ? chunk[i + 1]
                             : next < data_.size() ? data_[next]
                                                   : '\0';
      if (following != '\n') ++line_;
    }
  }
}

CsvReader::Result CsvReader::Next(CsvRecord& record, CsvError& error) {
  while (pos_ < data_.size() && IsLineBreak(data_[pos_])) ConsumeLineBreak();
  if (pos_ >= data_.size()) return Result::kEnd;

  const size_t start = pos_;
  record.line = line_;
  std::string problem;
  bool quote_never_closed = false;
  size_t count = 0;
  auto next_field = [&]() -> std::string& {
    if (count == record.fields.size()) record.fields.emplace_back();
    std::string& field = record.fields[count++];
    field.clear();
    return field;
  };

  while (true) {
    std::string& field = next_field();
    if (pos_ < data_.size() && data_[pos_] == '"') {
      const int quote_line = line_;
      ++pos_;
      bool closed = false;
      while (pos_ < data_.size()) {
        const size_t quote = data_.find('"', pos_);
        const size_t stop = quote == absl::string_view::npos ? data_.size() : quote;
        const absl::string_view chunk = data_.substr(pos_, stop - pos_);
        CountLineBreaks(chunk, stop);
        field.append(chunk.data(), chunk.size());
        pos_ = stop;
        if (quote == absl::string_view::npos) break;
        if (pos_ + 1 < data_.size() && data_[pos_ + 1] == '"') {
          field.push_back('"');
          pos_ += 2;
          continue;
        }
        ++pos_;
        closed = true;
        break;
      }
      if (!closed) {
        quote_never_closed = true;
        problem = absl::StrCat("field ", count, ": a quoted field opened on line ", quote_line,
                               " is never closed");
        break;
      }
      if (pos_ < data_.size() && data_[pos_] != delimiter_ && !IsLineBreak(data_[pos_])) {
        if (problem.empty()) {
          problem = absl::StrCat("field ", count, ": text after the closing quote");
        }
        while (pos_ < data_.size() && data_[pos_] != delimiter_ && !IsLineBreak(data_[pos_])) {
          field.push_back(data_[pos_++]);
        }
      }
    } else {
      const size_t begin = pos_;
      while (pos_ < data_.size() && data_[pos_] != delimiter_ && !IsLineBreak(data_[pos_])) {
        ++pos_;
      }
      const absl::string_view text = data_.substr(begin, pos_ - begin);
      if (problem.empty() && text.find('"') != absl::string_view::npos) {
        problem = absl::StrCat("field ", count,
                               ": a quote inside an unquoted field (quote the whole field and "
                               "double the quote)");
      }
      field.assign(text.data(), text.size());
    }
    if (pos_ >= data_.size()) break;
    if (data_[pos_] == delimiter_) {
      ++pos_;
      continue;
    }
    break;  // a line break ends the record
  }

  const absl::string_view raw = data_.substr(start, pos_ - start);
  record.end_line = line_;
  if (pos_ < data_.size()) ConsumeLineBreak();
  record.fields.resize(count);
  record.raw = raw;
  if (!problem.empty()) {
    error.line = record.line;
    error.reason = std::move(problem);
    error.raw = raw;
    error.quote_never_closed = quote_never_closed;
    return Result::kError;
  }
  return Result::kRecord;
}

std::optional<std::string> FindRunawayQuote(absl::string_view data, char delimiter) {
  CsvReader reader(data, delimiter);
  CsvRecord record;
  CsvError error;
  for (CsvReader::Result read; (read = reader.Next(record, error)) != CsvReader::Result::kEnd;) {
    if (read != CsvReader::Result::kError || !error.quote_never_closed) continue;
    // Only the last record can run to the end. The lines after its first, if any has text,
    // are rows it swallowed.
    const size_t first_break = error.raw.find_first_of("\r\n");
    if (first_break == absl::string_view::npos) return std::nullopt;
    int swallowed = 0;
    for (absl::string_view line :
         absl::StrSplit(error.raw.substr(first_break), absl::ByAnyChar("\r\n"))) {
      if (!absl::StripAsciiWhitespace(line).empty()) ++swallowed;
    }
    if (swallowed == 0) return std::nullopt;
    return absl::StrCat("line ", error.line, ": ", error.reason, ": the ", swallowed,
                        " line(s) after it would be read as part of it");
  }
  return std::nullopt;
}

namespace {

bool NeedsQuotes(absl::string_view field) {
  if (field.empty()) return false;
  if (field.front() == ' ' || field.back() == ' ') return true;
  for (char c : field) {
    if (c == ',' || c == '"' || c == '\r' || c == '\n') return true;
  }
  return false;
}

void AppendQuoted(std::string& out, absl::string_view field) {
  if (!NeedsQuotes(field)) {
    out.append(field.data(), field.size());
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

std::string CsvQuote(absl::string_view field) {
  std::string out;
  AppendQuoted(out, field);
  return out;
}

void AppendCsvRecord(std::string& out, std::span<const std::string> fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendQuoted(out, fields[i]);
  }
  out.append("\r\n");
}

}  // namespace fieldwork::survey_ingest

// An RFC 4180 CSV reader over text in memory that knows each record's physical line.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CSV_READER_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CSV_READER_H_

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace fieldwork::survey_ingest {

struct CsvRecord {
  int line = 0;      // physical line (1-based) on which the record starts
  int end_line = 0;  // physical line on which it ends (> line when a quoted field has newlines)
  std::vector<std::string> fields;
  absl::string_view raw;  // the record's text as in the input, without its line ending
};

struct CsvError {
  int line = 0;  // physical line on which the malformed record starts
  std::string reason;
  absl::string_view raw;
  bool quote_never_closed = false;  // the record runs to the end of the input
};

// Reads records one by one. Accepts quoted fields with embedded delimiters, newlines and
// doubled quotes; a leading UTF-8 byte-order mark; CRLF, LF or CR line endings (mixed, even).
// Blank lines are skipped. A malformed record (text after a closing quote, a quote inside an
// unquoted field, a quote never closed) is reported as an error and reading resumes after it,
// so one bad record never hides the good ones that follow.
//
// The reader borrows `data`, which must outlive it and every CsvRecord::raw it returns.
class CsvReader {
 public:
  enum class Result { kRecord, kError, kEnd };

  explicit CsvReader(absl::string_view data, char delimiter = ',');

  // Reads the next record into `record` (reusing its storage), or describes the malformed
  // record in `error`, or reports the end of the input.
  Result Next(CsvRecord& record, CsvError& error);

 private:
  void ConsumeLineBreak();
  void CountLineBreaks(absl::string_view chunk, size_t next);

  absl::string_view data_;
  char delimiter_;
  size_t pos_ = 0;
  int line_ = 1;
};

// A quoted field never closed that runs from its opening line over the lines after it to the end
// of `data`: the reader would take every row after it as part of that one field, so the rows
// would vanish into a single bad one. Returns "line N: field F: a quoted field opened on line N
// is never closed: the M line(s) after it would be read as part of it", or nothing when there
// is no such field (a quote left open on the very last line swallows nothing: a bad record
// like any other). Reads the whole of `data` (callers run it before writing any of it).
std::optional<std::string> FindRunawayQuote(absl::string_view data, char delimiter = ',');

// Quotes a field when it needs it (delimiter, quote, CR or LF; or leading/trailing blanks),
// doubling any quotes.
std::string CsvQuote(absl::string_view field);

// Appends one record (fields joined by commas, each quoted when needed) and "\r\n".
void AppendCsvRecord(std::string& out, std::span<const std::string> fields);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CSV_READER_H_

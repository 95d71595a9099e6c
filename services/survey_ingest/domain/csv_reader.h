// An RFC 4180 CSV reader over text in memory that knows each record's physical line.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CSV_READER_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CSV_READER_H_

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

// Quotes a field when it needs it (delimiter, quote, CR or LF; or leading/trailing blanks),
// doubling any quotes.
std::string CsvQuote(absl::string_view field);

// Appends one record (fields joined by commas, each quoted when needed) and "\r\n".
void AppendCsvRecord(std::string& out, std::span<const std::string> fields);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CSV_READER_H_

// Fuzzes CsvReader. Checks, beyond not crashing: every record's raw text is a slice of the
// input, lines never go backwards, and the good records survive AppendCsvRecord and a second
// read unchanged (the writer and the reader agree).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "fuzz/check.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::survey_ingest {
namespace {

using fuzz::Check;

bool Within(absl::string_view part, absl::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Every record read (good or malformed), its fields for the good ones.
struct ReadResult {
  std::vector<std::vector<std::string>> good;
  size_t malformed = 0;
};

ReadResult ReadAll(absl::string_view text) {
  ReadResult result;
  CsvReader reader(text);
  CsvRecord record;
  CsvError error;
  int last_line = 0;
  while (true) {
    const CsvReader::Result r = reader.Next(record, error);
    if (r == CsvReader::Result::kEnd) break;
    if (r == CsvReader::Result::kError) {
      Check(Within(error.raw, text), "a malformed record's raw text is a slice of the input");
      Check(error.line > last_line, "records start on increasing lines");
      Check(!error.reason.empty(), "a malformed record has a reason");
      last_line = error.line;
      ++result.malformed;
      continue;
    }
    Check(Within(record.raw, text), "a record's raw text is a slice of the input");
    Check(record.line > last_line && record.end_line >= record.line,
          "records start on increasing lines and end no earlier");
    Check(!record.fields.empty(), "a record has at least one field");
    last_line = record.end_line;
    result.good.push_back(record.fields);
  }
  return result;
}

}  // namespace
}  // namespace fieldwork::survey_ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fieldwork::survey_ingest;  // NOLINT(build/namespaces): a fuzz entry point
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const ReadResult first = ReadAll(text);

  // A record of one empty field is written as a blank line, which a reader skips by design;
  // the round trip covers every other record. The first line is a header of our own, so that a
  // field that starts with a byte-order mark is not read as the file's BOM.
  std::string written = "header\r\n";
  std::vector<std::vector<std::string>> expected;
  for (const std::vector<std::string>& fields : first.good) {
    if (fields.size() == 1 && fields[0].empty()) continue;
    AppendCsvRecord(written, fields);
    expected.push_back(fields);
  }
  ReadResult second = ReadAll(written);
  fieldwork::fuzz::Check(second.malformed == 0, "what AppendCsvRecord writes reads back without error",
                         written);
  fieldwork::fuzz::Check(!second.good.empty(), "the header reads back", written);
  second.good.erase(second.good.begin());
  fieldwork::fuzz::Check(second.good == expected,
                         "records survive AppendCsvRecord and a second read unchanged", written);
  return 0;
}

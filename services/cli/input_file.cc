#include "services/cli/input_file.h"

#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/cli/protocol.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli {
namespace {

constexpr absl::string_view kByteOrderMark = "\xEF\xBB\xBF";

// The offset of the first byte that is NUL or not part of a valid UTF-8 sequence; npos if none.
size_t FirstNonText(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<uint8_t>(text[i]);
    if (lead == 0) return i;
    // The sequence's length from its lead byte, and the smallest code point it may encode.
    size_t length = 1;
    uint32_t min = 0;
    if ((lead & 0xE0) == 0xC0) {
      length = 2;
      min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      min = 0x10000;
    } else if (lead >= 0x80) {
      return i;  // a continuation byte, or no UTF-8 lead byte at all
    }
    if (i + length > text.size()) return i;
    uint32_t code = length == 1 ? lead : lead & (0xFFu >> (length + 1));
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return i;
      code = (code << 6) | (next & 0x3Fu);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (code < min || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return i;
    i += length;
  }
  return absl::string_view::npos;
}

}  // namespace

absl::StatusOr<std::string> ReadCsvFile(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFile(path);
  if (!content.ok()) return content.status();
  absl::string_view text = *content;
  if (absl::StartsWith(text, kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
  if (absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the file is empty"));
  }
  if (const size_t bad = FirstNonText(*content); bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a CSV text file (byte ", bad, " is ",
        (*content)[bad] == '\0' ? "NUL" : "not UTF-8",
        "); save it from the spreadsheet as \"CSV UTF-8\""));
  }
  // A quote never closed would make every row after it part of one bad row: the rest of the
  // file would vanish into a single rejection.
  if (std::optional<std::string> runaway = survey_ingest::FindRunawayQuote(*content)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", *runaway, "; nothing read"));
  }
  return content;
}

}  // namespace fieldwork::cli

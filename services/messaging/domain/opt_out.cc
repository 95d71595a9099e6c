#include "services/messaging/domain/opt_out.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace fieldwork::messaging {
namespace {

constexpr absl::string_view kWholeMessage[] = {"STOP",    "STOPALL", "STOP ALL", "UNSUBSCRIBE",
                                               "CANCEL",  "END",     "QUIT",     "OPTOUT",
                                               "OPT OUT", "OPT-OUT", "REVOKE"};
constexpr absl::string_view kLeadingWord[] = {"STOP", "STOPALL", "UNSUBSCRIBE"};

bool IsPunctuation(char c) {
  return c == '.' || c == '!' || c == '?' || c == ',' || c == ';' || c == ':' || c == '"' ||
         c == '\'';
}

// Upper-cases ASCII, turns every whitespace (including UTF-8 NBSP, U+00A0, and the zero-width
// and other Unicode spaces phones insert) into single spaces, and trims.
std::string Normalise(absl::string_view body) {
  std::string spaced;
  spaced.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(body[i]);
    if (c == 0xC2 && i + 1 < body.size() && static_cast<unsigned char>(body[i + 1]) == 0xA0) {
      spaced.push_back(' ');
      ++i;
    } else if (c == 0xE2 && i + 2 < body.size() &&
               static_cast<unsigned char>(body[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(body[i + 2]) <= 0x8B ||
                static_cast<unsigned char>(body[i + 2]) == 0xAF)) {
      spaced.push_back(' ');  // U+2000..U+200B spaces and zero-width space, U+202F
      i += 2;
    } else if (c == 0xEF && i + 2 < body.size() &&
               static_cast<unsigned char>(body[i + 1]) == 0xBB &&
               static_cast<unsigned char>(body[i + 2]) == 0xBF) {
      i += 2;  // a byte-order mark
    } else if (absl::ascii_isspace(c)) {
      spaced.push_back(' ');
    } else {
      spaced.push_back(absl::ascii_toupper(c));
    }
  }
  std::vector<absl::string_view> words = absl::StrSplit(spaced, ' ', absl::SkipEmpty());
  std::string joined = absl::StrJoin(words, " ");
  while (!joined.empty() && IsPunctuation(joined.back())) joined.pop_back();
  while (!joined.empty() && IsPunctuation(joined.front())) joined.erase(joined.begin());
  return std::string(absl::StripAsciiWhitespace(joined));
}

}  // namespace

OptOutMatch RecogniseSmsOptOut(absl::string_view body) {
  std::string text = Normalise(body);
  OptOutMatch match;
  for (absl::string_view keyword : kWholeMessage) {
    if (text == keyword) {
      match.opt_out = true;
      match.keyword = std::string(keyword);
      return match;
    }
  }
  absl::string_view first = text;
  if (size_t space = first.find(' '); space != absl::string_view::npos) {
    first = first.substr(0, space);
  }
  while (!first.empty() && IsPunctuation(first.back())) first.remove_suffix(1);
  for (absl::string_view keyword : kLeadingWord) {
    if (first == keyword) {
      match.opt_out = true;
      match.keyword = std::string(keyword);
      return match;
    }
  }
  return match;
}

}  // namespace fieldwork::messaging

#include "services/cli/simulate/mail_links.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/cli/simulate/random.h"

namespace fieldwork::cli::simulate {
namespace {

bool EndsUrl(char c) {
  return c == '"' || c == '\'' || c == '<' || c == '>' || c == ' ' || c == '\r' || c == '\n' || c == '\t' || c == ')';
}

// Whether `url` is http on a loopback host with a path starting `route` and something after it.
bool LoopbackUrlUnder(absl::string_view url, absl::string_view route) {
  absl::string_view rest = url.substr(7);  // after "http://"
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return false;
  absl::string_view host = rest.substr(0, slash);
  if (absl::StartsWith(host, "[::1]")) {
    host = "[::1]";
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host != "127.0.0.1" && host != "localhost" && host != "[::1]") return false;
  return absl::StartsWith(rest.substr(slash), route) && rest.size() > slash + route.size();
}

// The distinct loopback http URLs under `route` in `message`, in order of first appearance.
std::vector<std::string> LinksUnder(absl::string_view message, absl::string_view route) {
  std::vector<std::string> links;
  std::set<std::string> seen;
  size_t at = 0;
  while ((at = message.find("http://", at)) != absl::string_view::npos) {
    size_t end = at;
    while (end < message.size() && !EndsUrl(message[end])) ++end;
    std::string url(message.substr(at, end - at));
    // A trailing full stop or comma belongs to the sentence, not the link.
    while (!url.empty() && (url.back() == '.' || url.back() == ',')) url.pop_back();
    if (LoopbackUrlUnder(url, route) && seen.insert(url).second) links.push_back(url);
    at = end;
  }
  return links;
}

}  // namespace

std::vector<std::string> TrackedLinks(absl::string_view message) { return LinksUnder(message, "/c/"); }

std::vector<std::string> SurveyLinks(absl::string_view message) { return LinksUnder(message, "/s/"); }

std::string Recipient(absl::string_view message) {
  // The header block ends at the first empty line (CRLF in mails, LF in the sink's texts).
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (line.empty()) break;
    if (!absl::StartsWithIgnoreCase(line, "To:")) continue;
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(3));
    const size_t open = value.find('<');
    const size_t close = value.rfind('>');
    if (open != absl::string_view::npos && close != absl::string_view::npos && close > open) {
      value = value.substr(open + 1, close - open - 1);
    }
    return absl::AsciiStrToLower(value);
  }
  return "";
}

bool Follows(std::uint64_t seed, double rate, absl::string_view mail, absl::string_view url) {
  Random random(seed, absl::StrCat("click/", mail, "/", url));
  return random.Uniform() < rate;
}

}  // namespace fieldwork::cli::simulate

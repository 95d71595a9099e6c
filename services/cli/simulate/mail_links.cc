#include "services/cli/simulate/mail_links.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/cli/simulate/random.h"

namespace fieldwork::cli::simulate {
namespace {

bool EndsUrl(char c) {
  return c == '"' || c == '\'' || c == '<' || c == '>' || c == ' ' || c == '\r' || c == '\n' || c == '\t' || c == ')';
}

bool LoopbackClickUrl(absl::string_view url) {
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
  return absl::StartsWith(rest.substr(slash), "/c/") && rest.size() > slash + 3;
}

}  // namespace

std::vector<std::string> TrackedLinks(absl::string_view message) {
  std::vector<std::string> links;
  std::set<std::string> seen;
  size_t at = 0;
  while ((at = message.find("http://", at)) != absl::string_view::npos) {
    size_t end = at;
    while (end < message.size() && !EndsUrl(message[end])) ++end;
    std::string url(message.substr(at, end - at));
    // A trailing full stop or comma belongs to the sentence, not the link.
    while (!url.empty() && (url.back() == '.' || url.back() == ',')) url.pop_back();
    if (LoopbackClickUrl(url) && seen.insert(url).second) links.push_back(url);
    at = end;
  }
  return links;
}

bool Follows(std::uint64_t seed, double rate, absl::string_view mail, absl::string_view url) {
  Random random(seed, absl::StrCat("click/", mail, "/", url));
  return random.Uniform() < rate;
}

}  // namespace fieldwork::cli::simulate

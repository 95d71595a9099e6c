#include "services/messaging/domain/contact.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/messaging/domain/ids.h"

namespace fieldwork::messaging {
namespace {

// A pragmatic check, not RFC 5321 in full: one '@', a non-empty local part of printable
// non-space ASCII without characters that could break a header, and a domain of at least two
// labels of letters, digits and hyphens. Internationalised addresses are not accepted.
bool IsEmailAddress(absl::string_view email) {
  if (email.size() > 254) return false;
  size_t at = email.find('@');
  if (at == absl::string_view::npos || at == 0 ||
      email.find('@', at + 1) != absl::string_view::npos) {
    return false;
  }
  absl::string_view local = email.substr(0, at);
  absl::string_view domain = email.substr(at + 1);
  if (local.size() > 64 || local.front() == '.' || local.back() == '.') return false;
  for (char c : local) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '(' || c == ')' || c == '<' || c == '>' || c == ',' ||
        c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' || c == ']') {
      return false;
    }
  }
  if (domain.empty() || domain.find('.') == absl::string_view::npos) return false;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    absl::string_view label = domain.substr(
        start, dot == absl::string_view::npos ? absl::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    if (!std::all_of(label.begin(), label.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
        })) {
      return false;
    }
    if (dot == absl::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// E.164: '+', a non-zero first digit, 8 to 15 digits in all.
bool IsE164(absl::string_view phone) {
  if (phone.size() < 9 || phone.size() > 16 || phone.front() != '+' || phone[1] == '0') {
    return false;
  }
  return std::all_of(phone.begin() + 1, phone.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

absl::Status ValidateContact(const Contact& c) {
  std::vector<std::string> problems;
  if (absl::Status id = ValidateId("participant_id", c.participant_id); !id.ok()) {
    problems.emplace_back(id.message());
  }
  if (c.email.empty() && c.phone.empty()) {
    problems.push_back("email: an e-mail address or a phone number is required");
  }
  if (!c.email.empty() && !IsEmailAddress(c.email)) {
    problems.push_back("email: not an address of the form local@domain.tld");
  }
  if (!c.phone.empty() && !IsE164(c.phone)) {
    problems.push_back(
        "phone: not an E.164 number (+ then the country code and number, 8 to 15 "
        "digits, no spaces)");
  }
  if (c.first_name.size() > 200) {
    problems.push_back("first_name: longer than 200 bytes");
  } else if (std::any_of(c.first_name.begin(), c.first_name.end(), [](char ch) {
               return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F;
             })) {
    problems.push_back("first_name: contains a line break or control character");
  }
  absl::TimeZone zone;
  if (!c.time_zone.empty() && !absl::LoadTimeZone(c.time_zone, &zone)) {
    problems.push_back("time_zone: not a known IANA time zone (e.g. Europe/London)");
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  return absl::OkStatus();
}

}  // namespace fieldwork::messaging

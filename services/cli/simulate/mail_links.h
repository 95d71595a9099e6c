// Finds the tracked links and the personal survey links in delivered mails, and whom each mail
// went to, and picks, deterministically, which tracked links a simulated participant clicks.
// Pure: the command layer reads the files and does the requests.
#ifndef FIELDWORK_SERVICES_CLI_SIMULATE_MAIL_LINKS_H_
#define FIELDWORK_SERVICES_CLI_SIMULATE_MAIL_LINKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace fieldwork::cli::simulate {

// The distinct tracked-link URLs (messaging's click route, http://HOST:PORT/c/<token>) in an
// RFC 822 message, in order of first appearance. Text and HTML parts carry the same links;
// each is returned once. Only http URLs on a loopback host (127.0.0.1, localhost, [::1]) are
// returned: the simulator never reaches beyond the machine.
std::vector<std::string> TrackedLinks(absl::string_view message);

// The distinct personal survey links (survey-ingest's form, http://HOST:PORT/s/<token>) in a
// message, in order of first appearance; loopback hosts only, as TrackedLinks.
std::vector<std::string> SurveyLinks(absl::string_view message);

// The recipient named by a message's To: header — an e-mail's address (lower-cased, without
// angle brackets) or a text's number as the SMS sink wrote it; "" when there is none.
std::string Recipient(absl::string_view message);

// Whether the simulated recipient of `mail` (its file name) follows `url`: a uniform draw keyed
// by seed, mail and url, below `rate`. The same inputs always decide the same way.
bool Follows(std::uint64_t seed, double rate, absl::string_view mail, absl::string_view url);

}  // namespace fieldwork::cli::simulate

#endif  // FIELDWORK_SERVICES_CLI_SIMULATE_MAIL_LINKS_H_

#include "services/cli/simulate_form_visits.h"

#include <curl/curl.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/cli/cli_context.h"
#include "services/cli/contacts.h"
#include "services/cli/protocol.h"
#include "services/cli/simulate/form_page.h"
#include "services/cli/simulate/link_visits.h"
#include "services/cli/simulate/mail_links.h"

namespace fieldwork::cli {
namespace {

namespace fs = std::filesystem;
namespace sim = ::fieldwork::cli::simulate;

struct Reply {
  bool reached = false;  // false: no HTTP answer at all (`error` says why)
  long status = 0;
  std::string body;
  std::string redirect;  // the absolute URL of a 3xx's Location
  std::string error;
};

size_t Collect(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// One participant's browser: no cookies, no redirects followed by curl (the walk follows the
// form's 303s itself, as the Post/Redirect/Get pattern means).
class Browser {
 public:
  Browser() : curl_(curl_easy_init()) {}
  ~Browser() { curl_easy_cleanup(curl_); }
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  Reply Get(const std::string& url) { return Send(url, nullptr); }
  Reply Post(const std::string& url, const std::string& form) { return Send(url, &form); }

 private:
  Reply Send(const std::string& url, const std::string* form) {
    Reply reply;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Collect);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");
    if (form != nullptr) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, form->c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(form->size()));
    }
    const CURLcode code = curl_easy_perform(curl_);
    if (code != CURLE_OK) {
      reply.error = curl_easy_strerror(code);
      return reply;
    }
    reply.reached = true;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &reply.status);
    char* redirect = nullptr;
    if (curl_easy_getinfo(curl_, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK && redirect) {
      reply.redirect = redirect;
    }
    return reply;
  }

  CURL* curl_;
};

// How one sitting at the form ended.
enum class Sitting { kLeft, kCompleted, kNotice, kRefused, kUnreachable };

struct SittingResult {
  Sitting outcome = Sitting::kLeft;
  std::string what;  // the notice's heading, or what was refused or unreachable
};

// Opens `link` and answers page after page; with `leave_early` leaves before the last page,
// after at most one page.
SittingResult Sit(Browser& browser, const std::string& link,
                  const std::map<std::string, std::string>& answers, bool leave_early) {
  Reply reply = browser.Get(link);
  for (int posted = 0;; ++posted) {
    if (!reply.reached) return {Sitting::kUnreachable, reply.error};
    const sim::FormPage page = sim::ParseFormPage(reply.body);
    if (!page.has_form()) {
      if (reply.status == 200 && page.heading == "Thank you") return {Sitting::kCompleted, ""};
      return {Sitting::kNotice, absl::StrCat(page.heading, " (HTTP ", reply.status, ")")};
    }
    if (reply.status != 200) {  // the form again with errors: our answers were refused
      return {Sitting::kRefused,
              absl::StrCat("page ", page.page, " answered wrong (HTTP ", reply.status, ")")};
    }
    if (leave_early && (page.last() || posted == 1)) return {Sitting::kLeft, ""};
    std::vector<std::pair<std::string, std::string>> fields = page.hidden;
    for (const std::string& item : page.items) {
      if (auto it = answers.find(item); it != answers.end()) {
        fields.emplace_back(sim::ItemField(item), it->second);
      }
    }
    // The form posts back to its own address (no action attribute): the link itself.
    reply = browser.Post(link, sim::EncodeForm(fields));
    if (reply.reached && reply.status == 303) reply = browser.Get(reply.redirect);
  }
}

// recipient (e-mail address or phone number, as the sink writes them) → participant id.
absl::StatusOr<std::map<std::string, std::string>> Recipients(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<ContactFile> contacts = ReadContacts(*text, path);
  if (!contacts.ok()) return contacts.status();
  std::map<std::string, std::string> recipients;
  for (const ContactRow& row : contacts->rows) {
    const auto& c = row.contact;
    if (!c.email().empty()) recipients[absl::AsciiStrToLower(c.email())] = c.participant_id();
    if (!c.phone().empty()) recipients[c.phone()] = c.participant_id();
  }
  return recipients;
}

// participant id → the survey link in their newest mail or text that has one.
absl::StatusOr<std::map<std::string, std::string>> NewestSurveyLinks(
    const std::string& mail_dir, const std::map<std::string, std::string>& recipients) {
  std::error_code error;
  std::vector<fs::path> mails;
  for (const auto& entry : fs::directory_iterator(mail_dir, error)) {
    if (entry.is_regular_file()) mails.push_back(entry.path());
  }
  if (error) return absl::InvalidArgumentError(absl::StrCat(mail_dir, ": ", error.message()));
  std::sort(mails.begin(), mails.end());  // the sink numbers them in order of arrival
  std::map<std::string, std::string> links;
  for (const fs::path& mail : mails) {
    absl::StatusOr<std::string> text = ReadFile(mail.string());
    if (!text.ok()) return text.status();
    const std::vector<std::string> found = sim::SurveyLinks(*text);
    if (found.empty()) continue;
    auto who = recipients.find(sim::Recipient(*text));
    if (who != recipients.end()) links[who->second] = found.front();
  }
  return links;
}

}  // namespace

int AnswerThroughLinks(const sim::SimulatedResponses& responses, const FormVisitOptions& options) {
  absl::StatusOr<std::map<std::string, std::string>> recipients = Recipients(options.contacts_path);
  if (!recipients.ok()) {
    std::cerr << "fieldwork: " << recipients.status().message() << "\n";
    return kUsage;
  }
  absl::StatusOr<std::map<std::string, std::string>> links =
      NewestSurveyLinks(options.mail_dir, *recipients);
  if (!links.ok()) {
    std::cerr << "fieldwork: " << links.status().message() << "\n";
    return kUsage;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  Browser browser;
  int64_t completed = 0, returned = 0, abandoned = 0, opened_only = 0, without_link = 0;
  int64_t refused = 0;
  bool unreachable = false;
  std::map<std::string, int64_t> notices;  // heading → participants who saw it instead of a form
  // A sitting that went wrong is counted once and told on stderr (never with the link: it is a
  // credential to the participant's answers).
  auto account = [&](const SittingResult& r, const std::string& participant) {
    if (r.outcome == Sitting::kNotice) ++notices[r.what];
    if (r.outcome == Sitting::kRefused) ++refused;
    if (r.outcome == Sitting::kUnreachable) unreachable = true;
    if (r.outcome == Sitting::kRefused || r.outcome == Sitting::kUnreachable) {
      std::cerr << "fieldwork: wave " << options.wave_id << ", participant " << participant << ": "
                << r.what << "\n";
    }
  };
  std::vector<const sim::ParticipantAnswers*> coming_back;
  for (const bool responds : {true, false}) {
    for (const sim::ParticipantAnswers& p : responds ? responses.answered : responses.unanswered) {
      if (unreachable) break;
      const sim::LinkVisit visit =
          sim::ChooseVisit(options.seed, options.wave_id, p.participant_id, responds);
      if (visit == sim::LinkVisit::kIgnores) continue;
      auto link = links->find(p.participant_id);
      if (link == links->end()) {
        without_link += responds ? 1 : 0;
        continue;
      }
      if (visit == sim::LinkVisit::kOpensOnly) {
        const Reply reply = browser.Get(link->second);
        if (!reply.reached) account({Sitting::kUnreachable, reply.error}, p.participant_id);
        ++opened_only;
        continue;
      }
      const bool leaves = visit != sim::LinkVisit::kCompletes;
      const SittingResult first = Sit(browser, link->second, p.answers, leaves);
      account(first, p.participant_id);
      if (first.outcome == Sitting::kCompleted) ++completed;
      if (first.outcome != Sitting::kLeft) continue;
      if (visit == sim::LinkVisit::kAbandons) ++abandoned;
      if (visit == sim::LinkVisit::kReturns) coming_back.push_back(&p);
    }
  }
  // Later — after everyone else's first visit — the ones who left come back and finish.
  for (const sim::ParticipantAnswers* p : coming_back) {
    if (unreachable) break;
    const SittingResult again = Sit(browser, links->at(p->participant_id), p->answers, false);
    account(again, p->participant_id);
    if (again.outcome == Sitting::kCompleted) {
      ++completed;
      ++returned;
    }
  }
  curl_global_cleanup();

  std::cout << "answered wave " << options.wave_id << " through the survey form: " << completed
            << " completed (" << returned << " of them after leaving and coming back), "
            << abandoned << " left before the end and did not return, " << opened_only
            << " opened the link only";
  if (without_link > 0) {
    std::cout << "; " << without_link << " who would have responded had no survey link in "
              << options.mail_dir;
  }
  std::cout << "\n";
  for (const auto& [heading, n] : notices) {
    std::cout << "  " << n << " saw \"" << heading << "\" instead of the form\n";
  }
  if (unreachable) return kUnavailable;
  return refused > 0 ? kRejected : kOk;
}

}  // namespace fieldwork::cli

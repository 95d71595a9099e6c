#include "services/messaging/smtp_channel.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace fieldwork::messaging {
namespace {

std::string EncodeHeaderWord(const std::string& text) {
  const bool ascii = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80 && c != '\r' && c != '\n';
  });
  if (ascii) return text;
  return absl::StrCat("=?UTF-8?B?", absl::Base64Escape(text), "?=");
}

std::string Crlf(const std::string& text) {
  std::string unix = absl::StrReplaceAll(text, {{"\r\n", "\n"}});
  return absl::StrReplaceAll(unix, {{"\n", "\r\n"}});
}

std::string BareAddress(const std::string& from) {
  const size_t lt = from.find('<');
  const size_t gt = from.find('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
    return from.substr(lt + 1, gt - lt - 1);
  }
  return std::string(absl::StripAsciiWhitespace(from));
}

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  Upload* upload = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, upload->data->size() - upload->offset);
  std::memcpy(buffer, upload->data->data() + upload->offset, n);
  upload->offset += n;
  return n;
}

}  // namespace

std::string FormatEmail(const OutgoingMessage& m, const std::string& from, absl::Time date) {
  std::string out;
  absl::StrAppend(&out, "From: ", from, "\r\n", "To: <", m.to, ">\r\n",
                  "Subject: ", EncodeHeaderWord(m.subject), "\r\n", "Date: ",
                  absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", date, absl::UTCTimeZone()),
                  "\r\n", "Message-ID: ", m.message_id, "\r\n", "MIME-Version: 1.0\r\n");
  if (!m.list_unsubscribe.empty()) {
    absl::StrAppend(&out, "List-Unsubscribe: <", m.list_unsubscribe, ">\r\n",
                    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
  }
  if (m.html_body.empty()) {
    absl::StrAppend(&out, "Content-Type: text/plain; charset=UTF-8\r\n",
                    "Content-Transfer-Encoding: 8bit\r\n\r\n", Crlf(m.text_body), "\r\n");
    return out;
  }
  // The boundary is derived from the Message-ID, so a retried message is byte-identical.
  const std::string boundary =
      absl::StrCat("fw-", absl::StrReplaceAll(m.message_id, {{"<", ""}, {">", ""}, {"@", "."}}));
  absl::StrAppend(&out, "Content-Type: multipart/alternative; boundary=\"", boundary, "\"\r\n\r\n",
                  "--", boundary, "\r\n", "Content-Type: text/plain; charset=UTF-8\r\n",
                  "Content-Transfer-Encoding: 8bit\r\n\r\n", Crlf(m.text_body), "\r\n", "--",
                  boundary, "\r\n", "Content-Type: text/html; charset=UTF-8\r\n",
                  "Content-Transfer-Encoding: 8bit\r\n\r\n", Crlf(m.html_body), "\r\n", "--",
                  boundary, "--\r\n");
  return out;
}

struct SmtpChannel::Session {
  explicit Session(CURL* handle) : curl(handle) {}
  // Sends QUIT when the connection is still open.
  ~Session() { curl_easy_cleanup(curl); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  CURL* const curl;  // libcurl keeps the connection in the handle between transfers
  int messages = 0;
  absl::Time last_used;
};

SmtpChannel::SmtpChannel(SmtpOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      envelope_from_(BareAddress(options_.from_address)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

SmtpChannel::~SmtpChannel() = default;

std::unique_ptr<SmtpChannel::Session> SmtpChannel::Take() {
  // Closed outside the lock: QUIT takes a round trip.
  std::vector<std::unique_ptr<Session>> closing;
  std::unique_ptr<Session> session;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    session_free_.wait(lock, [&] {
      return !idle_.empty() || open_ < std::max(1, options_.max_sessions);
    });
    closing.swap(retired_);
    // idle_ is in the order of last use, so the sessions unused too long are at its front.
    const absl::Time now = clock_.Now();
    const auto fresh = std::find_if(idle_.begin(), idle_.end(), [&](const auto& s) {
      return now - s->last_used <= options_.max_idle;
    });
    for (auto it = idle_.begin(); it != fresh; ++it) closing.push_back(std::move(*it));
    open_ -= static_cast<int>(fresh - idle_.begin());
    idle_.erase(idle_.begin(), fresh);
    if (idle_.empty()) {
      ++open_;
    } else {
      session = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  closing.clear();
  if (session != nullptr) return session;

  CURL* c = curl_easy_init();
  if (c == nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    --open_;
    session_free_.notify_one();
    return nullptr;
  }
  // Everything but the recipient and the message is the same for every transaction, and
  // libcurl reuses the handle's connection only for the same URL and credentials.
  curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(c, CURLOPT_USE_SSL,
                   static_cast<long>(options_.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (!options_.user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  }
  const std::string mail_from = absl::StrCat("<", envelope_from_, ">");
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &ReadBody);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   absl::ToInt64Milliseconds(options_.connect_timeout));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, absl::ToInt64Milliseconds(options_.timeout));
  return std::make_unique<Session>(c);
}

void SmtpChannel::Give(std::unique_ptr<Session> session, bool reusable) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!reusable || session->messages >= options_.max_messages_per_session) {
    // Not closed here: Deliver returns on the 250 for DATA, and the caller records "sent"
    // before any further round trip (README, window 5). The next Take closes it.
    retired_.push_back(std::move(session));
    --open_;
  } else {
    session->last_used = clock_.Now();
    idle_.push_back(std::move(session));
  }
  session_free_.notify_one();
}

DeliveryOutcome SmtpChannel::Send(Session& session, const OutgoingMessage& message,
                                  const std::string& body, bool* reused_without_reply) {
  curl_slist* recipients = curl_slist_append(nullptr, absl::StrCat("<", message.to, ">").c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt(recipients, curl_slist_free_all);
  Upload upload{&body, 0};
  CURL* c = session.curl;
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  const CURLcode result = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, nullptr);
  curl_easy_setopt(c, CURLOPT_READDATA, nullptr);
  ++session.messages;
  long code = 0;  // the last reply of this transaction; 0 when none came
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  long new_connections = 0;
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_connections);
  // libcurl waits for each reply before the next command, so a transaction on an old
  // connection that failed with no reply at all never got as far as DATA: the server closed
  // the idle connection as we took it, and the message can go on a new one at once.
  *reused_without_reply = result != CURLE_OK && code == 0 && new_connections == 0;
  if (result == CURLE_OK) {
    return {DeliveryOutcome::Kind::kSmtpReply, static_cast<int>(code == 0 ? 250 : code),
            "accepted"};
  }
  if (code >= 400) {
    return {DeliveryOutcome::Kind::kSmtpReply, static_cast<int>(code),
            absl::StrCat("SMTP ", code, ": ", curl_easy_strerror(result))};
  }
  if (result == CURLE_OPERATION_TIMEDOUT) {
    return {DeliveryOutcome::Kind::kTimeout, 0, "SMTP: timed out"};
  }
  return {DeliveryOutcome::Kind::kNetworkError, 0,
          absl::StrCat("SMTP: ", curl_easy_strerror(result))};
}

DeliveryOutcome SmtpChannel::Deliver(const OutgoingMessage& message) {
  if (message.to.empty() || message.to.find('@') == std::string::npos) {
    return {DeliveryOutcome::Kind::kInvalidAddress, 0, "no usable e-mail address"};
  }
  const std::string body = FormatEmail(message, options_.from_address, absl::Now());
  // Each stale idle session is dropped in turn; the last try is on a new connection.
  for (int tries = 0;; ++tries) {
    std::unique_ptr<Session> session = Take();
    if (session == nullptr) {
      return {DeliveryOutcome::Kind::kNetworkError, 0, "curl: cannot initialise"};
    }
    bool stale = false;
    DeliveryOutcome outcome = Send(*session, message, body, &stale);
    // After a failure the connection's state is unknown: the next message gets a new one.
    Give(std::move(session), outcome.kind == DeliveryOutcome::Kind::kSmtpReply &&
                                 outcome.code >= 200 && outcome.code < 300);
    if (!stale || tries >= options_.max_sessions) return outcome;
  }
}

}  // namespace fieldwork::messaging

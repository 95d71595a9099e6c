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

SmtpChannel::SmtpChannel(SmtpOptions options)
    : options_(std::move(options)), envelope_from_(BareAddress(options_.from_address)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

DeliveryOutcome SmtpChannel::Deliver(const OutgoingMessage& message) {
  if (message.to.empty() || message.to.find('@') == std::string::npos) {
    return {DeliveryOutcome::Kind::kInvalidAddress, 0, "no usable e-mail address"};
  }
  const std::string body = FormatEmail(message, options_.from_address, absl::Now());
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return {DeliveryOutcome::Kind::kNetworkError, 0, "curl: cannot initialise"};
  curl_slist* recipients = curl_slist_append(nullptr, absl::StrCat("<", message.to, ">").c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt(recipients, curl_slist_free_all);
  Upload upload{&body, 0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(c, CURLOPT_USE_SSL,
                   static_cast<long>(options_.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (!options_.user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  }
  const std::string mail_from = absl::StrCat("<", envelope_from_, ">");
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &ReadBody);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   absl::ToInt64Milliseconds(options_.connect_timeout));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, absl::ToInt64Milliseconds(options_.timeout));
  const CURLcode result = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
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

}  // namespace fieldwork::messaging

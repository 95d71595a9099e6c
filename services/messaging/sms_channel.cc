#include "services/messaging/sms_channel.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace fieldwork::messaging {
namespace {

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

std::string Escape(CURL* curl, const std::string& text) {
  char* escaped = curl_easy_escape(curl, text.c_str(), static_cast<int>(text.size()));
  std::string out = escaped == nullptr ? "" : escaped;
  curl_free(escaped);
  return out;
}

}  // namespace

SmsChannel::SmsChannel(SmsOptions options) : options_(std::move(options)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

DeliveryOutcome SmsChannel::Deliver(const OutgoingMessage& message) {
  if (message.to.size() < 8 || message.to[0] != '+') {
    return {DeliveryOutcome::Kind::kInvalidAddress, 0, "no usable phone number"};
  }
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return {DeliveryOutcome::Kind::kNetworkError, 0, "curl: cannot initialise"};
  CURL* c = curl.get();
  const std::string form = absl::StrCat(
      "To=", Escape(c, message.to), "&From=", Escape(c, options_.from),
      "&Body=", Escape(c, message.sms_body), "&Reference=", Escape(c, message.idempotency_key));
  curl_slist* headers = nullptr;
  headers =
      curl_slist_append(headers, absl::StrCat("Authorization: Bearer ", options_.token).c_str());
  headers = curl_slist_append(headers,
                              absl::StrCat("Idempotency-Key: ", message.idempotency_key).c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl_slist_free_all);
  curl_easy_setopt(c, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, absl::ToInt64Milliseconds(options_.timeout));
  const CURLcode result = curl_easy_perform(c);
  if (result == CURLE_OPERATION_TIMEDOUT) {
    return {DeliveryOutcome::Kind::kTimeout, 0, "SMS gateway: timed out"};
  }
  if (result != CURLE_OK) {
    return {DeliveryOutcome::Kind::kNetworkError, 0,
            absl::StrCat("SMS gateway: ", curl_easy_strerror(result))};
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return {DeliveryOutcome::Kind::kHttpStatus, static_cast<int>(status),
          absl::StrCat("SMS gateway HTTP ", status)};
}

}  // namespace fieldwork::messaging

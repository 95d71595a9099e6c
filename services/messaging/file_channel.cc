#include "services/messaging/file_channel.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace fieldwork::messaging {

absl::StatusOr<std::unique_ptr<FileChannel>> FileChannel::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("file_channel_path: cannot open for appending: ", std::strerror(errno)));
  }
  return std::unique_ptr<FileChannel>(new FileChannel(file));
}

FileChannel::~FileChannel() { std::fclose(file_); }

DeliveryOutcome FileChannel::Deliver(const OutgoingMessage& message) {
  nlohmann::json line = {
      {"key", message.idempotency_key},
      {"channel", std::string(DeliveryChannelName(message.channel))},
      {"to", message.to},
  };
  if (message.channel == DeliveryChannel::kEmail) {
    line["message_id"] = message.message_id;
    line["subject"] = message.subject;
    line["text"] = message.text_body;
    if (!message.html_body.empty()) line["html"] = message.html_body;
    if (!message.list_unsubscribe.empty()) line["list_unsubscribe"] = message.list_unsubscribe;
  } else {
    line["sms"] = message.sms_body;
  }
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  std::lock_guard<std::mutex> lock(mutex_);
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
    return DeliveryOutcome{DeliveryOutcome::Kind::kNetworkError, 0, "file channel: write failed"};
  }
  return DeliveryOutcome{DeliveryOutcome::Kind::kHttpStatus, 200, "written"};
}

}  // namespace fieldwork::messaging

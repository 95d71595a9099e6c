// The file channel: appends each message as one JSON line to a file, for local runs, demos
// and benchmarks (no provider needed).
#ifndef FIELDWORK_SERVICES_MESSAGING_FILE_CHANNEL_H_
#define FIELDWORK_SERVICES_MESSAGING_FILE_CHANNEL_H_

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "services/messaging/channel.h"

namespace fieldwork::messaging {

class FileChannel final : public MessageChannel {
 public:
  // Opens `path` for appending (created if missing).
  static absl::StatusOr<std::unique_ptr<FileChannel>> Open(const std::string& path);
  ~FileChannel() override;

  // One line: {"key","channel","to","message_id","subject","text","html","sms"}; flushed before
  // returning, so a message reported delivered is in the file.
  DeliveryOutcome Deliver(const OutgoingMessage& message) override;

 private:
  explicit FileChannel(std::FILE* file) : file_(file) {}
  std::mutex mutex_;
  std::FILE* file_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_FILE_CHANNEL_H_

#include "services/messaging/lease_heartbeat.h"

#include <algorithm>
#include <utility>

#include "services/common/logging.h"
#include "services/messaging/convert.h"

namespace fieldwork::messaging {

LeaseHeartbeat::LeaseHeartbeat(SendQueue& queue, const Clock& clock, std::string trial,
                               std::string consumer,
                               const std::vector<std::pair<StreamEntry, int>>& claimed,
                               absl::Time claimed_at)
    : queue_(queue),
      clock_(clock),
      trial_(std::move(trial)),
      consumer_(std::move(consumer)),
      last_renewed_(claimed_at) {
  for (const auto& [entry, attempt] : claimed) held_[entry.id] = Claim{entry, attempt, true};
  if (!held_.empty()) thread_ = std::thread([this] { Loop(); });
}

LeaseHeartbeat::~LeaseHeartbeat() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseHeartbeat::Loop() {
  const auto period = absl::ToChronoMilliseconds(
      std::max(absl::Milliseconds(1), queue_.options().HeartbeatInterval()));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
    lock.unlock();
    if (absl::Status s = Renew(); !s.ok()) {
      // The worker checks again before each delivery and stops if Redis stays away.
      logging::Warning("lease renewal failed", {{"error", s.ToString()}});
    }
    lock.lock();
  }
}

absl::Status LeaseHeartbeat::Renew() {
  std::lock_guard<std::mutex> renewing(renew_mutex_);
  std::vector<StreamEntry> entries;
  std::vector<int> attempts;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, h] : held_) {
      if (!h.held) continue;
      entries.push_back(h.entry);
      attempts.push_back(h.attempt);
    }
  }
  const absl::Time now = clock_.Now();
  if (entries.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_renewed_ = now;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<bool>> renewed =
      queue_.RenewLeases(trial_, consumer_, entries, attempts, ToMs(now));
  if (!renewed.ok()) return renewed.status();
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < entries.size() && i < renewed->size(); ++i) {
    // Not renewed: taken over, or no longer "claimed" because its "sent" record is in (a
    // delivered send stays in the renewals until its record is confirmed; see the header).
    if (!(*renewed)[i]) held_[entries[i].id].held = false;
  }
  last_renewed_ = now;
  return absl::OkStatus();
}

absl::Status LeaseHeartbeat::EnsureFresh(absl::Time now) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (now - last_renewed_ <= queue_.options().lease / 4) return absl::OkStatus();
  }
  return Renew();
}

bool LeaseHeartbeat::Held(const std::string& entry_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = held_.find(entry_id);
  return it != held_.end() && it->second.held;
}

}  // namespace fieldwork::messaging

// Keeps a worker's claims alive while it works on them: a thread renews their leases (and the
// idle time of their stream entries) every QueueOptions::HeartbeatInterval(), so the lease can
// be short — a dead worker's batch is free within seconds — without a slow but live worker
// losing its sends to another (README, windows 4 and 9).
#ifndef FIELDWORK_SERVICES_MESSAGING_LEASE_HEARTBEAT_H_
#define FIELDWORK_SERVICES_MESSAGING_LEASE_HEARTBEAT_H_

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/messaging/send_queue.h"

namespace fieldwork::messaging {

// One per worker batch. Thread-safe; the destructor stops renewing. A delivered send is renewed
// too until the batch ends: its "sent" record is confirmed only then (SentRecorder::Finish),
// and a record Redis lost must be written again by this worker while the claim is still its.
class LeaseHeartbeat {
 public:
  // `claimed`: the batch's claimed entries and their attempts. `clock` gives the lease times;
  // the renewal period is real time. `claimed_at` is when the claim (the first renewal) was.
  LeaseHeartbeat(SendQueue& queue, const Clock& clock, std::string trial, std::string consumer,
                 const std::vector<std::pair<StreamEntry, int>>& claimed, absl::Time claimed_at);
  ~LeaseHeartbeat();
  LeaseHeartbeat(const LeaseHeartbeat&) = delete;
  LeaseHeartbeat& operator=(const LeaseHeartbeat&) = delete;

  // Renews now unless a renewal succeeded less than a quarter of a lease before `now` (clock
  // time, read by the caller: with the simulated clock each read is a Redis round trip, and the
  // worker needs the same reading as the message's hand-over time): the check just before a
  // message goes to the provider. An error (Redis unreachable) means the caller must not deliver.
  absl::Status EnsureFresh(absl::Time now);
  // False once a renewal found the claim taken over: the send is its new owner's.
  bool Held(const std::string& entry_id) const;

 private:
  struct Claim {
    StreamEntry entry;
    int attempt = 0;
    bool held = true;
  };
  absl::Status Renew();
  void Loop();

  SendQueue& queue_;
  const Clock& clock_;
  const std::string trial_;
  const std::string consumer_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::map<std::string, Claim> held_;  // by stream entry id
  absl::Time last_renewed_;
  std::mutex renew_mutex_;  // one renewal at a time (the thread and EnsureFresh)
  std::thread thread_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_LEASE_HEARTBEAT_H_

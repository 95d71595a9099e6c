// The Redis send queue: due sends in a sorted set, a scheduler step that moves due ones into a
// stream atomically, workers in a consumer group, the idempotency record per send (taken before
// delivery, changed only by compare-and-set in Lua), retry, dead letters, pause/resume/cancel.
// Every crash window it closes is listed in services/messaging/README.md ("Crash windows").
#ifndef FIELDWORK_SERVICES_MESSAGING_SEND_QUEUE_H_
#define FIELDWORK_SERVICES_MESSAGING_SEND_QUEUE_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/redis_client.h"

namespace fieldwork::messaging {

// The parts of an idempotency key "<trial>:<campaign>:<step>:<participant>".
struct SendRef {
  std::string trial_id;
  std::string campaign_id;
  int step = 0;
  std::string participant_id;
};
absl::StatusOr<SendRef> ParseSendRef(absl::string_view idempotency_key);

// One send to plan: its idempotency key, due time and the arm it was planned for (for the
// per-arm counters; empty when not allocated).
struct PlannedEntry {
  std::string key;
  int64_t due_ms = 0;
  std::string arm;
};

// One stream entry a worker holds.
struct StreamEntry {
  std::string id;  // the stream entry id
  std::string key;
  int64_t due_ms = 0;
};

struct ClaimResult {
  enum class Kind {
    kClaimed,    // this worker may deliver: attempt is the attempt number
    kDone,       // already sent / dead / skipped / cancelled: acknowledged, nothing to do
    kHeld,       // the campaign is paused: moved to its held set and acknowledged
    kCancelled,  // the campaign is cancelled: recorded and acknowledged
    kBusy,       // another worker holds an unexpired lease: left pending for later
    kDeferred,   // an earlier step of the campaign is still pending for the participant:
                 // put back in the sorted set until that one is final (acknowledged here)
  };
  Kind kind = Kind::kDone;
  int attempt = 0;
};

// What became of one claimed send.
struct Completion {
  enum class Kind { kSent, kRetry, kDead, kSkipped };
  Kind kind = Kind::kSent;
  StreamEntry entry;
  int attempt = 0;
  int64_t retry_at_ms = 0;  // kRetry
  std::string detail;       // kRetry / kDead / kSkipped: why (never contact details)
  std::string channel;      // "email" / "sms" / "" when none was chosen
  std::string arm;          // the participant's arm at send time, for counters and events
  int64_t template_version = 0;
};

// Records "sent" the moment a provider accepts a message (README, window 5): each record is
// written to Redis before the worker's next delivery, but its reply is read only by Finish,
// so a batch of deliveries costs Redis a few reads and writes rather than a round trip each.
// One per worker batch; not thread-safe.
class SentRecorder {
 public:
  SentRecorder(RedisClient& redis, std::string trial, std::string consumer);

  // OK once the record is on its way to Redis. UNAVAILABLE when it may not reach Redis (the
  // connection failed, or Redis closed it, perhaps with earlier records unread): before
  // delivering anything else the caller takes Finish's unconfirmed records and writes them
  // again, waiting for Redis, so that a crash still leaves at most the one message in flight
  // unrecorded. The next Record starts afresh on another connection.
  absl::Status Record(const Completion& sent, int64_t now_ms);

  // The records Redis did not confirm (it restarted, the connection broke): the caller records
  // them again with SendQueue::Complete, which is harmless for one already recorded. The
  // confirmed ones' stream entries are acknowledged and deleted here, all at once.
  std::vector<Completion> Finish();

 private:
  void AcknowledgeSent(const std::vector<std::string>& ids);

  RedisClient& redis_;
  const std::string trial_;
  const std::string consumer_;
  std::optional<RedisClient::ScriptPipeline> pipeline_;
  std::vector<Completion> written_;
};

struct QueueOptions {
  // How long a claim stays valid without renewal: a worker renews the claims it holds every
  // HeartbeatInterval() while it works on them (LeaseHeartbeat), so a live worker, however
  // slow its provider, keeps them, and a dead one's are free this long after its last renewal
  // (README, windows 4 and 9).
  absl::Duration lease = absl::Seconds(10);
  // The idle time after which XAUTOCLAIM hands a dead worker's stream entries to a live one.
  // A live worker's heartbeat resets the idle time of its entries.
  absl::Duration reclaim_idle = absl::Seconds(5);
  // A send deferred behind an earlier step of its campaign is released as soon as that step
  // is final; it is also looked at again after this long, in case that release was missed.
  absl::Duration order_recheck = absl::Seconds(30);

  // How often a worker renews the claims it holds: a quarter of the lease or of the reclaim
  // idle time, whichever is shorter, so neither runs out while it is alive.
  absl::Duration HeartbeatInterval() const { return std::min(lease, reclaim_idle) / 4; }
};

// INVALID_ARGUMENT naming the flag when a duration is not positive.
absl::Status ValidateQueueOptions(const QueueOptions& options);

class SendQueue {
 public:
  SendQueue(RedisClient& redis, QueueOptions options = {});

  // Plans sends for `campaign` (ZADD NX, so planning again adds nothing and moves no due time)
  // and records a queued event for each one that is new. Returns the number newly planned.
  absl::StatusOr<int64_t> Plan(absl::string_view trial, absl::string_view campaign,
                               const std::vector<PlannedEntry>& sends, int64_t now_ms);

  // Moves up to `limit` sends due at `now_ms` from the sorted set into the stream, in one Lua
  // script (README, window 2). Returns how many moved.
  absl::StatusOr<int64_t> MoveDue(absl::string_view trial, int64_t now_ms, int64_t limit);

  // Every trial that has ever had a send planned.
  absl::StatusOr<std::vector<std::string>> Trials();

  // New entries for `consumer` (XREADGROUP >), waiting up to `block` (zero: do not wait).
  absl::StatusOr<std::vector<StreamEntry>> Read(absl::string_view trial, absl::string_view consumer,
                                                int count, absl::Duration block);
  // Entries other consumers have held longer than reclaim_idle (XAUTOCLAIM), now `consumer`'s:
  // one step of a walk through the group's pending list, from `cursor` ("": its start). The
  // step's cursor is where the next step starts, "" once the walk has reached the end.
  // A step looks at no more than kReclaimLooks pending entries, however long the list: workers
  // of every replica hold a batch each, and a walk from the start every time would cost Redis
  // the whole list per call and never reach what lies beyond its first 10 x COUNT entries.
  struct Reclaimed {
    std::vector<StreamEntry> entries;
    std::string cursor;
  };
  static constexpr int kReclaimLooks = 1000;
  absl::StatusOr<Reclaimed> Reclaim(absl::string_view trial, absl::string_view consumer,
                                    absl::string_view cursor);

  // Takes the idempotency record of each entry for `consumer` (one script for the batch):
  // new → claimed{attempt 1}; retry{n} → claimed{n+1}; claimed with an expired lease →
  // claimed{n+1} for this consumer; anything final → acknowledged. Checks the campaign's state
  // first: a paused campaign's sends are held, a cancelled one's recorded as cancelled. A
  // participant's step is deferred while an earlier step of the same campaign is pending for
  // them (planned, claimed or retrying): it goes back into the sorted set and is due again
  // when that step is sent, dead-lettered, skipped or cancelled (kDeferred).
  absl::StatusOr<std::vector<ClaimResult>> Claim(absl::string_view trial,
                                                 absl::string_view consumer,
                                                 const std::vector<StreamEntry>& entries,
                                                 int64_t now_ms);

  // True for each entry whose claim `consumer` still holds (nobody has taken it over),
  // extending its lease and resetting the stream entry's idle time (the heartbeat, and the
  // check before handing messages to the provider, README window 9).
  absl::StatusOr<std::vector<bool>> RenewLeases(absl::string_view trial, absl::string_view consumer,
                                                const std::vector<StreamEntry>& entries,
                                                const std::vector<int>& attempts, int64_t now_ms);

  // Records each outcome, its event and counters, and acknowledges the entry, in one script:
  // sent → record sent; retry → record retry{n} and ZADD at retry_at (README window 8); dead →
  // record dead and an entry in the dead-letter stream; skipped → record skipped. A consumer
  // that lost its claim still records "sent" (it holds the truth) but nothing else.
  absl::Status Complete(absl::string_view trial, absl::string_view consumer,
                        const std::vector<Completion>& completions, int64_t now_ms);

  // A recorder for the "sent" outcomes of one worker batch (see SentRecorder).
  SentRecorder RecordSent(absl::string_view trial, absl::string_view consumer) {
    return SentRecorder(redis_, std::string(trial), std::string(consumer));
  }

  // Campaign state changes. Pause: running → paused. Resume: paused → running, held sends back
  // into the sorted set at their due times. Cancel: unsent sends (held or waiting) dropped and
  // recorded; returns how many.
  absl::Status SetState(absl::string_view trial, absl::string_view campaign,
                        absl::string_view state);
  absl::Status Pause(absl::string_view trial, absl::string_view campaign);
  absl::Status Resume(absl::string_view trial, absl::string_view campaign);
  absl::StatusOr<int64_t> Cancel(absl::string_view trial, absl::string_view campaign,
                                 int64_t now_ms, absl::string_view reason);
  // "" when the campaign has no state.
  absl::StatusOr<std::string> State(absl::string_view trial, absl::string_view campaign);

  // Sends waiting in the sorted set, and the due time of the oldest (0 when empty); due sends
  // in the stream, from the group's pending list and the entries after its last-delivered id
  // (never from XINFO's "lag", which Redis 7.0 can report stale after a restart).
  struct Depth {
    int64_t waiting = 0;
    int64_t oldest_due_ms = 0;
    int64_t pending = 0;    // delivered to a worker, not yet acknowledged
    int64_t unread = 0;     // not yet delivered to any worker
    int64_t in_stream = 0;  // pending + unread
  };
  absl::StatusOr<Depth> QueueDepth(absl::string_view trial);

  // Dead letters; requeue puts them back (attempts start over; a send that was meanwhile
  // delivered is not sent again).
  struct DeadLetterEntry {
    std::string id;
    std::string key;
    std::string error;
    std::string channel;
    int attempts = 0;
    int64_t dead_ms = 0;
  };
  absl::StatusOr<std::vector<DeadLetterEntry>> DeadLetters(absl::string_view trial,
                                                           absl::string_view after_id, int count);
  // Returns whether the dead letter existed and was requeued.
  absl::StatusOr<bool> Requeue(absl::string_view trial, absl::string_view dead_id, int64_t now_ms);

  const QueueOptions& options() const { return options_; }

 private:
  absl::Status EnsureGroup(absl::string_view trial);

  RedisClient& redis_;
  QueueOptions options_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_SEND_QUEUE_H_

// A send worker: reads due sends from the trial streams (and reclaims those of dead workers),
// takes each send's idempotency record, applies the send-time guards with facts fetched now,
// renders, waits for the shared rate limit, delivers, and records the outcome. Also the
// scheduler step that moves due sends into the streams.
#ifndef FIELDWORK_SERVICES_MESSAGING_WORKER_H_
#define FIELDWORK_SERVICES_MESSAGING_WORKER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldwork/v1/messaging.pb.h"
#include "services/common/clock.h"
#include "services/messaging/channel.h"
#include "services/messaging/domain/campaign.h"
#include "services/messaging/domain/link_token.h"
#include "services/messaging/domain/retry.h"
#include "services/messaging/domain/survey_link_url.h"
#include "services/messaging/domain/token_bucket.h"
#include "services/messaging/message_store.h"
#include "services/messaging/messaging_metrics.h"
#include "services/messaging/send_queue.h"
#include "services/messaging/sources.h"

namespace fieldwork::messaging {

struct WorkerOptions {
  std::string consumer = "worker";  // unique among live workers
  int batch = 200;
  absl::Duration block = absl::Milliseconds(100);
  RetryPolicy retry;
  // Base of tracked links, the open pixel and unsubscribe links (the HTTP endpoint), no
  // trailing slash, e.g. "https://links.example.org".
  std::string link_base_url = "http://localhost:8080";
  std::string from_address = "fieldwork@localhost";
  // Shared token buckets (all workers); unset: no limit.
  std::optional<TokenBucketConfig> email_rate;
  std::optional<TokenBucketConfig> sms_rate;
};

// The collaborators a worker uses; it owns none of them. response_lookup may be null (then
// reminder steps are retried until one is configured, never sent unchecked); a channel may be
// null (its sends are dead-lettered as "channel not configured").
struct WorkerDeps {
  SendQueue* queue = nullptr;
  MessageStore* store = nullptr;
  AllocationSource* allocations = nullptr;
  ResponseLookup* responses = nullptr;
  const LinkSigner* signer = nullptr;
  MessageChannel* email = nullptr;
  MessageChannel* sms = nullptr;
  const Clock* clock = nullptr;
  MessagingMetrics* metrics = nullptr;  // may be null
  // Keys and form URL for personal survey links; without them such a send is dead-lettered.
  SurveyLinkSettings survey_links;
};

class Worker {
 public:
  Worker(WorkerDeps deps, WorkerOptions options);

  // One pass over every trial: reclaim, read, claim, deliver, complete. Returns the number of
  // sends it finished (sent, retried, dead-lettered or skipped).
  absl::StatusOr<int> RunOnce();
  // Until `stop`; errors (Redis down) are logged and retried after a pause.
  void Run(const std::atomic<bool>& stop);

 private:
  struct CampaignInfo {
    fieldwork::v1::CampaignDefinition proto;
    Campaign campaign;
  };
  absl::StatusOr<int> ProcessTrial(const std::string& trial);
  // Other workers' lapsed entries of `trial`: the next step of a walk through the pending
  // list (SendQueue::Reclaim), one step a batch; once a walk has reached the end, the next
  // starts a quarter of the reclaim idle time later (wall time, as Redis counts idleness).
  absl::StatusOr<std::vector<StreamEntry>> ReclaimIfDue(const std::string& trial);
  absl::StatusOr<const CampaignInfo*> GetCampaign(const std::string& trial,
                                                  const std::string& campaign);
  absl::Status TakeTokens(DeliveryChannel channel, int64_t n);
  absl::Status RecordNow(const std::string& trial, const Completion& completion);
  // The sent records `recorder` could not confirm, written again with RecordNow.
  absl::Status RecordUnconfirmed(const std::string& trial, SentRecorder& recorder);

  WorkerDeps deps_;
  WorkerOptions options_;
  std::map<std::string, std::unique_ptr<CampaignInfo>> campaigns_;  // "<trial>|<campaign>"
  struct ReclaimWalk {
    std::string cursor;  // where the next step starts; "" between walks
    absl::Time ended;    // when the last walk reached the end of the list
  };
  std::map<std::string, ReclaimWalk> reclaim_walks_;  // by trial
};

// The scheduler: moves every trial's due sends into its stream and updates the queue gauges.
class Scheduler {
 public:
  Scheduler(SendQueue& queue, const Clock& clock, MessagingMetrics* metrics)
      : queue_(queue), clock_(clock), metrics_(metrics) {}
  // Moves everything due now. Returns how many moved.
  absl::StatusOr<int64_t> RunOnce();
  void Run(const std::atomic<bool>& stop, absl::Duration tick);

 private:
  SendQueue& queue_;
  const Clock& clock_;
  MessagingMetrics* metrics_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_WORKER_H_

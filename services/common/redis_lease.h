// A lease in Redis: at most one process at a time holds it, for `ttl` after its last renewal.
// For work that must run in one replica only (the analysis service's live monitor): each
// replica calls Hold() before the work; the holder renews, the others are refused until the
// holder stops renewing (it died: the key expires) or releases (a clean shutdown). Expiry is
// Redis's own (PX), so the holder's and the standbys' clocks do not matter.
#ifndef FIELDWORK_SERVICES_COMMON_REDIS_LEASE_H_
#define FIELDWORK_SERVICES_COMMON_REDIS_LEASE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/redis_client.h"

namespace fieldwork {

// What the work's loop asks of a lease (RedisLease; a fake in unit tests).
class Lease {
 public:
  virtual ~Lease() = default;
  // True when this process holds the lease (taken or renewed now).
  virtual absl::StatusOr<bool> Hold() = 0;
  // Gives it up when held (nothing otherwise).
  virtual absl::Status Release() = 0;
};

class RedisLease final : public Lease {
 public:
  // `key` is the lease's one key (a hash tag of its own on a cluster); `holder` names this
  // process (unique among the replicas, e.g. host and pid); `ttl` at least 1 ms.
  RedisLease(RedisClient& redis, std::string key, std::string holder, absl::Duration ttl);

  // Takes the lease when nobody holds it, or renews it when this process does: true then,
  // and the lease is this process's for `ttl` from now. False when another holds it.
  absl::StatusOr<bool> Hold() override;
  // Gives the lease up when this process holds it (nothing otherwise), so a standby takes it
  // at its next Hold() instead of after the ttl.
  absl::Status Release() override;

  const std::string& holder() const { return holder_; }

 private:
  RedisClient& redis_;
  const std::string key_;
  const std::string holder_;
  const std::string ttl_ms_;
};

// A holder name unique to this process on this machine: "<host>:<pid>:<random hex>".
std::string ProcessHolderName();

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_REDIS_LEASE_H_

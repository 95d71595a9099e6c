// The suite-wide simulated clock: one time, kept in Redis, that every service reads and a tool
// advances, so a 12-week trial runs in seconds. Enabled only by --simulated_clock.
#ifndef FIELDWORK_SERVICES_COMMON_SIMULATED_CLOCK_H_
#define FIELDWORK_SERVICES_COMMON_SIMULATED_CLOCK_H_

#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/redis_client.h"

namespace fieldwork {

class SimulatedClock final : public Clock {
 public:
  // The Redis key holding the time (a serialised fieldwork.v1.SimulatedClockState).
  static constexpr absl::string_view kKey = "fw:{simulated}:clock";

  // `redis` must outlive the clock. `start_if_unset` is the time the first reader writes
  // when no process has set one yet.
  SimulatedClock(RedisClient& redis, absl::Time start_if_unset);

  // The shared time. If Redis cannot be read, the last time seen (a simulated clock is for
  // demos and tests; the failure is logged).
  absl::Time Now() const override;
  bool ReadsAreRoundTrips() const override { return true; }

  absl::StatusOr<absl::Time> Read() const;
  absl::Status Set(absl::Time now);
  // Moves the shared time forward atomically (compare-and-set), whoever else advances it.
  absl::StatusOr<absl::Time> Advance(absl::Duration by);

 private:
  RedisClient& redis_;
  const absl::Time start_if_unset_;
  mutable std::mutex mutex_;
  mutable absl::Time last_seen_;
};

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_SIMULATED_CLOCK_H_

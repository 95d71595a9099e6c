// Injectable time: every component asks a Clock, never the system clock directly.
#ifndef FIELDWORK_SERVICES_COMMON_CLOCK_H_
#define FIELDWORK_SERVICES_COMMON_CLOCK_H_

#include <mutex>

#include "absl/time/time.h"

namespace fieldwork {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current time. Thread-safe.
  virtual absl::Time Now() const = 0;
  // True when each Now() is a round trip to a store every process shares and the time stands
  // still between explicit moves (the simulated clock in Redis): a burst of work may then use
  // one reading throughout rather than wait on the store for each step.
  virtual bool ReadsAreRoundTrips() const { return false; }
};

// Wall-clock time: what production runs on.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override;
  // A process-wide instance.
  static RealClock& Get();
};

// Time that moves only when a test says so.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start = absl::UnixEpoch()) : now_(start) {}
  absl::Time Now() const override;
  void Set(absl::Time now);
  void Advance(absl::Duration by);

 private:
  mutable std::mutex mutex_;
  absl::Time now_;
};

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_CLOCK_H_

#include "services/common/clock.h"

#include "absl/time/clock.h"

namespace fieldwork {

absl::Time RealClock::Now() const { return absl::Now(); }

RealClock& RealClock::Get() {
  static RealClock* clock = new RealClock;
  return *clock;
}

absl::Time ManualClock::Now() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return now_;
}

void ManualClock::Set(absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  now_ = now;
}

void ManualClock::Advance(absl::Duration by) {
  std::lock_guard<std::mutex> lock(mutex_);
  now_ += by;
}

}  // namespace fieldwork

#include "services/http/connection_limiter.h"

#include <utility>

namespace fieldwork::http {

ConnectionLimiter::Ticket::Ticket(Ticket&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), address_(std::move(other.address_)) {}

ConnectionLimiter::Ticket& ConnectionLimiter::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    address_ = std::move(other.address_);
  }
  return *this;
}

void ConnectionLimiter::Ticket::Release() {
  if (limiter_ != nullptr) std::exchange(limiter_, nullptr)->Release(address_);
}

ConnectionLimiter::ConnectionLimiter(int max_total, int max_per_address)
    : max_total_(max_total), max_per_address_(max_per_address) {}

ConnectionLimiter::Ticket ConnectionLimiter::Admit(const std::string& address,
                                                   Verdict* verdict) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (total_ >= max_total_) {
    *verdict = Verdict::kTooManyInAll;
    return Ticket();
  }
  int& held = per_address_[address];
  if (max_per_address_ > 0 && held >= max_per_address_) {
    *verdict = Verdict::kTooManyFromAddress;
    return Ticket();
  }
  ++held;
  ++total_;
  *verdict = Verdict::kAdmitted;
  return Ticket(this, address);
}

void ConnectionLimiter::Release(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  --total_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
}

int ConnectionLimiter::total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

int ConnectionLimiter::from(const std::string& address) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = per_address_.find(address);
  return it == per_address_.end() ? 0 : it->second;
}

}  // namespace fieldwork::http

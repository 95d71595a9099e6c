// Counts the connections an HTTP server holds, in all and per client address, and refuses
// those over the caps: the admission half of the slowloris defence (the deadlines are the
// other half).
#ifndef FIELDWORK_SERVICES_HTTP_CONNECTION_LIMITER_H_
#define FIELDWORK_SERVICES_HTTP_CONNECTION_LIMITER_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace fieldwork::http {

class ConnectionLimiter {
 public:
  enum class Verdict { kAdmitted, kTooManyInAll, kTooManyFromAddress };

  // Holds one admitted connection's place until destroyed; an empty ticket holds nothing.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { Release(); }

    bool admitted() const { return limiter_ != nullptr; }
    // Gives the place back now (idempotent).
    void Release();

   private:
    friend class ConnectionLimiter;
    Ticket(ConnectionLimiter* limiter, std::string address)
        : limiter_(limiter), address_(std::move(address)) {}
    ConnectionLimiter* limiter_ = nullptr;
    std::string address_;
  };

  // `max_per_address` 0: no per-address cap.
  ConnectionLimiter(int max_total, int max_per_address);

  // A ticket when both caps leave room for one more connection from `address`; otherwise an
  // empty ticket and `*verdict` says which cap was reached. The limiter must outlive tickets.
  Ticket Admit(const std::string& address, Verdict* verdict);

  int total() const;
  int from(const std::string& address) const;

 private:
  void Release(const std::string& address);

  const int max_total_;
  const int max_per_address_;
  mutable std::mutex mutex_;
  int total_ = 0;
  // Only addresses holding a connection: an address's entry goes with its last connection,
  // so the map cannot grow with the number of clients ever seen.
  std::map<std::string, int> per_address_;
};

}  // namespace fieldwork::http

#endif  // FIELDWORK_SERVICES_HTTP_CONNECTION_LIMITER_H_

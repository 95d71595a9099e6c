// fieldwork-simclock: reads, sets or advances the suite-wide simulated clock in Redis.
//
// Usage:
//   fieldwork-simclock [--redis_url=redis://127.0.0.1:6379] get
//   fieldwork-simclock set 2021-01-04T09:00:00Z
//   fieldwork-simclock advance 168h        (any absl duration: 90s, 36h, 1.5h)
// Prints the (new) time as RFC 3339. Every flag can also be set as FIELDWORK_<FLAG>.
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/flags.h"
#include "services/common/redis_client.h"
#include "services/common/simulated_clock.h"

ABSL_FLAG(std::string, redis_url, "redis://127.0.0.1:6379", "Redis holding the simulated clock");

namespace {

int Fail(const absl::Status& status) {
  std::cerr << "fieldwork-simclock: " << status << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("get | set RFC3339_TIME | advance DURATION");
  std::vector<char*> args = fieldwork::ParseFlagsWithEnvironment(argc, argv);
  if (args.size() < 2) return Fail(absl::InvalidArgumentError("expected get, set or advance"));
  const std::string command = args[1];

  fieldwork::RedisClientOptions options;
  options.url = absl::GetFlag(FLAGS_redis_url);
  options.pool_size = 1;
  absl::StatusOr<std::unique_ptr<fieldwork::RedisClient>> redis =
      fieldwork::RedisClient::Create(options);
  if (!redis.ok()) return Fail(redis.status());
  fieldwork::SimulatedClock clock(**redis, fieldwork::RealClock::Get().Now());

  absl::StatusOr<absl::Time> now;
  if (command == "get" && args.size() == 2) {
    now = clock.Read();
  } else if (command == "set" && args.size() == 3) {
    absl::Time time;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, args[2], &time, &error)) {
      return Fail(absl::InvalidArgumentError("set: \"" + std::string(args[2]) +
                                             "\" is not an RFC 3339 time: " + error));
    }
    absl::Status status = clock.Set(time);
    if (!status.ok()) return Fail(status);
    now = time;
  } else if (command == "advance" && args.size() == 3) {
    absl::Duration by;
    if (!absl::ParseDuration(args[2], &by)) {
      return Fail(absl::InvalidArgumentError("advance: \"" + std::string(args[2]) +
                                             "\" is not a duration such as 168h or 90s"));
    }
    now = clock.Advance(by);
  } else {
    return Fail(absl::InvalidArgumentError("expected: get | set TIME | advance DURATION"));
  }
  if (!now.ok()) return Fail(now.status());
  std::cout << absl::FormatTime(absl::RFC3339_full, *now, absl::UTCTimeZone()) << "\n";
  return 0;
}

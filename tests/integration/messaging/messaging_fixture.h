// The messaging stack for integration tests: a real redis-server (AOF, appendfsync always), the
// real RandomisationService in-process over real gRPC, and the messaging store, queue, worker
// and scheduler on a manual clock, delivering through the file channel unless a test says
// otherwise.
#ifndef FIELDWORK_TESTS_INTEGRATION_MESSAGING_MESSAGING_FIXTURE_H_
#define FIELDWORK_TESTS_INTEGRATION_MESSAGING_MESSAGING_FIXTURE_H_

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fieldwork/v1/messaging.pb.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "services/common/clock.h"
#include "services/common/grpc_auth.h"
#include "services/messaging/file_channel.h"
#include "services/messaging/grpc_sources.h"
#include "services/messaging/message_store.h"
#include "services/messaging/messaging_metrics.h"
#include "services/messaging/messenger.h"
#include "services/messaging/send_queue.h"
#include "services/messaging/worker.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "services/randomisation/service.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork::messaging {

inline constexpr char kResearcherToken[] = "researcher-token";
inline constexpr char kAnalystToken[] = "analyst-token";
// 32-byte keys in hex, for tests only.
inline constexpr char kContactKeyHex[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
inline constexpr char kLinkKeyHex[] =
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

// The real RandomisationService in this process.
class RandomisationStack {
 public:
  RandomisationStack(const std::string& redis_url, const Clock& clock);
  ~RandomisationStack();
  fieldwork::v1::RandomisationService::Stub& stub() { return *stub_; }
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<randomisation::RedisRandomisationStore> store_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<randomisation::RandomisationMetrics> metrics_;
  std::unique_ptr<randomisation::Randomiser> randomiser_;
  std::unique_ptr<randomisation::RandomisationServiceImpl> service_;
  std::unique_ptr<fieldwork::testing::InProcessServer> server_;
  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> stub_;
  std::string address_;
};

class MessagingTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Creates a trial with one factor "messages" (treatment / control 1:1, complete
  // randomisation), enrols `n` participants p0..p<n-1> at site "s1", randomises, and uploads
  // contacts (p<i>@example.org, +4477009<i padded>, first name "P<i>", Europe/London).
  // Returns participant -> arm.
  std::map<std::string, std::string> CreateTwoArmTrial(const std::string& trial, int n);
  // UpdateTemplate with an e-mail (with a tracked link) and an SMS part; fails the test on error.
  void SaveTemplate(const std::string& trial, const std::string& id);
  // A new worker over the shared stack, delivering to `email` (the file channel by default).
  std::unique_ptr<Worker> NewWorker(const std::string& consumer, MessageChannel* email = nullptr,
                                    WorkerOptions options = {});
  // Scheduler and one worker until nothing is due at the current (manual) time.
  int DrainNow(Worker& worker);
  // The file channel's lines, parsed.
  std::vector<std::map<std::string, std::string>> Delivered() const;
  // ListEvents of `trial`: every event, or those of `kinds`, after `after_cursor` ("": all).
  std::vector<fieldwork::v1::MessageEvent> Events(
      const std::string& trial, const std::vector<fieldwork::v1::EventKind>& kinds = {},
      const std::string& after_cursor = "");

  std::unique_ptr<fieldwork::testing::RedisServer> redis_server_;
  fieldwork::testing::TempDir dir_;
  ManualClock clock_{absl::FromCivil(absl::CivilSecond(2021, 1, 4, 6, 0, 0), absl::UTCTimeZone())};
  std::unique_ptr<RandomisationStack> randomisation_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<MessageStore> store_;
  std::unique_ptr<SendQueue> queue_;
  std::unique_ptr<LinkSigner> signer_;
  std::unique_ptr<GrpcAllocationSource> allocations_;
  std::unique_ptr<Messenger> messenger_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<FileChannel> file_channel_;
  prometheus::Registry registry_;
  std::unique_ptr<MessagingMetrics> metrics_;
  std::string file_path_;
};

std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token);

// Reminder steps ask a ResponseLookup at send time. This one answers from a set the test
// changes between the invitation and the reminder (the gRPC implementation asks
// survey-ingest's GetResponseStatuses the same question).
class RespondedSet final : public ResponseLookup {
 public:
  absl::StatusOr<std::set<std::string>> RespondedAmong(
      absl::string_view trial, absl::string_view wave,
      const std::vector<std::string>& participants) override {
    EXPECT_EQ(wave, "baseline");
    std::set<std::string> out;
    for (const std::string& p : participants) {
      if (responded.count(absl::StrCat(trial, "/", p)) > 0) out.insert(p);
    }
    return out;
  }
  absl::StatusOr<std::optional<absl::Time>> WaveClosesAt(absl::string_view,
                                                         absl::string_view wave) override {
    if (wave != "endline") return absl::NotFoundError("no such wave");
    return endline_closes;
  }
  std::set<std::string> responded;
  std::optional<absl::Time> endline_closes;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_TESTS_INTEGRATION_MESSAGING_MESSAGING_FIXTURE_H_

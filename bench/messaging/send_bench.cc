// Send-pipeline benchmark (issue 5), printed, never asserted: `sends` e-mails planned into the
// sorted set, moved to the stream by the scheduler, delivered by `workers` worker threads to
// the file channel, each recorded and acknowledged, against a real redis-server; beside it,
// redis-benchmark's XADD rate on the same server in the same run (the physical limit of one
// stream append per send), and the ratio. Target: >= 20,000 sends/s.
// The send-time facts come from an in-memory source (every participant enrolled, in the
// audience arm): the gRPC lookups to randomisation are not part of this measurement.
// Usage: messaging_send_bench [sends=50000] [workers=4]   (BENCH_FSYNC=1: AOF, fsync always)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/clock.h"
#include "services/messaging/convert.h"
#include "services/messaging/domain/contact_crypto.h"
#include "services/messaging/domain/schedule.h"
#include "services/messaging/file_channel.h"
#include "services/messaging/message_store.h"
#include "services/messaging/send_queue.h"
#include "services/messaging/worker.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace {

namespace v1 = ::fieldwork::v1;
using namespace fieldwork::messaging;  // NOLINT: a benchmark main
using SteadyClock = std::chrono::steady_clock;

class EveryoneTreated final : public AllocationSource {
 public:
  absl::StatusOr<std::map<std::string, ParticipantRecord>> LookupMany(
      absl::string_view, const std::vector<std::string>& ids, absl::string_view) override {
    std::map<std::string, ParticipantRecord> records;
    for (const std::string& id : ids) {
      ParticipantRecord& r = records[id];
      r.enrolment = EnrolmentState::kEnrolled;
      r.arm = "treatment";
    }
    return records;
  }
  absl::StatusOr<std::vector<Recipient>> ListAudience(absl::string_view, const Audience&) override {
    return std::vector<Recipient>{};
  }
};

void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, status.ToString().c_str());
    std::exit(1);
  }
}


}  // namespace

int main(int argc, char** argv) {
  const int sends = argc > 1 ? std::atoi(argv[1]) : 50'000;
  const int n_workers = argc > 2 ? std::atoi(argv[2]) : 4;
  const bool fsync = std::getenv("BENCH_FSYNC") != nullptr;
  fieldwork::testing::RedisServer redis_server(
      fieldwork::testing::RedisServerOptions{.durable = fsync});
  fieldwork::RedisClientOptions options;
  options.url = redis_server.url();
  options.pool_size = 2 * n_workers + 4;
  options.command_timeout = absl::Seconds(30);
  std::unique_ptr<fieldwork::RedisClient> redis = *fieldwork::RedisClient::Create(options);
  const std::string key(32, 'k');
  MessageStore store(*redis, *ContactCipher::Create(key), key);
  SendQueue queue(*redis);
  LinkSigner signer = *LinkSigner::Create(key);
  fieldwork::ManualClock clock(absl::FromUnixSeconds(1'700'000'000));
  EveryoneTreated facts;
  fieldwork::testing::TempDir dir;
  std::unique_ptr<FileChannel> file = *FileChannel::Open(dir.path() + "/out.jsonl");

  const std::string trial = "bench";
  std::vector<Contact> contacts;
  std::vector<PlannedEntry> planned;
  for (int i = 0; i < sends; ++i) {
    const std::string p = absl::StrCat("p", i);
    contacts.push_back({p, absl::StrCat(p, "@example.org"), "", absl::StrCat("P", i), "", {}});
    planned.push_back(
        {IdempotencyKey(trial, "c", 0, p), absl::ToUnixMillis(clock.Now()), "treatment"});
  }
  Check(store.PutContacts(trial, contacts), "contacts");
  TemplateContent content{"Week 1, {{first_name}}",
                          "Dear {{first_name}}, watch {{tracked_link:https://v.example.org/1}} "
                          "Unsubscribe: {{unsubscribe_link}}",
                          "", ""};
  Check(store.SaveTemplate(trial, "t", content, clock.Now()).status(), "template");
  v1::CampaignDefinition def;
  def.set_campaign_id("c");
  def.set_kind(v1::CAMPAIGN_KIND_INTERVENTION);
  def.add_steps()->set_template_id("t");
  def.mutable_audience()->set_factor("messages");
  def.mutable_audience()->add_arms("treatment");
  def.set_channel(v1::MESSAGE_CHANNEL_EMAIL);
  for (int d = 1; d <= 7; ++d) def.mutable_window()->add_days(d);
  def.mutable_window()->set_end_hour(24);
  def.set_trial_time_zone("UTC");
  *def.mutable_start() = ToTimestamp(clock.Now());
  Check(store.CreateCampaign(trial, def).status(), "campaign");
  Check(queue.SetState(trial, "c", "running"), "state");
  Check(queue.Plan(trial, "c", planned, absl::ToUnixMillis(clock.Now())).status(), "plan");

  std::printf("messaging send pipeline: %d sends, %d worker threads, Redis %s\n", sends, n_workers,
              fsync ? "AOF appendfsync always" : "in memory");
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  const auto start = SteadyClock::now();
  std::thread scheduler_thread([&] {
    Scheduler scheduler(queue, clock, nullptr);
    scheduler.Run(stop, absl::Milliseconds(1));
  });
  std::vector<std::thread> threads;
  for (int w = 0; w < n_workers; ++w) {
    threads.emplace_back([&, w] {
      WorkerDeps deps;
      deps.queue = &queue;
      deps.store = &store;
      deps.allocations = &facts;
      deps.signer = &signer;
      deps.email = file.get();
      deps.sms = file.get();
      deps.clock = &clock;
      WorkerOptions worker_options;
      worker_options.consumer = absl::StrCat("bench-", w);
      worker_options.batch = 500;
      worker_options.block = absl::Milliseconds(2);
      Worker worker(deps, worker_options);
      while (!stop.load() && done.load() < sends) {
        absl::StatusOr<int> n = worker.RunOnce();
        Check(n.status(), "worker");
        done += *n;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  stop = true;
  scheduler_thread.join();
  const double rate = sends / seconds;
  std::printf(
      "  schedule -> stream -> worker -> file -> ack: %d sends in %.2f s = %.0f sends/s "
      "(target >= 20000)\n",
      done.load(), seconds, rate);
  const double xadd = fieldwork::testing::RedisBenchmarkRate(redis_server.port(), "xadd fw:bench:xadd '*' k v");
  std::printf("  redis-benchmark -n 200000 -c 50 XADD on the same server: %.0f XADD/s\n", xadd);
  if (xadd > 0) std::printf("  ratio sends/s : XADD/s = %.3f\n", rate / xadd);
  return 0;
}

// The hosted form over HTTP: completed three-page surveys a second, each participant opening
// their link and posting three pages (the last one the final submit through Ingestor::Submit),
// `clients` at once over keep-alive connections, into a real redis-server with AOF and
// appendfsync always, the real randomisation service as the roster. Printed beside
// redis-benchmark's SET rate on the same server in the same run (its ceiling for one durable
// write per request), with the p50 and p99 latency of a page (GET or POST). Issue 16's goal:
// >= 2,000 surveys/s on this machine. Never asserted.
// Usage: survey_ingest_form_bench [surveys=2000] [clients=8]
// Run a Release build: build/<release dir>/bin/survey_ingest_form_bench
#include <grpcpp/create_channel.h>
#include <httplib.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/common/bench_util.h"
#include "bench/survey_ingest/bench_roster.h"
#include "services/common/auth.h"
#include "services/common/clock.h"
#include "services/survey_ingest/form/form_server.h"
#include "services/survey_ingest/form/redis_form_store.h"
#include "services/survey_ingest/form/survey_form.h"
#include "services/survey_ingest/grpc_roster.h"
#include "services/survey_ingest/ingestor.h"
#include "services/survey_ingest/redis_store.h"
#include "services/survey_ingest/roster.h"
#include "services/survey_link/survey_link_token.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/redis_server.h"

namespace {

namespace v1 = ::fieldwork::v1;
namespace si = ::fieldwork::survey_ingest;

constexpr char kToken[] = "bench-researcher";
constexpr char kTrial[] = "formbench";
constexpr char kKeys[] = "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
constexpr char kInstrument[] = R"yaml(
id: job
version: 1
title: Your job
items:
  - {id: sat, label: Satisfied, type: likert, min: 1, max: 5, required: true}
  - {id: worth, label: Worthwhile, type: likert, min: 1, max: 5, required: true}
  - {id: hours, label: Hours, type: numeric, min: 0, max: 80, integer: true, required: true}
  - {id: team, label: Team, type: single_choice, options: [{code: "1", label: A}, {code: "2", label: B}]}
  - {id: note, label: Anything else, type: free_text, max_length: 200}
scales:
  - {id: attitude, label: Attitude, items: [sat, worth]}
pages:
  - {title: Feelings, items: [sat, worth]}
  - {title: Time, items: [hours]}
  - {title: Team, items: [team, note]}
)yaml";

template <typename T>
void Check(const T& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s failed\n", what);
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int surveys = std::max(1, argc > 1 ? std::atoi(argv[1]) : 2000);
  const int clients = std::max(1, argc > 2 ? std::atoi(argv[2]) : 8);

  fieldwork::testing::RedisServer redis(fieldwork::testing::RedisServerOptions{.durable = true});
  fieldwork::RedisClientOptions redis_options;
  redis_options.url = redis.url();
  redis_options.pool_size = 2 * clients;
  redis_options.command_timeout = absl::Seconds(60);
  std::unique_ptr<fieldwork::RedisClient> client = *fieldwork::RedisClient::Create(redis_options);
  fieldwork::RealClock& clock = fieldwork::RealClock::Get();
  const std::string tokens_yaml =
      absl::StrCat("tokens:\n  - name: bench\n    sha256: ", fieldwork::HashToken(kToken),
                   "\n    roles: [researcher, analyst]\n    trials: [\"*\"]\n");
  fieldwork::Authenticator authenticator(*fieldwork::TokenStore::FromYaml(tokens_yaml, "bench"));

  si::BenchRoster randomisation(*client, authenticator, kToken, kTrial, surveys);

  si::GrpcRoster grpc_roster(
      grpc::CreateChannel(randomisation.address(), grpc::InsecureChannelCredentials()), kToken);
  si::CachedRoster roster(grpc_roster);
  si::RedisIngestStore store(*client);
  si::Ingestor ingestor(store, roster, clock);
  v1::Instrument instrument;
  instrument.set_definition_yaml(kInstrument);
  Check(ingestor.PutInstrument(kTrial, instrument), "PutInstrument");
  v1::Wave wave;
  wave.set_trial_id(kTrial);
  wave.set_wave_id("w1");
  wave.set_instrument_id("job");
  Check(ingestor.PutWave(wave), "PutWave");

  fieldwork::survey_link::SurveyLinkKeyRing keys =
      *fieldwork::survey_link::SurveyLinkKeyRing::Parse(kKeys, "bench");
  si::form::RedisFormStore form_store(*client);
  si::form::SurveyForm form(ingestor, form_store, keys, clock);
  si::form::FormServerOptions options;
  options.rate_limit_per_link_per_minute = 0;
  options.rate_limit_per_address_per_minute = 0;
  options.limits.max_connections_per_address = 0;
  si::form::FormServer server(form, options);
  Check(server.Start("127.0.0.1", 0), "FormServer::Start");

  std::vector<std::string> links(static_cast<size_t>(surveys));
  for (int i = 0; i < surveys; ++i) {
    links[static_cast<size_t>(i)] =
        "/s/" + *fieldwork::survey_link::SealSurveyLink(
                    keys, {kTrial, "w1", absl::StrCat("P", i), absl::Now() + absl::Hours(24)});
  }

  std::atomic<int> next{0};
  std::atomic<int> completed{0};
  std::atomic<int> failed{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  const std::regex csrf_pattern("name=\"csrf\" value=\"([^\"]*)\"");
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client http("127.0.0.1", server.port());
      http.set_keep_alive(true);
      http.set_tcp_nodelay(true);  // as browsers do; a POST's body would wait for an ACK
      std::vector<double>& mine = latencies[static_cast<size_t>(c)];
      auto timed = [&mine](auto request) {
        const auto t0 = std::chrono::steady_clock::now();
        httplib::Result r = request();
        mine.push_back(fieldwork::bench::Seconds(t0));
        return r;
      };
      for (int i = next++; i < surveys; i = next++) {
        const std::string& link = links[static_cast<size_t>(i)];
        httplib::Result page = timed([&] { return http.Get(link.c_str()); });
        std::smatch match;
        if (!page || page->status != 200 || !std::regex_search(page->body, match, csrf_pattern)) {
          ++failed;
          continue;
        }
        const std::string csrf = match[1].str();
        const std::vector<httplib::Params> pages = {
            {{"csrf", csrf}, {"form_page", "1"}, {"q_sat", "4"}, {"q_worth", "3"}},
            {{"csrf", csrf}, {"form_page", "2"}, {"q_hours", std::to_string(i % 80)}},
            {{"csrf", csrf}, {"form_page", "3"}, {"q_team", "1"}, {"q_note", "fine"}}};
        bool ok = true;
        for (size_t p = 0; ok && p < pages.size(); ++p) {
          httplib::Result posted = timed([&] { return http.Post(link.c_str(), pages[p]); });
          ok = posted && posted->status == (p + 1 < pages.size() ? 303 : 200);
        }
        ok ? ++completed : ++failed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = fieldwork::bench::Seconds(start);
  server.Stop();

  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto quantile = [&all](double q) {
    if (all.empty()) return 0.0;
    const auto rank = static_cast<size_t>(q * static_cast<double>(all.size()));
    return all[std::min(all.size() - 1, rank)];
  };
  const double set_rate = fieldwork::testing::RedisBenchmarkRate(redis.port(), "-t set");
  std::printf("hosted form, %d three-page surveys, %d clients, Redis appendfsync always:\n",
              surveys, clients);
  std::printf("  completed %d (failed %d) in %.2f s: %.0f surveys/s (goal >= 2,000/s)\n",
              completed.load(), failed.load(), seconds, completed.load() / seconds);
  std::printf("  page latency (GET or POST): p50 %.2f ms, p99 %.2f ms over %zu requests\n",
              1e3 * quantile(0.50), 1e3 * quantile(0.99), all.size());
  std::printf("  redis-benchmark -n 200000 -c 50 SET on the same server: %.0f SET/s\n", set_rate);
  return failed.load() == 0 ? 0 : 1;
}

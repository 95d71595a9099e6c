// ListResponses streams: the fieldwork-survey-ingest binary lists a wave of 200,000 responses
// while its peak resident memory (VmHWM) stays far below what holding the wave would take.
#include <gtest/gtest.h>
#include <grpcpp/create_channel.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"

namespace fieldwork::survey_ingest {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::testing::ServiceProcess;

constexpr int kResponses = 200000;
constexpr int kBatch = 500;  // one script well inside the test client's 2 s timeout
// Peak RSS of the service measured on this test (debug build, 200,000 responses): 675 MB
// before ListResponses streamed (the wave read whole, and a second time for the norms), 23 MB
// after (20 MB idle). The bound leaves room for allocator and build differences and stays far
// below the old figure.
constexpr int64_t kPeakRssBoundKb = 100 * 1024;


// Stores kResponses complete responses to `wave` straight through the store (what accepted
// submissions become), kBatch per atomic write: much faster than validating each.
void StoreResponses(RedisClient& redis, const std::string& trial, const std::string& wave) {
  RedisIngestStore store(redis);
  const absl::Time submitted =
      absl::FromCivil(absl::CivilSecond(2021, 3, 10, 9, 0, 0), absl::UTCTimeZone());
  for (int start = 0; start < kResponses; start += kBatch) {
    WriteBatch batch;
    for (int i = start; i < start + kBatch; ++i) {
      PendingResponse pending;
      v1::Response& r = pending.response;
      r.set_trial_id(trial);
      r.set_wave_id(wave);
      r.set_participant_id(absl::StrFormat("P%06d", i));
      r.set_submission_id(absl::StrFormat("s%06d", i));
      r.set_instrument_id("wb");
      r.set_instrument_version(1);
      (*r.mutable_answers())["wb_1"] = std::to_string(i % 11);
      (*r.mutable_answers())["wb_2"] = std::to_string((i / 11) % 11);
      (*r.mutable_answers())["wb_3"] = std::to_string((i / 121) % 11);
      (*r.mutable_answers())["sick_days"] = std::to_string(i % 30);
      v1::Score* scale = r.add_scales();
      scale->set_id("wellbeing");
      scale->set_present(true);
      scale->set_value(static_cast<double>(i % 11 + (i / 11) % 11 + 10 - (i / 121) % 11) / 3);
      const absl::Time at = submitted + absl::Seconds(i);
      r.mutable_submitted_at()->set_seconds(absl::ToUnixSeconds(at));
      *r.mutable_received_at() = r.submitted_at();
      r.set_site(i % 2 == 0 ? "LA1" : "LA2");
      r.set_source("api");
      pending.complete = true;
      pending.submitted = at;
      batch.responses.push_back(std::move(pending));
    }
    absl::StatusOr<std::vector<WriteResult>> written = store.Write(trial, batch);
    ASSERT_TRUE(written.ok()) << written.status();
  }
}

TEST_F(IngestTest, ListResponsesStreamsAWaveOf200000InBoundedMemory) {
  PutInstrument("big", kWellbeingYaml);
  PutWave("big", "baseline", "wb");
  fieldwork::testing::TempDir dir;
  fieldwork::testing::WriteFile(dir.path() + "/tokens.yaml", TestTokensYaml());
  fieldwork::testing::WriteFile(dir.path() + "/ingest.token", std::string(kIngestService) + "\n");
  const std::string address = absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort());
  // Started before the data is stored, so that its peak is the listing's, not start-up's.
  ServiceProcess service(
      "fieldwork-survey-ingest",
      {"--listen_address=" + address,
       absl::StrCat("--metrics_port=", fieldwork::testing::PickFreePort()),
       "--metrics_bind_address=127.0.0.1", "--redis_url=" + redis_->url(),
       "--tokens_file=" + dir.path() + "/tokens.yaml",
       "--randomisation_address=" + randomisation_->address(),
       "--service_token_file=" + dir.path() + "/ingest.token", "--drain_delay=0s",
       "--http_listen_address="},
      address, dir.path());
  std::unique_ptr<RedisClient> redis = redis_->NewClient();
  ASSERT_NO_FATAL_FAILURE(StoreResponses(*redis, "big", "baseline"));
  const int pid = service.process().pid();
  const int64_t idle_kb = fieldwork::testing::ProcStatusKb(pid, "VmHWM");
  ASSERT_GT(idle_kb, 0);

  auto stub = v1::SurveyIngestService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  v1::ListResponsesRequest request;
  request.set_trial_id("big");
  request.set_wave_id("baseline");
  auto context = ContextWith(kAnalyst);
  auto reader = stub->ListResponses(context.get(), request);
  v1::ListResponsesResponse message;
  int received = 0;
  int out_of_order = 0;
  int without_composite = 0;
  std::string previous;
  while (reader->Read(&message)) {
    const v1::Response& r = message.response();
    if (r.participant_id() <= previous) ++out_of_order;
    previous = r.participant_id();
    if (r.composites_size() != 1 || !r.composites(0).present()) ++without_composite;
    ++received;
  }
  const grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(received, kResponses);
  EXPECT_EQ(out_of_order, 0);
  EXPECT_EQ(without_composite, 0);

  const int64_t peak_kb = fieldwork::testing::ProcStatusKb(pid, "VmHWM");
  std::cout << "survey-ingest VmHWM: " << idle_kb / 1024 << " MB before listing, "
            << peak_kb / 1024 << " MB after listing " << kResponses << " responses\n";
  if (fieldwork::testing::kResidentMemoryIsMeaningful) {
    EXPECT_LT(peak_kb, kPeakRssBoundKb) << "peak RSS " << peak_kb / 1024 << " MB";
  }
}

}  // namespace
}  // namespace fieldwork::survey_ingest

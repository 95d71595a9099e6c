// The fieldwork-survey-ingest binary as it is deployed: flags, its own token for the
// randomisation service, health, a submission end to end, its request size limit, and /metrics.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"

namespace fieldwork::survey_ingest {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::testing::ChildProcess;
using ::fieldwork::testing::ServiceProcess;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path);
  out << content;
}

TEST_F(IngestTest, BinaryServesWithItsOwnRandomisationToken) {
  CreateTrial("binary");
  Enrol("binary", {{"A1", "LA1"}});
  fieldwork::testing::TempDir dir;
  WriteFile(dir.path() + "/tokens.yaml", TestTokensYaml());
  WriteFile(dir.path() + "/ingest.token", std::string(kIngestService) + "\n");
  const int port = fieldwork::testing::PickFreePort();
  const int metrics_port = fieldwork::testing::PickFreePort();
  const std::string address = absl::StrCat("127.0.0.1:", port);
  ServiceProcess service(
      "fieldwork-survey-ingest",
      {"--listen_address=" + address, absl::StrCat("--metrics_port=", metrics_port),
       "--metrics_bind_address=127.0.0.1", "--redis_url=" + redis_->url(),
       "--tokens_file=" + dir.path() + "/tokens.yaml",
       "--randomisation_address=" + randomisation_->address(),
       "--service_token_file=" + dir.path() + "/ingest.token", "--drain_delay=0s",
       "--http_listen_address=", "--max_receive_message_mb=1"},
      address, dir.path());
  grpc::ChannelArguments unlimited;  // the client would send any size: the server's limit holds
  unlimited.SetMaxSendMessageSize(-1);
  auto stub = v1::SurveyIngestService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), unlimited));

  v1::PutInstrumentRequest instrument;
  instrument.set_trial_id("binary");
  instrument.mutable_instrument()->set_definition_yaml(kWellbeingYaml);
  v1::PutInstrumentResponse put_instrument;
  ASSERT_TRUE(
      stub->PutInstrument(ContextWith(kResearcher).get(), instrument, &put_instrument).ok());
  v1::PutWaveRequest wave;
  wave.mutable_wave()->set_trial_id("binary");
  wave.mutable_wave()->set_wave_id("baseline");
  wave.mutable_wave()->set_instrument_id("wb");
  v1::PutWaveResponse put_wave;
  ASSERT_TRUE(stub->PutWave(ContextWith(kResearcher).get(), wave, &put_wave).ok());

  v1::SubmitResponseRequest submit;
  v1::Submission& s = *submit.mutable_submission();
  s.set_trial_id("binary");
  s.set_wave_id("baseline");
  s.set_participant_id("A1");
  s.set_finished(true);
  (*s.mutable_answers())["wb_1"] = "4";
  (*s.mutable_answers())["wb_2"] = "5";
  (*s.mutable_answers())["wb_3"] = "6";
  v1::SubmitResponseResponse submitted;
  const grpc::Status status =
      stub->SubmitResponse(ContextWith(kPartnerLa1).get(), submit, &submitted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(submitted.status(), v1::SUBMISSION_STATUS_ACCEPTED)
      << (submitted.errors_size() > 0 ? submitted.errors(0).reason() : "");
  s.set_participant_id("nobody");
  ASSERT_TRUE(stub->SubmitResponse(ContextWith(kPartnerLa1).get(), submit, &submitted).ok());
  EXPECT_EQ(submitted.status(), v1::SUBMISSION_STATUS_REJECTED);

  // A request over --max_receive_message_mb is refused whole before any row is read: had its
  // 50,000 rows of unknown participants been read, the rejects counter below would not be 1.
  v1::ImportCsvRequest import;
  import.set_trial_id("binary");
  import.set_wave_id("baseline");
  std::string csv = "ExternalReference,wb_1,wb_2,wb_3\n";
  for (int i = 0; csv.size() <= (1u << 20); ++i) absl::StrAppend(&csv, "nobody", i, ",4,5,6\n");
  import.set_content(csv);
  v1::ImportCsvResponse imported;
  const grpc::Status too_large =
      stub->ImportCsv(ContextWith(kResearcher).get(), import, &imported);
  EXPECT_EQ(too_large.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << too_large.error_message();

  absl::StatusOr<std::string> metrics = fieldwork::testing::FetchMetrics(metrics_port);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(
      *metrics,
      HasSubstr(
          R"(fieldwork_survey_ingest_submissions_total{status="accepted",trial="binary",wave="baseline"} 1)"));
  EXPECT_THAT(
      *metrics,
      HasSubstr(
          R"(fieldwork_survey_ingest_rejects_total{reason="unknown_participant",trial="binary"} 1)"));
  EXPECT_THAT(
      *metrics,
      HasSubstr(
          R"(fieldwork_survey_ingest_respondents{site="LA1",trial="binary",wave="baseline"} 1)"));
}

TEST_F(IngestTest, BinaryRefusesToStartWithoutItsRandomisationToken) {
  fieldwork::testing::TempDir dir;
  WriteFile(dir.path() + "/tokens.yaml", TestTokensYaml());
  ChildProcess process(
      {fieldwork::testing::BinaryPath("fieldwork-survey-ingest"), "--listen_address=127.0.0.1:0",
       "--metrics_port=0", "--redis_url=" + redis_->url(),
       "--tokens_file=" + dir.path() + "/tokens.yaml", "--http_listen_address="},
      {}, dir.path() + "/log");
  EXPECT_EQ(process.WaitForExit(absl::Seconds(30)), 1);
  EXPECT_THAT(process.ReadLog(), HasSubstr("--service_token_file"));
}

}  // namespace
}  // namespace fieldwork::survey_ingest

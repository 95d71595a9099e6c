// The fieldwork-survey-ingest binary as it is deployed: flags, its own token for the
// randomisation service, health, a submission end to end, its request size limit, /metrics,
// and a kill -9 in the middle of a stream.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

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

// The binary as deployed, on this fixture's Redis and randomisation service, with its tokens in
// dir_; its address and metrics port stay the same when it is started again.
class IngestBinaryTest : public IngestTest {
 protected:
  std::unique_ptr<ServiceProcess> StartBinary() {
    WriteFile(dir_.path() + "/tokens.yaml", TestTokensYaml());
    WriteFile(dir_.path() + "/ingest.token", std::string(kIngestService) + "\n");
    return std::make_unique<ServiceProcess>(
        "fieldwork-survey-ingest",
        std::vector<std::string>{
            "--listen_address=" + address_, absl::StrCat("--metrics_port=", metrics_port_),
            "--metrics_bind_address=127.0.0.1", "--redis_url=" + redis_->url(),
            "--tokens_file=" + dir_.path() + "/tokens.yaml",
            "--randomisation_address=" + randomisation_->address(),
            "--service_token_file=" + dir_.path() + "/ingest.token", "--drain_delay=0s",
            "--http_listen_address=", "--max_receive_message_mb=1"},
        address_, dir_.path());
  }

  fieldwork::testing::TempDir dir_;
  const int metrics_port_ = fieldwork::testing::PickFreePort();
  const std::string address_ = absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort());
};

TEST_F(IngestBinaryTest, BinaryServesWithItsOwnRandomisationToken) {
  CreateTrial("binary");
  Enrol("binary", {{"A1", "LA1"}});
  const std::unique_ptr<ServiceProcess> service = StartBinary();
  grpc::ChannelArguments unlimited;  // the client would send any size: the server's limit holds
  unlimited.SetMaxSendMessageSize(-1);
  auto stub = v1::SurveyIngestService::NewStub(
      grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), unlimited));

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

  absl::StatusOr<std::string> metrics = fieldwork::testing::FetchMetrics(metrics_port_);
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

// kill -9 of the binary while a partner's stream is being stored: what is stored is whole
// batches of the stream's first rows (each batch is one atomic write), and sending the whole
// stream again, as the proto tells a partner to after a call cut off, stores the rest once,
// with the rows stored before counted as duplicates. The same with rows sent in pages
// (`submissions`) of 333, so that a batch of 1,000 rows ends inside a page.
TEST_F(IngestBinaryTest, KilledMidStreamStoresWholeBatchesAndTheResentStreamCompletesIt) {
  constexpr int kRows = 3000;
  for (const int per_message : {1, 333}) {
    SCOPED_TRACE(absl::StrCat(per_message, " row(s) a message"));
    const std::string trial = absl::StrCat("crash", per_message);
    CreateTrial(trial);
    std::vector<std::pair<std::string, std::string>> roster;
    for (int i = 1; i <= kRows; ++i) roster.emplace_back(absl::StrCat("P", i), "LA1");
    Enrol(trial, roster);
    PutInstrument(trial, kWellbeingYaml);
    PutWave(trial, "baseline", "wb");
    // Writes rows `from` to `to` of the stream, `per_message` a message; false once the
    // stream is broken.
    auto send = [&](grpc::ClientWriter<v1::SubmitResponsesRequest>& writer, int from, int to) {
      for (int first = from; first <= to; first += per_message) {
        v1::SubmitResponsesRequest message;
        for (int i = first; i < first + per_message && i <= to; ++i) {
          v1::Submission row =
              WellbeingSubmission(trial, absl::StrCat("P", i), absl::StrCat("r", i));
          *(per_message == 1 ? message.mutable_submission() : message.add_submissions()) =
              std::move(row);
        }
        if (!writer.Write(message)) return false;
      }
      return true;
    };

    std::unique_ptr<ServiceProcess> service = StartBinary();
    auto stub = v1::SurveyIngestService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    {
      auto context = ContextWith(kPartnerLa1);
      v1::SubmitResponsesResponse response;
      auto writer = stub->SubmitResponses(context.get(), &response);
      ASSERT_TRUE(send(*writer, 1, 2000));
      // The first batch is stored and the second is being stored or about to be: kill now.
      ASSERT_TRUE(WaitUntilListed(trial, "baseline", 1));
      service->process().Signal(SIGKILL);
      ASSERT_TRUE(service->process().WaitForExit(absl::Seconds(30)).has_value());
      send(*writer, 2001, kRows);  // into a broken stream: how far it gets does not matter
      writer->WritesDone();
      EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
    }
    const std::vector<v1::Response> after_kill = ListResponses(trial, "baseline");
    const size_t stored = after_kill.size();
    EXPECT_TRUE(stored == 1000 || stored == 2000) << stored << " rows stored: not whole batches";
    std::set<std::string> ids;
    for (const v1::Response& r : after_kill) ids.insert(r.submission_id());
    for (size_t i = 1; i <= stored; ++i) {
      EXPECT_EQ(ids.count(absl::StrCat("r", i)), 1u) << "row " << i << " of the stored batches";
    }

    service = StartBinary();
    auto context = ContextWith(kPartnerLa1);
    v1::SubmitResponsesResponse resent;
    auto writer = stub->SubmitResponses(context.get(), &resent);
    ASSERT_TRUE(send(*writer, 1, kRows));
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(resent.duplicate(), static_cast<int64_t>(stored));
    EXPECT_EQ(resent.accepted(), kRows - static_cast<int64_t>(stored));
    EXPECT_EQ(resent.rejected(), 0);
    std::set<std::string> respondents;
    for (const v1::Response& r : ListResponses(trial, "baseline")) {
      EXPECT_TRUE(respondents.insert(r.participant_id()).second) << r.participant_id() << " twice";
    }
    EXPECT_EQ(respondents.size(), static_cast<size_t>(kRows));
    service.reset();  // the next round starts its own on the same address
  }
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

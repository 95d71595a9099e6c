// The composites' norms (the mean and SD of each scale over the reference wave's counted
// responses) are read when an import has changed the wave, so the first listing after it reads
// the wave once, not twice; they are right; and a later write makes the next listing read them
// again. Over the real store behind a wrapper that counts the wave's reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/survey_ingest/forwarding_store.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"

// A namespace of its own: each test file here names its helpers alike (unity build).
namespace fieldwork::survey_ingest::import_norms {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr char kTrial[] = "import-norms";
constexpr int kRows = 40;

// The real store, counting its reads of responses.
class CountingReads final : public ForwardingIngestStore {
 public:
  using ForwardingIngestStore::ForwardingIngestStore;
  int reads = 0;

  absl::Status ForEachResponse(const std::string& trial, const std::string& wave,
                               const std::string& participant, Answers answers,
                               const std::function<bool(v1::Response&)>& visit) override {
    ++reads;
    return ForwardingIngestStore::ForEachResponse(trial, wave, participant, answers, visit);
  }
};

class ImportNormsTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();
    CreateTrial(kTrial);
    std::vector<std::pair<std::string, std::string>> roster;
    for (int i = 1; i <= kRows + 1; ++i) roster.emplace_back(absl::StrCat("M", i), "LA1");
    Enrol(kTrial, roster);
    PutInstrument(kTrial, kWellbeingYaml);
    PutWave(kTrial, "baseline", "wb");
  }

  // The wave's counted responses' z_wellbeing composites, listed as analysis lists them.
  std::vector<double> ListComposites(Ingestor& ingestor) {
    v1::ListResponsesRequest request;
    request.set_trial_id(kTrial);
    request.set_wave_id("baseline");
    request.set_analysis_view(true);
    std::vector<double> composites;
    const absl::Status listed = ingestor.ListResponses(request, [&](v1::Response& r) {
      EXPECT_EQ(r.composites_size(), 1);
      if (r.composites_size() == 1 && r.composites(0).present()) {
        composites.push_back(r.composites(0).value());
      }
      return true;
    });
    EXPECT_TRUE(listed.ok()) << listed;
    return composites;
  }
};

TEST_F(ImportNormsTest, TheFirstListingAfterAnImportReadsTheWaveOnce) {
  std::unique_ptr<RedisClient> redis = redis_->NewClient();
  RedisIngestStore store(*redis);
  CountingReads counting(store);
  GrpcRoster roster(
      grpc::CreateChannel(randomisation_->address(), grpc::InsecureChannelCredentials()),
      kIngestService);
  ManualClock clock(absl::FromCivil(absl::CivilSecond(2021, 3, 20, 12, 0, 0), absl::UTCTimeZone()));
  Ingestor ingestor(counting, roster, clock, {});
  std::string file = "ExternalReference,ResponseId,EndDate,wb_1,wb_2,wb_3\n";
  for (int i = 1; i <= kRows; ++i) {
    absl::StrAppend(&file, "M", i, ",r", i, ",2021-03-04 10:00,", i % 11, ",", (3 * i) % 11, ",",
                    (7 * i) % 11, "\n");
  }
  v1::ImportCsvRequest request;
  request.set_trial_id(kTrial);
  request.set_wave_id("baseline");
  request.set_file_name("export.csv");
  request.set_content(file);
  const absl::StatusOr<v1::ImportCsvResponse> imported = ingestor.ImportCsv(request);
  ASSERT_TRUE(imported.ok()) << imported.status();
  ASSERT_EQ(imported->accepted(), kRows);

  counting.reads = 0;
  const std::vector<double> composites = ListComposites(ingestor);
  EXPECT_EQ(counting.reads, 1) << "the listing read the wave again for the norms";
  // z-scores against the same counted responses: mean 0 and SD 1 over them.
  ASSERT_EQ(composites.size(), static_cast<size_t>(kRows));
  double sum = 0;
  double sum_sq = 0;
  for (double z : composites) {
    sum += z;
    sum_sq += z * z;
  }
  const double mean = sum / kRows;
  EXPECT_NEAR(mean, 0, 1e-12);
  EXPECT_NEAR(std::sqrt((sum_sq - kRows * mean * mean) / (kRows - 1)), 1, 1e-12);

  // A response submitted since changes the norms: the next listing reads them again.
  Caller caller;
  caller.name = "researcher";
  absl::StatusOr<std::vector<SubmissionResult>> submitted = ingestor.Submit(
      {WellbeingSubmission(kTrial, absl::StrCat("M", kRows + 1), "late-1")}, 1, caller);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  ASSERT_EQ((*submitted)[0].status, v1::SUBMISSION_STATUS_ACCEPTED);
  counting.reads = 0;
  EXPECT_EQ(ListComposites(ingestor).size(), static_cast<size_t>(kRows + 1));
  EXPECT_EQ(counting.reads, 2);
}

}  // namespace
}  // namespace fieldwork::survey_ingest::import_norms

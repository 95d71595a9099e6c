// The composites' norms (the mean and SD of each scale over the reference wave's counted
// responses) are read when an import has changed the wave, so the first listing after it reads
// the wave once, not twice; they are right; a later write makes the next listing read them
// again; and a norms read that fails after an import leaves the import stored and accepted.
// Over the real store behind a wrapper that counts (and can fail) the wave's reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/survey_ingest/forwarding_store.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"

// A namespace of its own: each test file here names its helpers alike (unity build).
namespace fieldwork::survey_ingest::import_norms {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

constexpr char kTrial[] = "import-norms";
constexpr int kRows = 40;

// The real store, counting its reads of responses; while `failing`, they fail.
class CountingReads final : public ForwardingIngestStore {
 public:
  using ForwardingIngestStore::ForwardingIngestStore;
  int reads = 0;
  bool failing = false;

  absl::Status ForEachResponse(const std::string& trial, const std::string& wave,
                               const std::string& participant, Answers answers,
                               const std::function<bool(v1::Response&)>& visit) override {
    ++reads;
    if (failing) return absl::UnavailableError("redis at 127.0.0.1: Connection reset by peer");
    return ForwardingIngestStore::ForEachResponse(trial, wave, participant, answers, visit);
  }
};

// A Qualtrics export answering the wave for M1..M40.
v1::ImportCsvRequest Export() {
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
  return request;
}

// z-scores against the same counted responses: mean 0 and SD 1 over them.
void ExpectStandardised(const std::vector<double>& composites) {
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
}

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
    redis_client_ = redis_->NewClient();
    store_ = std::make_unique<RedisIngestStore>(*redis_client_);
    counting_ = std::make_unique<CountingReads>(*store_);
    own_ingestor_ = std::make_unique<OwnIngestor>(*counting_, randomisation_->address());
  }

  Ingestor& ingestor() { return **own_ingestor_; }

  // The wave's counted responses' z_wellbeing composites, listed as analysis lists them.
  absl::StatusOr<std::vector<double>> ListComposites() {
    v1::ListResponsesRequest request;
    request.set_trial_id(kTrial);
    request.set_wave_id("baseline");
    request.set_analysis_view(true);
    std::vector<double> composites;
    const absl::Status listed = ingestor().ListResponses(request, [&](v1::Response& r) {
      EXPECT_EQ(r.composites_size(), 1);
      if (r.composites_size() == 1 && r.composites(0).present()) {
        composites.push_back(r.composites(0).value());
      }
      return true;
    });
    if (!listed.ok()) return listed;
    return composites;
  }

  std::unique_ptr<RedisClient> redis_client_;
  std::unique_ptr<RedisIngestStore> store_;
  std::unique_ptr<CountingReads> counting_;
  std::unique_ptr<OwnIngestor> own_ingestor_;
};

TEST_F(ImportNormsTest, TheFirstListingAfterAnImportReadsTheWaveOnce) {
  const absl::StatusOr<v1::ImportCsvResponse> imported = ingestor().ImportCsv(Export());
  ASSERT_TRUE(imported.ok()) << imported.status();
  ASSERT_EQ(imported->accepted(), kRows);

  counting_->reads = 0;
  const absl::StatusOr<std::vector<double>> composites = ListComposites();
  ASSERT_TRUE(composites.ok()) << composites.status();
  EXPECT_EQ(counting_->reads, 1) << "the listing read the wave again for the norms";
  ExpectStandardised(*composites);

  // A response submitted since changes the norms: the next listing reads them again.
  Caller caller;
  caller.name = "researcher";
  absl::StatusOr<std::vector<SubmissionResult>> submitted = ingestor().Submit(
      {WellbeingSubmission(kTrial, absl::StrCat("M", kRows + 1), "late-1")}, 1, caller);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  ASSERT_EQ((*submitted)[0].status, v1::SUBMISSION_STATUS_ACCEPTED);
  counting_->reads = 0;
  const absl::StatusOr<std::vector<double>> after = ListComposites();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->size(), static_cast<size_t>(kRows + 1));
  EXPECT_EQ(counting_->reads, 2);
}

// The norms are read after the import's rows are stored, as a courtesy to the next listing: a
// read that fails then leaves the import accepted and stored, and the next listing reports the
// failure or, once Redis answers, computes the norms itself.
TEST_F(ImportNormsTest, ANormsReadThatFailsAfterAnImportLeavesTheImportStored) {
  counting_->failing = true;
  const absl::StatusOr<v1::ImportCsvResponse> imported = ingestor().ImportCsv(Export());
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->accepted(), kRows);
  EXPECT_GE(counting_->reads, 1) << "the import did not try to read the norms";

  const absl::StatusOr<std::vector<double>> while_failing = ListComposites();
  ASSERT_FALSE(while_failing.ok());
  EXPECT_THAT(while_failing.status().message(), HasSubstr("Connection reset by peer"));

  counting_->failing = false;
  const absl::StatusOr<std::vector<double>> composites = ListComposites();
  ASSERT_TRUE(composites.ok()) << composites.status();
  ExpectStandardised(*composites);
  // The same file again is known as imported: nothing was lost or half-recorded.
  const absl::StatusOr<v1::ImportCsvResponse> again = ingestor().ImportCsv(Export());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->already_imported());
  EXPECT_EQ(again->accepted(), 0);
}

}  // namespace
}  // namespace fieldwork::survey_ingest::import_norms

// ImportCsv stores a file 5,000 rows (a long file: participants) at a time. When storage fails
// after the first chunk, the error says what of the file is stored, and importing the same file
// again stores the rest, what was stored coming back as duplicates. The failure is injected in the
// store (a real RedisIngestStore behind a wrapper) so that it falls between two chunks every time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/survey_ingest/forwarding_store.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"

// A namespace of its own: each test file here names its helpers alike (unity build).
namespace fieldwork::survey_ingest::import_cut {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

constexpr char kTrial[] = "import-cut";

// The real store, whose response writes fail after the first `ok` of them while `failing`.
class FailingWrites final : public ForwardingIngestStore {
 public:
  FailingWrites(IngestStore& inner, int ok) : ForwardingIngestStore(inner), writes_left_(ok) {}
  void StopFailing() { failing_ = false; }

  absl::StatusOr<std::vector<WriteResult>> Write(const std::string& trial,
                                                 const WriteBatch& batch) override {
    if (failing_ && writes_left_-- <= 0) {
      return absl::UnavailableError("redis at 127.0.0.1: Server closed the connection");
    }
    return ForwardingIngestStore::Write(trial, batch);
  }

 private:
  int writes_left_;
  bool failing_ = true;
};

// One decision block of one Likert decision: a long file's smallest instrument.
constexpr char kDecisionYaml[] = R"yaml(
id: rate
version: 1
title: One decision
pages:
  - {title: Decide, decisions: rate}
decisions:
  - id: rate
    items: [r01]
    stimuli_factor: names
    stimuli:
      - {id: s01, text: "Candidate 1", attributes: {cv: cv01}}
items:
  - {id: r01, label: Rate, type: likert, min: 1, max: 7, required: true}
)yaml";

class ImportCutTest : public IngestTest {
 protected:
  // M1..M<n> enrolled at LA1, and wave "baseline" of `instrument_yaml`'s instrument.
  void SetUpTrial(int n, const std::string& instrument_yaml, const std::string& instrument) {
    CreateTrial(kTrial);
    std::vector<std::pair<std::string, std::string>> roster;
    for (int i = 1; i <= n; ++i) roster.emplace_back(absl::StrCat("M", i), "LA1");
    Enrol(kTrial, roster);
    PutInstrument(kTrial, instrument_yaml);
    PutWave(kTrial, "baseline", instrument);
  }

  // `file` imported twice by an ingestor of its own, over the real store behind a wrapper
  // whose writes fail after the first: the first import is cut after its first chunk and
  // must say `stored_part`; the second, with writes working again, must store the rest.
  void ExpectCutThenCompleted(const std::string& file, bool long_format, int rows,
                              const std::string& stored_part) {
    std::unique_ptr<RedisClient> redis = redis_->NewClient();
    RedisIngestStore store(*redis);
    FailingWrites failing(store, /*ok=*/1);
    OwnIngestor ingestor(failing, randomisation_->address());
    v1::ImportCsvRequest request;
    request.set_trial_id(kTrial);
    request.set_wave_id("baseline");
    request.set_file_name("export.csv");
    request.set_content(file);
    if (long_format) request.set_layout(v1::ImportCsvRequest::LAYOUT_LONG);
    Caller caller;
    caller.name = "researcher";

    const absl::StatusOr<v1::ImportCsvResponse> cut = ingestor->ImportCsv(request, caller);
    ASSERT_FALSE(cut.ok());
    EXPECT_EQ(cut.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(cut.status().message()),
                HasSubstr(absl::StrCat("; ", stored_part,
                                       " are stored, the rest not: import the file again (what "
                                       "is stored comes back as duplicates)")));
    EXPECT_EQ(ListResponses(kTrial, "baseline").size(), 5000u);

    failing.StopFailing();
    const absl::StatusOr<v1::ImportCsvResponse> again = ingestor->ImportCsv(request, caller);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->accepted(), rows - 5000);
    EXPECT_EQ(again->duplicate(), 5000);
    EXPECT_EQ(again->rejected(), 0);
    EXPECT_EQ(ListResponses(kTrial, "baseline").size(), static_cast<size_t>(rows));
  }
};

TEST_F(ImportCutTest, AFileCutByAStorageFailureSaysWhereTheStoredRowsEndAndImportsAgain) {
  SetUpTrial(8000, kWellbeingYaml, "wb");
  std::string file = "ExternalReference,ResponseId,EndDate,wb_1,wb_2,wb_3\n";
  for (int i = 1; i <= 8000; ++i) {
    absl::StrAppend(&file, "M", i, ",r", i, ",2021-03-04 10:00,5,6,7\n");
  }
  ExpectCutThenCompleted(file, /*long_format=*/false, 8000, "the rows up to line 5001");
}

// A long file is stored a participant at a time, in the order of their first rows, and a
// participant's rows may lie anywhere in the file: the stored part is a count, not a line.
TEST_F(ImportCutTest, ALongFileCutByAStorageFailureSaysHowManyParticipantsAreStored) {
  SetUpTrial(6000, kDecisionYaml, "rate");
  std::string file = "participant_id,block,decision,value\n";
  for (int i = 1; i <= 6000; ++i) absl::StrAppend(&file, "M", i, ",rate,1,4\n");
  ExpectCutThenCompleted(file, /*long_format=*/true, 6000,
                         "the first 5000 participants (by their first row)");
}

}  // namespace
}  // namespace fieldwork::survey_ingest::import_cut

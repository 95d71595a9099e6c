// Input that cannot be true or is too big is refused with the field and a clear reason, before
// the roster is asked; rejected rows are kept as bytes (a non-UTF-8 row no longer breaks the
// trial's reject log) and an admin can dismiss one, recorded with who and why.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"

// A namespace of its own: each test file here names its trial kTrial (the files are compiled
// together in a unity build).
namespace fieldwork::survey_ingest::input_limits {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kTrial[] = "limits";

v1::Submission Good(const std::string& participant, const std::string& id) {
  return WellbeingSubmission(kTrial, participant, id);
}

class InputLimitsTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();  // the service's clock: 2021-03-20 09:00 UTC
    CreateTrial(kTrial);
    Enrol(kTrial, {{"A1", "LA1"}});
    PutInstrument(kTrial, kWellbeingYaml);
    PutWave(kTrial, "baseline", "wb");
  }

  // The errors of a submission that must be rejected.
  std::vector<v1::RowError> Rejected(const v1::Submission& s) {
    v1::SubmitResponseRequest request;
    *request.mutable_submission() = s;
    v1::SubmitResponseResponse response;
    const grpc::Status status =
        ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.status(), v1::SUBMISSION_STATUS_REJECTED) << s.submission_id();
    return {response.errors().begin(), response.errors().end()};
  }

  void ExpectOnlyError(const v1::Submission& s, const std::string& field,
                       const std::string& reason) {
    const std::vector<v1::RowError> errors = Rejected(s);
    ASSERT_THAT(errors, SizeIs(1)) << s.submission_id();
    EXPECT_EQ(errors[0].field(), field) << s.submission_id();
    EXPECT_THAT(errors[0].reason(), HasSubstr(reason)) << s.submission_id();
  }
};

TEST_F(InputLimitsTest, ImpossibleProgressIsRefused) {
  const double kInf = std::numeric_limits<double>::infinity();
  int n = 0;
  for (double progress : {std::nan(""), -5.0, 1e9, kInf, -kInf, 100.5}) {
    v1::Submission s = Good("A1", absl::StrCat("p", ++n));
    s.set_progress(progress);
    ExpectOnlyError(s, "progress", std::isnan(progress) ? "not a number" : "must be 0 to 100");
  }
  EXPECT_TRUE(ListResponses(kTrial, "baseline", true).empty());
}

TEST_F(InputLimitsTest, ImpossibleTimesAreRefused) {
  v1::Submission s = Good("A1", "bad-nanos");
  s.mutable_submitted_at()->set_nanos(1'000'000'000);
  ExpectOnlyError(s, "submitted_at", "nanos");
  s = Good("A1", "negative-nanos");
  s.mutable_started_at()->set_nanos(-1);
  ExpectOnlyError(s, "started_at", "nanos");
  s = Good("A1", "year-10000");
  s.mutable_submitted_at()->set_seconds(253402300800);
  ExpectOnlyError(s, "submitted_at", "years 1 to 9999");

  s = Good("A1", "started-late");
  *s.mutable_started_at() = At(2021, 3, 11);
  ExpectOnlyError(s, "started_at", "after submitted_at 2021-03-10T12:00:00Z");
  s = Good("A1", "started-in-the-future");
  s.clear_submitted_at();
  *s.mutable_started_at() = At(2021, 3, 20, 10);
  ExpectOnlyError(s, "started_at", "after its receipt at 2021-03-20T09:00:00Z");

  // The service's clock decides: a year and a day ahead cannot be true, a day ahead can (a
  // partner's clock set wrong, a rehearsal on the simulated clock).
  s = Good("A1", "future");
  *s.mutable_submitted_at() = At(2022, 3, 21, 10);
  ExpectOnlyError(s, "submitted_at",
                  "more than a year in the future (the service's time is 2021-03-20T09:00:00Z)");
  s = Good("A1", "slightly-ahead");
  *s.mutable_submitted_at() = At(2021, 3, 21, 9);
  v1::SubmitResponseRequest request;
  *request.mutable_submission() = s;
  v1::SubmitResponseResponse response;
  ASSERT_TRUE(ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response).ok());
  EXPECT_EQ(response.status(), v1::SUBMISSION_STATUS_ACCEPTED) << "a day ahead";
}

TEST_F(InputLimitsTest, OversizedValuesAreRefusedAndQuotedShort) {
  v1::Submission s = Good("A1", std::string(129, 's'));
  std::vector<v1::RowError> errors = Rejected(s);
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0].field(), "submission_id");
  EXPECT_EQ(errors[0].value(), std::string(64, 's') + "... (129 bytes)");

  s = Good("A1", "huge-answer");
  (*s.mutable_answers())["wb_1"] = std::string(10001, '7');
  ExpectOnlyError(s, "wb_1", "answer longer than 10000 bytes");

  // An 8 KB participant id is refused by its form, not looked up, and not echoed whole.
  s = Good(std::string(8192, 'x'), "huge-participant");
  errors = Rejected(s);
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0].field(), "participant_id");
  EXPECT_THAT(errors[0].reason(), HasSubstr("1-128 characters"));
  EXPECT_LT(errors[0].value().size(), 100u);
  s = Good("A1 ; drop", "bad-form");
  ExpectOnlyError(s, "participant_id", "1-128 characters");

  // A huge trial id gets INVALID_ARGUMENT, quoted short, not RESOURCE_EXHAUSTED.
  v1::ListRejectsRequest list;
  list.set_trial_id(std::string(8192, 't'));
  auto context = ContextWith(kResearcher);
  auto reader = ingest().ListRejects(context.get(), list);
  v1::ListRejectsResponse message;
  while (reader->Read(&message)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("trial_id: longer than 128 bytes"));
  EXPECT_LT(status.error_message().size(), 200u);
}

// An online experiment's decisions sent over gRPC (a partner's loop-and-merge): stored in long
// format with the answer to each one's item; a malformed or foreign one refuses the submission,
// naming the decision.
TEST_F(InputLimitsTest, DecisionsAreStoredWithTheirAnswersAndBadOnesRefused) {
  // Wave "experiment" collects instrument "rate": wb_1 and wb_2 answer decisions 1 and 2 of
  // block "rate", each shown with a stimulus whose group is an attribute.
  PutInstrument(kTrial, R"(id: rate
version: 1
items:
  - {id: wb_1, label: First, type: likert, min: 0, max: 10, required: true}
  - {id: wb_2, label: Second, type: likert, min: 0, max: 10, required: true}
decisions:
  - id: rate
    items: [wb_1, wb_2]
    stimuli_factor: order
    stimuli:
      - {id: s1, text: One, attributes: {group: a}}
      - {id: s2, text: Two, attributes: {group: b}}
pages:
  - {title: Rate, decisions: rate}
)");
  PutWave(kTrial, "experiment", "rate");
  auto with_decisions = [](const std::string& submission_id,
                           std::vector<std::tuple<std::string, int, std::string, std::string>> decisions) {
    v1::Submission s = Good("A1", submission_id);
    s.set_wave_id("experiment");
    s.mutable_answers()->erase("wb_3");
    for (const auto& [block, index, item, stimulus] : decisions) {
      v1::Decision& d = *s.add_decisions();
      d.set_block(block);
      d.set_index(index);
      d.set_item_id(item);
      d.set_stimulus(stimulus);
      d.set_stimulus_text("Shown: " + stimulus);
      (*d.mutable_attributes())["group"] = stimulus == "s1" ? "a" : "b";
      d.set_value("ignored");
    }
    return s;
  };
  ExpectOnlyError(with_decisions("d-item", {{"rate", 1, "wb_1", "s1"}, {"rate", 2, "nope", "s2"}}),
                  "decisions[rate 2]", "item_id: decision 2 of block rate is answered by item wb_2");
  ExpectOnlyError(with_decisions("d-block", {{"rank", 1, "wb_1", "s1"}}), "decisions[rank 1]",
                  "block: not a decision block of instrument rate v1 (rate)");
  ExpectOnlyError(with_decisions("d-beyond", {{"rate", 1, "wb_1", "s1"}, {"rate", 3, "wb_2", "s2"}}),
                  "decisions[rate 3]", "index: beyond block rate's 2 decisions");
  ExpectOnlyError(with_decisions("d-twice", {{"rate", 1, "wb_1", "s1"}, {"rate", 2, "wb_1", "s2"}}),
                  "decisions[rate 2]", "item_id is named by another decision");
  ExpectOnlyError(with_decisions("d-index", {{"rate", 0, "wb_1", "s1"}}), "decisions[rate 0]",
                  "index must be 1 or more");
  ExpectOnlyError(with_decisions("d-place", {{"rate", 1, "wb_1", "s1"}, {"rate", 1, "wb_2", "s2"}}),
                  "decisions[rate 1]", "another decision has this block and index");
  EXPECT_THAT(ListResponses(kTrial, "experiment"), ::testing::IsEmpty()) << "nothing stored";

  v1::SubmitResponseRequest request;
  *request.mutable_submission() =
      with_decisions("d-good", {{"rate", 1, "wb_1", "s1"}, {"rate", 2, "wb_2", "s2"}});
  v1::SubmitResponseResponse response;
  ASSERT_TRUE(ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response).ok());
  ASSERT_EQ(response.status(), v1::SUBMISSION_STATUS_ACCEPTED);
  const std::vector<v1::Response> stored = ListResponses(kTrial, "experiment");
  ASSERT_THAT(stored, SizeIs(1));
  ASSERT_EQ(stored[0].decisions_size(), 2);
  const v1::Decision& second = stored[0].decisions(1);
  EXPECT_EQ(second.index(), 2);
  EXPECT_EQ(second.item_id(), "wb_2");
  EXPECT_EQ(second.value(), stored[0].answers().at("wb_2")) << "the answer, not what was sent";
  EXPECT_EQ(second.stimulus(), "s2");
  EXPECT_EQ(second.stimulus_text(), "Shown: s2");
  EXPECT_EQ(second.attributes().at("group"), "b");
}

TEST_F(InputLimitsTest, RejectedRowsAreBytesAndAnAdminCanDismissThem) {
  // A Latin-1 export: the row's "caf\xe9" is not UTF-8 (and not a number).
  const std::string bad_row = "A1,r1,2021-03-04 10:00,caf\xe9,6,7";
  v1::ImportCsvRequest import;
  import.set_trial_id(kTrial);
  import.set_wave_id("baseline");
  import.set_file_name("latin1.csv");
  import.set_content("ExternalReference,ResponseId,EndDate,wb_1,wb_2,wb_3\n" + bad_row + "\n");
  v1::ImportCsvResponse imported;
  grpc::Status status = ingest().ImportCsv(ContextWith(kResearcher).get(), import, &imported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(imported.rejected(), 1);
  ASSERT_EQ(imported.errors_size(), 1);
  EXPECT_EQ(imported.errors(0).value(), "caf\\xe9") << "escaped";

  // The trial's reject log still reads, with the row as it came.
  std::vector<v1::Reject> rejects = ListRejects(kTrial);
  ASSERT_THAT(rejects, SizeIs(1));
  EXPECT_EQ(rejects[0].raw(), bad_row);
  v1::ResponseCountsRequest counts_request;
  counts_request.set_trial_id(kTrial);
  v1::ResponseCountsResponse counts;
  status = ingest().ResponseCounts(ContextWith(kResearcher).get(), counts_request, &counts);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(counts.counts_size(), 1);
  EXPECT_EQ(counts.counts(0).rejected(), 1);
  v1::ReplayRejectsRequest replay;
  replay.set_trial_id(kTrial);
  v1::ReplayRejectsResponse replayed;
  status = ingest().ReplayRejects(ContextWith(kResearcher).get(), replay, &replayed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(replayed.still_rejected(), 1);

  // Only an admin dismisses, and must say why.
  v1::DismissRejectRequest dismiss;
  dismiss.set_trial_id(kTrial);
  dismiss.set_reject_id(rejects[0].reject_id());
  v1::DismissRejectResponse dismissed;
  status = ingest().DismissReject(ContextWith(kResearcher).get(), dismiss, &dismissed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  status = ingest().DismissReject(ContextWith(kAdmin).get(), dismiss, &dismissed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("reason"));
  dismiss.set_reject_id("no-such-reject");
  dismiss.set_reason("Latin-1 junk from a test export");
  status = ingest().DismissReject(ContextWith(kAdmin).get(), dismiss, &dismissed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  dismiss.set_reject_id(rejects[0].reject_id());
  status = ingest().DismissReject(ContextWith(kAdmin).get(), dismiss, &dismissed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(dismissed.reject().dismissal().by(), "the-admin");
  EXPECT_EQ(dismissed.reject().dismissal().reason(), "Latin-1 junk from a test export");
  EXPECT_EQ(dismissed.reject().dismissal().at().seconds(), At(2021, 3, 20, 9).seconds());

  // Kept, but no longer listed (unless asked), counted or replayed.
  EXPECT_THAT(ListRejects(kTrial), SizeIs(0));
  v1::ListRejectsRequest list;
  list.set_trial_id(kTrial);
  list.set_include_dismissed(true);
  auto context = ContextWith(kResearcher);
  auto reader = ingest().ListRejects(context.get(), list);
  v1::ListRejectsResponse message;
  int listed = 0;
  while (reader->Read(&message)) {
    ++listed;
    EXPECT_TRUE(message.reject().has_dismissal());
    EXPECT_EQ(message.reject().raw(), bad_row);
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(listed, 1);
  status = ingest().ResponseCounts(ContextWith(kResearcher).get(), counts_request, &counts);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (const auto& c : counts.counts()) EXPECT_EQ(c.rejected(), 0);
  status = ingest().ReplayRejects(ContextWith(kResearcher).get(), replay, &replayed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(replayed.still_rejected(), 0);
}

}  // namespace
}  // namespace fieldwork::survey_ingest::input_limits

// Bad input on every input path (SubmitResponse, SubmitResponses, ImportCsv, RecordOutcomes,
// PutInstrument, PutWave): a clear error naming the row, the field and the reason, the good
// rows of a batch stored all the same, and nothing changed by a refused request. Also the
// roles and the partners' site scope.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"

// A namespace of its own: each test file here names its trial kTrial (the files are compiled
// together in a unity build).
namespace fieldwork::survey_ingest::bad_input {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kTrial[] = "bad-input";

v1::Submission Good(const std::string& participant, const std::string& id) {
  return WellbeingSubmission(kTrial, participant, id);
}

class BadInputTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();
    CreateTrial(kTrial);
    Enrol(kTrial, {{"A1", "LA1"}, {"A2", "LA1"}, {"A3", "LA1"}, {"B1", "LA2"}, {"W1", "LA1"}});
    Withdraw(kTrial, "W1");
    PutInstrument(kTrial, kWellbeingYaml);
    PutWave(kTrial, "baseline", "wb");
  }

  v1::SubmitResponseResponse Submit(const v1::Submission& s,
                                    const std::string& token = kResearcher) {
    v1::SubmitResponseRequest request;
    *request.mutable_submission() = s;
    v1::SubmitResponseResponse response;
    const grpc::Status status =
        ingest().SubmitResponse(ContextWith(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // `submissions` as one SubmitResponses stream.
  v1::SubmitResponsesResponse SubmitStream(const std::vector<v1::Submission>& submissions,
                                           const std::string& token = kResearcher) {
    auto context = ContextWith(token);
    v1::SubmitResponsesResponse response;
    auto writer = ingest().SubmitResponses(context.get(), &response);
    for (const v1::Submission& s : submissions) {
      v1::SubmitResponsesRequest message;
      *message.mutable_submission() = s;
      EXPECT_TRUE(writer->Write(message));
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Enrols M1..M<n> at LA1: the roster of a stream of n rows.
  void EnrolStreamRoster(int n) {
    std::vector<std::pair<std::string, std::string>> roster;
    for (int i = 1; i <= n; ++i) roster.emplace_back(absl::StrCat("M", i), "LA1");
    Enrol(kTrial, roster);
  }

  // Row `row` of such a stream: M<row>'s response, submission id m<row>.
  static v1::SubmitResponsesRequest StreamRow(int row) {
    v1::SubmitResponsesRequest message;
    *message.mutable_submission() = Good(absl::StrCat("M", row), absl::StrCat("m", row));
    return message;
  }

  // Exactly the stream's first `n` rows are stored.
  void ExpectFirstRowsStored(size_t n) {
    const std::vector<v1::Response> stored = ListResponses(kTrial, "baseline");
    EXPECT_EQ(stored.size(), n);
    std::set<std::string> ids;
    for (const v1::Response& r : stored) ids.insert(r.submission_id());
    EXPECT_TRUE(ids.count("m1") && ids.count(absl::StrCat("m", n)));
    EXPECT_FALSE(ids.count(absl::StrCat("m", n + 1)));
  }

  // The one error of a rejected submission.
  v1::RowError OnlyError(const v1::Submission& s) {
    const v1::SubmitResponseResponse response = Submit(s);
    EXPECT_EQ(response.status(), v1::SUBMISSION_STATUS_REJECTED);
    EXPECT_EQ(response.errors_size(), 1);
    if (response.errors_size() == 0) return {};
    EXPECT_EQ(response.errors(0).row(), 1);
    return response.errors(0);
  }
};

TEST_F(BadInputTest, SubmitResponseNamesTheFieldAndTheReason) {
  v1::Submission s = Good("A1", "s1");
  (*s.mutable_answers())["wb_1"] = "11";
  v1::RowError e = OnlyError(s);
  EXPECT_EQ(e.field(), "wb_1");
  EXPECT_THAT(e.reason(), HasSubstr("out of range 0..10"));
  EXPECT_EQ(e.value(), "11");

  s = Good("A1", "s2");
  (*s.mutable_answers())["wb_2"] = "lots";
  e = OnlyError(s);
  EXPECT_EQ(e.field(), "wb_2");
  EXPECT_THAT(e.reason(), HasSubstr("not a number"));

  s = Good("A1", "s3");
  (*s.mutable_answers())["mood"] = "3";
  e = OnlyError(s);
  EXPECT_EQ(e.field(), "mood");
  EXPECT_THAT(e.reason(), HasSubstr("unknown item"));

  s = Good("A1", "s4");
  s.mutable_answers()->erase("wb_3");
  e = OnlyError(s);
  EXPECT_EQ(e.field(), "wb_3");
  EXPECT_THAT(e.reason(), HasSubstr("missing required item"));

  s = Good("Z9", "s5");
  e = OnlyError(s);
  EXPECT_EQ(e.field(), "participant_id");
  EXPECT_THAT(e.reason(), HasSubstr("unknown participant: not enrolled in trial bad-input"));

  s = Good("W1", "s6");
  e = OnlyError(s);
  EXPECT_EQ(e.field(), "participant_id");
  EXPECT_THAT(e.reason(), HasSubstr("withdrawn"));

  s = Good("A1", "s7");
  s.set_wave_id("endline");
  e = OnlyError(s);
  EXPECT_EQ(e.field(), "wave_id");
  EXPECT_THAT(e.reason(), HasSubstr("unknown wave \"endline\""));

  s = Good("A1", "s8");
  ingest_->clock().Set(absl::FromUnixSeconds(At(2021, 4, 5).seconds()));  // not in the future
  *s.mutable_submitted_at() = At(2021, 4, 2);
  e = OnlyError(s);
  EXPECT_EQ(e.field(), "submitted_at");
  EXPECT_THAT(e.reason(), HasSubstr("closed at 2021-03-31T00:00:00Z"));

  s = Good("A1", "s9");
  *s.mutable_submitted_at() = At(2021, 2, 20);
  e = OnlyError(s);
  EXPECT_THAT(e.reason(), HasSubstr("opens at 2021-03-01"));

  s = Good("A1", "s10");
  s.set_trial_id("Not A Trial!");
  e = OnlyError(s);
  EXPECT_EQ(e.field(), "trial_id");

  // Every one of them is in the rejects log (except the bad trial id, which names no trial),
  // with the submission as received.
  const std::vector<v1::Reject> rejects = ListRejects(kTrial);
  EXPECT_EQ(rejects.size(), 9u);
  for (const v1::Reject& r : rejects) {
    EXPECT_EQ(r.source(), "grpc");
    EXPECT_THAT(r.raw(), HasSubstr("\"participantId\""));
    EXPECT_TRUE(r.has_submission());
  }
  // Nothing was stored as a response.
  EXPECT_TRUE(ListResponses(kTrial, "baseline", true).empty());
  // Rejecting the same submission again does not add a second reject.
  OnlyError(Good("Z9", "s5"));
  EXPECT_EQ(ListRejects(kTrial).size(), 9u);
}

TEST_F(BadInputTest, LateAndUnfinishedResponsesAreKeptAndFlagged) {
  PutWave(kTrial, "endline", "wb", /*allow_late=*/true);
  ingest_->clock().Set(absl::FromUnixSeconds(At(2021, 4, 5).seconds()));
  v1::Submission s = Good("A1", "late-1");
  s.set_wave_id("endline");
  *s.mutable_submitted_at() = At(2021, 4, 3);
  v1::SubmitResponseResponse response = Submit(s);
  EXPECT_EQ(response.status(), v1::SUBMISSION_STATUS_ACCEPTED);
  EXPECT_TRUE(response.late());

  v1::Submission partial = Good("A2", "partial-1");
  partial.set_finished(false);
  partial.mutable_answers()->erase("wb_3");  // required items are not enforced on a partial
  response = Submit(partial);
  EXPECT_EQ(response.status(), v1::SUBMISSION_STATUS_ACCEPTED);
  const std::vector<v1::Response> all = ListResponses(kTrial, "", true);
  ASSERT_EQ(all.size(), 2u);
  const v1::Response& p = all[0].participant_id() == "A2" ? all[0] : all[1];
  EXPECT_TRUE(p.partial());
  EXPECT_FALSE(p.counted()) << "a partial response never counts";
  EXPECT_TRUE(ListResponses(kTrial, "baseline").empty());

  v1::GetResponseStatusRequest ask;
  ask.set_trial_id(kTrial);
  ask.set_wave_id("baseline");
  ask.set_participant_id("A2");
  v1::GetResponseStatusResponse answer;
  ASSERT_TRUE(ingest().GetResponseStatus(ContextWith(kAnalyst).get(), ask, &answer).ok());
  EXPECT_FALSE(answer.responded()) << "a partial response is not a response";

  // The batch form (messaging's reminders) answers the same, per id in the order asked.
  v1::GetResponseStatusesRequest batch;
  batch.set_trial_id(kTrial);
  batch.set_wave_id("endline");
  for (const char* id : {"A2", "A1", "nobody", "A1"}) batch.add_participant_ids(id);
  v1::GetResponseStatusesResponse answers;
  ASSERT_TRUE(ingest().GetResponseStatuses(ContextWith(kAnalyst).get(), batch, &answers).ok());
  ASSERT_EQ(answers.statuses_size(), 4);
  EXPECT_EQ(answers.statuses(0).participant_id(), "A2");
  EXPECT_FALSE(answers.statuses(0).responded()) << "a partial response is not a response";
  EXPECT_TRUE(answers.statuses(1).responded()) << "late, but a response";
  EXPECT_EQ(answers.statuses(1).first_response_at().seconds(), At(2021, 4, 3).seconds());
  EXPECT_FALSE(answers.statuses(2).responded());
  EXPECT_TRUE(answers.statuses(3).responded());
}

TEST_F(BadInputTest, GetResponseStatusesNamesABadRequest) {
  auto ask = [&](const std::string& wave, const std::vector<std::string>& ids) {
    v1::GetResponseStatusesRequest request;
    request.set_trial_id(kTrial);
    request.set_wave_id(wave);
    for (const std::string& id : ids) request.add_participant_ids(id);
    v1::GetResponseStatusesResponse response;
    return ingest().GetResponseStatuses(ContextWith(kAnalyst).get(), request, &response);
  };
  grpc::Status status = ask("baseline", {});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("participant_ids: give 1 to 1000 ids (got 0)"));
  status = ask("baseline", std::vector<std::string>(1001, "A1"));
  EXPECT_THAT(status.error_message(), HasSubstr("(got 1001)"));
  status = ask("baseline", {"A1", ""});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("participant_ids[1]: missing"));
  status = ask("", {"A1"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("wave_id"));
}

// A stream is stored a batch of 1,000 at a time while the next batch is read: a refusal in the
// third batch leaves the first two stored and names the row to resend from.
TEST_F(BadInputTest, AStreamRefusedMidwayKeepsTheBatchesBeforeAndSaysWhereToResume) {
  EnrolStreamRoster(2500);
  auto context = ContextWith(kResearcher);
  v1::SubmitResponsesResponse response;
  auto writer = ingest().SubmitResponses(context.get(), &response);
  for (int row = 1; row <= 2500; ++row) {
    v1::SubmitResponsesRequest message = StreamRow(row);
    if (row == 2400) message.mutable_submission()->set_trial_id(std::string(200, 't'));
    if (!writer->Write(message)) break;  // the server has answered
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("row 2400: trial_id: longer than 128 bytes"));
  EXPECT_THAT(status.error_message(), HasSubstr("rows from 2001 not stored"));
  ExpectFirstRowsStored(2000);
}

// The same stream sent in pages of rows (the first message with `submission` and
// `submissions` both): rows are numbered, batched and refused exactly as one a message.
TEST_F(BadInputTest, AStreamOfPagesCountsItsRowsOneByOne) {
  EnrolStreamRoster(2500);
  auto context = ContextWith(kResearcher);
  v1::SubmitResponsesResponse response;
  auto writer = ingest().SubmitResponses(context.get(), &response);
  v1::SubmitResponsesRequest page = StreamRow(1);
  for (int row = 2; row <= 2500; ++row) {
    v1::Submission& submission = *page.add_submissions() = StreamRow(row).submission();
    if (row == 7) (*submission.mutable_answers())["wb_2"] = "-1";  // a bad row: rejected
    if (row == 2400) submission.set_trial_id(std::string(200, 't'));
    if (page.submissions_size() == 333 || row == 2500) {
      if (!writer->Write(page)) break;  // the server has answered
      page.Clear();
    }
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("row 2400: trial_id: longer than 128 bytes"));
  EXPECT_THAT(status.error_message(), HasSubstr("rows from 2001 not stored"));
  const std::vector<v1::Response> stored = ListResponses(kTrial, "baseline");
  EXPECT_EQ(stored.size(), 1999u);  // rows 1-2000 but the rejected row 7
  std::set<std::string> ids;
  for (const v1::Response& r : stored) ids.insert(r.submission_id());
  EXPECT_TRUE(ids.count("m1") && ids.count("m334") && ids.count("m2000"));
  EXPECT_FALSE(ids.count("m7") || ids.count("m2001"));

  // A page's bad row is named by its row in the stream.
  auto again_context = ContextWith(kResearcher);
  v1::SubmitResponsesResponse again;
  auto again_writer = ingest().SubmitResponses(again_context.get(), &again);
  v1::SubmitResponsesRequest two;
  *two.add_submissions() = StreamRow(2001).submission();
  *two.add_submissions() = StreamRow(2002).submission();
  (*two.mutable_submissions(1)->mutable_answers())["wb_2"] = "-1";
  ASSERT_TRUE(again_writer->Write(two));
  again_writer->WritesDone();
  ASSERT_TRUE(again_writer->Finish().ok());
  EXPECT_EQ(again.accepted(), 1);
  EXPECT_EQ(again.rejected(), 1);
  ASSERT_EQ(again.errors_size(), 1);
  EXPECT_EQ(again.errors(0).row(), 2);
}

// A partner scoped to this trial and one site streams a row of another trial in its second
// batch: the stream is refused there (no row of the other trial is kept, not even as a reject),
// and the first batch stays stored.
TEST_F(BadInputTest, APartnersStreamIntoAnotherTrialIsRefusedWhereItTurnsThere) {
  EnrolStreamRoster(1500);
  CreateTrial("not-the-partners");
  auto context = ContextWith(kOneTrialPartner);
  v1::SubmitResponsesResponse response;
  auto writer = ingest().SubmitResponses(context.get(), &response);
  for (int row = 1; row <= 1500; ++row) {
    v1::SubmitResponsesRequest message = StreamRow(row);
    if (row == 1200) message.mutable_submission()->set_trial_id("not-the-partners");
    if (!writer->Write(message)) break;  // the server has answered
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr("row 1200: bad-input-la1-partner may not touch trial"));
  EXPECT_THAT(status.error_message(), HasSubstr("rows from 1001 not stored"));
  ExpectFirstRowsStored(1000);
  EXPECT_TRUE(ListRejects("not-the-partners").empty());
  EXPECT_TRUE(ListRejects(kTrial).empty());
}

TEST_F(BadInputTest, SubmitResponsesNeverStopsHalfWay) {
  std::vector<v1::Submission> stream = {Good("A1", "b1"), Good("Z1", "b2"), Good("A2", "b3"),
                                        Good("B1", "b4"), Good("A3", "b5"), Good("A1", "b1")};
  (*stream[4].mutable_answers())["wb_2"] = "-1";
  const v1::SubmitResponsesResponse response = SubmitStream(stream, kPartnerLa1);
  EXPECT_EQ(response.accepted(), 2);   // b1, b3
  EXPECT_EQ(response.duplicate(), 1);  // b1 again
  EXPECT_EQ(response.rejected(), 3);   // unknown Z1, LA2's B1 (not the partner's), -1
  std::map<int64_t, v1::RowError> errors;
  for (const v1::RowError& e : response.errors()) errors[e.row()] = e;
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_THAT(errors[2].reason(), HasSubstr("unknown participant"));
  // Another site's participant reads exactly as an unknown one: no site, no existence.
  EXPECT_EQ(errors[4].reason(), errors[2].reason());
  EXPECT_THAT(errors[4].reason(), Not(HasSubstr("LA2")));
  EXPECT_EQ(errors[5].field(), "wb_2");
  EXPECT_EQ(ListResponses(kTrial, "baseline").size(), 2u);
  // The partner sees the rejects it caused, and its own list tells the other site's participant
  // from an unknown one no better: both kept, alike, without a site.
  const std::vector<v1::Reject> mine = ListRejects(kTrial, kPartnerLa1);
  ASSERT_EQ(mine.size(), 3u);  // rows 2 (Z1), 4 (B1), 5 (A3)
  for (size_t i : {0u, 1u}) {
    EXPECT_EQ(mine[i].site(), "") << mine[i].row();
    EXPECT_THAT(mine[i].submitter_sites(), ElementsAre("LA1"));
    ASSERT_EQ(mine[i].errors_size(), 1);
    EXPECT_TRUE(mine[i].has_submission());
  }
  EXPECT_EQ(mine[0].errors(0).reason(), mine[1].errors(0).reason());
  EXPECT_EQ(mine[2].site(), "LA1");

  // A replay re-checks the submitter's scope: B1 (LA2) is never accepted from LA1's partner,
  // while Z1, enrolled at LA1 since, is.
  Enrol(kTrial, {{"Z1", "LA1"}});
  v1::ReplayRejectsRequest replay;
  replay.set_trial_id(kTrial);
  v1::ReplayRejectsResponse replayed;
  const grpc::Status replay_status =
      ingest().ReplayRejects(ContextWith(kResearcher).get(), replay, &replayed);
  ASSERT_TRUE(replay_status.ok()) << replay_status.error_message();
  EXPECT_EQ(replayed.accepted(), 1);
  EXPECT_EQ(replayed.still_rejected(), 2);
  std::set<std::string> responded;
  for (const v1::Response& r : ListResponses(kTrial, "baseline")) responded.insert(r.participant_id());
  EXPECT_THAT(responded, ElementsAre("A1", "A2", "Z1"));
}

TEST_F(BadInputTest, SecondResponseUnderTheLastCompleteRule) {
  PutWave(kTrial, "endline", "wb", false, v1::RESPONSE_RULE_LAST_COMPLETE);
  v1::Submission first = Good("A1", "");
  first.set_wave_id("endline");
  v1::Submission second = first;
  *second.mutable_submitted_at() = At(2021, 3, 15);
  (*second.mutable_answers())["wb_1"] = "2";
  const v1::SubmitResponseResponse a = Submit(first);
  const v1::SubmitResponseResponse b = Submit(second);
  EXPECT_EQ(a.status(), v1::SUBMISSION_STATUS_ACCEPTED);
  EXPECT_EQ(b.status(), v1::SUBMISSION_STATUS_ACCEPTED);
  EXPECT_THAT(a.submission_id(), HasSubstr("sha256:")) << "no id given: named by content";
  EXPECT_NE(a.submission_id(), b.submission_id());
  EXPECT_EQ(Submit(first).status(), v1::SUBMISSION_STATUS_DUPLICATE);
  const std::vector<v1::Response> counted = ListResponses(kTrial, "endline");
  ASSERT_EQ(counted.size(), 1u);
  EXPECT_EQ(counted[0].submission_id(), b.submission_id()) << "the last complete one counts";
  EXPECT_EQ(ListResponses(kTrial, "endline", true).size(), 2u);
}

// A submission id is one participant's response: sent again for them it is a duplicate; for
// anyone else, in a later request or later in the same stream, it is refused with its field,
// and the other participant is not named (the caller may not be allowed to know them).
TEST_F(BadInputTest, ASubmissionIdOfAnotherParticipantIsRefusedNotADuplicate) {
  EXPECT_EQ(Submit(Good("A1", "partner-7")).status(), v1::SUBMISSION_STATUS_ACCEPTED);
  EXPECT_EQ(Submit(Good("A1", "partner-7")).status(), v1::SUBMISSION_STATUS_DUPLICATE);
  const v1::RowError error = OnlyError(Good("A2", "partner-7"));
  EXPECT_EQ(error.field(), "submission_id");
  EXPECT_EQ(error.value(), "partner-7");
  EXPECT_THAT(error.reason(), HasSubstr("already belongs to another participant's response"));
  EXPECT_THAT(error.reason(), Not(HasSubstr("A1")));

  const v1::SubmitResponsesResponse batch =
      SubmitStream({Good("A3", "partner-8"), Good("A2", "partner-8"), Good("A3", "partner-8")});
  EXPECT_EQ(batch.accepted(), 1);
  EXPECT_EQ(batch.duplicate(), 1);
  ASSERT_EQ(batch.errors_size(), 1);
  EXPECT_EQ(batch.errors(0).row(), 2);
  EXPECT_EQ(batch.errors(0).field(), "submission_id");

  std::set<std::string> stored;
  for (const v1::Response& r : ListResponses(kTrial, "baseline", true)) {
    stored.insert(absl::StrCat(r.participant_id(), "/", r.submission_id()));
  }
  EXPECT_EQ(stored, (std::set<std::string>{"A1/partner-7", "A3/partner-8"}));
  EXPECT_EQ(ListRejects(kTrial).size(), 2u) << "both refusals are kept, to be seen and replayed";
}

TEST_F(BadInputTest, ImportCsvRefusesUnreadableFilesAndReportsRowsByLine) {
  v1::ImportCsvRequest request;
  request.set_trial_id(kTrial);
  request.set_wave_id("endline");
  request.set_content("ExternalReference,wb_1\nA1,3\n");
  v1::ImportCsvResponse response;
  grpc::Status status = ingest().ImportCsv(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("wave_id: unknown wave \"endline\""));

  request.set_wave_id("baseline");
  request.set_content("");
  status = ingest().ImportCsv(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("content"));

  request.set_file_name("roster.csv");
  request.set_content("Participant,wb_1\nA1,3\n");
  status = ingest().ImportCsv(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("roster.csv"));
  EXPECT_THAT(status.error_message(), HasSubstr("ExternalReference"));

  // A plain CSV: quoted fields with commas and newlines, an unknown column with a value.
  // First with a layout the enum does not define (it used to be read as "auto"): refused
  // whole, so the same file imports below as if never sent.
  request.set_layout(static_cast<v1::ImportCsvRequest::Layout>(7));
  request.set_content(
      "ExternalReference,ResponseId,EndDate,wb_1,wb_2,wb_3,sick_days,Notes\n"
      "A1,r1,2021-03-04 10:00,5,6,7,,\n"
      "A2,r2,2021-03-04 11:00,5,6,7,\"1,5\",\n"
      "A3,r3,2021-03-04 12:00,5,6,7,,\"called in,\nsick\"\n"
      "B1,r4,2021-03-04 13:00,1,2,3,4,\n");
  status = ingest().ImportCsv(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("layout: 7 is not a value of"));
  request.clear_layout();
  status = ingest().ImportCsv(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted(), 2);
  EXPECT_EQ(response.rejected(), 2);
  ASSERT_EQ(response.errors_size(), 2);
  EXPECT_EQ(response.errors(0).row(), 3);
  EXPECT_EQ(response.errors(0).field(), "sick_days");
  EXPECT_THAT(response.errors(0).reason(), HasSubstr("not a number"));
  EXPECT_EQ(response.errors(1).row(), 4);
  EXPECT_EQ(response.errors(1).field(), "Notes");
  EXPECT_THAT(response.errors(1).reason(), HasSubstr("unknown column"));
  ASSERT_EQ(response.unknown_columns_size(), 1);
  EXPECT_EQ(response.unknown_columns(0), "Notes");
  const std::vector<v1::Reject> rejects = ListRejects(kTrial);
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_THAT(rejects[1].raw(), HasSubstr("called in,\nsick"));
}

// A file in which a quote is never closed and swallows the rows after it is refused whole,
// although it is longer than one stored chunk (5,000 rows): nothing before it is stored, and
// the file with the quote mended then imports as if never sent.
TEST_F(BadInputTest, ImportCsvWithARunawayQuoteStoresNothing) {
  EnrolStreamRoster(6000);
  auto file = [](bool mended) {
    std::string content = "ExternalReference,ResponseId,EndDate,wb_1,wb_2,wb_3\n";
    for (int i = 1; i <= 6000; ++i) {
      const bool runaway = i == 5500 && !mended;
      absl::StrAppend(&content, "M", i, ",r", i, ",2021-03-04 10:00,5,6,", runaway ? "\"7" : "7",
                      "\n");
    }
    return content;
  };
  v1::ImportCsvRequest request;
  request.set_trial_id(kTrial);
  request.set_wave_id("baseline");
  request.set_file_name("export.csv");
  request.set_content(file(false));
  v1::ImportCsvResponse response;
  grpc::Status status = ingest().ImportCsv(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("export.csv: line 5501: field 6: a quoted field opened on line 5501 is "
                        "never closed: the 500 line(s) after it would be read as part of it; "
                        "nothing imported"));
  EXPECT_THAT(ListResponses(kTrial, "baseline"), IsEmpty());
  EXPECT_THAT(ListRejects(kTrial), IsEmpty());

  request.set_content(file(true));
  status = ingest().ImportCsv(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted(), 6000);
  EXPECT_EQ(ListResponses(kTrial, "baseline").size(), 6000u);
}

TEST_F(BadInputTest, RecordOutcomesChecksEveryRowAndIsIdempotent) {
  auto outcome = [](const std::string& participant, const std::string& name, int end_day,
                    double value) {
    v1::Outcome o;
    o.set_participant_id(participant);
    o.set_outcome(name);
    o.mutable_period_start()->set_year(2021);
    o.mutable_period_start()->set_month(1);
    o.mutable_period_start()->set_day(1);
    o.mutable_period_end()->set_year(2021);
    o.mutable_period_end()->set_month(6);
    o.mutable_period_end()->set_day(end_day);
    o.set_value(value);
    return o;
  };
  v1::RecordOutcomesRequest request;
  request.set_trial_id(kTrial);
  *request.add_outcomes() = outcome("A1", "sickness_absence_days", 30, 4);
  *request.add_outcomes() = outcome("Z1", "sickness_absence_days", 30, 2);  // unknown
  *request.add_outcomes() = outcome("A2", "sickness absence", 30, 1);       // bad name
  *request.add_outcomes() = outcome("A3", "sickness_absence_days", 31, 1);  // 31 June
  *request.add_outcomes() = outcome("A2", "sickness_absence_days", 30, 0);
  v1::RecordOutcomesResponse response;
  grpc::Status status = ingest().RecordOutcomes(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.recorded(), 2);
  EXPECT_EQ(response.rejected(), 3);
  std::map<int64_t, v1::RowError> errors;
  for (const v1::RowError& e : response.errors()) errors[e.row()] = e;
  EXPECT_EQ(errors[2].field(), "participant_id");
  EXPECT_EQ(errors[3].field(), "outcome");
  EXPECT_EQ(errors[4].field(), "period_end");
  EXPECT_THAT(errors[4].reason(), HasSubstr("not a valid date"));

  // The same again changes nothing; a corrected value replaces the stored one.
  request.clear_outcomes();
  *request.add_outcomes() = outcome("A1", "sickness_absence_days", 30, 4);
  *request.add_outcomes() = outcome("A2", "sickness_absence_days", 30, 3);
  status = ingest().RecordOutcomes(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(response.unchanged(), 1);
  EXPECT_EQ(response.recorded(), 1);

  v1::ListOutcomesRequest list;
  list.set_trial_id(kTrial);
  auto context = ContextWith(kAnalyst);
  auto reader = ingest().ListOutcomes(context.get(), list);
  std::vector<v1::Outcome> outcomes;
  v1::ListOutcomesResponse message;
  while (reader->Read(&message)) outcomes.push_back(message.outcome());
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[0].participant_id(), "A1");
  EXPECT_EQ(outcomes[1].value(), 3);
}

TEST_F(BadInputTest, PutInstrumentExplainsWhatIsWrong) {
  v1::PutInstrumentRequest request;
  request.set_trial_id(kTrial);
  v1::PutInstrumentResponse response;
  grpc::Status status = ingest().PutInstrument(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("definition_yaml: missing"));

  request.mutable_instrument()->set_definition_yaml(
      "id: broken\nversion: 1\nitems:\n  - {id: q1, label: Q, type: likert, min: 5, max: 1}\n");
  status = ingest().PutInstrument(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("q1"));
  EXPECT_THAT(status.error_message(), HasSubstr("max"));

  // The same version with another definition is refused; an identical retry is fine.
  std::string changed = kWellbeingYaml;
  changed.replace(changed.find("max: 365"), 8, "max: 366");
  request.mutable_instrument()->set_definition_yaml(changed);
  status = ingest().PutInstrument(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  request.mutable_instrument()->set_definition_yaml(kWellbeingYaml);
  EXPECT_TRUE(ingest().PutInstrument(ContextWith(kResearcher).get(), request, &response).ok());

  // A new version may not change what an item means.
  std::string v2 = changed;
  v2.replace(v2.find("version: 1"), 10, "version: 2");
  request.mutable_instrument()->set_definition_yaml(v2);
  status = ingest().PutInstrument(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("sick_days"));

  status = ingest().PutInstrument(ContextWith(kAnalyst).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(BadInputTest, PutWaveExplainsWhatIsWrong) {
  v1::PutWaveRequest request;
  v1::Wave& wave = *request.mutable_wave();
  wave.set_trial_id(kTrial);
  wave.set_wave_id("endline");
  v1::PutWaveResponse response;
  grpc::Status status = ingest().PutWave(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("wave.instrument_id: missing"));

  wave.set_instrument_id("nope");
  status = ingest().PutWave(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("no instrument \"nope\""));

  wave.set_instrument_id("wb");
  *wave.mutable_opens_at() = At(2021, 5, 1);
  *wave.mutable_closes_at() = At(2021, 4, 1);
  status = ingest().PutWave(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("wave.closes_at"));

  *wave.mutable_closes_at() = At(2021, 6, 1);
  wave.set_norms_wave_id("pilot");
  status = ingest().PutWave(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("wave.norms_wave_id"));

  wave.set_wave_id("Bad Wave");
  status = ingest().PutWave(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("wave.wave_id"));

  wave.set_wave_id("endline");
  wave.set_norms_wave_id("baseline");
  wave.set_instrument_version(0);  // the latest
  status = ingest().PutWave(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.wave().instrument_version(), 1);
  v1::ListWavesRequest list;
  list.set_trial_id(kTrial);
  v1::ListWavesResponse waves;
  ASSERT_TRUE(ingest().ListWaves(ContextWith(kPartnerLa1).get(), list, &waves).ok());
  ASSERT_EQ(waves.waves_size(), 2);
  EXPECT_EQ(waves.waves(1).wave_id(), "endline");
}

TEST_F(BadInputTest, RolesAreEnforced) {
  v1::ListResponsesRequest list;
  list.set_trial_id(kTrial);
  auto context = ContextWith(kPartnerLa1);
  auto reader = ingest().ListResponses(context.get(), list);
  v1::ListResponsesResponse message;
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);

  v1::ReplayRejectsRequest replay;
  replay.set_trial_id(kTrial);
  v1::ReplayRejectsResponse replayed;
  EXPECT_EQ(ingest().ReplayRejects(ContextWith(kPartnerLa1).get(), replay, &replayed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::SubmitResponseRequest submit;
  *submit.mutable_submission() = Good("A1", "x");
  v1::SubmitResponseResponse response;
  EXPECT_EQ(
      ingest().SubmitResponse(ContextWith("wrong-token").get(), submit, &response).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ingest().SubmitResponse(ContextWith(kAnalyst).get(), submit, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace fieldwork::survey_ingest::bad_input

namespace fieldwork::survey_ingest::bad_input {
namespace {

// A batch whose own write fails mid-stream (Redis went away after the first batch was stored):
// the call fails naming the first row not stored, and the batch before stays stored.
TEST_F(BadInputTest, AStreamWhoseSecondBatchCannotBeWrittenSaysWhereToResume) {
  EnrolStreamRoster(1500);
  auto context = ContextWith(kResearcher);
  v1::SubmitResponsesResponse response;
  auto writer = ingest().SubmitResponses(context.get(), &response);
  for (int row = 1; row <= 1000; ++row) ASSERT_TRUE(writer->Write(StreamRow(row)));
  // The first batch is handed over when full; wait until all of it is stored, then take
  // Redis away while the stream is still open.
  ASSERT_TRUE(WaitUntilListed(kTrial, "baseline", 1000));
  redis_->Kill();
  for (int row = 1001; row <= 1500; ++row) {
    if (!writer->Write(StreamRow(row))) break;
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("rows from 1001 not stored"));

  redis_->Start();
  ExpectFirstRowsStored(1000);
}

// A partner's stream cut off part-way (it cancels, its deadline passes, its connection drops:
// the server sees the same) keeps the whole batches stored before and not the unfinished one,
// as the proto promises; resending the whole stream then completes it.
TEST_F(BadInputTest, AStreamCutOffPartWayKeepsOnlyWholeBatchesAndTheResentStreamCompletesIt) {
  EnrolStreamRoster(1500);
  {
    auto context = ContextWith(kResearcher);
    v1::SubmitResponsesResponse response;
    auto writer = ingest().SubmitResponses(context.get(), &response);
    for (int row = 1; row <= 1500; ++row) ASSERT_TRUE(writer->Write(StreamRow(row)));
    ASSERT_TRUE(WaitUntilListed(kTrial, "baseline", 1000));
    context->TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  ExpectFirstRowsStored(1000);

  std::vector<v1::Submission> stream;
  for (int row = 1; row <= 1500; ++row) stream.push_back(StreamRow(row).submission());
  const v1::SubmitResponsesResponse resent = SubmitStream(stream);
  EXPECT_EQ(resent.duplicate(), 1000);
  EXPECT_EQ(resent.accepted(), 500);
  ExpectFirstRowsStored(1500);
}

TEST_F(BadInputTest, RedisDownIsUnavailableAndNothingIsHalfStored) {
  redis_->Kill();
  v1::SubmitResponseRequest request;
  *request.mutable_submission() = Good("A1", "while-down");
  v1::SubmitResponseResponse response;
  const grpc::Status down =
      ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();
  redis_->Start();
  EXPECT_TRUE(ListResponses(kTrial, "baseline", true).empty());
  const grpc::Status up =
      ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(up.ok()) << up.error_message();
  EXPECT_EQ(response.status(), v1::SUBMISSION_STATUS_ACCEPTED) << "the retry is accepted once";
  EXPECT_EQ(ListResponses(kTrial, "baseline").size(), 1u);
}

}  // namespace
}  // namespace fieldwork::survey_ingest::bad_input

namespace fieldwork::survey_ingest::bad_input {
namespace {

TEST_F(BadInputTest, EndlineCompositesAreStandardisedAgainstTheBaseline) {
  v1::PutWaveRequest put;
  v1::Wave& endline = *put.mutable_wave();
  endline.set_trial_id(kTrial);
  endline.set_wave_id("endline");
  endline.set_instrument_id("wb");
  endline.set_norms_wave_id("baseline");
  v1::PutWaveResponse put_response;
  ASSERT_TRUE(ingest().PutWave(ContextWith(kResearcher).get(), put, &put_response).ok());

  // Baseline well-being (mean of wb_1, wb_2 and 10 - wb_3): A1 7, A2 4, A3 1.
  const std::vector<std::vector<std::string>> baseline = {
      {"A1", "7", "7", "3"}, {"A2", "4", "4", "6"}, {"A3", "1", "1", "9"}};
  for (const auto& row : baseline) {
    v1::Submission s = Good(row[0], "base-" + row[0]);
    (*s.mutable_answers())["wb_1"] = row[1];
    (*s.mutable_answers())["wb_2"] = row[2];
    (*s.mutable_answers())["wb_3"] = row[3];
    v1::SubmitResponseRequest request;
    *request.mutable_submission() = s;
    v1::SubmitResponseResponse response;
    ASSERT_TRUE(ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response).ok());
    ASSERT_EQ(response.status(), v1::SUBMISSION_STATUS_ACCEPTED);
  }
  // Endline: A1 scores 10 (10, 10, 0).
  v1::Submission s = Good("A1", "end-A1");
  s.set_wave_id("endline");
  (*s.mutable_answers())["wb_1"] = "10";
  (*s.mutable_answers())["wb_2"] = "10";
  (*s.mutable_answers())["wb_3"] = "0";
  v1::SubmitResponseRequest request;
  *request.mutable_submission() = s;
  v1::SubmitResponseResponse response;
  ASSERT_TRUE(ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response).ok());

  // Baseline mean 4, SD sqrt(((7-4)^2 + 0 + (1-4)^2) / 2) = 3: z = (10 - 4) / 3 = 2.
  const std::vector<v1::Response> responses = ListResponses(kTrial, "endline");
  ASSERT_EQ(responses.size(), 1u);
  ASSERT_EQ(responses[0].composites_size(), 1);
  EXPECT_TRUE(responses[0].composites(0).present());
  EXPECT_NEAR(responses[0].composites(0).value(), 2.0, 1e-12);
  // The baseline's own composites use the same norms: z = (7 - 4) / 3, 0 and (1 - 4) / 3.
  std::map<std::string, double> z;
  for (const v1::Response& r : ListResponses(kTrial, "baseline")) {
    z[r.participant_id()] = r.composites(0).value();
  }
  EXPECT_NEAR(z["A1"], 1.0, 1e-12);
  EXPECT_NEAR(z["A2"], 0.0, 1e-12);
  EXPECT_NEAR(z["A3"], -1.0, 1e-12);

  // The norms are kept between lists only while the data stays as it was: a fourth baseline
  // response (B1 scores 4) leaves the mean at 4 and makes the SD sqrt(18 / 3) = sqrt(6).
  v1::Submission fourth = Good("B1", "base-B1");
  (*fourth.mutable_answers())["wb_1"] = "4";
  (*fourth.mutable_answers())["wb_2"] = "4";
  (*fourth.mutable_answers())["wb_3"] = "6";
  *request.mutable_submission() = fourth;
  ASSERT_TRUE(ingest().SubmitResponse(ContextWith(kResearcher).get(), request, &response).ok());
  ASSERT_EQ(response.status(), v1::SUBMISSION_STATUS_ACCEPTED);
  const std::vector<v1::Response> again = ListResponses(kTrial, "endline");
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(again[0].composites_size(), 1);
  EXPECT_NEAR(again[0].composites(0).value(), 6.0 / std::sqrt(6.0), 1e-12);
}

}  // namespace
}  // namespace fieldwork::survey_ingest::bad_input

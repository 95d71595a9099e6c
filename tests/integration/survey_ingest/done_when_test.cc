// The issue's "Done when": a Qualtrics export mixing good rows, unknown participants,
// out-of-range and non-numeric values, a duplicate, a second response and a re-import, checked
// count by count and score by score; ReplayRejects after the roster is completed; and a Redis
// crash (kill -9) that loses nothing acknowledged.
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"

namespace fieldwork::survey_ingest {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

constexpr char kTrial[] = "beneficiaries";

// One data row of the export: response id, participant, end date (day of March 2021, hour),
// and the answers to QID1..QID4 as typed.
struct Row {
  std::string response_id;
  std::string participant;
  int day;
  int hour;
  std::string q1, q2, q3, q4;
};

std::string Quote(const std::string& field) {
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// A Qualtrics export: BOM, CRLF, the three header rows, one record per row.
std::string QualtricsExport(const std::vector<Row>& rows) {
  std::string csv = "\xEF\xBB\xBF";
  auto line = [&](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) csv += (i ? "," : "") + Quote(fields[i]);
    csv += "\r\n";
  };
  line({"StartDate", "EndDate", "Status", "Progress", "Finished", "RecordedDate", "ResponseId",
        "ExternalReference", "Q1", "Q2", "Q3", "Q4"});
  line({"Start Date", "End Date", "Response Type", "Progress", "Finished", "Recorded Date",
        "Response ID", "External Data Reference", "Satisfied, 0-10", "Worthwhile, 0-10",
        "Anxious, 0-10", "Days off sick, in days"});
  line({R"({"ImportId":"startDate","timeZone":"UTC"})",
        R"({"ImportId":"endDate","timeZone":"UTC"})", R"({"ImportId":"status"})",
        R"({"ImportId":"progress"})", R"({"ImportId":"finished"})",
        R"({"ImportId":"recordedDate","timeZone":"UTC"})", R"({"ImportId":"_recordId"})",
        R"({"ImportId":"externalDataReference"})", R"({"ImportId":"QID1"})",
        R"({"ImportId":"QID2"})", R"({"ImportId":"QID3"})", R"({"ImportId":"QID4"})"});
  for (const Row& r : rows) {
    const std::string end = absl::StrCat("2021-03-", r.day < 10 ? "0" : "", r.day, " ",
                                         r.hour < 10 ? "0" : "", r.hour, ":00:00");
    const std::string start = absl::StrCat("2021-03-", r.day < 10 ? "0" : "", r.day, " ",
                                           r.hour - 1 < 10 ? "0" : "", r.hour - 1, ":50:00");
    line({start, end, "0", "100", "1", end, r.response_id, r.participant, r.q1, r.q2, r.q3, r.q4});
  }
  return csv;
}

// The hand-computed well-being score: mean of wb_1, wb_2 and the reverse-keyed wb_3 (10 - x).
double Wellbeing(double a, double b, double c) { return (a + b + (10 - c)) / 3; }

// Imported by the researcher (not site-scoped): a replay may then accept a row for any site
// (a site-scoped importer's rows replay only for its own sites: bad_input_test.cc).
v1::ImportCsvResponse Import(v1::SurveyIngestService::Stub& stub, const std::string& content) {
  v1::ImportCsvRequest request;
  request.set_trial_id(kTrial);
  request.set_wave_id("baseline");
  request.set_content(content);
  request.set_file_name("baseline.csv");
  v1::ImportCsvResponse response;
  const grpc::Status status = stub.ImportCsv(ContextWith(kResearcher).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

class DoneWhenTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();
    CreateTrial(kTrial);
    Enrol(kTrial, {{"P01", "LA1"},
                   {"P02", "LA1"},
                   {"P03", "LA1"},
                   {"P04", "LA1"},
                   {"P05", "LA1"},
                   {"P06", "LA1"}});
    Withdraw(kTrial, "P06");
    PutInstrument(kTrial, kWellbeingYaml);
    PutWave(kTrial, "baseline", "wb");
  }
};

TEST_F(DoneWhenTest, MixedQualtricsExportReplayAndRedisCrash) {
  // Line numbers: the three header rows are lines 1-3, so data starts on line 4.
  const std::vector<Row> rows = {
      {"R_1", "P01", 5, 10, "8", "6", "2", ""},      // 4: good
      {"R_2", "P02", 5, 11, "5", "5", "5", "3"},     // 5: good
      {"R_3", "X99", 6, 10, "7", "7", "3", ""},      // 6: not enrolled (yet)
      {"R_4", "P03", 6, 11, "11", "5", "5", ""},     // 7: out of range
      {"R_5", "P04", 6, 12, "7", "seven", "5", ""},  // 8: not a number
      {"R_1", "P01", 5, 10, "8", "6", "2", ""},      // 9: the same response again
      {"R_6", "P01", 9, 10, "9", "9", "1", "0"},     // 10: P01's second response
      {"R_7", "P05", 7, 10, "4", "6", "8", "12"},    // 11: good
      {"R_8", "X98", 7, 11, "3", "3", "3", ""},      // 12: not enrolled (yet)
      {"R_9", "P06", 7, 12, "6", "6", "6", ""},      // 13: withdrawn
  };
  const std::string file = QualtricsExport(rows);

  const v1::ImportCsvResponse first = Import(ingest(), file);
  EXPECT_FALSE(first.already_imported());
  EXPECT_EQ(first.accepted(), 4);   // R_1, R_2, R_6, R_7
  EXPECT_EQ(first.duplicate(), 1);  // R_1 again
  EXPECT_EQ(first.rejected(), 5);   // R_3, R_4, R_5, R_8, R_9
  std::map<int64_t, v1::RowError> errors;
  for (const v1::RowError& e : first.errors()) errors[e.row()] = e;
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[6].field(), "participant_id");
  EXPECT_THAT(errors[6].reason(), HasSubstr("unknown participant"));
  EXPECT_EQ(errors[6].value(), "X99");
  EXPECT_EQ(errors[7].field(), "Q1");
  EXPECT_THAT(errors[7].reason(), HasSubstr("out of range 0..10"));
  EXPECT_EQ(errors[7].value(), "11");
  EXPECT_EQ(errors[8].field(), "Q2");
  EXPECT_THAT(errors[8].reason(), HasSubstr("not a number"));
  EXPECT_EQ(errors[8].value(), "seven");
  EXPECT_THAT(errors[12].reason(), HasSubstr("unknown participant"));
  EXPECT_THAT(errors[13].reason(), HasSubstr("withdrawn"));

  // Importing the same file again changes nothing.
  const v1::ImportCsvResponse again = Import(ingest(), file);
  EXPECT_TRUE(again.already_imported());
  EXPECT_EQ(again.content_sha256(), first.content_sha256());
  EXPECT_EQ(again.accepted() + again.duplicate() + again.rejected(), 0);

  // Every reject is kept with its reason and raw row.
  std::vector<v1::Reject> rejects = ListRejects(kTrial);
  ASSERT_EQ(rejects.size(), 5u);
  for (const v1::Reject& reject : rejects) {
    EXPECT_EQ(reject.source(), absl::StrCat("csv:", first.content_sha256()));
    EXPECT_FALSE(reject.raw().empty());
    EXPECT_GT(reject.errors_size(), 0);
  }
  EXPECT_THAT(rejects[0].raw(), HasSubstr("X99"));  // row 6 comes first

  // Scores: the counted responses (first complete) and P01's second one in the history.
  std::vector<v1::Response> counted = ListResponses(kTrial, "baseline");
  std::map<std::string, double> expected = {
      {"P01", Wellbeing(8, 6, 2)}, {"P02", Wellbeing(5, 5, 5)}, {"P05", Wellbeing(4, 6, 8)}};
  ASSERT_EQ(counted.size(), expected.size());
  for (const v1::Response& r : counted) {
    ASSERT_EQ(r.scales_size(), 1);
    EXPECT_TRUE(r.scales(0).present());
    EXPECT_DOUBLE_EQ(r.scales(0).value(), expected[r.participant_id()]) << r.participant_id();
    EXPECT_TRUE(r.counted());
    EXPECT_EQ(r.site(), "LA1");
  }
  EXPECT_EQ(counted[0].submission_id(), "R_1") << "first complete counts";
  std::vector<v1::Response> history = ListResponses(kTrial, "baseline", true);
  ASSERT_EQ(history.size(), 4u);
  EXPECT_EQ(history[1].submission_id(), "R_6");
  EXPECT_FALSE(history[1].counted());
  EXPECT_DOUBLE_EQ(history[1].scales(0).value(), Wellbeing(9, 9, 1));
  EXPECT_EQ(history[1].answers().at("sick_days"), "0");

  // Complete the roster; the formerly unknown participants' responses are accepted.
  Enrol(kTrial, {{"X99", "LA2"}, {"X98", "LA1"}});
  v1::ReplayRejectsRequest replay;
  replay.set_trial_id(kTrial);
  v1::ReplayRejectsResponse replayed;
  grpc::Status status = ingest().ReplayRejects(ContextWith(kResearcher).get(), replay, &replayed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(replayed.accepted(), 2);
  EXPECT_EQ(replayed.still_rejected(), 3);
  EXPECT_EQ(ListRejects(kTrial).size(), 3u);
  EXPECT_EQ(ListRejects(kTrial, kResearcher, true).size(), 5u);
  status = ingest().ReplayRejects(ContextWith(kResearcher).get(), replay, &replayed);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(replayed.accepted(), 0) << "a replayed reject is not replayed twice";

  expected["X99"] = Wellbeing(7, 7, 3);
  expected["X98"] = Wellbeing(3, 3, 3);
  counted = ListResponses(kTrial, "baseline");
  ASSERT_EQ(counted.size(), expected.size());
  // Composites: z-scores of the scale against this (norms) wave's counted responses.
  double mean = 0;
  for (const auto& [id, value] : expected) mean += value;
  mean /= static_cast<double>(expected.size());
  double squares = 0;
  for (const auto& [id, value] : expected) squares += (value - mean) * (value - mean);
  const double sd = std::sqrt(squares / static_cast<double>(expected.size() - 1));
  for (const v1::Response& r : counted) {
    EXPECT_DOUBLE_EQ(r.scales(0).value(), expected[r.participant_id()]) << r.participant_id();
    ASSERT_EQ(r.composites_size(), 1);
    EXPECT_TRUE(r.composites(0).present());
    EXPECT_NEAR(r.composites(0).value(), (expected[r.participant_id()] - mean) / sd, 1e-12);
  }
  const auto x99 = std::find_if(counted.begin(), counted.end(),
                                [](const v1::Response& r) { return r.participant_id() == "X99"; });
  ASSERT_NE(x99, counted.end());
  EXPECT_EQ(x99->site(), "LA2");

  // Counts by wave and site.
  v1::ResponseCountsRequest counts_request;
  counts_request.set_trial_id(kTrial);
  v1::ResponseCountsResponse counts;
  status = ingest().ResponseCounts(ContextWith(kAnalyst).get(), counts_request, &counts);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::map<std::string, v1::ResponseCountsResponse::Count> by_site;
  for (const auto& c : counts.counts()) by_site[c.site()] = c;
  EXPECT_EQ(by_site["LA1"].respondents(), 4);  // P01, P02, P05, X98
  EXPECT_EQ(by_site["LA1"].responses(), 5);    // and P01's second response
  EXPECT_EQ(by_site["LA2"].respondents(), 1);  // X99
  int64_t rejected = 0;
  for (const auto& c : counts.counts()) rejected += c.rejected();
  EXPECT_EQ(rejected, 3);

  // Who responded, without the responses (fieldwork status): the counted ones' participants.
  std::set<std::string> listed_counted;
  for (const v1::Response& r : counted) listed_counted.insert(r.participant_id());
  v1::ListRespondentsRequest respondents_request;
  respondents_request.set_trial_id(kTrial);
  respondents_request.set_wave_id("baseline");
  auto respondents_context = ContextWith(kAnalyst);
  auto respondents = ingest().ListRespondents(respondents_context.get(), respondents_request);
  std::set<std::string> respondent_ids;
  for (v1::ListRespondentsResponse page; respondents->Read(&page);) {
    EXPECT_EQ(page.wave_id(), "baseline");
    respondent_ids.insert(page.participant_ids().begin(), page.participant_ids().end());
  }
  ASSERT_TRUE(respondents->Finish().ok());
  EXPECT_EQ(respondent_ids, listed_counted);
  respondents_request.set_wave_id("no-such-wave");
  auto unknown_context = ContextWith(kAnalyst);
  auto unknown = ingest().ListRespondents(unknown_context.get(), respondents_request);
  for (v1::ListRespondentsResponse page; unknown->Read(&page);) {
  }
  EXPECT_EQ(unknown->Finish().error_code(), grpc::StatusCode::NOT_FOUND);

  // GetResponseStatus, as messaging asks it for reminders.
  v1::GetResponseStatusRequest ask;
  ask.set_trial_id(kTrial);
  ask.set_wave_id("baseline");
  ask.set_participant_id("P01");
  v1::GetResponseStatusResponse answer;
  status = ingest().GetResponseStatus(ContextWith(kAnalyst).get(), ask, &answer);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(answer.responded());
  EXPECT_EQ(answer.first_response_at().seconds(), At(2021, 3, 5, 10).seconds());
  ask.set_participant_id("P03");
  ASSERT_TRUE(ingest().GetResponseStatus(ContextWith(kAnalyst).get(), ask, &answer).ok());
  EXPECT_FALSE(answer.responded());

  // Metrics.
  const std::string metrics = ingest_->MetricsText();
  EXPECT_THAT(
      metrics,
      HasSubstr(
          R"(fieldwork_survey_ingest_submissions_total{status="accepted",trial="beneficiaries",wave="baseline"} 6)"));
  EXPECT_THAT(
      metrics,
      HasSubstr(
          R"(fieldwork_survey_ingest_submissions_total{status="duplicate",trial="beneficiaries",wave="baseline"} 1)"));
  EXPECT_THAT(
      metrics,
      HasSubstr(
          R"(fieldwork_survey_ingest_rejects_total{reason="unknown_participant",trial="beneficiaries"} 2)"));
  EXPECT_THAT(
      metrics,
      HasSubstr(
          R"(fieldwork_survey_ingest_respondents{site="LA1",trial="beneficiaries",wave="baseline"} 4)"));

  // One more acknowledged response, then a crash of Redis: nothing acknowledged is lost.
  v1::SubmitResponseRequest submit;
  v1::Submission& s = *submit.mutable_submission();
  s.set_trial_id(kTrial);
  s.set_wave_id("baseline");
  s.set_participant_id("P03");
  s.set_submission_id("api-1");
  (*s.mutable_answers())["wb_1"] = "6";
  (*s.mutable_answers())["wb_2"] = "7";
  (*s.mutable_answers())["wb_3"] = "4";
  *s.mutable_submitted_at() = At(2021, 3, 12);
  s.set_finished(true);
  v1::SubmitResponseResponse submitted;
  status = ingest().SubmitResponse(ContextWith(kPartnerLa1).get(), submit, &submitted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(submitted.status(), v1::SUBMISSION_STATUS_ACCEPTED);
  const std::vector<v1::Response> before = ListResponses(kTrial, "", true);
  ASSERT_EQ(before.size(), 7u);
  const size_t rejects_before = ListRejects(kTrial, kResearcher, true).size();

  redis_->Kill();
  redis_->Start();
  RestartIngest();
  const std::vector<v1::Response> after = ListResponses(kTrial, "", true);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(after[i], before[i]))
        << after[i].DebugString() << " vs " << before[i].DebugString();
  }
  EXPECT_EQ(ListRejects(kTrial, kResearcher, true).size(), rejects_before);
  EXPECT_TRUE(Import(ingest(), file).already_imported()) << "the import record survives too";
  status = ingest().SubmitResponse(ContextWith(kPartnerLa1).get(), submit, &submitted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(submitted.status(), v1::SUBMISSION_STATUS_DUPLICATE);
  // The gauge is seeded from storage after a restart.
  EXPECT_THAT(
      ingest_->MetricsText(),
      HasSubstr(
          R"(fieldwork_survey_ingest_respondents{site="LA1",trial="beneficiaries",wave="baseline"} 5)"));
}

}  // namespace
}  // namespace fieldwork::survey_ingest

// The hosted questionnaire end to end: the real fieldwork-survey-ingest binary with its form
// listener, a real durable redis-server, the real randomisation service as the roster, links
// sealed with the real key ring, and a real HTTP client (cpp-httplib) posting the pages.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/survey_ingest/keys.h"
#include "services/survey_link/key_ring.h"
#include "services/survey_link/survey_link_token.h"
#include "tests/integration/survey_ingest/ingest_fixture.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"

namespace fieldwork::survey_ingest {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::testing::ChildProcess;
using ::fieldwork::testing::ServiceProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKeys[] =
    "# test ring\n1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

constexpr char kJobYaml[] = R"yaml(
id: job
version: 1
title: Your job
introduction: A few questions about your work.
privacy: Your answers are kept under a pseudonymous id.
items:
  - id: sat
    label: How satisfied are you with your job?
    type: likert
    min: 1
    max: 5
    required: true
    min_label: Not at all
    max_label: Completely
  - {id: hours, label: Hours worked last week, type: numeric, min: 0, max: 80, integer: true, required: true}
  - id: team
    label: Which team are you in?
    type: single_choice
    required: true
    options:
      - {code: "1", label: Assessment}
      - {code: "2", label: Long-term}
  - {id: note, label: Anything else, type: free_text, max_length: 200}
scales:
  - {id: satisfaction, label: Satisfaction, items: [sat]}
pages:
  - {title: Feelings, items: [sat]}
  - {title: Time, items: [hours]}
  - {title: Team, items: [team, note]}
)yaml";

std::string Field(const std::string& html, const std::string& name) {
  std::smatch match;
  const std::regex pattern("name=\"" + name + "\" value=\"([^\"]*)\"");
  return std::regex_search(html, match, pattern) ? match[1].str() : "";
}

class FormTest : public IngestTest {
 protected:
  void SetUp() override {
    IngestTest::SetUp();
    CreateTrial("formtrial");
    Enrol("formtrial", {{"P1", "LA1"}, {"P2", "LA1"}, {"P3", "LA2"}, {"P4", "LA2"}});
    keys_ = std::make_unique<survey_link::SurveyLinkKeyRing>(
        *survey_link::SurveyLinkKeyRing::Parse(kKeys, "test"));
  }

  // The binary with its form on a free port; `extra` flags after the defaults.
  void StartService(const std::vector<std::string>& extra = {}) {
    fieldwork::testing::WriteFile(dir_.path() + "/tokens.yaml", TestTokensYaml());
    fieldwork::testing::WriteFile(dir_.path() + "/ingest.token",
                                  std::string(kIngestService) + "\n");
    fieldwork::testing::WriteFile(dir_.path() + "/link.keys", kKeys);
    const std::string address = absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort());
    http_port_ = fieldwork::testing::PickFreePort();
    metrics_port_ = fieldwork::testing::PickFreePort();
    std::vector<std::string> args = {"--listen_address=" + address,
                                     absl::StrCat("--metrics_port=", metrics_port_),
                                     "--metrics_bind_address=127.0.0.1",
                                     "--redis_url=" + redis_->url(),
                                     "--tokens_file=" + dir_.path() + "/tokens.yaml",
                                     "--randomisation_address=" + randomisation_->address(),
                                     "--service_token_file=" + dir_.path() + "/ingest.token",
                                     "--drain_delay=0s",
                                     absl::StrCat("--http_listen_address=127.0.0.1:", http_port_),
                                     "--survey_link_keys=" + dir_.path() + "/link.keys"};
    args.insert(args.end(), extra.begin(), extra.end());
    service_ =
        std::make_unique<ServiceProcess>("fieldwork-survey-ingest", args, address, dir_.path());
    stub_ = v1::SurveyIngestService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", http_port_);
    v1::PutInstrumentRequest instrument;
    instrument.set_trial_id("formtrial");
    instrument.mutable_instrument()->set_definition_yaml(kJobYaml);
    v1::PutInstrumentResponse put_instrument;
    const grpc::Status put =
        stub_->PutInstrument(ContextWith(kResearcher).get(), instrument, &put_instrument);
    ASSERT_TRUE(put.ok()) << put.error_message();
    PutOpenWave("w1", absl::Now() - absl::Hours(24), absl::Now() + absl::Hours(24 * 30));
  }

  void PutOpenWave(const std::string& wave, absl::Time opens, absl::Time closes) {
    v1::PutWaveRequest request;
    v1::Wave& w = *request.mutable_wave();
    w.set_trial_id("formtrial");
    w.set_wave_id(wave);
    w.set_instrument_id("job");
    w.mutable_opens_at()->set_seconds(absl::ToUnixSeconds(opens));
    w.mutable_closes_at()->set_seconds(absl::ToUnixSeconds(closes));
    v1::PutWaveResponse response;
    const grpc::Status status = stub_->PutWave(ContextWith(kResearcher).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string Link(const std::string& participant, const std::string& wave = "w1",
                   absl::Time expires = absl::Now() + absl::Hours(24 * 60)) {
    survey_link::SurveyLinkClaims claims{"formtrial", wave, participant,
                                         absl::FromUnixSeconds(absl::ToUnixSeconds(expires))};
    absl::StatusOr<std::string> token = survey_link::SealSurveyLink(*keys_, claims);
    EXPECT_TRUE(token.ok()) << token.status();
    return "/s/" + token.value_or("");
  }

  httplib::Result Get(const std::string& path) { return client_->Get(path.c_str()); }

  // Posts `answers` as page `page` with the CSRF token of the page just shown at `link`.
  httplib::Result PostPage(const std::string& link, int page,
                           const std::vector<std::pair<std::string, std::string>>& answers,
                           std::string csrf = "") {
    if (csrf.empty()) {
      httplib::Result shown = Get(absl::StrCat(link, "?page=", page));
      if (shown) csrf = Field(shown->body, "csrf");
    }
    httplib::Params params{{"csrf", csrf}, {"form_page", std::to_string(page)}};
    for (const auto& [item, value] : answers) params.emplace("q_" + item, value);
    return client_->Post(link.c_str(), params);
  }

  v1::GetResponseStatusResponse Status(const std::string& participant) {
    v1::GetResponseStatusRequest request;
    request.set_trial_id("formtrial");
    request.set_wave_id("w1");
    request.set_participant_id(participant);
    v1::GetResponseStatusResponse response;
    const grpc::Status status =
        stub_->GetResponseStatus(ContextWith(kAnalyst).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::vector<v1::Response> Responses() {
    v1::ListResponsesRequest request;
    request.set_trial_id("formtrial");
    request.set_wave_id("w1");
    request.set_include_not_counted(true);
    auto context = ContextWith(kAnalyst);
    auto reader = stub_->ListResponses(context.get(), request);
    std::vector<v1::Response> out;
    v1::ListResponsesResponse message;
    while (reader->Read(&message)) out.push_back(message.response());
    const grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  // The fields of the participant's stored progress (empty: nothing stored).
  std::vector<std::string> StoredFields(const std::string& participant) {
    std::unique_ptr<RedisClient> redis = redis_->NewClient();
    absl::StatusOr<RedisReply> reply =
        redis->Command({"HKEYS", keys::FormProgress("formtrial", "w1", participant)});
    EXPECT_TRUE(reply.ok()) << reply.status();
    std::vector<std::string> fields;
    for (size_t i = 0; reply.ok() && i < reply->size(); ++i) {
      fields.emplace_back((*reply)[i].str());
    }
    std::sort(fields.begin(), fields.end());
    return fields;
  }

  fieldwork::testing::TempDir dir_;
  std::unique_ptr<survey_link::SurveyLinkKeyRing> keys_;
  std::unique_ptr<ServiceProcess> service_;
  std::unique_ptr<v1::SurveyIngestService::Stub> stub_;
  std::unique_ptr<httplib::Client> client_;
  int http_port_ = 0;
  int metrics_port_ = 0;
};

TEST_F(FormTest, AParticipantAnswersThreePagesAndIsCountedOnce) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  const std::string link = Link("P1");
  httplib::Result first = Get(link);
  ASSERT_TRUE(first) << httplib::to_string(first.error());
  EXPECT_EQ(first->status, 200);
  EXPECT_THAT(first->get_header_value("Content-Security-Policy"),
              HasSubstr("default-src 'none'; style-src 'sha256-"));
  EXPECT_THAT(first->get_header_value("Content-Security-Policy"), HasSubstr("form-action 'self'"));
  EXPECT_EQ(first->get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_THAT(first->body, HasSubstr("<html lang=\"en\">"));
  EXPECT_THAT(first->body, HasSubstr("Page 1 of 3"));
  EXPECT_THAT(first->body, HasSubstr("A few questions about your work."));
  EXPECT_THAT(first->body, HasSubstr("<legend>How satisfied are you with your job?</legend>"));
  EXPECT_THAT(first->body, HasSubstr("Not at all"));
  // The page names nobody: no participant id, and the token only in the URL.
  EXPECT_THAT(first->body, Not(HasSubstr("P1")));
  EXPECT_THAT(first->body, Not(HasSubstr(link.substr(3))));

  httplib::Result page1 = PostPage(link, 1, {{"sat", "4"}});
  ASSERT_TRUE(page1);
  EXPECT_EQ(page1->status, 303);
  EXPECT_EQ(page1->get_header_value("Location"), "?page=2");
  httplib::Result shown2 = Get(link + "?page=2");
  ASSERT_TRUE(shown2);
  EXPECT_THAT(shown2->body, HasSubstr("Page 2 of 3"));
  EXPECT_THAT(shown2->body, HasSubstr("min=\"0\" max=\"80\""));
  EXPECT_THAT(shown2->body, HasSubstr("<a href=\"?page=1\">Back</a>"));
  // Back shows page 1 with its stored answer.
  httplib::Result back = Get(link + "?page=1");
  ASSERT_TRUE(back);
  EXPECT_THAT(back->body, HasSubstr("value=\"4\" checked"));

  ASSERT_EQ(PostPage(link, 2, {{"hours", "37"}})->status, 303);
  // Partial answers are not a response: the reminder guard still sees a non-responder.
  EXPECT_FALSE(Status("P1").responded());
  EXPECT_TRUE(Responses().empty());

  httplib::Result last = PostPage(link, 3, {{"team", "2"}, {"note", "Busy month"}});
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 200);
  EXPECT_THAT(last->body, HasSubstr("Thank you"));
  EXPECT_TRUE(Status("P1").responded());
  std::vector<v1::Response> responses = Responses();
  ASSERT_EQ(responses.size(), 1u);
  const v1::Response& r = responses[0];
  EXPECT_EQ(r.participant_id(), "P1");
  EXPECT_EQ(r.source(), "form");
  EXPECT_FALSE(r.partial());
  EXPECT_TRUE(r.counted());
  EXPECT_EQ(r.answers().at("sat"), "4");
  EXPECT_EQ(r.answers().at("hours"), "37");
  EXPECT_EQ(r.answers().at("team"), "2");
  EXPECT_EQ(r.answers().at("note"), "Busy month");
  ASSERT_EQ(r.scales_size(), 1);
  EXPECT_TRUE(r.scales(0).present());
  EXPECT_DOUBLE_EQ(r.scales(0).value(), 4);

  // Submitting the last page again (a double click, a reload) changes nothing.
  httplib::Result again = PostPage(link, 3, {{"team", "1"}}, Field(shown2->body, "csrf"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  EXPECT_THAT(again->body, HasSubstr("already completed"));
  httplib::Result reopened = Get(link);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->status, 200);
  EXPECT_THAT(reopened->body, HasSubstr("You have already completed this survey"));
  EXPECT_THAT(reopened->body, Not(HasSubstr("<form")));
  responses = Responses();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].answers().at("team"), "2");

  absl::StatusOr<std::string> metrics = fieldwork::testing::FetchMetrics(metrics_port_);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  for (const char* stage : {"opened", "started", "completed"}) {
    EXPECT_THAT(*metrics,
                HasSubstr(absl::StrCat("fieldwork_survey_ingest_form_funnel_total{stage=\"", stage,
                                       "\",trial=\"formtrial\",wave=\"w1\"} 1")));
  }
  EXPECT_THAT(*metrics, HasSubstr("fieldwork_http_connections_total{listener=\"survey_form\"}"));
  EXPECT_THAT(*metrics, Not(HasSubstr("P1")));
  fieldwork::testing::WriteFile(dir_.path() + "/metrics.txt", *metrics);
  ChildProcess promtool({"sh", "-c", "promtool check metrics < " + dir_.path() + "/metrics.txt"},
                        {}, dir_.path() + "/promtool.log");
  EXPECT_EQ(promtool.WaitForExit(absl::Seconds(60)), 0) << promtool.ReadLog();
  // Nothing in the service's log names the participant or carries the link.
  const std::string log = service_->process().ReadLog();
  EXPECT_THAT(log, Not(HasSubstr("\"P1\"")));
  EXPECT_THAT(log, Not(HasSubstr(link.substr(3))));
}

TEST_F(FormTest, TwoFinalSubmitsAtOnceMakeOneResponse) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  const std::string link = Link("P2");
  ASSERT_EQ(PostPage(link, 1, {{"sat", "1"}})->status, 303);
  ASSERT_EQ(PostPage(link, 2, {{"hours", "8"}})->status, 303);
  httplib::Result shown = Get(link);
  ASSERT_TRUE(shown);
  const std::string csrf = Field(shown->body, "csrf");
  // Two clicks racing: both may pass the "completed" check before either submits, so the
  // submission id derived from (trial, wave, participant) is what keeps it one response.
  std::vector<int> statuses(2, 0);
  std::vector<std::thread> clicks;
  for (int i = 0; i < 2; ++i) {
    clicks.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", http_port_);
      httplib::Params params{{"csrf", csrf}, {"form_page", "3"}, {"q_team", "1"}};
      httplib::Result r = client.Post(link.c_str(), params);
      statuses[static_cast<size_t>(i)] = r ? r->status : -1;
    });
  }
  for (std::thread& t : clicks) t.join();
  for (int status : statuses) EXPECT_TRUE(status == 200 || status == 409) << status;
  EXPECT_EQ(Responses().size(), 1u);
  // Without the form's own "completed" mark (lost, say), the stored response still closes
  // the form: GetResponseStatus answers for it.
  std::unique_ptr<RedisClient> redis = redis_->NewClient();
  ASSERT_TRUE(
      redis->Command({"HDEL", keys::FormProgress("formtrial", "w1", "P2"), "completed"}).ok());
  httplib::Result reopened = Get(link);
  ASSERT_TRUE(reopened);
  EXPECT_THAT(reopened->body, HasSubstr("already completed"));
  httplib::Result third = PostPage(link, 3, {{"team", "2"}}, csrf);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 409);
  EXPECT_EQ(Responses().size(), 1u);
  absl::StatusOr<std::string> metrics = fieldwork::testing::FetchMetrics(metrics_port_);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr("fieldwork_survey_ingest_form_funnel_total{stage=\"completed\","
                                  "trial=\"formtrial\",wave=\"w1\"} 1"));
}

TEST_F(FormTest, ALinkOpenedAgainResumesAtTheFirstUnansweredPage) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  const std::string link = Link("P2");
  ASSERT_EQ(PostPage(link, 1, {{"sat", "2"}})->status, 303);
  // The participant leaves on page 2 and comes back later through the same link.
  httplib::Result resumed = Get(link);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->status, 200);
  EXPECT_THAT(resumed->body, HasSubstr("Page 2 of 3"));
  // A page further on than reached is not shown: the first open one is.
  httplib::Result skipped = Get(link + "?page=3");
  ASSERT_TRUE(skipped);
  EXPECT_THAT(skipped->body, HasSubstr("Page 2 of 3"));
  // Posting page 3 before page 2 is refused to the page to answer, and stores nothing.
  httplib::Result ahead = PostPage(link, 3, {{"team", "1"}}, Field(resumed->body, "csrf"));
  ASSERT_TRUE(ahead);
  EXPECT_EQ(ahead->status, 303);
  EXPECT_EQ(ahead->get_header_value("Location"), "?page=2");
  EXPECT_EQ(StoredFields("P2"), (std::vector<std::string>{"opened", "page:0", "started"}));
}

// The funnel per participant, as `fieldwork status` reads it: each participant once per wave
// at the furthest stage reached, never lowered by opening the link again after completing.
TEST_F(FormTest, ListFormProgressGivesEachParticipantsFurthestStage) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  ASSERT_TRUE(Get(Link("P1")));  // opened only
  ASSERT_EQ(PostPage(Link("P2"), 1, {{"sat", "2"}})->status, 303);  // started
  const std::string link = Link("P3");
  ASSERT_EQ(PostPage(link, 1, {{"sat", "3"}})->status, 303);
  ASSERT_EQ(PostPage(link, 2, {{"hours", "10"}})->status, 303);
  ASSERT_EQ(PostPage(link, 3, {{"team", "1"}, {"note", "ok"}})->status, 200);
  ASSERT_TRUE(Get(link));  // "already completed": stays completed

  auto list = [&](const std::string& wave, const std::string& token) {
    v1::ListFormProgressRequest request;
    request.set_trial_id("formtrial");
    request.set_wave_id(wave);
    auto context = ContextWith(token);
    auto reader = stub_->ListFormProgress(context.get(), request);
    std::vector<std::string> seen;
    v1::ListFormProgressResponse page;
    while (reader->Read(&page)) {
      for (const auto& p : page.participants()) {
        seen.push_back(absl::StrCat(p.wave_id(), "/", p.participant_id(), "/",
                                    v1::FormStage_Name(p.stage())));
      }
    }
    return std::make_pair(reader->Finish(), seen);
  };
  auto [status, seen] = list("", kResearcher);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(seen, ElementsAre("w1/P1/FORM_STAGE_OPENED", "w1/P2/FORM_STAGE_STARTED",
                                "w1/P3/FORM_STAGE_COMPLETED"));
  std::tie(status, seen) = list("w1", kResearcher);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(seen.size(), 3u);
  std::tie(status, seen) = list("nowave", kResearcher);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  // A site-scoped partner would see other sites' participant ids: refused.
  std::tie(status, seen) = list("", kPartnerLa1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_TRUE(seen.empty());
}

TEST_F(FormTest, ABadPageIsShownAgainWithItsErrorsAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  const std::string link = Link("P3");
  ASSERT_EQ(PostPage(link, 1, {{"sat", "3"}})->status, 303);
  httplib::Result bad = PostPage(link, 2, {{"hours", "500"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 422);
  EXPECT_THAT(bad->body, HasSubstr("There is a problem"));
  EXPECT_THAT(bad->body, HasSubstr("Please enter a whole number from 0 to 80."));
  EXPECT_THAT(bad->body, HasSubstr("aria-describedby=\"h_hours e_hours\""));
  EXPECT_THAT(bad->body, HasSubstr("id=\"e_hours\""));
  EXPECT_THAT(bad->body, HasSubstr("value=\"500\""));  // what was typed stays for correction
  httplib::Result missing = PostPage(link, 2, {});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 422);
  EXPECT_THAT(missing->body, HasSubstr("Please answer this question."));
  EXPECT_EQ(StoredFields("P3"), (std::vector<std::string>{"opened", "page:0", "started"}));
}

TEST_F(FormTest, ForgedExpiredWithdrawnAndClosedLinksGetANoticeNeverAForm) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  std::string forged = Link("P1");
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  httplib::Result r = Get(forged);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_THAT(r->body, HasSubstr("This link is not valid"));
  EXPECT_THAT(r->body, Not(HasSubstr("<form")));
  EXPECT_EQ(Get("/s/not-a-token")->status, 404);

  r = Get(Link("P1", "w1", absl::Now() - absl::Hours(1)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 410);
  EXPECT_THAT(r->body, HasSubstr("This link has expired"));
  EXPECT_THAT(r->body, Not(HasSubstr("<form")));

  r = Get(Link("nobody"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);

  Withdraw("formtrial", "P4");
  r = Get(Link("P4"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_THAT(r->body, HasSubstr("no longer taking part"));
  EXPECT_THAT(r->body, Not(HasSubstr("<form")));

  PutOpenWave("closed", absl::Now() - absl::Hours(48), absl::Now() - absl::Hours(1));
  r = Get(Link("P1", "closed"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 410);
  EXPECT_THAT(r->body, HasSubstr("This survey has closed"));
  EXPECT_THAT(r->body, Not(HasSubstr("<form")));
  EXPECT_TRUE(StoredFields("P4").empty());
}

TEST_F(FormTest, APostWithoutTheLinksCsrfTokenOrTooLargeIsRefusedAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  const std::string link = Link("P1");
  // A token from another participant's form is not this link's.
  httplib::Result other = Get(Link("P2"));
  ASSERT_TRUE(other);
  httplib::Result refused = PostPage(link, 1, {{"sat", "4"}}, Field(other->body, "csrf"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_THAT(refused->body, HasSubstr("Nothing was saved"));
  refused = PostPage(link, 1, {{"sat", "4"}}, "x");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_TRUE(StoredFields("P1").empty());

  httplib::Result shown = Get(link);
  ASSERT_TRUE(shown);
  const std::string body =
      absl::StrCat("csrf=", Field(shown->body, "csrf"),
                   "&form_page=1&q_sat=4&q_pad=", std::string(100 * 1024, 'a'));
  httplib::Result big = client_->Post(link.c_str(), body, "application/x-www-form-urlencoded");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(StoredFields("P1"), (std::vector<std::string>{"opened"}));
}

TEST_F(FormTest, ARedisRestartMidSurveyLosesNoAcknowledgedPage) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  const std::string link = Link("P1");
  ASSERT_EQ(PostPage(link, 1, {{"sat", "5"}})->status, 303);
  ASSERT_EQ(PostPage(link, 2, {{"hours", "12"}})->status, 303);
  redis_->Restart();  // SIGKILL: only what appendfsync always already wrote survives
  httplib::Result resumed = Get(link);
  ASSERT_TRUE(resumed);
  ASSERT_EQ(resumed->status, 200) << resumed->body;
  EXPECT_THAT(resumed->body, HasSubstr("Page 3 of 3"));
  ASSERT_EQ(PostPage(link, 3, {{"team", "1"}})->status, 200);
  std::vector<v1::Response> responses = Responses();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].answers().at("sat"), "5");
  EXPECT_EQ(responses[0].answers().at("hours"), "12");
}

TEST_F(FormTest, RequestsOverTheLinksRateAreRefused) {
  ASSERT_NO_FATAL_FAILURE(StartService({"--form_rate_limit_per_minute=3"}));
  const std::string link = Link("P1");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get(link)->status, 200) << i;
  httplib::Result limited = Get(link);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "60");
  // Another participant's link has its own allowance.
  EXPECT_EQ(Get(Link("P2"))->status, 200);
}

TEST_F(FormTest, TheBinaryRefusesToServeTheFormWithoutItsKeyRing) {
  fieldwork::testing::WriteFile(dir_.path() + "/tokens.yaml", TestTokensYaml());
  ChildProcess process(
      {fieldwork::testing::BinaryPath("fieldwork-survey-ingest"), "--listen_address=127.0.0.1:0",
       "--metrics_port=0", "--redis_url=" + redis_->url(),
       "--tokens_file=" + dir_.path() + "/tokens.yaml", "--insecure_no_auth",
       absl::StrCat("--http_listen_address=127.0.0.1:", fieldwork::testing::PickFreePort())},
      {}, dir_.path() + "/nokeys.log");
  EXPECT_EQ(process.WaitForExit(absl::Seconds(30)), 1);
  EXPECT_THAT(process.ReadLog(), HasSubstr("no --survey_link_keys file"));
}

// An external survey (Qualtrics) linked with {survey_token} passes the token back as embedded
// data; `fieldwork responses import --token_column` resolves it with the key ring, as of when
// each row was answered, and never repeats a token in an error.
TEST_F(FormTest, ImportCsvResolvesATokenColumnWithTheKeyRing) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  const absl::Time now = absl::Now();
  auto token = [&](const std::string& participant, const std::string& wave, absl::Time expires) {
    return Link(participant, wave, expires).substr(3);  // without "/s/"
  };
  auto at = [](absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); };
  const std::string p1 = token("P1", "w1", now + absl::Hours(48));
  std::string forged = p1;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  const std::string other_wave = token("P2", "w2", now + absl::Hours(48));
  const std::string expired = token("P3", "w1", now - absl::Hours(2));
  const std::string answered_in_time = token("P4", "w1", now - absl::Hours(2));
  v1::ImportCsvRequest request;
  request.set_trial_id("formtrial");
  request.set_wave_id("w1");
  request.set_file_name("external.csv");
  request.set_token_column("t");
  request.set_content(absl::StrCat("t,EndDate,sat,hours,team\n",                                 //
                                   p1, ",", at(now - absl::Hours(1)), ",4,30,1\n",              // 2
                                   forged, ",", at(now - absl::Hours(1)), ",4,30,1\n",          // 3
                                   other_wave, ",", at(now - absl::Hours(1)), ",4,30,1\n",      // 4
                                   expired, ",", at(now - absl::Hours(1)), ",4,30,1\n",         // 5
                                   answered_in_time, ",", at(now - absl::Hours(3)), ",2,10,2\n"));
  v1::ImportCsvResponse response;
  grpc::Status status = stub_->ImportCsv(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.accepted(), 2);
  EXPECT_EQ(response.rejected(), 3);
  std::vector<std::string> errors;
  for (const v1::RowError& e : response.errors()) {
    errors.push_back(absl::StrCat(e.row(), " ", e.field(), ": ", e.reason()));
    for (const std::string& t : std::vector<std::string>{p1, forged, other_wave, expired}) {
      EXPECT_THAT(e.value(), Not(HasSubstr(t)));
      EXPECT_THAT(e.reason(), Not(HasSubstr(t)));
    }
  }
  EXPECT_THAT(errors, ElementsAre("3 t: not a valid survey link token",
                                  "4 t: survey link token of another trial or wave",
                                  "5 t: survey link token expired before the row's date"));
  std::vector<std::string> participants;
  for (const v1::Response& r : Responses()) participants.push_back(r.participant_id());
  EXPECT_THAT(participants, ElementsAre("P1", "P4"));

  // Both a token and a participant column: refused whole.
  request.set_participant_column("ExternalReference");
  request.set_content("t,EndDate,sat,hours,team\nx,2026-01-01T00:00:00Z,1,1,1\n");
  status = stub_->ImportCsv(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("token_column"));
}

// Without a key ring nothing can be verified: a token column is refused whole, never guessed.
TEST_F(FormTest, ATokenColumnNeedsTheKeyRing) {
  ASSERT_NO_FATAL_FAILURE(StartService({"--http_listen_address=", "--survey_link_keys="}));
  v1::ImportCsvRequest request;
  request.set_trial_id("formtrial");
  request.set_wave_id("w1");
  request.set_token_column("t");
  request.set_content("t,sat,hours,team\nsometoken,4,30,1\n");
  v1::ImportCsvResponse response;
  const grpc::Status status =
      stub_->ImportCsv(ContextWith(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("--survey_link_keys"));
}

// An online experiment's wording by arm (text_by_arm on the trial's factor): the binary asks the
// real randomisation service for the participant's allocation when the link is opened. Before
// randomisation the participant is told the survey is not ready (and nothing is stored); after
// it, each sees their own arm's text, and the answer is counted like any other.
constexpr char kByArmYaml[] = R"yaml(
id: byarm
version: 1
title: Worded by arm
pages:
  - title: Your view
    items: [view]
    text_by_arm:
      factor: intervention
      texts: {treatment: "You received the weekly messages.", control: "You received no messages."}
items:
  - {id: view, label: "How useful was this study?", type: likert, min: 1, max: 5, required: true}
)yaml";

TEST_F(FormTest, AnOnlineExperimentShowsEachParticipantTheTextOfTheirArmOnceAllocated) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  v1::PutInstrumentRequest instrument;
  instrument.set_trial_id("formtrial");
  instrument.mutable_instrument()->set_definition_yaml(kByArmYaml);
  v1::PutInstrumentResponse put_instrument;
  const grpc::Status put = stub_->PutInstrument(ContextWith(kResearcher).get(), instrument, &put_instrument);
  ASSERT_TRUE(put.ok()) << put.error_message();
  v1::PutWaveRequest wave;
  wave.mutable_wave()->set_trial_id("formtrial");
  wave.mutable_wave()->set_wave_id("w2");
  wave.mutable_wave()->set_instrument_id("byarm");
  wave.mutable_wave()->mutable_opens_at()->set_seconds(absl::ToUnixSeconds(absl::Now() - absl::Hours(1)));
  wave.mutable_wave()->mutable_closes_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(240)));
  v1::PutWaveResponse put_wave;
  const grpc::Status put_w2 = stub_->PutWave(ContextWith(kResearcher).get(), wave, &put_wave);
  ASSERT_TRUE(put_w2.ok()) << put_w2.error_message();

  const std::string link = Link("P1", "w2");
  httplib::Result early = Get(link);
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 403);
  EXPECT_THAT(early->body, HasSubstr("This survey is not ready for you yet"));
  EXPECT_THAT(early->body, Not(HasSubstr("<form")));

  v1::LockDesignRequest lock;
  lock.set_trial_id("formtrial");
  v1::LockDesignResponse locked;
  ASSERT_TRUE(randomisation().LockDesign(ContextWith(kResearcher).get(), lock, &locked).ok());
  v1::RandomiseRequest randomise;
  randomise.set_trial_id("formtrial");
  v1::RandomiseResponse randomised;
  const grpc::Status allocated =
      randomisation().Randomise(ContextWith(kResearcher).get(), randomise, &randomised);
  ASSERT_TRUE(allocated.ok()) << allocated.error_message();
  for (const std::string participant : {"P1", "P2", "P3", "P4"}) {
    v1::GetAllocationRequest request;
    request.set_trial_id("formtrial");
    request.set_participant_id(participant);
    v1::GetAllocationResponse allocation;
    ASSERT_TRUE(randomisation().GetAllocation(ContextWith(kResearcher).get(), request, &allocation).ok());
    const bool treated = allocation.allocation().assignments(0).arm() == "treatment";
    httplib::Result page = Get(Link(participant, "w2"));
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200) << participant;
    EXPECT_THAT(page->body, HasSubstr(treated ? "You received the weekly messages."
                                              : "You received no messages."))
        << participant;
    EXPECT_THAT(page->body, Not(HasSubstr(treated ? "You received no messages."
                                                  : "You received the weekly messages.")))
        << participant;
  }
  httplib::Result done = PostPage(link, 1, {{"view", "4"}});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);
  EXPECT_THAT(done->body, HasSubstr("Thank you"));
  v1::GetResponseStatusRequest status;
  status.set_trial_id("formtrial");
  status.set_wave_id("w2");
  status.set_participant_id("P1");
  v1::GetResponseStatusResponse responded;
  ASSERT_TRUE(stub_->GetResponseStatus(ContextWith(kAnalyst).get(), status, &responded).ok());
  EXPECT_TRUE(responded.responded());
}

}  // namespace
}  // namespace fieldwork::survey_ingest

// Issue 7 end to end: everything started by `scripts/run.sh start --simulated-clock
// --prometheus` (the four services as processes on the simulated clock, an SMTP sink, and a real
// Prometheus scraping them with the Fieldwork rules loaded, fast mode) and stopped by
// `scripts/run.sh stop` whatever the outcome. A two-arm trial of 200
// participants in two sites gets an e-mail nudge to the treated arm (a share of its tracked
// links followed: take-up), a good midline response in both arms, then an endline where
// response drops and differs between arms (treatment 45%, control 20%, against a planned 50%).
// After each step every fieldwork_trial_* gauge on the analysis service's /metrics page is
// checked against values this test computes by hand from what it submitted; Prometheus must
// report no response-rate or differential-attrition alert while response is good, and both
// once it drops. The live /metrics pages are compared with tests/monitoring/known_metrics.txt,
// and closing the trial must drop its series.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fieldwork/v1/analysis.grpc.pb.h"
#include "fieldwork/v1/messaging.grpc.pb.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "fieldwork/v1/survey_ingest.grpc.pb.h"
#include "services/analysis/stats/distributions.h"
#include "services/common/grpc_auth.h"
#include "services/survey_link/key_ring.h"
#include "services/survey_link/survey_link_token.h"
#include "tests/e2e/analysis/live_metrics.h"
#include "tests/e2e/analysis/live_stack.h"
#include "tests/testing/process.h"
#include "tests/testing/trial_designs.h"

namespace fieldwork {
namespace {

namespace v1 = ::fieldwork::v1;
using testing::FormatSeries;
using testing::Labels;
using testing::LiveStack;
using testing::SeriesKey;

constexpr char kTrial[] = "monitor-e2e";
constexpr char kCampaign[] = "nudge";
constexpr int kParticipants = 200;
constexpr double kPlannedResponseRate = 0.5;
// PowerUp! mdes.ira with the plan's numbers (n = 200, P = 0.5, R2 = 0, g = 0, alpha = 0.05
// two-tailed, power = 0.8, response rate 0.5: 100 respondents, df = 98), from R:
//   (qt(0.975, 98) + qt(0.8, 98)) * sqrt(1 / (0.5 * 0.5 * 100))
constexpr double kPlannedMdes = 0.565954368826379;
constexpr char kInstrument[] = R"yaml(
id: wb
version: 1
title: Well-being
items:
  - {id: y, label: Well-being, type: numeric, min: 0, max: 10, required: true}
scales:
  - id: wellbeing
    label: Well-being
    items: [y]
    method: mean
    min_answered: 1
)yaml";

const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2021, 1, 4, 9, 0, 0), absl::UTCTimeZone());
const absl::Time kMidlineOpens = kStart;
const absl::Time kEndlineOpens = kStart + absl::Hours(24 * 20);

google::protobuf::Timestamp Ts(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

// What the test did to each participant: its own record, from which every gauge is computed.
struct Participant {
  std::string site;
  std::string arm;
  bool withdrawn = false;
  bool left = false;
  std::set<std::string> responded;  // waves
};

struct Ledger {
  std::map<std::string, Participant> participants;  // by id
  absl::Time now = kStart;
  // Participants who followed the nudge's tracked link, by arm (each got one message).
  std::map<std::string, double> took_up;

  // Active (not withdrawn) participants of `arm`, in id order.
  std::vector<std::string> Active(const std::string& arm) const {
    std::vector<std::string> ids;
    for (const auto& [id, p] : participants) {
      if (p.arm == arm && !p.withdrawn) ids.push_back(id);
    }
    return ids;
  }
};

// Two-proportion z test with the pooled proportion (the same as Pearson's chi-square on the
// 2x2 table, written independently of the service's code): two-sided p.
double TwoProportionPValue(double responded_a, double n_a, double responded_b, double n_b) {
  const double pooled = (responded_a + responded_b) / (n_a + n_b);
  const double se = std::sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b));
  const double z = (responded_a / n_a - responded_b / n_b) / se;
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

// PowerUp! mdes.ira: (t_{1-alpha/2, df} + t_{power, df}) * sqrt((1 - R2) / (P (1 - P) n_eff))
// with n_eff the respondents and df = n_eff - g - 2 (here R2 = 0, g = 0).
double IraMdes(double treated_share, double respondents) {
  const double df = respondents - 2;
  const double multiplier = analysis::TQuantile(0.975, df) + analysis::TQuantile(0.8, df);
  return multiplier * std::sqrt(1 / (treated_share * (1 - treated_share) * respondents));
}

// Every fieldwork_trial_* series the monitor must publish for the trial, by hand.
std::map<SeriesKey, double> ExpectedGauges(const Ledger& ledger) {
  std::map<SeriesKey, double> expected;
  const std::string trial = kTrial;
  const std::vector<std::string> arms = {"control", "treatment"};
  std::map<std::string, double> active, allocated;
  for (const auto& [id, p] : ledger.participants) {
    allocated[p.arm] += 1;
    if (!p.withdrawn) active[p.arm] += 1;
  }
  for (const std::string& arm : arms) {
    std::map<std::string, double> by_site;
    double withdrawn = 0, leavers = 0;
    for (const auto& [id, p] : ledger.participants) {
      if (p.arm != arm) continue;
      if (p.withdrawn) {
        withdrawn += 1;
        continue;
      }
      by_site[p.site] += 1;
      if (p.left) leavers += 1;
    }
    for (const auto& [site, n] : by_site) {
      expected[{"fieldwork_trial_participants", {{"trial", trial}, {"arm", arm}, {"site", site}}}] =
          n;
    }
    expected[{"fieldwork_trial_withdrawn", {{"trial", trial}, {"arm", arm}}}] = withdrawn;
    expected[{"fieldwork_trial_leavers", {{"trial", trial}, {"arm", arm}}}] = leavers;
  }

  const std::map<std::string, absl::Time> opens = {{"midline", kMidlineOpens},
                                                   {"endline", kEndlineOpens}};
  for (const auto& [wave, opened] : opens) {
    const Labels wave_labels = {{"trial", trial}, {"wave", wave}};
    expected[{"fieldwork_trial_expected_response_rate", wave_labels}] = kPlannedResponseRate;
    if (ledger.now >= opened) {
      expected[{"fieldwork_trial_wave_open_seconds", wave_labels}] =
          absl::ToDoubleSeconds(ledger.now - opened);
    }
    std::map<std::string, double> responded;
    for (const std::string& arm : arms) {
      std::map<std::string, double> by_site;
      for (const auto& [id, p] : ledger.participants) {
        if (p.arm != arm || p.withdrawn) continue;
        const double answered = p.responded.count(wave) > 0 ? 1 : 0;
        by_site[p.site] += answered;
        responded[arm] += answered;
      }
      for (const auto& [site, n] : by_site) {
        expected[{"fieldwork_trial_responses",
                  {{"trial", trial}, {"wave", wave}, {"arm", arm}, {"site", site}}}] = n;
      }
      expected[{"fieldwork_trial_response_rate",
                {{"trial", trial}, {"wave", wave}, {"arm", arm}}}] = responded[arm] / active[arm];
    }
    expected[{"fieldwork_trial_differential_attrition", wave_labels}] =
        100 *
        (responded["treatment"] / active["treatment"] - responded["control"] / active["control"]);
    const double all_responded = responded["treatment"] + responded["control"];
    const double all_active = active["treatment"] + active["control"];
    if (all_responded > 0 && all_responded < all_active) {
      expected[{"fieldwork_trial_differential_attrition_pvalue", wave_labels}] =
          TwoProportionPValue(responded["treatment"], active["treatment"], responded["control"],
                              active["control"]);
    }
    expected[{"fieldwork_trial_mdes", {{"trial", trial}, {"wave", wave}, {"kind", "planned"}}}] =
        kPlannedMdes;
    if (all_responded > 0) {
      expected[{"fieldwork_trial_mdes", {{"trial", trial}, {"wave", wave}, {"kind", "achieved"}}}] =
          IraMdes(active["treatment"] / all_active, all_responded);
    }
  }
  // Take-up of the plan's campaign: active participants who clicked / active participants.
  for (const std::string& arm : arms) {
    auto clicked = ledger.took_up.find(arm);
    expected[{"fieldwork_trial_takeup_rate",
              {{"trial", trial}, {"campaign", kCampaign}, {"arm", arm}}}] =
        (clicked == ledger.took_up.end() ? 0.0 : clicked->second) / active[arm];
  }
  // Sample ratio mismatch at 1:1 over every allocated participant: chi-square = (a - b)^2 / N.
  const double a = allocated["treatment"], b = allocated["control"];
  expected[{"fieldwork_trial_srm_pvalue", {{"trial", trial}, {"factor", "arm"}}}] =
      std::erfc(std::sqrt((a - b) * (a - b) / (a + b) / 2));
  return expected;
}

// Polls `condition` every 200 ms for up to `limit`; false when it never held.
bool WaitUntil(const std::function<bool()>& condition, absl::Duration limit = absl::Seconds(90)) {
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return condition();
}

class MonitorEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = std::make_unique<LiveStack>(testing::LiveStackOptions{
        .dir = dir_.path(), .clock_start = kStart, .monitor_interval = absl::Milliseconds(500)});
    randomisation_ = v1::RandomisationService::NewStub(
        grpc::CreateChannel(stack_->randomisation_address(), grpc::InsecureChannelCredentials()));
    survey_ = v1::SurveyIngestService::NewStub(
        grpc::CreateChannel(stack_->survey_ingest_address(), grpc::InsecureChannelCredentials()));
    analysis_ = v1::AnalysisService::NewStub(
        grpc::CreateChannel(stack_->analysis_address(), grpc::InsecureChannelCredentials()));
    messaging_ = v1::MessagingService::NewStub(
        grpc::CreateChannel(stack_->messaging_address(), grpc::InsecureChannelCredentials()));
  }

  // A call context with run.sh's admin token.
  std::unique_ptr<grpc::ClientContext> Researcher() {
    auto context = std::make_unique<grpc::ClientContext>();
    AttachBearerToken(*context, stack_->token());
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return context;
  }

  // The page of a service's /metrics, parsed.
  std::map<SeriesKey, double> AnalysisPage() {
    absl::StatusOr<std::string> text = testing::HttpGet(
        absl::StrCat("http://127.0.0.1:", stack_->MetricsPort("ANALYSIS"), "/metrics"));
    if (!text.ok()) {
      ADD_FAILURE() << text.status();
      return {};
    }
    absl::StatusOr<std::map<SeriesKey, double>> page = testing::ParseMetricsPage(*text);
    if (!page.ok()) ADD_FAILURE() << page.status();
    return page.ok() ? *page : std::map<SeriesKey, double>{};
  }

  double MonitorPasses() {
    const std::map<SeriesKey, double> page = AnalysisPage();
    auto it = page.find({"fieldwork_analysis_monitor_run_seconds_count", {}});
    return it == page.end() ? 0 : it->second;
  }

  // Waits for two monitor passes to finish, so that at least one started after the caller's
  // last change.
  void WaitForMonitorPass() {
    const double before = MonitorPasses();
    ASSERT_TRUE(WaitUntil([&] { return MonitorPasses() >= before + 2; }))
        << "the monitor did not complete two passes (it had " << before << ")";
  }

  // The trial's fieldwork_trial_* series on the analysis page.
  std::map<SeriesKey, double> TrialGauges() {
    std::map<SeriesKey, double> gauges;
    for (const auto& [series, value] : AnalysisPage()) {
      auto trial = series.second.find("trial");
      if (absl::StartsWith(series.first, "fieldwork_trial_") && trial != series.second.end() &&
          trial->second == kTrial) {
        gauges[series] = value;
      }
    }
    return gauges;
  }

  // Every gauge equals the hand-computed value, and there is no other series of the trial.
  void ExpectGaugesMatchLedger(const std::string& step) {
    SCOPED_TRACE(step);
    const std::map<SeriesKey, double> expected = ExpectedGauges(ledger_);
    const std::map<SeriesKey, double> actual = TrialGauges();
    for (const auto& [series, value] : expected) {
      auto it = actual.find(series);
      if (it == actual.end()) {
        ADD_FAILURE() << "missing " << FormatSeries(series) << " (expected " << value << ")";
        continue;
      }
      EXPECT_NEAR(it->second, value, 1e-9 * std::max(1.0, std::fabs(value)))
          << FormatSeries(series);
    }
    for (const auto& [series, value] : actual) {
      EXPECT_TRUE(expected.count(series)) << "unexpected " << FormatSeries(series) << " " << value;
    }
  }

  void Advance(absl::Duration by) {
    absl::StatusOr<absl::Time> now = stack_->AdvanceClock(by);
    ASSERT_TRUE(now.ok()) << now.status();
    ASSERT_EQ(*now, ledger_.now + by) << "the simulated clock moved by someone else";
    ledger_.now = *now;
  }

  void CreateTrial() {
    v1::CreateTrialRequest create;
    *create.mutable_design() = fieldwork::testing::TwoArmsWithinSites(kTrial, {"S1", "S2"});
    v1::CreateTrialResponse created;
    grpc::Status status = randomisation_->CreateTrial(Researcher().get(), create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::LockDesignRequest lock;
    lock.set_trial_id(kTrial);
    v1::LockDesignResponse locked;
    status = randomisation_->LockDesign(Researcher().get(), lock, &locked);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::EnrolRequest enrol;
    enrol.set_trial_id(kTrial);
    for (int i = 0; i < kParticipants; ++i) {
      v1::Participant& p = *enrol.add_participants();
      p.set_participant_id(absl::StrCat("P", 1000 + i));
      p.set_site(i % 2 == 0 ? "S1" : "S2");
    }
    v1::EnrolResponse enrolled;
    status = randomisation_->Enrol(Researcher().get(), enrol, &enrolled);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(enrolled.enrolled(), kParticipants);
    v1::RandomiseRequest randomise;
    randomise.set_trial_id(kTrial);
    v1::RandomiseResponse randomised;
    status = randomisation_->Randomise(Researcher().get(), randomise, &randomised);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::ListAllocationsRequest list;
    list.set_trial_id(kTrial);
    auto context = Researcher();
    auto reader = randomisation_->ListAllocations(context.get(), list);
    v1::ListAllocationsResponse message;
    while (reader->Read(&message)) {
      Participant& p = ledger_.participants[message.allocation().participant_id()];
      p.site = message.allocation().site();
      ASSERT_EQ(message.allocation().assignments_size(), 1);
      p.arm = message.allocation().assignments(0).arm();
    }
    status = reader->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(ledger_.participants.size(), static_cast<size_t>(kParticipants));

    v1::PutInstrumentRequest instrument;
    instrument.set_trial_id(kTrial);
    instrument.mutable_instrument()->set_definition_yaml(kInstrument);
    v1::PutInstrumentResponse put_instrument;
    status = survey_->PutInstrument(Researcher().get(), instrument, &put_instrument);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const auto& [wave_id, opens] : std::vector<std::pair<std::string, absl::Time>>{
             {"midline", kMidlineOpens}, {"endline", kEndlineOpens}}) {
      v1::PutWaveRequest put_wave;
      v1::Wave& wave = *put_wave.mutable_wave();
      wave.set_trial_id(kTrial);
      wave.set_wave_id(wave_id);
      wave.set_instrument_id("wb");
      wave.set_instrument_version(1);
      *wave.mutable_opens_at() = Ts(opens);
      *wave.mutable_closes_at() = Ts(opens + absl::Hours(24 * 60));
      v1::PutWaveResponse put_wave_response;
      status = survey_->PutWave(Researcher().get(), put_wave, &put_wave_response);
      ASSERT_TRUE(status.ok()) << wave_id << ": " << status.error_message();
    }

    v1::RegisterPlanRequest plan_request;
    v1::AnalysisPlan& plan = *plan_request.mutable_plan();
    plan.set_trial_id(kTrial);
    plan.set_factor("arm");
    plan.set_control_arm("control");
    v1::PlannedOutcome& outcome = *plan.add_outcomes();
    outcome.set_name("wellbeing");
    outcome.set_primary(true);
    outcome.mutable_source()->mutable_survey()->set_wave_id("endline");
    outcome.mutable_source()->mutable_survey()->set_score_id("wellbeing");
    v1::PowerAssumptions& power = *plan.mutable_power();
    power.set_n(kParticipants);
    power.set_treated_share(0.5);
    power.set_alpha(0.05);
    power.set_power(0.8);
    power.set_response_rate(kPlannedResponseRate);
    plan.set_takeup_campaign(kCampaign);
    v1::RegisterPlanResponse registered;
    status = analysis_->RegisterPlan(Researcher().get(), plan_request, &registered);
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::LockPlanRequest lock_plan;
    lock_plan.set_trial_id(kTrial);
    v1::LockPlanResponse plan_locked;
    status = analysis_->LockPlan(Researcher().get(), lock_plan, &plan_locked);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Withdraws the first `withdraw` active participants of `arm` and records the next `leave`
  // as leavers.
  void WithdrawAndLeave(const std::string& arm, int withdraw, int leave) {
    const std::vector<std::string> ids = ledger_.Active(arm);
    ASSERT_GE(ids.size(), static_cast<size_t>(withdraw + leave));
    for (int i = 0; i < withdraw + leave; ++i) {
      const std::string& id = ids[static_cast<size_t>(i)];
      grpc::Status status;
      if (i < withdraw) {
        v1::WithdrawRequest request;
        request.set_trial_id(kTrial);
        request.set_participant_id(id);
        request.set_reason("consent withdrawn");
        request.mutable_date()->set_year(2021);
        request.mutable_date()->set_month(1);
        request.mutable_date()->set_day(5);
        v1::WithdrawResponse response;
        status = randomisation_->Withdraw(Researcher().get(), request, &response);
        ledger_.participants[id].withdrawn = true;
      } else {
        v1::RecordLeaverRequest request;
        request.set_trial_id(kTrial);
        request.set_participant_id(id);
        request.mutable_left_on()->set_year(2021);
        request.mutable_left_on()->set_month(1);
        request.mutable_left_on()->set_day(6);
        v1::RecordLeaverResponse response;
        status = randomisation_->RecordLeaver(Researcher().get(), request, &response);
        ledger_.participants[id].left = true;
      }
      ASSERT_TRUE(status.ok()) << id << ": " << status.error_message();
    }
  }

  // An e-mail with a tracked link to every active treated participant through the messaging
  // service's own scheduler and worker (SMTP to run.sh's sink); then the first `share` of the
  // delivered messages have their link followed over HTTP, as a participant's click would.
  void NudgeAndFollowLinks(double share) {
    v1::UpsertContactsRequest contacts;
    contacts.set_trial_id(kTrial);
    for (const std::string& id : ledger_.Active("treatment")) {
      v1::Contact& contact = *contacts.add_contacts();
      contact.set_participant_id(id);
      contact.set_email(absl::StrCat(id, "@example.org"));
      contact.set_first_name("Sam");
    }
    v1::UpsertContactsResponse upserted;
    grpc::Status status = messaging_->UpsertContacts(Researcher().get(), contacts, &upserted);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(upserted.upserted(), contacts.contacts_size()) << upserted.DebugString();

    v1::UpdateTemplateRequest nudge;
    nudge.set_trial_id(kTrial);
    nudge.set_template_id("nudge");
    nudge.mutable_content()->set_subject("Hello {{first_name}}");
    nudge.mutable_content()->set_text_body(
        "Watch {{tracked_link:https://video.example.org/wellbeing}} today");
    v1::UpdateTemplateResponse saved;
    status = messaging_->UpdateTemplate(Researcher().get(), nudge, &saved);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::CreateCampaignRequest create;
    create.set_trial_id(kTrial);
    v1::CampaignDefinition& campaign = *create.mutable_campaign();
    campaign.set_campaign_id(kCampaign);
    campaign.set_kind(v1::CAMPAIGN_KIND_INTERVENTION);
    campaign.add_steps()->set_template_id("nudge");
    campaign.mutable_audience()->set_factor("arm");
    campaign.mutable_audience()->add_arms("treatment");
    campaign.set_channel(v1::MESSAGE_CHANNEL_EMAIL);
    for (int day = 1; day <= 7; ++day) campaign.mutable_window()->add_days(day);
    campaign.mutable_window()->set_end_hour(24);
    campaign.mutable_window()->set_zone(v1::ZONE_SOURCE_TRIAL);
    campaign.set_trial_time_zone("UTC");
    *campaign.mutable_start() = Ts(ledger_.now - absl::Minutes(1));
    v1::CreateCampaignResponse created;
    status = messaging_->CreateCampaign(Researcher().get(), create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::StartCampaignRequest start;
    start.set_trial_id(kTrial);
    start.set_campaign_id(kCampaign);
    v1::StartCampaignResponse started;
    status = messaging_->StartCampaign(Researcher().get(), start, &started);
    ASSERT_TRUE(status.ok()) << status.error_message();
    // Every treated participant is planned; the withdrawn ones (no contact) are skipped.
    const auto treated = std::count_if(ledger_.participants.begin(), ledger_.participants.end(),
                                       [](const auto& p) { return p.second.arm == "treatment"; });
    ASSERT_EQ(started.planned(), static_cast<int64_t>(treated));
    const size_t expected = static_cast<size_t>(contacts.contacts_size());

    ASSERT_TRUE(WaitUntil([&] { return stack_->DeliveredMails().size() >= expected; }))
        << "the SMTP sink received " << stack_->DeliveredMails().size() << " of " << expected
        << " mails";
    const std::vector<std::string> mails = stack_->DeliveredMails();
    ASSERT_EQ(mails.size(), expected);
    const size_t clicks =
        static_cast<size_t>(std::floor(share * static_cast<double>(mails.size())));
    const std::string prefix = stack_->tracking_url() + "/c/";
    for (size_t i = 0; i < clicks; ++i) {
      const size_t at = mails[i].find(prefix);
      ASSERT_NE(at, std::string::npos) << "no " << prefix << " link in " << mails[i];
      const size_t end = mails[i].find_first_of(" \t\r\n\"<>", at);
      const std::string link = mails[i].substr(at, end - at);
      absl::StatusOr<int> followed = testing::HttpStatus(link);
      ASSERT_TRUE(followed.ok()) << followed.status();
      ASSERT_EQ(*followed, 302) << link;
    }
    ledger_.took_up["treatment"] = static_cast<double>(clicks);
  }

  // Responses to `wave` from the first share of each arm's active participants (leavers
  // included), sent alternately from the two arms so that no partial state seen by the monitor
  // differs between the arms by more than one response.
  void Respond(const std::string& wave, const std::map<std::string, double>& share_by_arm) {
    std::vector<std::vector<std::string>> queues;
    for (const auto& [arm, share] : share_by_arm) {
      std::vector<std::string> ids = ledger_.Active(arm);
      ids.resize(static_cast<size_t>(std::floor(share * static_cast<double>(ids.size()))));
      queues.push_back(std::move(ids));
    }
    std::vector<std::string> order;
    for (size_t i = 0; order.size() < queues[0].size() + queues[1].size(); ++i) {
      for (const auto& queue : queues) {
        if (i < queue.size()) order.push_back(queue[i]);
      }
    }
    v1::SubmitResponsesResponse submitted;
    auto context = Researcher();
    auto writer = survey_->SubmitResponses(context.get(), &submitted);
    for (const std::string& id : order) {
      v1::SubmitResponsesRequest request;
      v1::Submission& submission = *request.mutable_submission();
      submission.set_trial_id(kTrial);
      submission.set_wave_id(wave);
      submission.set_participant_id(id);
      submission.set_submission_id(absl::StrCat(wave, "-", id));
      submission.set_finished(true);
      (*submission.mutable_answers())["y"] = "7";
      ASSERT_TRUE(writer->Write(request));
      ledger_.participants[id].responded.insert(wave);
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(submitted.accepted(), static_cast<int64_t>(order.size()))
        << "rejected " << submitted.rejected() << ": " << submitted.DebugString();
  }

  // The two trial-health alerts Prometheus reports for the trial, as "name{wave,arm}: state".
  std::set<std::string> TrialAlerts() {
    std::set<std::string> found;
    absl::StatusOr<std::vector<testing::ActiveAlert>> alerts =
        testing::PrometheusAlerts(stack_->prometheus_url());
    if (!alerts.ok()) {
      ADD_FAILURE() << alerts.status();
      return found;
    }
    for (const testing::ActiveAlert& alert : *alerts) {
      auto label = [&](const char* name) {
        auto it = alert.labels.find(name);
        return it == alert.labels.end() ? std::string() : it->second;
      };
      if (label("trial") != kTrial) continue;
      const std::string name = label("alertname");
      if (name != "FieldworkResponseRateBelowPlan" && name != "FieldworkDifferentialAttrition")
        continue;
      found.insert(
          absl::StrCat(name, "{wave=", label("wave"), ",arm=", label("arm"), "}: ", alert.state));
    }
    return found;
  }

  // True once Prometheus's recorded shortfall for `wave` has the values of the ledger, i.e. a
  // rule evaluation has seen the monitor's current figures.
  bool PrometheusHasShortfall(const std::string& wave) {
    absl::StatusOr<nlohmann::json> result = testing::PrometheusQuery(
        stack_->prometheus_url(),
        absl::StrCat("fieldwork:trial_response_rate:shortfall_points{trial=\"", kTrial,
                     "\",wave=\"", wave, "\"}"));
    if (!result.ok() || result->size() != 2) return false;
    const std::map<SeriesKey, double> expected = ExpectedGauges(ledger_);
    for (const nlohmann::json& sample : *result) {
      const nlohmann::json& metric = sample.at("metric");
      const nlohmann::json& point = sample.at("value");
      if (!metric.contains("arm") || !point.is_array() || point.size() != 2 ||
          !point[1].is_string()) {
        ADD_FAILURE() << "unexpected query result " << sample.dump();
        return false;
      }
      const std::string arm = metric["arm"].get<std::string>();
      const double value = std::stod(point[1].get<std::string>());
      const double rate = expected.at(
          {"fieldwork_trial_response_rate", {{"trial", kTrial}, {"wave", wave}, {"arm", arm}}});
      if (std::fabs(value - 100 * (kPlannedResponseRate - rate)) > 1e-6) return false;
    }
    return true;
  }

  // check_monitoring.py compare-live over the four live /metrics pages.
  void CompareLive(const std::vector<std::pair<std::string, int>>& pages, bool require_all) {
    std::vector<std::string> argv = {"python3",
                                     testing::SourcePath("tests/monitoring/check_monitoring.py"),
                                     "--repo", testing::SourcePath(""), "compare-live"};
    for (const auto& [service, port] : pages) {
      argv.push_back("--page");
      argv.push_back(absl::StrCat(service, "=http://127.0.0.1:", port, "/metrics"));
    }
    if (require_all) argv.push_back("--require-all");
    absl::StatusOr<testing::CommandResult> result = testing::RunCommand(
        argv, {}, absl::StrCat(dir_.path(), "/compare-live-", require_all, ".log"));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0) << result->output;
  }

  testing::TempDir dir_;
  std::unique_ptr<LiveStack> stack_;
  std::unique_ptr<v1::RandomisationService::Stub> randomisation_;
  std::unique_ptr<v1::SurveyIngestService::Stub> survey_;
  std::unique_ptr<v1::AnalysisService::Stub> analysis_;
  std::unique_ptr<v1::MessagingService::Stub> messaging_;
  Ledger ledger_;
};

TEST_F(MonitorEndToEndTest, GaugesMatchHandComputedValuesAndAlertsFireOnceResponseDrops) {
  ASSERT_NO_FATAL_FAILURE(CreateTrial());
  // Day 1: two withdrawals and one leaver in treatment, one withdrawal and two leavers in
  // control.
  ASSERT_NO_FATAL_FAILURE(Advance(absl::Hours(24)));
  ASSERT_NO_FATAL_FAILURE(WithdrawAndLeave("treatment", 2, 1));
  ASSERT_NO_FATAL_FAILURE(WithdrawAndLeave("control", 1, 2));
  ASSERT_NO_FATAL_FAILURE(WaitForMonitorPass());
  ExpectGaugesMatchLedger("day 1: enrolled, randomised, withdrawals and leavers");
  // The treated arm is nudged by e-mail; 30% of the messages' links are followed.
  ASSERT_NO_FATAL_FAILURE(NudgeAndFollowLinks(0.3));
  ASSERT_NO_FATAL_FAILURE(WaitForMonitorPass());
  ExpectGaugesMatchLedger("day 1: nudge and take-up");

  // Day 5: a good midline, 60% in both arms; by day 15 the midline has been open long enough
  // for the response-rate alert to apply, and must not fire.
  ASSERT_NO_FATAL_FAILURE(Advance(absl::Hours(24 * 4)));
  ASSERT_NO_FATAL_FAILURE(Respond("midline", {{"treatment", 0.6}, {"control", 0.6}}));
  ASSERT_NO_FATAL_FAILURE(Advance(absl::Hours(24 * 10)));
  ASSERT_NO_FATAL_FAILURE(WaitForMonitorPass());
  ExpectGaugesMatchLedger("day 15: good midline response");
  ASSERT_TRUE(WaitUntil([&] { return PrometheusHasShortfall("midline"); }))
      << "Prometheus never recorded the midline shortfall of the monitor's figures";
  EXPECT_THAT(TrialAlerts(), ::testing::IsEmpty()) << "alerts while response is good";

  // Day 25: the endline (open since day 20) gets 45% in treatment and 20% in control; by day
  // 35 it has been open 15 days.
  ASSERT_NO_FATAL_FAILURE(Advance(absl::Hours(24 * 10)));
  ASSERT_NO_FATAL_FAILURE(Respond("endline", {{"treatment", 0.45}, {"control", 0.2}}));
  ASSERT_NO_FATAL_FAILURE(Advance(absl::Hours(24 * 10)));
  ASSERT_NO_FATAL_FAILURE(WaitForMonitorPass());
  ExpectGaugesMatchLedger("day 35: endline response dropped, unequal by arm");

  const std::set<std::string> wanted = {
      "FieldworkResponseRateBelowPlan{wave=endline,arm=control}: firing",
      "FieldworkDifferentialAttrition{wave=endline,arm=}: firing"};
  std::set<std::string> firing;
  const bool fired = WaitUntil([&] {
    firing = TrialAlerts();
    return std::includes(firing.begin(), firing.end(), wanted.begin(), wanted.end());
  });
  EXPECT_TRUE(fired) << "expected " << absl::StrJoin(wanted, "; ") << "; Prometheus reports "
                     << absl::StrJoin(firing, "; ");
  // Treatment's 45% is within the 10-point margin of the planned 50%; the midline is fine.
  EXPECT_EQ(firing, wanted);

  // A response from someone not in the trial is rejected, naming the participant; an analysis
  // of the locked plan runs. Both are counted in the services' metrics.
  {
    v1::SubmitResponseRequest request;
    v1::Submission& submission = *request.mutable_submission();
    submission.set_trial_id(kTrial);
    submission.set_wave_id("endline");
    submission.set_participant_id("P9999");
    submission.set_finished(true);
    (*submission.mutable_answers())["y"] = "7";
    v1::SubmitResponseResponse response;
    const grpc::Status rejected = survey_->SubmitResponse(Researcher().get(), request, &response);
    EXPECT_FALSE(rejected.ok() && response.status() == v1::SUBMISSION_STATUS_ACCEPTED)
        << response.DebugString();
    EXPECT_THAT(rejected.error_message() + response.DebugString(), ::testing::HasSubstr("P9999"));
    v1::AnalyseRequest analyse;
    analyse.set_trial_id(kTrial);
    v1::AnalyseResponse analysed;
    const grpc::Status status = analysis_->Analyse(Researcher().get(), analyse, &analysed);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // A participant who has not answered the endline opens their personal survey link (sealed
  // with run.sh's key ring, as messaging seals it) on survey-ingest's form: the form counts the
  // open in its funnel, which the dashboard shows.
  {
    std::string who;
    for (const auto& [id, p] : ledger_.participants) {
      if (who.empty() && !p.withdrawn && !p.left && !p.responded.count("endline")) who = id;
    }
    ASSERT_FALSE(who.empty());
    std::ifstream keys_file(dir_.path() + "/run/secrets/survey_link.keys");  // run.sh's DIR
    const std::string keys_text((std::istreambuf_iterator<char>(keys_file)),
                                std::istreambuf_iterator<char>());
    absl::StatusOr<survey_link::SurveyLinkKeyRing> keys =
        survey_link::SurveyLinkKeyRing::Parse(keys_text, "run.sh's survey_link.keys");
    ASSERT_TRUE(keys.ok()) << keys.status();
    absl::StatusOr<std::string> token = survey_link::SealSurveyLink(
        *keys, {kTrial, "endline", who,
                absl::FromUnixSeconds(absl::ToUnixSeconds(ledger_.now + absl::Hours(24 * 30)))});
    ASSERT_TRUE(token.ok()) << token.status();
    absl::StatusOr<std::string> form =
        testing::HttpGet(absl::StrCat(stack_->Env("FIELDWORK_SURVEY_FORM_URL"), "/s/", *token));
    ASSERT_TRUE(form.ok()) << form.status();
    EXPECT_THAT(*form, ::testing::HasSubstr("<form"));
    const SeriesKey opened = {"fieldwork_survey_ingest_form_funnel_total",
                              {{"trial", kTrial}, {"wave", "endline"}, {"stage", "opened"}}};
    absl::StatusOr<std::string> text = testing::HttpGet(absl::StrCat(
        "http://127.0.0.1:", stack_->MetricsPort("SURVEY_INGEST"), "/metrics"));
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<std::map<SeriesKey, double>> survey_page = testing::ParseMetricsPage(*text);
    ASSERT_TRUE(survey_page.ok()) << survey_page.status();
    EXPECT_EQ((*survey_page)[opened], 1) << FormatSeries(opened);
  }

  // Every family the four services export is listed in known_metrics.txt with its type and
  // labels, and every metric listed for them is exported.
  CompareLive({{"randomisation", stack_->MetricsPort("RANDOMISATION")},
               {"survey-ingest", stack_->MetricsPort("SURVEY_INGEST")},
               {"messaging", stack_->MetricsPort("MESSAGING")},
               {"analysis", stack_->MetricsPort("ANALYSIS")}},
              /*require_all=*/true);

  // The monitor read the trial on every pass without an error.
  const SeriesKey errors = {"fieldwork_analysis_monitor_errors_total", {{"trial", kTrial}}};
  std::map<SeriesKey, double> page = AnalysisPage();
  ASSERT_TRUE(page.count(errors)) << "no " << FormatSeries(errors);
  EXPECT_EQ(page[errors], 0);

  // A closed trial drops its series.
  v1::CloseTrialRequest close;
  close.set_trial_id(kTrial);
  v1::CloseTrialResponse closed;
  grpc::Status status = randomisation_->CloseTrial(Researcher().get(), close, &closed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_NO_FATAL_FAILURE(WaitForMonitorPass());
  EXPECT_THAT(TrialGauges(), ::testing::IsEmpty());
  EXPECT_EQ(AnalysisPage().count(errors), 0u) << FormatSeries(errors) << " outlived the trial";
}

}  // namespace
}  // namespace fieldwork

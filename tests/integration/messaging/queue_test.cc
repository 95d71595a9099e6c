// The send queue's guarantees with concurrent workers in one process, pause/resume/cancel,
// survey reminders against a ResponseLookup, tracked links and forged tokens, and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/messaging/convert.h"
#include "services/messaging/keys.h"
#include "services/messaging/sms_channel.h"
#include "services/messaging/tracking_server.h"
#include "tests/integration/messaging/messaging_fixture.h"
#include "tests/testing/connections.h"

namespace fieldwork::messaging {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

v1::CampaignDefinition NowCampaign(const std::string& id, absl::Time start, int steps,
                                   v1::CampaignKind kind = v1::CAMPAIGN_KIND_INTERVENTION) {
  v1::CampaignDefinition c;
  c.set_campaign_id(id);
  c.set_kind(kind);
  for (int s = 0; s < steps; ++s) {
    v1::CampaignStep* step = c.add_steps();
    step->set_template_id("hello");
    step->mutable_offset()->set_seconds(int64_t{24} * 3600 * s);
    step->set_reminder(kind == v1::CAMPAIGN_KIND_SURVEY_INVITATION && s > 0);
  }
  if (kind == v1::CAMPAIGN_KIND_SURVEY_INVITATION) {
    c.mutable_audience()->set_all_enrolled(true);
    c.set_wave_id("baseline");
    c.set_survey_url_template("https://survey.example.org/s?p={participant_id}");
  } else {
    c.mutable_audience()->set_factor("messages");
    c.mutable_audience()->add_arms("treatment");
    c.mutable_audience()->add_arms("control");
  }
  c.set_channel(v1::MESSAGE_CHANNEL_EMAIL);
  for (int d = 1; d <= 7; ++d) c.mutable_window()->add_days(d);
  c.mutable_window()->set_start_hour(0);
  c.mutable_window()->set_end_hour(24);
  c.mutable_window()->set_zone(v1::ZONE_SOURCE_TRIAL);
  c.set_trial_time_zone("UTC");
  *c.mutable_start() = ToTimestamp(start);
  return c;
}

class QueueTest : public MessagingTest {
 protected:
  int64_t Start(const std::string& trial, const v1::CampaignDefinition& campaign) {
    v1::CreateCampaignRequest create;
    create.set_trial_id(trial);
    *create.mutable_campaign() = campaign;
    absl::StatusOr<v1::CreateCampaignResponse> created = messenger_->CreateCampaign(create);
    EXPECT_TRUE(created.ok()) << created.status();
    v1::StartCampaignRequest start;
    start.set_trial_id(trial);
    start.set_campaign_id(campaign.campaign_id());
    absl::StatusOr<v1::StartCampaignResponse> started = messenger_->StartCampaign(start);
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? started->planned() : -1;
  }

  // `trial` with `n` participants and a one-step campaign due now, moved into the stream, read
  // and claimed by `consumer`: one claimed e-mail per participant, as a worker holds them just
  // before delivery.
  std::vector<Completion> ClaimOneStep(const std::string& trial, int n,
                                       const std::string& consumer) {
    CreateTwoArmTrial(trial, n);
    SaveTemplate(trial, "hello");
    clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
    EXPECT_EQ(Start(trial, NowCampaign("c", clock_.Now(), 1)), n);
    EXPECT_TRUE(scheduler_->RunOnce().ok());
    absl::StatusOr<std::vector<StreamEntry>> entries =
        queue_->Read(trial, consumer, 100, absl::ZeroDuration());
    EXPECT_TRUE(entries.ok()) << entries.status();
    if (!entries.ok()) return {};
    absl::StatusOr<std::vector<ClaimResult>> claims =
        queue_->Claim(trial, consumer, *entries, ToMs(clock_.Now()));
    EXPECT_TRUE(claims.ok()) << claims.status();
    if (!claims.ok()) return {};
    std::vector<Completion> claimed;
    for (size_t i = 0; i < entries->size(); ++i) {
      EXPECT_EQ((*claims)[i].kind, ClaimResult::Kind::kClaimed);
      Completion c;
      c.entry = (*entries)[i];
      c.attempt = (*claims)[i].attempt;
      c.channel = "email";
      claimed.push_back(c);
    }
    return claimed;
  }

  // Entries of `trial`'s stream delivered to a worker and not yet acknowledged (-1: unreadable).
  int64_t Pending(const std::string& trial) {
    absl::StatusOr<RedisReply> reply =
        redis_->Command({"XPENDING", keys::Stream(trial), std::string(keys::kGroup)});
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() && reply->size() > 0 ? (*reply)[0].integer() : -1;
  }

  std::map<std::string, int> CountByKey() const {
    std::map<std::string, int> out;
    for (const auto& line : Delivered()) out[line.at("key")] += 1;
    return out;
  }
};

TEST_F(QueueTest, FourConcurrentWorkersDeliverEverySendExactlyOnce) {
  CreateTwoArmTrial("concurrent", 500);
  SaveTemplate("concurrent", "hello");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  const int64_t planned = Start("concurrent", NowCampaign("c", clock_.Now(), 2));
  ASSERT_EQ(planned, 1000);
  clock_.Advance(absl::Hours(25));  // both steps due
  ASSERT_TRUE(scheduler_->RunOnce().ok());
  std::vector<std::unique_ptr<Worker>> workers;
  WorkerOptions options;
  options.batch = 20;
  for (int i = 0; i < 4; ++i) workers.push_back(NewWorker(absl::StrCat("w", i), nullptr, options));
  std::vector<std::thread> threads;
  std::atomic<int> done{0};
  for (auto& w : workers) {
    threads.emplace_back([&, worker = w.get()] {
      for (int idle = 0; idle < 20;) {
        absl::StatusOr<int> n = worker->RunOnce();
        ASSERT_TRUE(n.ok()) << n.status();
        done += *n;
        idle = *n == 0 ? idle + 1 : 0;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const std::map<std::string, int> counts = CountByKey();
  EXPECT_EQ(counts.size(), 1000u);
  for (const auto& [key, n] : counts) EXPECT_EQ(n, 1) << key;
  EXPECT_EQ(done.load(), 1000);
}

TEST_F(QueueTest, SentRecordsAreWrittenBeforeFinishAndRecordingAgainCountsOnce) {
  const std::vector<Completion> sent = ClaimOneStep("recorder", 10, "w");
  ASSERT_EQ(sent.size(), 10u);
  const int64_t now = ToMs(clock_.Now());
  SentRecorder recorder = queue_->RecordSent("recorder", "w");
  for (const Completion& c : sent) ASSERT_TRUE(recorder.Record(c, now).ok());
  v1::GetCampaignStatusRequest request;
  request.set_trial_id("recorder");
  request.set_campaign_id("c");
  // Each record is in Redis's hands before Finish reads a reply (window 5).
  int64_t recorded = 0;
  for (int tries = 0; tries < 200 && recorded < 10; ++tries) {
    absl::StatusOr<v1::GetCampaignStatusResponse> status = messenger_->GetCampaignStatus(request);
    ASSERT_TRUE(status.ok()) << status.status();
    recorded = status->steps(0).sent();
    if (recorded < 10) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(recorded, 10);
  // The entries leave the pending list and the stream only once Finish has the confirmations.
  EXPECT_EQ(Pending("recorder"), 10);
  EXPECT_TRUE(recorder.Finish().empty()) << "every record was confirmed";
  EXPECT_EQ(Pending("recorder"), 0);
  EXPECT_EQ(redis_->Command({"XLEN", keys::Stream("recorder")})->integer(), 0);
  // What a worker does with records Redis did not confirm: write them again. Already recorded,
  // they change nothing: no second count, no second event, nothing pending.
  auto events = [&] { return redis_->Command({"XLEN", keys::Events("recorder")})->integer(); };
  const long long events_before = events();
  ASSERT_TRUE(queue_->Complete("recorder", "w", sent, now).ok());
  EXPECT_EQ(events(), events_before);
  absl::StatusOr<v1::GetCampaignStatusResponse> status = messenger_->GetCampaignStatus(request);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->steps(0).sent(), 10);
  absl::StatusOr<SendQueue::Depth> depth = queue_->QueueDepth("recorder");
  ASSERT_TRUE(depth.ok());
  EXPECT_EQ(depth->in_stream, 0);
}

// Has Redis close every client connection (every master's, on a cluster), the caller's own
// among them, and waits until the closes have reached this process: as they would have long
// before the next command on any machine not too busy to run the softirq that takes a loopback
// FIN in, so a poll on a closed connection now says so.
void CloseEveryConnection(RedisClient& redis) {
  absl::StatusOr<std::vector<RedisClient::ServerReply>> masters =
      redis.CommandOnEveryMaster({"CONFIG", "GET", "port"});
  ASSERT_TRUE(masters.ok()) << masters.status();
  std::set<int> ports;
  for (const RedisClient::ServerReply& master : *masters) {  // ["port", "<port>"]
    ports.insert(std::stoi(std::string(master.reply[1].str())));
  }
  const std::set<std::string> open = fieldwork::testing::EstablishedConnectionsTo(ports);
  ASSERT_FALSE(open.empty()) << "this process's connections to Redis were not found";
  ASSERT_TRUE(
      redis.CommandOnEveryMaster({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"}).ok());
  ASSERT_TRUE(fieldwork::testing::WaitUntilNoneEstablished(open, absl::Seconds(10)))
      << "Redis's closes did not reach this process";
}

// Redis closing the recording connection mid-batch (it restarted, or killed the client): a
// write to it still succeeds in the kernel and is lost, so the record says so at once, writes
// nothing more to it, and Finish names what Redis never ran.
TEST_F(QueueTest, ARecordWrittenToAConnectionRedisClosedIsReportedAtOnce) {
  const std::vector<Completion> sent = ClaimOneStep("closed", 3, "w");
  ASSERT_EQ(sent.size(), 3u);
  const int64_t now = ToMs(clock_.Now());
  SentRecorder recorder = queue_->RecordSent("closed", "w");
  ASSERT_TRUE(recorder.Record(sent[0], now).ok());
  CloseEveryConnection(*redis_);
  EXPECT_EQ(recorder.Record(sent[1], now).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(recorder.Record(sent[2], now).code(), absl::StatusCode::kUnavailable);
  std::vector<std::string> unconfirmed;
  for (const Completion& c : recorder.Finish()) unconfirmed.push_back(c.entry.id);
  // On a cluster the first record counts only once a replica has it, and the WAIT that would
  // say so cannot be sent on the closed connection: it is unconfirmed too (and written again).
  const bool cluster = redis_server_->cluster() != nullptr;
  if (cluster) {
    EXPECT_THAT(unconfirmed,
                ::testing::ElementsAre(sent[0].entry.id, sent[1].entry.id, sent[2].entry.id));
  } else {
    EXPECT_THAT(unconfirmed, ::testing::ElementsAre(sent[1].entry.id, sent[2].entry.id));
  }
  v1::GetCampaignStatusRequest request;
  request.set_trial_id("closed");
  request.set_campaign_id("c");
  absl::StatusOr<v1::GetCampaignStatusResponse> status = messenger_->GetCampaignStatus(request);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->steps(0).sent(), 1) << "only the record written before the close was run";
  EXPECT_EQ(Pending("closed"), cluster ? 3 : 2) << "a confirmed record's entry is acknowledged";
}

// Delivers to the file channel; before each delivery, waits (up to 10 s) until every message it
// delivered before is recorded sent, and counts the deliveries that found one unrecorded; before
// the fourth it has Redis close every connection, the worker's recording one among them.
class RecordCheckingChannel final : public MessageChannel {
 public:
  RecordCheckingChannel(MessageChannel& inner, RedisClient& redis,
                        std::function<int64_t()> sent_count)
      : inner_(inner), redis_(redis), sent_count_(std::move(sent_count)) {}

  DeliveryOutcome Deliver(const OutgoingMessage& message) override {
    if (delivered_ == 3) CloseEveryConnection(redis_);
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (sent_count_() < delivered_ && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (sent_count_() < delivered_) ++delivered_with_an_earlier_unrecorded_;
    ++delivered_;
    return inner_.Deliver(message);
  }

  int delivered_with_an_earlier_unrecorded() const { return delivered_with_an_earlier_unrecorded_; }

 private:
  MessageChannel& inner_;
  RedisClient& redis_;
  std::function<int64_t()> sent_count_;
  int delivered_ = 0;
  int delivered_with_an_earlier_unrecorded_ = 0;
};

// Window 5 stays one message when Redis closes the worker's recording connection mid-batch:
// the records the batch had written to it unconfirmed are written again, waiting for Redis,
// before the next delivery (not at the end of the batch, which a crash might not reach).
TEST_F(QueueTest, AWorkerRecordsAgainBeforeItsNextDeliveryWhenRedisClosedTheRecordingConnection) {
  CreateTwoArmTrial("closing", 8);
  SaveTemplate("closing", "hello");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  ASSERT_EQ(Start("closing", NowCampaign("c", clock_.Now(), 1)), 8);
  v1::GetCampaignStatusRequest request;
  request.set_trial_id("closing");
  request.set_campaign_id("c");
  RecordCheckingChannel channel(*file_channel_, *redis_, [&]() -> int64_t {
    absl::StatusOr<v1::GetCampaignStatusResponse> status = messenger_->GetCampaignStatus(request);
    return status.ok() ? status->steps(0).sent() : -1;
  });
  std::unique_ptr<Worker> worker = NewWorker("w", &channel);
  EXPECT_EQ(DrainNow(*worker), 8);
  EXPECT_EQ(channel.delivered_with_an_earlier_unrecorded(), 0);
  EXPECT_EQ(CountByKey().size(), 8u);
  EXPECT_EQ(Pending("closing"), 0);
}

// Window 7: a worker that dies after its "sent" records are in Redis but before its batch's
// entries are acknowledged leaves them pending; the worker that reclaims them only
// acknowledges them.
TEST_F(QueueTest, SentMessagesLeftPendingByADeadWorkerAreAcknowledgedNotSentAgain) {
  const std::vector<Completion> sent = ClaimOneStep("unacked", 5, "dead");
  ASSERT_EQ(sent.size(), 5u);
  {
    SentRecorder recorder = queue_->RecordSent("unacked", "dead");
    for (const Completion& c : sent) ASSERT_TRUE(recorder.Record(c, ToMs(clock_.Now())).ok());
    // Dies here, before Finish: the records are written, the entries not acknowledged.
  }
  const std::string stream = keys::Stream("unacked");
  const std::string group(keys::kGroup);
  ASSERT_EQ(Pending("unacked"), 5);
  for (const Completion& c : sent) {  // idle for two hours, as a dead consumer's would be
    ASSERT_TRUE(redis_
                    ->Command({"XCLAIM", stream, group, "dead", "0", c.entry.id, "IDLE",
                               "7200000", "JUSTID"})
                    .ok());
  }

  std::unique_ptr<Worker> worker = NewWorker("live");
  DrainNow(*worker);
  EXPECT_TRUE(Delivered().empty()) << "a message recorded sent was delivered again";
  EXPECT_EQ(Pending("unacked"), 0);
  EXPECT_EQ(redis_->Command({"XLEN", stream})->integer(), 0);
  v1::GetCampaignStatusRequest request;
  request.set_trial_id("unacked");
  request.set_campaign_id("c");
  absl::StatusOr<v1::GetCampaignStatusResponse> status = messenger_->GetCampaignStatus(request);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->steps(0).sent(), 5);
}

// A listing of some kinds of event (the analysis service's opens and clicks) skips the others
// before building them, page after page of the log: the two engagement events among 3,700
// send events come back, in order, and a listing resumed after the first finds the second.
TEST_F(QueueTest, EventsOfTheKindsAskedAreFoundAcrossPagesOfOtherEvents) {
  const std::string events_key = keys::Events("kinds");
  std::vector<std::vector<std::string>> adds;
  auto add = [&](const std::string& kind, int i) {
    adds.push_back({"XADD", events_key, "*", "e", kind, "c", "c", "s", "0", "p",
                    absl::StrCat("p", i), "t", absl::StrCat(1609459200000 + i)});
  };
  for (int i = 0; i < 2500; ++i) add("sent", i);
  add("opened", 7);
  for (int i = 2500; i < 3700; ++i) add("sent", i);
  add("clicked", 8);
  ASSERT_TRUE(redis_->Pipeline(adds).ok());

  const std::vector<v1::MessageEvent> engagement =
      Events("kinds", {v1::EVENT_KIND_OPENED, v1::EVENT_KIND_CLICKED});
  ASSERT_EQ(engagement.size(), 2u);
  EXPECT_EQ(engagement[0].kind(), v1::EVENT_KIND_OPENED);
  EXPECT_EQ(engagement[0].participant_id(), "p7");
  EXPECT_EQ(engagement[1].kind(), v1::EVENT_KIND_CLICKED);
  EXPECT_EQ(engagement[1].participant_id(), "p8");
  const std::vector<v1::MessageEvent> after_first =
      Events("kinds", {v1::EVENT_KIND_OPENED, v1::EVENT_KIND_CLICKED}, engagement[0].cursor());
  ASSERT_EQ(after_first.size(), 1u);
  EXPECT_EQ(after_first[0].kind(), v1::EVENT_KIND_CLICKED);
  EXPECT_EQ(Events("kinds", {v1::EVENT_KIND_SENT}).size(), 3700u);
  EXPECT_EQ(Events("kinds").size(), 3702u);
}

// A trial planned from 6 Dec 2026 on keeps its opens and clicks in an engagement log as well,
// under the events' own ids: a listing of opens and clicks reads the log (an opened event
// written to the event log alone, as an older version would, is not in it), its cursors are
// the event log's, and an opt-out stays out of it.
TEST_F(QueueTest, OpensAndClicksOfANewTrialAreReadFromItsEngagementLog) {
  ASSERT_EQ(ClaimOneStep("logged", 3, "w").size(), 3u);
  EXPECT_EQ(redis_->Command({"EXISTS", keys::EngagementLogged("logged")})->integer(), 1);
  const absl::Time t = clock_.Now();
  ASSERT_TRUE(store_->RecordEngagement("logged", "c", 0, "p1", "opened", 0, t).ok());
  ASSERT_TRUE(redis_
                  ->Command({"XADD", keys::Events("logged"), "*", "e", "opened", "c", "c", "s", "0",
                             "p", "ghost", "t", absl::StrCat(ToMs(t))})
                  .ok());
  ASSERT_TRUE(store_->RecordEngagement("logged", "c", 0, "p2", "clicked", 0, t).ok());
  ASSERT_TRUE(store_->RecordEngagement("logged", "c", 0, "p3", "opted_out", 0, t).ok());

  const std::vector<v1::MessageEvent> engagement =
      Events("logged", {v1::EVENT_KIND_OPENED, v1::EVENT_KIND_CLICKED});
  ASSERT_EQ(engagement.size(), 2u);
  EXPECT_EQ(engagement[0].participant_id(), "p1");
  EXPECT_EQ(engagement[1].participant_id(), "p2");
  std::map<std::string, std::string> cursor_of;  // participant -> cursor in the event log
  for (const v1::MessageEvent& e : Events("logged")) {
    if (e.kind() == v1::EVENT_KIND_OPENED || e.kind() == v1::EVENT_KIND_CLICKED) {
      cursor_of[e.participant_id()] = e.cursor();
    }
  }
  EXPECT_EQ(cursor_of.size(), 3u) << "the event log has both, and the ghost";
  EXPECT_EQ(engagement[0].cursor(), cursor_of["p1"]);
  EXPECT_EQ(engagement[1].cursor(), cursor_of["p2"]);
  EXPECT_EQ(redis_->Command({"XLEN", keys::EngagementLog("logged")})->integer(), 2);
}

TEST_F(QueueTest, PauseHoldsSendsAndResumeDeliversEachOnce) {
  CreateTwoArmTrial("pause", 200);
  SaveTemplate("pause", "hello");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  ASSERT_EQ(Start("pause", NowCampaign("p", clock_.Now(), 1)), 200);
  WorkerOptions options;
  options.batch = 50;
  std::unique_ptr<Worker> worker = NewWorker("w1", nullptr, options);
  // Deliver one batch, then pause with the rest already in the stream.
  ASSERT_TRUE(scheduler_->RunOnce().ok());
  ASSERT_TRUE(worker->RunOnce().ok());
  const size_t before_pause = Delivered().size();
  EXPECT_EQ(before_pause, 50u);
  ASSERT_TRUE(messenger_->PauseCampaign("pause", "p").ok());
  ASSERT_TRUE(messenger_->PauseCampaign("pause", "p").ok());  // pausing twice is fine
  DrainNow(*worker);
  clock_.Advance(absl::Hours(24));
  DrainNow(*worker);
  EXPECT_EQ(Delivered().size(), before_pause);  // nothing goes out while paused
  v1::GetCampaignStatusRequest status_request;
  status_request.set_trial_id("pause");
  status_request.set_campaign_id("p");
  EXPECT_EQ(messenger_->GetCampaignStatus(status_request)->state(), v1::CAMPAIGN_STATE_PAUSED);

  ASSERT_TRUE(messenger_->ResumeCampaign("pause", "p").ok());
  DrainNow(*worker);
  const std::map<std::string, int> counts = CountByKey();
  EXPECT_EQ(counts.size(), 200u);
  for (const auto& [key, n] : counts) EXPECT_EQ(n, 1) << key;
  EXPECT_EQ(messenger_->GetCampaignStatus(status_request)->steps(0).sent(), 200);
}

TEST_F(QueueTest, CancelDropsUnsentSendsAndRecordsThem) {
  CreateTwoArmTrial("cancel", 50);
  SaveTemplate("cancel", "hello");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  ASSERT_EQ(Start("cancel", NowCampaign("c", clock_.Now(), 3)), 150);
  std::unique_ptr<Worker> worker = NewWorker("w1");
  DrainNow(*worker);
  EXPECT_EQ(Delivered().size(), 50u);
  v1::CancelCampaignRequest cancel;
  cancel.set_trial_id("cancel");
  cancel.set_campaign_id("c");
  // The reason is stored on every dropped message: a huge or multi-line one is refused, and the
  // campaign is untouched.
  for (const std::string& bad : {std::string(501, 'x'), std::string("two\nlines")}) {
    cancel.set_reason(bad);
    EXPECT_EQ(messenger_->CancelCampaign(cancel).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  v1::GetCampaignStatusRequest status_request;
  status_request.set_trial_id("cancel");
  status_request.set_campaign_id("c");
  EXPECT_NE(messenger_->GetCampaignStatus(status_request)->state(),
            v1::CAMPAIGN_STATE_CANCELLED);
  cancel.set_reason("partner withdrew the site");
  absl::StatusOr<v1::CancelCampaignResponse> cancelled = messenger_->CancelCampaign(cancel);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->dropped(), 100);
  clock_.Advance(absl::Hours(24 * 5));
  DrainNow(*worker);
  EXPECT_EQ(Delivered().size(), 50u);
  int cancelled_events = 0;
  for (const v1::MessageEvent& e : Events("cancel")) {
    if (e.kind() == v1::EVENT_KIND_CANCELLED) {
      ++cancelled_events;
      EXPECT_EQ(e.detail(), "partner withdrew the site");
    }
  }
  EXPECT_EQ(cancelled_events, 100);
  v1::ResumeCampaignRequest resume;
  EXPECT_EQ(messenger_->ResumeCampaign("cancel", "c").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(QueueTest, RemindersSkipParticipantsWhoRespondedAfterTheInvitation) {
  const std::map<std::string, std::string> arms = CreateTwoArmTrial("survey", 20);
  SaveTemplate("survey", "hello");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  ASSERT_EQ(Start("survey", NowCampaign("baseline-invite", clock_.Now(), 2,
                                        v1::CAMPAIGN_KIND_SURVEY_INVITATION)),
            40);
  RespondedSet responses;
  WorkerDeps deps;
  deps.queue = queue_.get();
  deps.store = store_.get();
  deps.allocations = allocations_.get();
  deps.responses = &responses;
  deps.signer = signer_.get();
  deps.email = file_channel_.get();
  deps.clock = &clock_;
  WorkerOptions options;
  options.block = absl::ZeroDuration();
  Worker worker(deps, options);
  DrainNow(worker);
  EXPECT_EQ(Delivered().size(), 20u);  // invitations to everyone, whatever their arm
  for (const auto& line : Delivered()) {
    EXPECT_THAT(line.at("text"), HasSubstr("P"));
  }
  for (int i = 0; i < 20; i += 2) responses.responded.insert(absl::StrCat("survey/p", i));
  clock_.Advance(absl::Hours(24));
  DrainNow(worker);
  std::map<std::string, int> received;
  for (const auto& line : Delivered()) received[line.at("to")] += 1;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(received[absl::StrCat("p", i, "@example.org")], i % 2 == 0 ? 1 : 2) << i;
  }
  int skipped = 0;
  for (const v1::MessageEvent& e : Events("survey")) {
    if (e.kind() == v1::EVENT_KIND_SKIPPED) {
      ++skipped;
      EXPECT_THAT(e.detail(), HasSubstr("already_responded"));
    }
  }
  EXPECT_EQ(skipped, 10);
}

TEST_F(QueueTest, TrackedLinksRecordClicksAndForgedTokensAreRefused) {
  CreateTwoArmTrial("links", 4);
  SaveTemplate("links", "hello");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  ASSERT_EQ(Start("links", NowCampaign("c", clock_.Now(), 1)), 4);
  TrackingServer tracking(*store_, *signer_, clock_, metrics_.get(), "webhook-secret");
  ASSERT_TRUE(tracking.Start("127.0.0.1", 0).ok());
  WorkerOptions options;
  options.link_base_url = absl::StrCat("http://127.0.0.1:", tracking.port());
  std::unique_ptr<Worker> worker = NewWorker("w1", nullptr, options);
  // The take-up version (the analysis monitor re-reads take-up when it moves): sends leave it,
  // every recorded click moves it.
  auto engagement_version = [&] {
    v1::GetEngagementVersionRequest request;
    request.set_trial_id("links");
    absl::StatusOr<v1::GetEngagementVersionResponse> version =
        messenger_->GetEngagementVersion(request);
    EXPECT_TRUE(version.ok()) << version.status();
    return version.ok() ? version->version() : "";
  };
  const std::string before_sends = engagement_version();
  DrainNow(*worker);
  ASSERT_EQ(Delivered().size(), 4u);
  EXPECT_EQ(engagement_version(), before_sends);
  const std::string text = Delivered()[0].at("text");
  const size_t at = text.find("/c/");
  ASSERT_NE(at, std::string::npos) << text;
  const std::string token = text.substr(at + 3, text.find(' ', at) - at - 3);

  httplib::Client client("127.0.0.1", tracking.port());
  auto clicked = client.Get(("/c/" + token).c_str());
  ASSERT_TRUE(clicked);
  EXPECT_EQ(clicked->status, 302);
  EXPECT_EQ(clicked->get_header_value("Location"), "https://video.example.org/w");
  const std::string after_click = engagement_version();
  EXPECT_NE(after_click, before_sends);
  auto again = client.Get(("/c/" + token).c_str());  // a second click: counted once
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 302);
  EXPECT_NE(engagement_version(), after_click);  // an event of its own

  std::string altered = token;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  auto forged = client.Get(("/c/" + altered).c_str());
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);
  auto garbage = client.Get("/c/not-a-token");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 403);

  int clicks = 0;
  for (const v1::MessageEvent& e : Events("links")) {
    if (e.kind() == v1::EVENT_KIND_CLICKED) ++clicks;
  }
  EXPECT_EQ(clicks, 2);  // both real clicks are events; the forged ones left no trace
  v1::GetCampaignStatusRequest status_request;
  status_request.set_trial_id("links");
  status_request.set_campaign_id("c");
  EXPECT_EQ(messenger_->GetCampaignStatus(status_request)->steps(0).clicked(), 1);

  // The SMS gateway's webhook: STOP from a known number opts that participant out of SMS.
  auto unauthorised = client.Post("/sms/inbound", "From=%2B447700900001&Body=STOP",
                                  "application/x-www-form-urlencoded");
  ASSERT_TRUE(unauthorised);
  EXPECT_EQ(unauthorised->status, 403);
  httplib::Headers headers = {{"Authorization", "Bearer webhook-secret"}};
  auto stop = client.Post("/sms/inbound", headers, "From=%2B447700900001&Body=Stop%20please",
                          "application/x-www-form-urlencoded");
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 200);
  absl::StatusOr<std::map<std::string, OptOuts>> opt_outs = store_->GetOptOuts("links", {"p1"});
  ASSERT_TRUE(opt_outs.ok());
  EXPECT_TRUE(opt_outs->at("p1").sms);
  tracking.Stop();
}

TEST_F(QueueTest, BadInputIsRefusedNamingTheField) {
  CreateTwoArmTrial("bad", 2);
  SaveTemplate("bad", "hello");
  // Unknown trial: starting a campaign asks randomisation, which does not know it.
  v1::CreateCampaignRequest create;
  create.set_trial_id("no-such-trial");
  *create.mutable_campaign() = NowCampaign("c", clock_.Now(), 1);
  absl::StatusOr<v1::CreateCampaignResponse> created = messenger_->CreateCampaign(create);
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.status().message(), HasSubstr("campaign.steps[0].template_id"));
  SaveTemplate("no-such-trial", "hello");
  ASSERT_TRUE(messenger_->CreateCampaign(create).ok());
  v1::StartCampaignRequest unknown;
  unknown.set_trial_id("no-such-trial");
  unknown.set_campaign_id("c");
  absl::StatusOr<v1::StartCampaignResponse> unknown_started = messenger_->StartCampaign(unknown);
  ASSERT_FALSE(unknown_started.ok());
  EXPECT_EQ(unknown_started.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown_started.status().message(), HasSubstr("trial_id"));
  // A campaign with several problems reports each, by field.
  create.set_trial_id("bad");
  v1::CampaignDefinition broken = NowCampaign("c", clock_.Now(), 1);
  broken.mutable_window()->set_start_hour(20);
  broken.mutable_window()->set_end_hour(8);
  broken.mutable_audience()->clear_arms();
  broken.set_trial_time_zone("Mars/Olympus");
  *create.mutable_campaign() = broken;
  created = messenger_->CreateCampaign(create);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(created.status().message(), HasSubstr("window"));
  EXPECT_THAT(created.status().message(), HasSubstr("audience.arms"));
  EXPECT_THAT(created.status().message(), HasSubstr("trial_time_zone"));
  // Bad ids.
  create.set_trial_id("bad trial");
  created = messenger_->CreateCampaign(create);
  EXPECT_THAT(created.status().message(), HasSubstr("trial_id"));
  // Bad contacts: every bad row, with its position and field; good rows are stored.
  v1::UpsertContactsRequest contacts;
  contacts.set_trial_id("bad");
  v1::Contact* good = contacts.add_contacts();
  good->set_participant_id("p0");
  good->set_email("p0@example.org");
  v1::Contact* no_at = contacts.add_contacts();
  no_at->set_participant_id("p1");
  no_at->set_email("not-an-address");
  v1::Contact* nothing = contacts.add_contacts();
  nothing->set_participant_id("p2");
  v1::Contact* bad_zone = contacts.add_contacts();
  bad_zone->set_participant_id("p3");
  bad_zone->set_phone("+447700900123");
  bad_zone->set_time_zone("Nowhere/Land");
  absl::StatusOr<v1::UpsertContactsResponse> upserted = messenger_->UpsertContacts(contacts, ParticipantScope());
  ASSERT_TRUE(upserted.ok()) << upserted.status();
  EXPECT_EQ(upserted->upserted(), 1);
  ASSERT_EQ(upserted->errors_size(), 3);
  EXPECT_EQ(upserted->errors(0).row(), 2);
  EXPECT_EQ(upserted->errors(0).field(), "email");
  EXPECT_THAT(upserted->errors(0).reason(), ::testing::Not(HasSubstr("not-an-address")));
  EXPECT_EQ(upserted->errors(1).row(), 3);
  EXPECT_EQ(upserted->errors(2).row(), 4);
  EXPECT_EQ(upserted->errors(2).field(), "time_zone");
  // Unknown campaign.
  v1::StartCampaignRequest start;
  start.set_trial_id("bad");
  start.set_campaign_id("missing");
  absl::StatusOr<v1::StartCampaignResponse> started = messenger_->StartCampaign(start);
  EXPECT_EQ(started.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(started.status().message(), HasSubstr("campaign_id"));
  // A template with an unknown placeholder.
  v1::UpdateTemplateRequest tmpl;
  tmpl.set_trial_id("bad");
  tmpl.set_template_id("t");
  tmpl.mutable_content()->set_subject("Hi {{last_name}}");
  tmpl.mutable_content()->set_text_body("x");
  absl::StatusOr<v1::UpdateTemplateResponse> saved = messenger_->UpdateTemplate(tmpl);
  EXPECT_EQ(saved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(saved.status().message(), HasSubstr("subject"));
}

// SMS through an HTTP gateway (a local cpp-httplib server standing in for a Twilio-style API):
// a form POST with the bearer token and the idempotency key; a 503 is retried, a 400 is
// dead-lettered.
TEST_F(QueueTest, SmsGoesToTheHttpGatewayAsAFormWithTheBearerToken) {
  CreateTwoArmTrial("sms", 6);
  SaveTemplate("sms", "hello");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  v1::CampaignDefinition campaign = NowCampaign("texts", clock_.Now(), 1);
  campaign.set_channel(v1::MESSAGE_CHANNEL_SMS);
  ASSERT_EQ(Start("sms", campaign), 6);

  std::mutex mutex;
  std::vector<std::map<std::string, std::string>> posts;
  std::atomic<int> fail_next{6};
  httplib::Server gateway;
  gateway.Post("/send", [&](const httplib::Request& req, httplib::Response& res) {
    if (fail_next.fetch_sub(1) > 0) {
      res.status = 503;
      return;
    }
    std::lock_guard<std::mutex> lock(mutex);
    posts.push_back({{"auth", req.get_header_value("Authorization")},
                     {"key", req.get_header_value("Idempotency-Key")},
                     {"to", req.get_param_value("To")},
                     {"from", req.get_param_value("From")},
                     {"body", req.get_param_value("Body")},
                     {"reference", req.get_param_value("Reference")}});
    res.status = req.get_param_value("To") == "+447700900005" ? 400 : 201;
  });
  const int port = gateway.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { gateway.listen_after_bind(); });
  SmsChannel channel(
      SmsOptions{absl::StrCat("http://127.0.0.1:", port, "/send"), "gw-token", "Study"});
  WorkerDeps deps;
  deps.queue = queue_.get();
  deps.store = store_.get();
  deps.allocations = allocations_.get();
  deps.signer = signer_.get();
  deps.sms = &channel;
  deps.clock = &clock_;
  WorkerOptions options;
  options.block = absl::ZeroDuration();
  Worker worker(deps, options);
  EXPECT_EQ(DrainNow(worker), 6);  // every first attempt answered 503: rescheduled
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(DrainNow(worker), 6);
  gateway.stop();
  serving.join();

  ASSERT_EQ(posts.size(), 6u);
  for (const auto& post : posts) {
    EXPECT_EQ(post.at("auth"), "Bearer gw-token");
    EXPECT_EQ(post.at("from"), "Study");
    EXPECT_EQ(post.at("key"), post.at("reference"));
    EXPECT_THAT(post.at("body"), HasSubstr("Hi P"));
    EXPECT_THAT(post.at("key"), HasSubstr("sms:texts:0:p"));
  }
  v1::ListDeadLettersRequest list;
  list.set_trial_id("sms");
  absl::StatusOr<v1::ListDeadLettersResponse> dead = messenger_->ListDeadLetters(list);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->dead_letters_size(), 1);
  EXPECT_EQ(dead->dead_letters(0).participant_id(), "p5");
  EXPECT_THAT(dead->dead_letters(0).last_error(), HasSubstr("400"));
  EXPECT_EQ(dead->dead_letters(0).attempts(), 2);
}

// The waitlist arm gets the intervention after the endline closes: the campaign is planned
// from the wave's closing time, and the allocation guard still keeps treatment out of it.
TEST_F(QueueTest, WaitlistCampaignStartsWhenTheNamedWaveCloses) {
  const std::map<std::string, std::string> arms = CreateTwoArmTrial("waitlist", 10);
  SaveTemplate("waitlist", "hello");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  RespondedSet waves;
  Messenger messenger(*store_, *queue_, *allocations_, clock_, &waves);
  v1::CampaignDefinition campaign = NowCampaign("after-endline", clock_.Now(), 1);
  campaign.set_kind(v1::CAMPAIGN_KIND_WAITLIST);
  campaign.clear_start();
  campaign.set_wave_id("endline");
  campaign.mutable_waitlist_delay()->set_seconds(3600);
  campaign.mutable_audience()->clear_arms();
  campaign.mutable_audience()->add_arms("control");
  v1::CreateCampaignRequest create;
  create.set_trial_id("waitlist");
  *create.mutable_campaign() = campaign;
  ASSERT_TRUE(messenger.CreateCampaign(create).ok());
  v1::StartCampaignRequest start;
  start.set_trial_id("waitlist");
  start.set_campaign_id("after-endline");
  absl::StatusOr<v1::StartCampaignResponse> refused = messenger.StartCampaign(start);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);  // no closing time
  waves.endline_closes = clock_.Now() + absl::Hours(24 * 14);
  absl::StatusOr<v1::StartCampaignResponse> started = messenger.StartCampaign(start);
  ASSERT_TRUE(started.ok()) << started.status();
  int control = 0;
  for (const auto& [p, arm] : arms) control += arm == "control" ? 1 : 0;
  EXPECT_EQ(started->planned(), control);

  std::unique_ptr<Worker> worker = NewWorker("w1");
  clock_.Advance(absl::Hours(24 * 14));  // the wave closes now; the delay has not passed
  DrainNow(*worker);
  EXPECT_TRUE(Delivered().empty());
  clock_.Advance(absl::Hours(1));
  DrainNow(*worker);
  EXPECT_EQ(Delivered().size(), static_cast<size_t>(control));
  for (const auto& line : Delivered()) {
    const std::string& to = line.at("to");
    EXPECT_EQ(arms.at(to.substr(0, to.find('@'))), "control") << to;
  }
}

// XAUTOCLAIM walks the whole pending list, so a worker asks it at most once per quarter of the
// reclaim idle time, not every batch. Entries are made idle for longer than that with XCLAIM's
// IDLE option (Redis counts idleness on its own clock): the first pass takes a dead consumer's
// entry over; the next pass, moments later, leaves the second one to a later look.
TEST_F(QueueTest, ADeadConsumersEntriesAreLookedForOncePerQuarterOfTheIdleTime) {
  CreateTwoArmTrial("reclaim", 2);
  SaveTemplate("reclaim", "hello");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  ASSERT_EQ(Start("reclaim", NowCampaign("c", clock_.Now(), 1)), 2);
  ASSERT_EQ(*scheduler_->RunOnce(), 2);
  const std::string stream = keys::Stream("reclaim");
  const std::string group(keys::kGroup);
  // A consumer that reads one entry and dies; its entry idle for two hours.
  auto dead_consumer_reads_one = [&] {
    absl::StatusOr<RedisReply> read = redis_->Command(
        {"XREADGROUP", "GROUP", group, "dead", "COUNT", "1", "STREAMS", stream, ">"});
    EXPECT_TRUE(read.ok() && read->size() == 1) << read.status();
    if (!read.ok() || read->size() != 1) return std::string();
    const std::string id((*read)[0][1][0][0].str());
    EXPECT_TRUE(
        redis_->Command({"XCLAIM", stream, group, "dead", "0", id, "IDLE", "7200000", "JUSTID"})
            .ok());
    return id;
  };
  auto owner_of = [&](const std::string& id) {
    absl::StatusOr<RedisReply> pending = redis_->Command({"XPENDING", stream, group, id, id, "1"});
    EXPECT_TRUE(pending.ok()) << pending.status();
    if (!pending.ok()) return std::string("(unreadable)");
    return pending->size() == 0 ? std::string("(none)") : std::string((*pending)[0][1].str());
  };
  QueueOptions options;
  options.reclaim_idle = absl::Hours(1);
  SendQueue queue(*redis_, options);
  WorkerDeps deps;
  deps.queue = &queue;
  deps.store = store_.get();
  deps.allocations = allocations_.get();
  deps.signer = signer_.get();
  deps.email = file_channel_.get();
  deps.clock = &clock_;
  WorkerOptions worker_options;
  worker_options.consumer = "live";
  worker_options.batch = 1;
  worker_options.block = absl::ZeroDuration();
  Worker worker(deps, worker_options);

  const std::string first = dead_consumer_reads_one();
  ASSERT_EQ(*worker.RunOnce(), 1);
  EXPECT_EQ(owner_of(first), "(none)") << "taken over, delivered and acknowledged";
  const std::string second = dead_consumer_reads_one();
  EXPECT_EQ(*worker.RunOnce(), 0);
  EXPECT_EQ(owner_of(second), "dead") << "XAUTOCLAIM asked again within a quarter of an hour";
  EXPECT_EQ(Delivered().size(), 1u);
}

// A walk through the pending list looks at a bounded number of entries per step, so each
// step costs Redis the same however many batches every replica's workers hold; the walk goes
// on from where the last step stopped, and reaches a dead consumer's entry that lies behind
// more live claims than one step looks at (a walk from the start every time never would).
TEST_F(QueueTest, AReclaimWalkReachesADeadConsumersEntryBehindManyLiveClaims) {
  const std::string stream = keys::Stream("walk");
  const std::string group(keys::kGroup);
  const int live = SendQueue::kReclaimLooks + SendQueue::kReclaimLooks / 2;
  ASSERT_TRUE(redis_->Command({"XGROUP", "CREATE", stream, group, "$", "MKSTREAM"}).ok());
  for (int i = 0; i <= live; ++i) {
    ASSERT_TRUE(
        redis_->Command({"XADD", stream, "*", "k", absl::StrCat("walk:c:0:p", i), "d", "0"}).ok());
  }
  ASSERT_TRUE(redis_
                  ->Command({"XREADGROUP", "GROUP", group, "live", "COUNT", absl::StrCat(live),
                             "STREAMS", stream, ">"})
                  .ok());
  absl::StatusOr<RedisReply> dead =
      redis_->Command({"XREADGROUP", "GROUP", group, "dead", "COUNT", "1", "STREAMS", stream, ">"});
  ASSERT_TRUE(dead.ok() && dead->size() == 1) << dead.status();
  const std::string dead_id((*dead)[0][1][0][0].str());
  ASSERT_TRUE(
      redis_->Command({"XCLAIM", stream, group, "dead", "0", dead_id, "IDLE", "7200000", "JUSTID"})
          .ok());

  QueueOptions options;
  options.reclaim_idle = absl::Hours(1);
  SendQueue queue(*redis_, options);
  std::string cursor;
  std::vector<std::string> taken;
  int steps = 0;
  while (steps < 5) {
    absl::StatusOr<SendQueue::Reclaimed> step = queue.Reclaim("walk", "me", cursor);
    ASSERT_TRUE(step.ok()) << step.status();
    ++steps;
    for (const StreamEntry& e : step->entries) taken.push_back(e.id);
    cursor = step->cursor;
    if (cursor.empty()) break;
  }
  EXPECT_THAT(taken, ::testing::ElementsAre(dead_id));
  EXPECT_EQ(steps, 2) << "the first step looks at " << SendQueue::kReclaimLooks
                      << " live claims and stops; the second goes on to the end";
}

}  // namespace
}  // namespace fieldwork::messaging

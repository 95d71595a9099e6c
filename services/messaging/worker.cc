#include "services/messaging/worker.h"

#include <algorithm>
#include <future>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/common/logging.h"
#include "services/messaging/convert.h"
#include "services/messaging/domain/guards.h"
#include "services/messaging/domain/schedule.h"
#include "services/messaging/domain/template.h"
#include "services/messaging/keys.h"
#include "services/messaging/lease_heartbeat.h"

namespace fieldwork::messaging {
namespace {

struct Item {
  StreamEntry entry;
  int attempt = 0;
  SendRef ref;
};

struct Ready {
  Item item;
  OutgoingMessage message;
  std::string arm;
  int64_t template_version = 0;
};

std::string DomainOf(const std::string& address) {
  const size_t at = address.rfind('@');
  std::string domain = at == std::string::npos ? address : address.substr(at + 1);
  while (!domain.empty() && domain.back() == '>') domain.pop_back();
  return domain.empty() ? "localhost" : domain;
}

}  // namespace

Worker::Worker(WorkerDeps deps, WorkerOptions options)
    : deps_(deps), options_(std::move(options)) {}

absl::StatusOr<const Worker::CampaignInfo*> Worker::GetCampaign(const std::string& trial,
                                                                const std::string& campaign) {
  const std::string cache_key = absl::StrCat(trial, "|", campaign);
  if (auto it = campaigns_.find(cache_key); it != campaigns_.end()) return it->second.get();
  absl::StatusOr<fieldwork::v1::CampaignDefinition> def = deps_.store->GetCampaign(trial, campaign);
  if (!def.ok()) return def.status();
  absl::StatusOr<Campaign> domain = CampaignFromProto(trial, *def);
  if (!domain.ok()) return domain.status();
  auto info = std::make_unique<CampaignInfo>(CampaignInfo{*def, *std::move(domain)});
  const CampaignInfo* raw = info.get();
  // Definitions never change once created (CreateCampaign refuses a different one), so the
  // cache needs no invalidation; the campaign's state is checked in Redis on every claim.
  campaigns_.emplace(cache_key, std::move(info));
  return raw;
}

absl::Status Worker::TakeTokens(DeliveryChannel channel, int64_t n) {
  const std::optional<TokenBucketConfig>& config =
      channel == DeliveryChannel::kEmail ? options_.email_rate : options_.sms_rate;
  if (!config.has_value()) return absl::OkStatus();
  static const LuaScript* script = new LuaScript(std::string(TokenBucketLuaScript()));
  const std::string bucket = keys::Bucket(DeliveryChannelName(channel));
  while (n > 0) {
    const int64_t take = std::min(n, config->capacity);
    absl::StatusOr<RedisReply> reply = deps_.store->redis().Eval(
        *script, {bucket},
        {absl::StrCat(config->capacity), absl::StrCat(config->refill_millitokens_per_second),
         absl::StrCat(absl::ToUnixMillis(deps_.clock->Now())), absl::StrCat(take)});
    if (!reply.ok()) return reply.status();
    if ((*reply)[0].integer() == 1) {
      n -= take;
    } else {
      // Wait a quarter of the time the script says, then ask again: a few calls per token,
      // and prompt when the injected clock is not wall time (a test's manual clock).
      const absl::Duration wait = absl::Milliseconds((*reply)[1].integer()) / 4;
      absl::SleepFor(std::clamp(wait, absl::Microseconds(200), absl::Milliseconds(250)));
    }
  }
  return absl::OkStatus();
}

absl::Status Worker::RecordNow(const std::string& trial, const Completion& completion) {
  // A worker holding a provider's acceptance keeps trying rather than drop it (window 10):
  // Redis restarting is the usual reason for a failure here.
  absl::Status recorded;
  for (int tries = 0; tries < 100; ++tries) {
    recorded =
        deps_.queue->Complete(trial, options_.consumer, {completion}, ToMs(deps_.clock->Now()));
    if (recorded.ok()) return recorded;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return recorded;
}

absl::Status Worker::RecordUnconfirmed(const std::string& trial, SentRecorder& recorder) {
  // Records Redis did not confirm (it restarted, closed the connection) are written again,
  // waiting for it.
  for (const Completion& c : recorder.Finish()) {
    if (absl::Status s = RecordNow(trial, c); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Worker::RunOnce() {
  absl::StatusOr<std::vector<std::string>> trials = deps_.queue->Trials();
  if (!trials.ok()) return trials.status();
  int done = 0;
  for (const std::string& trial : *trials) {
    absl::StatusOr<int> n = ProcessTrial(trial);
    if (!n.ok()) return n.status();
    done += *n;
  }
  return done;
}

void Worker::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    absl::StatusOr<int> n = RunOnce();
    if (!n.ok()) {
      logging::Warning("worker pass failed", {{"error", n.status().ToString()}});
      absl::SleepFor(absl::Milliseconds(200));
    } else if (*n == 0) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
}

absl::StatusOr<std::vector<StreamEntry>> Worker::ReclaimIfDue(const std::string& trial) {
  // Each step walks past live workers' claims to find idle entries (milliseconds of Redis's
  // single thread). An entry is only reclaimable once idle for reclaim_idle (Redis's own wall
  // clock), so a walk that reached the end starts again a quarter of that later, not at every
  // batch: a takeover waits at most that quarter and one walk.
  const absl::Time now = absl::Now();
  ReclaimWalk& walk = reclaim_walks_[trial];
  if (walk.cursor.empty() && now - walk.ended < deps_.queue->options().reclaim_idle / 4) {
    return std::vector<StreamEntry>{};
  }
  absl::StatusOr<SendQueue::Reclaimed> step =
      deps_.queue->Reclaim(trial, options_.consumer, walk.cursor);
  if (!step.ok()) return step.status();
  walk.cursor = std::move(step->cursor);
  if (walk.cursor.empty()) walk.ended = now;
  return std::move(step->entries);
}

absl::StatusOr<int> Worker::ProcessTrial(const std::string& trial) {
  SendQueue& queue = *deps_.queue;
  absl::StatusOr<std::vector<StreamEntry>> entries = ReclaimIfDue(trial);
  if (!entries.ok()) return entries.status();
  if (static_cast<int>(entries->size()) < options_.batch) {
    absl::StatusOr<std::vector<StreamEntry>> fresh =
        queue.Read(trial, options_.consumer, options_.batch - static_cast<int>(entries->size()),
                   entries->empty() ? options_.block : absl::ZeroDuration());
    if (!fresh.ok()) return fresh.status();
    entries->insert(entries->end(), fresh->begin(), fresh->end());
  }
  if (entries->empty()) return 0;

  // The simulated clock stands still between moves and each reading is a Redis round trip,
  // which would wait for the fsync of whatever was written just before it: with it, this one
  // reading serves the whole batch. Any other clock is read where the time is needed.
  const absl::Time claimed_at = deps_.clock->Now();
  const bool one_reading = deps_.clock->ReadsAreRoundTrips();
  auto clock_now = [&] { return one_reading ? claimed_at : deps_.clock->Now(); };
  absl::StatusOr<std::vector<ClaimResult>> claims =
      queue.Claim(trial, options_.consumer, *entries, ToMs(claimed_at));
  if (!claims.ok()) return claims.status();

  // From here on the claims are renewed in the background until the batch is recorded, so
  // slow guards, a wait for the rate limit or a slow provider never let them lapse.
  std::vector<std::pair<StreamEntry, int>> claimed;
  for (size_t i = 0; i < entries->size(); ++i) {
    if ((*claims)[i].kind == ClaimResult::Kind::kClaimed) {
      claimed.emplace_back((*entries)[i], (*claims)[i].attempt);
    }
  }
  LeaseHeartbeat heartbeat(queue, *deps_.clock, trial, options_.consumer, claimed, claimed_at);

  std::vector<Item> items;
  std::vector<Completion> completions;
  std::vector<std::string> participants;
  for (size_t i = 0; i < entries->size(); ++i) {
    if ((*claims)[i].kind != ClaimResult::Kind::kClaimed) continue;
    Item item{(*entries)[i], (*claims)[i].attempt, {}};
    absl::StatusOr<SendRef> ref = ParseSendRef(item.entry.key);
    if (!ref.ok()) {
      completions.push_back({Completion::Kind::kDead, item.entry, item.attempt, 0,
                             std::string(ref.status().message()), "", "", 0});
      continue;
    }
    item.ref = *std::move(ref);
    participants.push_back(item.ref.participant_id);
    items.push_back(std::move(item));
  }
  const absl::Time now = clock_now();
  std::map<std::string, absl::StatusOr<TemplateVersion>> templates;
  std::vector<Ready> ready;
  // A failure that is worth retrying (a service we ask is down), bounded by the attempt limit.
  auto transient = [&](const Item& item, const std::string& detail) {
    const DeliveryOutcome outcome{DeliveryOutcome::Kind::kNetworkError, 0, detail};
    const RetryDecision d = DecideRetry(options_.retry, item.entry.key, item.attempt, outcome, now);
    Completion c{d.action == RetryDecision::Action::kRetry ? Completion::Kind::kRetry
                                                           : Completion::Kind::kDead,
                 item.entry,
                 item.attempt,
                 ToMs(d.retry_at),
                 d.action == RetryDecision::Action::kRetry ? detail : d.reason,
                 "",
                 "",
                 0};
    completions.push_back(std::move(c));
  };
  auto permanent = [&](const Item& item, const std::string& detail, const std::string& channel) {
    completions.push_back(
        {Completion::Kind::kDead, item.entry, item.attempt, 0, detail, channel, "", 0});
  };

  // Each send's campaign and step first, so that the facts of the whole batch can be asked
  // for at once: one lookup per factor the batch's campaigns use, one per wave reminded.
  struct Pending {
    Item item;
    const Campaign* campaign;
    size_t step;
    std::string factor;  // "" when the audience needs no arm
  };
  std::vector<Pending> pending;
  std::map<std::string, std::vector<std::string>> ids_by_factor;
  std::map<std::string, std::vector<std::string>> reminded_by_wave;
  for (Item& item : items) {
    absl::StatusOr<const CampaignInfo*> info = GetCampaign(trial, item.ref.campaign_id);
    if (!info.ok()) {
      permanent(item, std::string(info.status().message()), "");
      continue;
    }
    const Campaign& campaign = (*info)->campaign;
    if (item.ref.step < 0 || static_cast<size_t>(item.ref.step) >= campaign.steps.size()) {
      permanent(item, "step: out of range for the campaign", "");
      continue;
    }
    const size_t step = static_cast<size_t>(item.ref.step);
    const bool needs_arm = !campaign.audience.all_enrolled || !campaign.audience.arms.empty();
    std::string factor = needs_arm ? campaign.audience.factor : "";
    ids_by_factor[factor].push_back(item.ref.participant_id);
    if (campaign.steps[step].reminder) {
      reminded_by_wave[campaign.wave_id].push_back(item.ref.participant_id);
    }
    pending.push_back({std::move(item), &campaign, step, std::move(factor)});
  }
  // The batch's facts are asked of Redis, randomisation and survey-ingest at the same time:
  // each is a round trip that waits on the others' work, not on this process.
  auto in_parallel = [](auto ask) { return std::async(std::launch::async, std::move(ask)); };
  auto contacts_asked = in_parallel([&] { return deps_.store->GetContacts(trial, participants); });
  auto opt_outs_asked = in_parallel([&] { return deps_.store->GetOptOuts(trial, participants); });
  std::map<std::string, std::future<absl::StatusOr<std::map<std::string, ParticipantRecord>>>>
      records_asked;
  for (const auto& [factor, ids] : ids_by_factor) {
    records_asked.emplace(factor, in_parallel([&, &factor = factor, &ids = ids] {
                            return deps_.allocations->LookupMany(trial, ids, factor);
                          }));
  }
  std::map<std::string, std::future<absl::StatusOr<std::set<std::string>>>> responded_asked;
  for (const auto& [wave, ids] : reminded_by_wave) {
    responded_asked.emplace(
        wave, in_parallel([&, &wave = wave, &ids = ids]() -> absl::StatusOr<std::set<std::string>> {
          if (deps_.responses == nullptr)
            return absl::UnavailableError("no response lookup configured");
          return deps_.responses->RespondedAmong(trial, wave, ids);
        }));
  }
  // An answer that could not be had makes its sends wait and retry, never go unchecked.
  std::map<std::string, absl::StatusOr<std::map<std::string, ParticipantRecord>>> records;
  for (auto& [factor, asked] : records_asked) records.emplace(factor, asked.get());
  std::map<std::string, absl::StatusOr<std::set<std::string>>> responded;
  for (auto& [wave, asked] : responded_asked) responded.emplace(wave, asked.get());
  absl::StatusOr<std::map<std::string, Contact>> contacts = contacts_asked.get();
  if (!contacts.ok()) return contacts.status();
  absl::StatusOr<std::map<std::string, OptOuts>> opt_outs = opt_outs_asked.get();
  if (!opt_outs.ok()) return opt_outs.status();

  for (Pending& p : pending) {
    Item& item = p.item;
    const Campaign& campaign = *p.campaign;
    const size_t step = p.step;
    const absl::StatusOr<std::map<std::string, ParticipantRecord>>& batch_records =
        records.at(p.factor);
    if (!batch_records.ok()) {
      transient(item, absl::StrCat("randomisation: ", batch_records.status().message()));
      continue;
    }
    static const ParticipantRecord kNotEnrolled;
    auto found = batch_records->find(item.ref.participant_id);
    const ParticipantRecord& record = found == batch_records->end() ? kNotEnrolled : found->second;
    SendFacts facts;
    facts.enrolment = record.enrolment;
    facts.left_at = record.left_at;
    facts.current_arm = record.arm;
    if (!record.site.empty()) facts.site = record.site;
    if (!record.cohort.empty()) facts.cohort = record.cohort;
    if (auto it = opt_outs->find(item.ref.participant_id); it != opt_outs->end()) {
      facts.opt_outs = it->second;
    }
    const Contact* contact = nullptr;
    if (auto it = contacts->find(item.ref.participant_id); it != contacts->end()) {
      contact = &it->second;
      facts.has_email = !contact->email.empty();
      facts.has_phone = !contact->phone.empty();
      facts.preference = contact->preference;
    }
    if (campaign.steps[step].reminder) {
      const absl::StatusOr<std::set<std::string>>& wave_responded = responded.at(campaign.wave_id);
      if (!wave_responded.ok()) {
        transient(item, absl::StrCat("survey-ingest: ", wave_responded.status().message()));
        continue;
      }
      facts.has_accepted_response = wave_responded->count(item.ref.participant_id) > 0;
    }
    absl::StatusOr<SendDecision> decision = DecideSend(campaign, step, facts, now);
    if (!decision.ok()) {
      permanent(item, std::string(decision.status().message()), "");
      continue;
    }
    const std::string arm = record.arm.value_or("");
    if (!decision->send) {
      completions.push_back({Completion::Kind::kSkipped, item.entry, item.attempt, 0,
                             absl::StrCat(SkipReasonName(decision->reason), ": ", decision->detail),
                             "", arm, 0});
      continue;
    }
    const std::string channel_name(DeliveryChannelName(decision->channel));
    const std::string& template_id = campaign.steps[step].template_id;
    auto tmpl_it = templates.find(template_id);
    if (tmpl_it == templates.end()) {
      tmpl_it =
          templates.emplace(template_id, deps_.store->LatestTemplate(trial, template_id)).first;
    }
    if (!tmpl_it->second.ok()) {
      if (absl::IsNotFound(tmpl_it->second.status())) {
        permanent(item, std::string(tmpl_it->second.status().message()), channel_name);
      } else {
        transient(item, std::string(tmpl_it->second.status().message()));
      }
      continue;
    }
    const TemplateVersion& tmpl = *tmpl_it->second;

    LinkClaims base;
    base.trial_id = trial;
    base.campaign_id = item.ref.campaign_id;
    base.step = static_cast<uint32_t>(step);
    base.participant_id = item.ref.participant_id;
    RenderData data;
    data.first_name = contact != nullptr ? contact->first_name : "";
    // A personal link that can no longer open the survey is not worth a message.
    if (campaign.survey.expires.has_value() && UsesSurveyLinkToken(campaign.survey) &&
        now >= *campaign.survey.expires) {
      completions.push_back(
          {Completion::Kind::kSkipped, item.entry, item.attempt, 0,
           absl::StrCat("survey_link_expired: the survey link expired at ",
                        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *campaign.survey.expires,
                                         absl::UTCTimeZone())),
           "", arm, 0});
      continue;
    }
    // A missing key ring dead-letters the send with the reason: never a mail without its link.
    absl::StatusOr<std::string> survey_link =
        RenderSurveyLink(campaign, item.ref.participant_id, deps_.survey_links);
    if (!survey_link.ok()) {
      permanent(item, std::string(survey_link.status().message()), channel_name);
      continue;
    }
    data.survey_link = *std::move(survey_link);
    bool sign_failed = false;
    for (size_t l = 0; l < tmpl.tracked_links.size(); ++l) {
      LinkClaims click = base;
      click.kind = LinkTokenKind::kClick;
      click.link_index = static_cast<uint32_t>(l);
      click.template_version = static_cast<uint32_t>(tmpl.version);
      click.target_url = tmpl.tracked_links[l];
      absl::StatusOr<std::string> token = deps_.signer->Sign(click);
      if (!token.ok()) {
        sign_failed = true;
        break;
      }
      data.tracked_link_urls.push_back(absl::StrCat(options_.link_base_url, "/c/", *token));
    }
    LinkClaims unsub = base;
    unsub.kind = LinkTokenKind::kUnsubscribe;
    absl::StatusOr<std::string> unsub_token = deps_.signer->Sign(unsub);
    if (sign_failed || !unsub_token.ok()) {
      permanent(item, "links: cannot sign a tracked link", channel_name);
      continue;
    }
    data.unsubscribe_link = absl::StrCat(options_.link_base_url, "/u/", *unsub_token);

    Ready r;
    r.item = item;
    r.arm = arm;
    r.template_version = tmpl.version;
    r.message.channel = decision->channel;
    r.message.idempotency_key = item.entry.key;
    if (decision->channel == DeliveryChannel::kEmail) {
      absl::StatusOr<RenderedEmail> email = RenderEmail(tmpl, data);
      if (!email.ok()) {
        permanent(item, std::string(email.status().message()), channel_name);
        continue;
      }
      absl::StatusOr<std::string> message_id =
          EmailMessageId(item.entry.key, DomainOf(options_.from_address));
      if (!message_id.ok()) {
        permanent(item, std::string(message_id.status().message()), channel_name);
        continue;
      }
      r.message.to = contact->email;
      r.message.message_id = *message_id;
      r.message.subject = email->subject;
      r.message.text_body = email->text_body;
      r.message.html_body = email->html_body;
      if (!r.message.html_body.empty()) {
        LinkClaims open = base;
        open.kind = LinkTokenKind::kOpen;
        if (absl::StatusOr<std::string> t = deps_.signer->Sign(open); t.ok()) {
          absl::StrAppend(&r.message.html_body, "<img src=\"", options_.link_base_url, "/o/", *t,
                          "\" width=\"1\" height=\"1\" alt=\"\">");
        }
      }
      r.message.list_unsubscribe = data.unsubscribe_link;
    } else {
      absl::StatusOr<RenderedSms> sms = RenderSms(tmpl, data);
      if (!sms.ok()) {
        permanent(item, std::string(sms.status().message()), channel_name);
        continue;
      }
      r.message.to = contact->phone;
      r.message.sms_body = sms->body;
    }
    ready.push_back(std::move(r));
  }

  // The shared rate limit, per channel, for the whole batch.
  int64_t n_email = 0;
  int64_t n_sms = 0;
  for (const Ready& r : ready) {
    (r.message.channel == DeliveryChannel::kEmail ? n_email : n_sms) += 1;
  }
  if (absl::Status s = TakeTokens(DeliveryChannel::kEmail, n_email); !s.ok()) return s;
  if (absl::Status s = TakeTokens(DeliveryChannel::kSms, n_sms); !s.ok()) return s;

  // Window 9: before handing a message over, the claim must still be this worker's. The
  // heartbeat renews every claim of the batch (compare-and-set on owner and attempt); before
  // each delivery the last renewal must be less than a quarter of a lease old, or it is done
  // again here: a message whose claim was taken over is left to its new owner.
  SentRecorder recorder = queue.RecordSent(trial, options_.consumer);
  absl::Status stopped;  // why delivery stopped early; what was sent is still recorded first
  for (size_t i = 0; i < ready.size(); ++i) {
    Ready& r = ready[i];
    // Window 5: nothing between the provider's acceptance and the "sent" record may wait on
    // the network: a sent message is recorded with the time it was handed over, read before
    // (once, also for the lease check).
    const absl::Time handed_over_at = clock_now();
    stopped = heartbeat.EnsureFresh(handed_over_at);
    if (!stopped.ok()) break;
    if (!heartbeat.Held(r.item.entry.id)) continue;  // taken over: it is theirs now
    const std::string channel_name(DeliveryChannelName(r.message.channel));
    MessageChannel* channel =
        r.message.channel == DeliveryChannel::kEmail ? deps_.email : deps_.sms;
    DeliveryOutcome outcome;
    if (channel == nullptr) {
      outcome = {DeliveryOutcome::Kind::kInvalidAddress, 0,
                 absl::StrCat(channel_name, " channel not configured")};
    } else {
      outcome = channel->Deliver(r.message);
    }
    RetryDecision d =
        DecideRetry(options_.retry, r.item.entry.key, r.item.attempt, outcome, handed_over_at);
    if (d.action != RetryDecision::Action::kDone) {
      d = DecideRetry(options_.retry, r.item.entry.key, r.item.attempt, outcome, clock_now());
    }
    Completion c;
    c.entry = r.item.entry;
    c.attempt = r.item.attempt;
    c.channel = channel_name;
    c.arm = r.arm;
    c.template_version = r.template_version;
    switch (d.action) {
      case RetryDecision::Action::kDone:
        c.kind = Completion::Kind::kSent;
        // Window 5: "sent" goes to Redis the moment the provider accepts, before the next
        // delivery, so a crash can leave at most the message in flight unrecorded. When it may
        // not have got there, what the batch recorded unconfirmed is written again first.
        if (!recorder.Record(c, ToMs(handed_over_at)).ok()) {
          if (absl::Status s = RecordUnconfirmed(trial, recorder); !s.ok()) return s;
        }
        // Its claim is still renewed until Finish confirms the record: a record Redis loses
        // (a restart) is written again by this worker before the claim can lapse, never
        // claimed and sent again by another.
        if (deps_.metrics != nullptr) {  // due until handed over
          deps_.metrics->ObserveLatency(
              channel_name,
              std::max(0.0,
                       static_cast<double>(ToMs(handed_over_at) - r.item.entry.due_ms) / 1000.0));
        }
        break;
      case RetryDecision::Action::kRetry:
        c.kind = Completion::Kind::kRetry;
        c.retry_at_ms = ToMs(d.retry_at);
        c.detail = DescribeOutcome(outcome);
        break;
      case RetryDecision::Action::kDeadLetter:
        c.kind = Completion::Kind::kDead;
        c.detail = d.reason;
        break;
    }
    completions.push_back(std::move(c));
  }

  if (absl::Status s = RecordUnconfirmed(trial, recorder); !s.ok()) return s;
  if (!stopped.ok()) return stopped;

  std::vector<Completion> rest;
  for (const Completion& c : completions) {
    if (c.kind != Completion::Kind::kSent) rest.push_back(c);
  }
  if (absl::Status s = queue.Complete(trial, options_.consumer, rest, ToMs(clock_now())); !s.ok()) {
    return s;  // unrecorded failures and skips are claimed again after the lease: no loss
  }
  if (deps_.metrics != nullptr) {
    for (const Completion& c : completions) {
      static constexpr absl::string_view kNames[] = {"sent", "failed", "dead", "skipped"};
      deps_.metrics->CountSend(
          trial,
          c.entry.key.empty() ? "" : ParseSendRef(c.entry.key).value_or(SendRef{}).campaign_id,
          c.channel.empty() ? "none" : c.channel, kNames[static_cast<int>(c.kind)]);
    }
  }
  return static_cast<int>(completions.size());
}

absl::StatusOr<int64_t> Scheduler::RunOnce() {
  absl::StatusOr<std::vector<std::string>> trials = queue_.Trials();
  if (!trials.ok()) return trials.status();
  int64_t moved = 0;
  constexpr int64_t kLimit = 1000;
  for (const std::string& trial : *trials) {
    for (;;) {
      absl::StatusOr<int64_t> n = queue_.MoveDue(trial, ToMs(clock_.Now()), kLimit);
      if (!n.ok()) return n.status();
      moved += *n;
      if (*n < kLimit) break;
    }
    if (metrics_ != nullptr) {
      absl::StatusOr<SendQueue::Depth> depth = queue_.QueueDepth(trial);
      if (depth.ok()) {
        const double age =
            depth->oldest_due_ms == 0
                ? 0.0
                : std::max(0.0,
                           static_cast<double>(ToMs(clock_.Now()) - depth->oldest_due_ms) / 1000.0);
        metrics_->SetQueue(trial, static_cast<double>(depth->waiting),
                           static_cast<double>(depth->in_stream), age);
      }
    }
  }
  return moved;
}

void Scheduler::Run(const std::atomic<bool>& stop, absl::Duration tick) {
  while (!stop.load()) {
    absl::StatusOr<int64_t> moved = RunOnce();
    if (!moved.ok()) {
      logging::Warning("scheduler pass failed", {{"error", moved.status().ToString()}});
      absl::SleepFor(absl::Milliseconds(200));
    } else if (*moved == 0) {
      absl::SleepFor(tick);
    }
  }
}

}  // namespace fieldwork::messaging

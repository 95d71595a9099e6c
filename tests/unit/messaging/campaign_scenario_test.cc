// End-to-end over the pure domain: an 8-week weekly campaign for a 2-arm trial, planned from a
// fixed start and then "delivered" by stepping a manual time through nine weeks, with the
// send-time guard consulted for every due send.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/messaging/domain/guards.h"
#include "services/messaging/domain/schedule.h"
#include "tests/unit/messaging/test_campaigns.h"

namespace fieldwork::messaging {
namespace {

using msgtest::EightWeekIntervention;
using msgtest::London;

struct Participant {
  std::string id;
  std::string arm;  // the true allocation, as randomisation would answer at send time
};

std::vector<Participant> TwoArmTrial(int n) {
  std::vector<Participant> people;
  for (int i = 0; i < n; ++i) {
    people.push_back({absl::StrCat("p", i), i % 2 == 0 ? "treatment" : "control"});
  }
  return people;
}

std::vector<Recipient> AudienceOf(const std::vector<Participant>& people) {
  std::vector<Recipient> recipients;
  for (const Participant& p : people) recipients.push_back({p.id, p.arm, "", "", ""});
  return recipients;
}

SendFacts FactsFor(const Participant& p) {
  SendFacts facts;
  facts.current_arm = p.arm;
  facts.has_email = true;
  return facts;
}

// Steps a manual time forward a minute at a time over the campaign, delivering each planned
// send when it falls due and its guard allows it. Returns the delivery times per participant.
std::map<std::string, std::vector<absl::Time>> Deliver(const Campaign& campaign, const Plan& plan,
                                                       const std::vector<Participant>& people) {
  std::map<std::string, Participant> by_id;
  for (const Participant& p : people) by_id[p.id] = p;
  std::multimap<absl::Time, const PlannedSend*> queue;
  for (const PlannedSend& send : plan.sends) queue.emplace(send.due, &send);

  std::map<std::string, std::vector<absl::Time>> delivered;
  std::set<std::string> idempotency_records;
  const absl::Time begin = *campaign.start;
  for (absl::Time now = begin; now < begin + absl::Hours(24 * 7 * 9); now += absl::Minutes(1)) {
    while (!queue.empty() && queue.begin()->first <= now) {
      const PlannedSend& send = *queue.begin()->second;
      queue.erase(queue.begin());
      absl::StatusOr<SendDecision> decision =
          DecideSend(campaign, send.step, FactsFor(by_id.at(send.participant_id)), now);
      EXPECT_TRUE(decision.ok()) << decision.status();
      if (!decision.ok() || !decision->send) continue;
      // The worker's SET NX: a second delivery of the same key is refused.
      EXPECT_TRUE(idempotency_records.insert(send.idempotency_key).second);
      delivered[send.participant_id].push_back(now);
    }
  }
  EXPECT_TRUE(queue.empty());
  return delivered;
}

TEST(CampaignScenarioTest, EightWeeklySendsPerTreatmentParticipantNoneForControl) {
  Campaign campaign = EightWeekIntervention();
  ASSERT_TRUE(ValidateCampaign(campaign).ok()) << ValidateCampaign(campaign);
  std::vector<Participant> people = TwoArmTrial(40);

  absl::StatusOr<Plan> plan = ExpandPlan(campaign, *campaign.start, AudienceOf(people));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->sends.size(), 20u * 8u);
  EXPECT_EQ(plan->skipped.size(), 20u);

  std::map<std::string, std::vector<absl::Time>> delivered = Deliver(campaign, *plan, people);
  for (const Participant& p : people) {
    if (p.arm == "control") {
      EXPECT_EQ(delivered.count(p.id), 0u) << p.id << " is in control";
      continue;
    }
    const std::vector<absl::Time>& times = delivered[p.id];
    ASSERT_EQ(times.size(), 8u) << p.id;
    for (size_t week = 0; week < times.size(); ++week) {
      EXPECT_TRUE(InSendWindow(campaign.window, London(), times[week]))
          << absl::FormatTime(times[week]);
      // Start was Monday 07:00, before the window: every send goes at Monday 09:00.
      absl::CivilSecond local = absl::ToCivilSecond(times[week], London());
      EXPECT_EQ(absl::GetWeekday(local), absl::Weekday::monday);
      EXPECT_EQ(local.hour(), 9);
      EXPECT_EQ(absl::CivilDay(local), absl::CivilDay(2024, 1, 8) + 7 * static_cast<int>(week));
    }
  }
}

TEST(CampaignScenarioTest, ControlParticipantReceivesNothingEvenWhenTheAudienceWasBuiltWrong) {
  Campaign campaign = EightWeekIntervention();
  std::vector<Participant> people = TwoArmTrial(10);
  // A faulty audience: every participant listed as treatment.
  std::vector<Recipient> wrong = AudienceOf(people);
  for (Recipient& r : wrong) r.arm = "treatment";

  absl::StatusOr<Plan> plan = ExpandPlan(campaign, *campaign.start, wrong);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->sends.size(), 10u * 8u);  // the plan trusted the bad audience

  std::map<std::string, std::vector<absl::Time>> delivered = Deliver(campaign, *plan, people);
  for (const Participant& p : people) {
    if (p.arm == "control") {
      EXPECT_EQ(delivered.count(p.id), 0u) << p.id;
    } else {
      EXPECT_EQ(delivered[p.id].size(), 8u) << p.id;
    }
  }
}

}  // namespace
}  // namespace fieldwork::messaging

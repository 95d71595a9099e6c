// ListParticipants and ListAllocations stream a page at a time: with more participants than a
// page, enrolled out of id order, every one is listed once, in participant id order, with the
// filters and the partner's site scope applied.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "tests/integration/randomisation/randomisation_fixture.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr int kParticipants = 1300;  // more than two pages of the randomiser's 500

std::vector<v1::ParticipantStatus> ListParticipants(v1::RandomisationService::Stub& stub,
                                                    const std::string& token,
                                                    const std::string& site = "") {
  v1::ListParticipantsRequest request;
  request.set_trial_id("paged");
  request.set_site(site);
  auto context = ContextWith(token);
  auto reader = stub.ListParticipants(context.get(), request);
  std::vector<v1::ParticipantStatus> out;
  v1::ListParticipantsResponse message;
  while (reader->Read(&message)) out.push_back(message.status());
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return out;
}

std::vector<v1::Allocation> ListAllocations(v1::RandomisationService::Stub& stub,
                                            const std::string& arm) {
  v1::ListAllocationsRequest request;
  request.set_trial_id("paged");
  request.set_factor("intervention");
  request.set_arm(arm);
  auto context = ContextWith(kResearcher);
  auto reader = stub.ListAllocations(context.get(), request);
  std::vector<v1::Allocation> out;
  v1::ListAllocationsResponse message;
  while (reader->Read(&message)) out.push_back(message.allocation());
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return out;
}

// Ids in strictly increasing order (so each is listed once).
template <typename Item, typename Id>
bool StrictlyIncreasing(const std::vector<Item>& items, Id id) {
  for (size_t i = 1; i < items.size(); ++i) {
    if (!(id(items[i - 1]) < id(items[i]))) return false;
  }
  return true;
}

// Every test starts with the trial "paged": kParticipants participants p00000, p00001, ...,
// the even ones at LA1 and the odd ones at LA2, enrolled out of id order, locked and randomised
// (complete randomisation, 1:1).
class StreamingTest : public RandomisationTest {
 protected:
  void SetUp() override {
    RandomisationTest::SetUp();
    if (HasFatalFailure()) return;
    v1::TrialDesign design;
    design.set_trial_id("paged");
    design.add_sites()->set_id("LA1");
    design.add_sites()->set_id("LA2");
    *design.add_factors() = TwoArms("intervention", v1::RANDOMISATION_METHOD_COMPLETE);
    ASSERT_TRUE(CreateTrial(design).ok());
    std::vector<v1::Participant> rows;
    for (int i = 0; i < kParticipants; ++i) {
      // 7 and 1300 are coprime: every id once, enrolled out of id order.
      const int n = (i * 7) % kParticipants;
      rows.push_back(MakeParticipant(absl::StrFormat("p%05d", n), n % 2 == 0 ? "LA1" : "LA2"));
    }
    ASSERT_EQ(Enrol("paged", rows).enrolled(), kParticipants);
    ASSERT_TRUE(Lock("paged").ok());
    ASSERT_EQ(Randomise("paged").newly_allocated(), kParticipants);
  }
};

TEST_F(StreamingTest, ListsStreamEveryParticipantInIdOrderAcrossPages) {
  auto participant_id = [](const v1::ParticipantStatus& s) { return s.participant().participant_id(); };
  const std::vector<v1::ParticipantStatus> everyone = ListParticipants(stub(), kResearcher);
  EXPECT_EQ(everyone.size(), kParticipants);
  EXPECT_TRUE(StrictlyIncreasing(everyone, participant_id));
  for (const auto& s : everyone) EXPECT_TRUE(s.allocated()) << participant_id(s);

  const std::vector<v1::ParticipantStatus> la2 = ListParticipants(stub(), kResearcher, "LA2");
  EXPECT_EQ(la2.size(), kParticipants / 2);
  EXPECT_TRUE(StrictlyIncreasing(la2, participant_id));
  for (const auto& s : la2) EXPECT_EQ(s.participant().site(), "LA2");

  // A partner of LA1 sees LA1's participants only, filtered one by one inside the stream.
  const std::vector<v1::ParticipantStatus> partner = ListParticipants(stub(), kPartnerLa1);
  EXPECT_EQ(partner.size(), kParticipants / 2);
  EXPECT_TRUE(StrictlyIncreasing(partner, participant_id));
  for (const auto& s : partner) EXPECT_EQ(s.participant().site(), "LA1");

  auto allocation_id = [](const v1::Allocation& a) { return a.participant_id(); };
  const std::vector<v1::Allocation> treatment = ListAllocations(stub(), "treatment");
  const std::vector<v1::Allocation> control = ListAllocations(stub(), "control");
  EXPECT_EQ(treatment.size() + control.size(), kParticipants);
  EXPECT_EQ(treatment.size(), kParticipants / 2);  // complete randomisation, 1:1
  EXPECT_TRUE(StrictlyIncreasing(treatment, allocation_id));
  EXPECT_TRUE(StrictlyIncreasing(control, allocation_id));
  for (const auto& a : treatment) EXPECT_EQ(a.assignments(0).arm(), "treatment");
  EXPECT_EQ(Allocations("paged").size(), kParticipants);
}

// The same lists asked for in pages (`paged`): the same items in the same order, up to 1,000 in
// each message's repeated field and none in its single one, the partner's scope still applied.
TEST_F(StreamingTest, PagedListsCarryTheSameItemsInPagesOfAThousand) {
  for (const std::string& token : {std::string(kResearcher), std::string(kPartnerLa1)}) {
    v1::ListParticipantsRequest request;
    request.set_trial_id("paged");
    request.set_paged(true);
    auto context = ContextWith(token);
    auto reader = stub().ListParticipants(context.get(), request);
    std::vector<v1::ParticipantStatus> paged;
    std::vector<int> page_sizes;
    v1::ListParticipantsResponse message;
    while (reader->Read(&message)) {
      EXPECT_FALSE(message.has_status());
      page_sizes.push_back(message.statuses_size());
      paged.insert(paged.end(), message.statuses().begin(), message.statuses().end());
    }
    ASSERT_TRUE(reader->Finish().ok()) << token;
    const std::vector<v1::ParticipantStatus> one_by_one = ListParticipants(stub(), token);
    ASSERT_EQ(paged.size(), one_by_one.size()) << token;
    for (size_t i = 0; i < paged.size(); ++i) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(paged[i], one_by_one[i])) << i;
    }
    if (token == kResearcher) {
      EXPECT_EQ(page_sizes, (std::vector<int>{1000, kParticipants - 1000}));
    } else {
      EXPECT_EQ(page_sizes, (std::vector<int>{kParticipants / 2}));  // LA1's only
    }
  }

  v1::ListAllocationsRequest request;
  request.set_trial_id("paged");
  request.set_paged(true);
  auto context = ContextWith(kResearcher);
  auto reader = stub().ListAllocations(context.get(), request);
  std::vector<v1::Allocation> paged;
  int messages = 0;
  v1::ListAllocationsResponse message;
  while (reader->Read(&message)) {
    ++messages;
    EXPECT_FALSE(message.has_allocation());
    paged.insert(paged.end(), message.allocations().begin(), message.allocations().end());
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(messages, 2);
  std::vector<v1::Allocation> one_by_one = ListAllocations(stub(), "treatment");
  const std::vector<v1::Allocation> control = ListAllocations(stub(), "control");
  one_by_one.insert(one_by_one.end(), control.begin(), control.end());
  std::sort(one_by_one.begin(), one_by_one.end(),
            [](const v1::Allocation& a, const v1::Allocation& b) {
              return a.participant_id() < b.participant_id();
            });
  ASSERT_EQ(paged.size(), one_by_one.size());
  for (size_t i = 0; i < paged.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(paged[i], one_by_one[i])) << i;
  }
}

}  // namespace
}  // namespace fieldwork::randomisation

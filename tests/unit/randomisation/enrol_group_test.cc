// CheckEnrolCalls on its own: a group of Enrol calls checked together gives each call the answer
// it would have got had the calls before it in the group already been enrolled.
#include "services/randomisation/enrol_group.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/testing/trial_designs.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::fieldwork::testing::EnrolmentAt;
using ::fieldwork::testing::TwoArmsNorthAndSouth;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A call's rows and its checked view, kept together so the pointers stay valid.
struct Call {
  explicit Call(std::vector<v1::Participant> r, bool all_or_nothing = false) : rows(std::move(r)) {
    view.rows = &rows;
    view.row_numbers = &row_numbers;
    view.forbidden = &forbidden;
    view.all_or_nothing = all_or_nothing;
  }
  Call(const Call&) = delete;
  std::vector<v1::Participant> rows;
  std::vector<int64_t> row_numbers;
  std::vector<int64_t> forbidden;
  EnrolCallRows view;
};

// Participants already enrolled: by id, and the site of each cluster.
struct Enrolled {
  std::map<std::string, v1::Participant> by_id;
  std::map<std::string, std::string> cluster_site;
  ExistingParticipants View() const {
    return {[this](const std::string& id) -> const v1::Participant* {
              auto it = by_id.find(id);
              return it == by_id.end() ? nullptr : &it->second;
            },
            [this](const std::string& cluster) -> const std::string* {
              auto it = cluster_site.find(cluster);
              return it == cluster_site.end() ? nullptr : &it->second;
            }};
  }
};

std::vector<EnrolCallOutcome> Check(const std::vector<Call*>& calls,
                                    const Enrolled& enrolled = {}) {
  std::vector<const EnrolCallRows*> views;
  for (const Call* call : calls) views.push_back(&call->view);
  return CheckEnrolCalls(TwoArmsNorthAndSouth("group"), views, enrolled.View());
}

TEST(EnrolGroupTest, ARepeatOfAnEarlierCallsRowIsUnchangedAndADifferentOneAnError) {
  Call first({EnrolmentAt("p1", "north"), EnrolmentAt("p2", "south")});
  Call retry({EnrolmentAt("p1", "north")});
  Call conflict({EnrolmentAt("p3", "north"), EnrolmentAt("p2", "north")});
  const std::vector<EnrolCallOutcome> outcomes = Check({&first, &retry, &conflict});
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].status.ok());
  EXPECT_THAT(outcomes[0].accepted, ElementsAre(0, 1));
  EXPECT_TRUE(outcomes[1].status.ok());
  EXPECT_TRUE(outcomes[1].accepted.empty());
  EXPECT_EQ(outcomes[1].response.unchanged(), 1);
  EXPECT_EQ(outcomes[1].response.rejected(), 0);
  EXPECT_TRUE(outcomes[2].status.ok());
  EXPECT_THAT(outcomes[2].accepted, ElementsAre(0));  // p3 kept; p2 differs from the first call's
  EXPECT_EQ(outcomes[2].response.rejected(), 1);
  ASSERT_EQ(outcomes[2].response.errors_size(), 1);
  EXPECT_EQ(outcomes[2].response.errors(0).row(), 2);
  EXPECT_EQ(outcomes[2].response.errors(0).reason(), "is already enrolled with different data");
}

TEST(EnrolGroupTest, EachCallIsCheckedAsItWouldBeAloneAgainstTheEnrolled) {
  Enrolled enrolled;
  enrolled.by_id["old"] = EnrolmentAt("old", "south");
  Call retry({EnrolmentAt("old", "south")});
  Call changed({EnrolmentAt("old", "north")});
  Call bad_site({EnrolmentAt("n1", "east"), EnrolmentAt("n2", "north")});
  const std::vector<EnrolCallOutcome> outcomes = Check({&retry, &changed, &bad_site}, enrolled);
  EXPECT_EQ(outcomes[0].response.unchanged(), 1);
  EXPECT_EQ(outcomes[1].response.rejected(), 1);
  EXPECT_TRUE(outcomes[1].accepted.empty());
  EXPECT_THAT(outcomes[2].accepted, ElementsAre(1));
  ASSERT_EQ(outcomes[2].response.errors_size(), 1);
  EXPECT_EQ(outcomes[2].response.errors(0).field(), "site");
  EXPECT_EQ(outcomes[2].response.errors(0).row(), 1);
}

TEST(EnrolGroupTest, AClusterKeepsTheSiteAnEarlierCallOfTheGroupGaveIt) {
  Enrolled enrolled;
  enrolled.cluster_site["team-a"] = "north";
  Call first({EnrolmentAt("p1", "south", "team-b")});
  Call across({EnrolmentAt("p2", "north", "team-b"), EnrolmentAt("p3", "south", "team-a")});
  Call along({EnrolmentAt("p4", "south", "team-b"), EnrolmentAt("p5", "north", "team-a")});
  const std::vector<EnrolCallOutcome> outcomes = Check({&first, &across, &along}, enrolled);
  EXPECT_THAT(outcomes[0].accepted, ElementsAre(0));
  EXPECT_TRUE(outcomes[1].accepted.empty());
  ASSERT_EQ(outcomes[1].response.errors_size(), 2);
  EXPECT_THAT(outcomes[1].response.errors(0).reason(), HasSubstr("is already in site \"south\""));
  EXPECT_THAT(outcomes[1].response.errors(1).reason(), HasSubstr("is already in site \"north\""));
  EXPECT_THAT(outcomes[2].accepted, ElementsAre(0, 1));
}

TEST(EnrolGroupTest, ARefusedCallAddsNothingForTheCallsAfterIt) {
  Call all_or_nothing({EnrolmentAt("p1", "north"), EnrolmentAt("p2", "east")},
                      /*all_or_nothing=*/true);
  Call not_permitted({EnrolmentAt("p3", "north")});
  not_permitted.forbidden = {2};  // its request row 2 was at a site the caller may not enrol at
  not_permitted.row_numbers = {1};
  Call cancelled({EnrolmentAt("p4", "north")});
  cancelled.view.still_wanted = [] { return false; };
  Call later({EnrolmentAt("p1", "south"), EnrolmentAt("p3", "south"), EnrolmentAt("p4", "south")});
  const std::vector<EnrolCallOutcome> outcomes =
      Check({&all_or_nothing, &not_permitted, &cancelled, &later});
  EXPECT_EQ(outcomes[0].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(outcomes[0].status.message(),
              HasSubstr("all_or_nothing: nothing enrolled; 1 bad row(s): row 2 site"));
  EXPECT_EQ(outcomes[1].status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(outcomes[1].status.message(), HasSubstr("row 2 site: not permitted"));
  EXPECT_TRUE(outcomes[1].accepted.empty());
  EXPECT_EQ(outcomes[2].status.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(outcomes[2].accepted.empty());
  // None of p1, p3, p4 was taken by a refused call: the last call enrols all three.
  EXPECT_TRUE(outcomes[3].status.ok());
  EXPECT_THAT(outcomes[3].accepted, ElementsAre(0, 1, 2));
}

TEST(EnrolGroupTest, StillWantedIsAskedOnlyOfACallWithRowsToWrite) {
  int asked = 0;
  Call retry_only({EnrolmentAt("p1", "north")});
  retry_only.view.still_wanted = [&asked] {
    ++asked;
    return false;
  };
  Call first({EnrolmentAt("p1", "north")});
  const std::vector<EnrolCallOutcome> outcomes = Check({&first, &retry_only});
  EXPECT_TRUE(outcomes[1].status.ok());  // nothing to write: it answers, as it would alone
  EXPECT_EQ(outcomes[1].response.unchanged(), 1);
  EXPECT_EQ(asked, 0);
}

}  // namespace
}  // namespace fieldwork::randomisation

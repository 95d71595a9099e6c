// The roster cache in front of the randomisation service: one question per participant within
// the TTL, unknown participants remembered too, and Invalidate for ReplayRejects.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/common/clock.h"
#include "services/survey_ingest/roster.h"

namespace fieldwork::survey_ingest {
namespace {

// A roster that counts the participants it is asked about.
class CountingRoster final : public Roster {
 public:
  absl::StatusOr<RosterEntries> Lookup(const std::string& /*trial*/,
                                       const std::vector<std::string>& ids) override {
    asked += static_cast<int>(ids.size());
    RosterEntries entries;
    for (const std::string& id : ids) {
      if (id == known) entries[id] = RosterEntry{true, false, "LA1"};
    }
    return entries;
  }
  std::string known = "A1";
  int asked = 0;
};

TEST(RosterCacheTest, AsksOncePerParticipantWithinTheTtl) {
  CountingRoster source;
  ManualClock clock(absl::UnixEpoch());
  CachedRoster roster(source, clock, absl::Seconds(30));
  absl::StatusOr<RosterEntries> first = roster.Lookup("t", {"A1", "B1"});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE((*first)["A1"].enrolled);
  EXPECT_EQ((*first)["A1"].site, "LA1");
  EXPECT_FALSE((*first)["B1"].enrolled) << "not answered: unknown";
  EXPECT_EQ(source.asked, 2);
  ASSERT_TRUE(roster.Lookup("t", {"A1", "B1"}).ok());
  EXPECT_EQ(source.asked, 2) << "both remembered, the unknown one too";
  ASSERT_TRUE(roster.Lookup("other-trial", {"A1"}).ok());
  EXPECT_EQ(source.asked, 3) << "per trial";

  clock.Advance(absl::Seconds(31));
  source.known = "B1";
  absl::StatusOr<RosterEntries> later = roster.Lookup("t", {"B1"});
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE((*later)["B1"].enrolled) << "expired: asked again";
  EXPECT_EQ(source.asked, 4);
}

TEST(RosterCacheTest, InvalidateForgetsTheTrial) {
  CountingRoster source;
  ManualClock clock(absl::UnixEpoch());
  CachedRoster roster(source, clock, absl::Minutes(5));
  ASSERT_TRUE(roster.Lookup("t", {"B1"}).ok());
  source.known = "B1";  // enrolled since
  EXPECT_FALSE((*roster.Lookup("t", {"B1"}))["B1"].enrolled) << "cached";
  roster.Invalidate("t");
  EXPECT_TRUE((*roster.Lookup("t", {"B1"}))["B1"].enrolled);
}

}  // namespace
}  // namespace fieldwork::survey_ingest

// The survey form's funnel as `fieldwork status` joins it: stages from survey-ingest, the
// invitations from messaging and the arms from the allocations.
#include "services/cli/form_funnel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::ElementsAre;
using ::testing::Pair;

MATCHER_P4(Funnel, invited, opened, started, completed, "") {
  return arg.invited == invited && arg.opened == opened && arg.started == started &&
         arg.completed == completed;
}

TEST(FormFunnelTest, EachStageCountsInEveryEarlierOneByWaveAndArm) {
  const std::map<std::string, std::string> arm_of = {
      {"a", "treatment"}, {"b", "treatment"}, {"c", "control"}, {"d", "control"}, {"e", "control"}};
  const std::map<std::string, std::set<std::string>> invited = {
      {"baseline", {"a", "b", "c", "d", "e"}}, {"endline", {"a", "c"}}};
  const std::vector<FormStageOf> stages = {
      {"baseline", "a", v1::FORM_STAGE_COMPLETED},
      {"baseline", "b", v1::FORM_STAGE_OPENED},
      {"baseline", "c", v1::FORM_STAGE_STARTED},
      {"baseline", "d", v1::FORM_STAGE_COMPLETED},
      {"endline", "c", v1::FORM_STAGE_OPENED},
      // Opened without an invitation on record (sent before messaging's events were kept, or
      // a forwarded link): counted, not invented as invited; unallocated ids have no arm.
      {"endline", "zz", v1::FORM_STAGE_STARTED}};
  const auto funnel = FunnelByWaveAndArm(invited, stages, arm_of, {"treatment", "control"});
  EXPECT_THAT(funnel.at("baseline"), ElementsAre(Pair("control", Funnel(3, 2, 2, 1)),
                                                 Pair("treatment", Funnel(2, 2, 1, 1))));
  EXPECT_THAT(funnel.at("endline"),
              ElementsAre(Pair("(no arm)", Funnel(0, 1, 1, 0)), Pair("control", Funnel(1, 1, 0, 0)),
                          Pair("treatment", Funnel(1, 0, 0, 0))));
}

TEST(FormFunnelTest, EveryArmAppearsEvenWithNobodyInIt) {
  const auto funnel =
      FunnelByWaveAndArm({{"baseline", {"a"}}}, {}, {{"a", "treatment"}}, {"treatment", "control"});
  EXPECT_THAT(funnel.at("baseline"), ElementsAre(Pair("control", Funnel(0, 0, 0, 0)),
                                                 Pair("treatment", Funnel(1, 0, 0, 0))));
  EXPECT_TRUE(FunnelByWaveAndArm({}, {}, {}, {"treatment"}).empty());
}

}  // namespace
}  // namespace fieldwork::cli

// `fieldwork apply` with protocols the services refuse (tests/fixtures/cli/apply): a dry run and
// a real apply refuse them with the same errors, each naming the file and the YAML path, and the
// real apply writes nothing. Then what apply says when a service fails part-way through the
// writes. The fieldwork binary against the four service binaries over one real redis-server.
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/integration/cli/cli_services.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::CliRun;
using ::fieldwork::testing::CliServices;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string Fixture(const std::string& name) {
  return std::string(FIELDWORK_TEST_SOURCE_DIR) + "/tests/fixtures/cli/apply/" + name;
}

// The lines of `output` that name `path`: the problems found in it.
std::vector<std::string> LinesNaming(const std::string& output, const std::string& path) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StartsWith(line, path + ": ")) lines.emplace_back(line);
  }
  return lines;
}

class ApplyValidationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { services_ = new CliServices(/*with_messaging=*/true); }
  static void TearDownTestSuite() {
    delete services_;
    services_ = nullptr;
  }

  // Every Redis key of the trial, whatever service wrote it (keys are "fw:{<trial>}:...").
  static std::vector<std::string> TrialKeys(const std::string& trial_id) {
    return services_->RedisKeys("fw:{" + trial_id + "}:*");
  }

  static CliServices* services_;
};

CliServices* ApplyValidationTest::services_ = nullptr;

struct RefusedProtocol {
  const char* file;
  const char* trial_id;
  const char* problem;  // the line after "<path>: "
};

// Each of these was passed by `apply --dry_run` and refused by the service part-way through the
// real apply (the placeholder after the trial was created and its design locked), or, for the
// scale, accepted and locked into the plan.
constexpr RefusedProtocol kRefused[] = {
    {"strata_sites.yaml", "apply-strata",
     "trial.factors[0].strata[0] \"sites\" is not site, cohort or a categorical covariate"},
    {"wave_closes_before_opens.yaml", "apply-wave",
     "waves[1].closes 2100-06-01T00:00:00Z is not after opens 2100-06-07T00:00:00Z"},
    {"unknown_placeholder.yaml", "apply-placeholder", "templates[0].body unknown placeholder {{survey_url}}"},
    {"arm_weight_zero.yaml", "apply-weight", "trial.factors[0].arms[0].weight must be positive, got 0"},
    {"uppercase_trial_id.yaml", "Apply-Upper",
     "trial.id \"Apply-Upper\" must be 1-64 lowercase letters, digits or '-'"},
    {"unknown_scale.yaml", "apply-scale",
     "analysis.outcomes[1].scale \"happyness\" is not a scale of instrument ons4 v1, which wave endline collects"},
};

TEST_F(ApplyValidationTest, DryRunAndApplyRefuseTheSameProblemsAndWriteNothing) {
  for (const RefusedProtocol& refused : kRefused) {
    SCOPED_TRACE(refused.file);
    const std::string path = Fixture(refused.file);
    const CliRun dry = services_->Fieldwork({"apply", path, "--dry_run"});
    const CliRun real = services_->Fieldwork({"apply", path});
    EXPECT_EQ(dry.exit_code, 2) << dry.output;
    EXPECT_EQ(real.exit_code, 2) << real.output;
    const std::vector<std::string> problems = LinesNaming(dry.output, path);
    EXPECT_THAT(problems, ElementsAre(HasSubstr(path + ": " + refused.problem))) << dry.output;
    EXPECT_EQ(LinesNaming(real.output, path), problems) << real.output;
    EXPECT_THAT(real.output, HasSubstr("was not applied: nothing was changed"));
    EXPECT_THAT(TrialKeys(refused.trial_id), IsEmpty());
  }
  // The fixtures differ from valid.yaml only in what the lines above name: it applies, and
  // leaves keys that TrialKeys finds.
  const std::string valid = Fixture("valid.yaml");
  const CliRun dry = services_->Fieldwork({"apply", valid, "--dry_run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_THAT(TrialKeys("apply-valid"), IsEmpty());
  const CliRun real = services_->Fieldwork({"apply", valid});
  ASSERT_EQ(real.exit_code, 0) << real.output;
  // Its invitation still links with the raw participant id: applied (old protocols keep
  // working), with the same warning from the dry run and the real apply.
  const std::string warning = valid +
                              ": warning: campaigns[0].survey_url contains {participant_id}: anyone who edits the "
                              "link can answer for a colleague";
  EXPECT_THAT(dry.output, HasSubstr(warning));
  EXPECT_THAT(real.output, HasSubstr(warning));
  EXPECT_THAT(real.output, HasSubstr("locked the analysis plan main"));
  EXPECT_THAT(TrialKeys("apply-valid"), Not(IsEmpty()));
}

// A service that fails after the writes began (here messaging, stopped) cannot be validated
// away: apply says which writes were made and which were not.
TEST_F(ApplyValidationTest, AWriteThatFailsPartWaySaysWhatWasWrittenAndWhatWasNot) {
  services_->StopMessaging();
  const CliRun run = services_->Fieldwork({"apply", Fixture("no_campaigns.yaml")});
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("apply stopped at UpdateTemplate invitation"));
  EXPECT_THAT(run.output, HasSubstr("written: CreateTrial apply-partial, PutInstrument "));
  EXPECT_THAT(run.output, HasSubstr("PutWave baseline, PutWave endline, LockDesign apply-partial\n"));
  EXPECT_THAT(run.output, HasSubstr("not written: UpdateTemplate invitation, RegisterPlan main, LockPlan main\n"));
}

}  // namespace
}  // namespace fieldwork

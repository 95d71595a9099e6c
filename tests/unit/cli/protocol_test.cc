#include "services/cli/protocol.h"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/randomisation/design_validation.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

absl::StatusOr<std::string> NoFiles(const std::string& path) {
  if (path == "dir/instruments/ons4.yaml") return std::string("id: ons4\n");
  return absl::InvalidArgumentError(path + ": cannot be read");
}

constexpr char kSwing[] = R"(
trial:
  id: swing
  title: Social workers inspiring the next generation
  sites: [frontline]
  cohorts: ["2020", "2021"]
  covariates:
    - {name: age, kind: numeric}
    - {name: gender, kind: categorical, levels: [female, male, other]}
  factors:
    - name: messages
      method: complete_within_strata
      strata: [cohort]
      arms: [{name: treatment, weight: 1}, control]
instruments: [instruments/ons4.yaml]
waves:
  - {id: baseline, instrument: ons4, opens: 2020-09-01T00:00:00Z, closes: 2020-09-30T00:00:00Z}
  - {id: endline, instrument: ons4, version: 1, opens: 2021-01-04T00:00:00Z, closes: 2021-02-01T00:00:00Z,
     rule: last_complete, allow_late: true, norms_wave: baseline}
lock_design: true
)";

TEST(ProtocolTest, ParsesTheDesignInstrumentsAndWaves) {
  absl::StatusOr<Protocol> protocol = ParseProtocol(kSwing, "dir/swing.yaml", NoFiles);
  ASSERT_TRUE(protocol.ok()) << protocol.status();
  const v1::TrialDesign& design = protocol->design;
  EXPECT_EQ(design.trial_id(), "swing");
  ASSERT_EQ(design.cohorts_size(), 2);
  EXPECT_EQ(design.sites(0).id(), "frontline");
  ASSERT_EQ(design.covariates_size(), 2);
  EXPECT_EQ(design.covariates(1).kind(), v1::Covariate::KIND_CATEGORICAL);
  EXPECT_EQ(design.covariates(1).levels_size(), 3);
  ASSERT_EQ(design.factors_size(), 1);
  EXPECT_EQ(design.factors(0).method(), v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA);
  EXPECT_EQ(design.factors(0).arms(1).name(), "control");
  EXPECT_EQ(design.factors(0).arms(1).weight(), 1);
  ASSERT_EQ(protocol->instruments.size(), 1u);
  EXPECT_EQ(protocol->instruments[0].definition_yaml, "id: ons4\n");
  ASSERT_EQ(protocol->waves.size(), 2u);
  EXPECT_EQ(protocol->waves[1].rule(), v1::RESPONSE_RULE_LAST_COMPLETE);
  EXPECT_TRUE(protocol->waves[1].allow_late());
  EXPECT_EQ(protocol->waves[1].norms_wave_id(), "baseline");
  EXPECT_EQ(protocol->waves[0].opens_at().seconds(), 1598918400);
  EXPECT_TRUE(protocol->lock_design);
}

TEST(ProtocolTest, ErrorsNameTheFileTheFieldAndTheReason) {
  auto error = [](const std::string& yaml) {
    return std::string(ParseProtocol(yaml, "trial.yaml", NoFiles).status().message());
  };
  EXPECT_EQ(error("title: x"), "trial.yaml: trial is required: a map with id, sites, factors, ...");
  EXPECT_THAT(error("trial: {id: t, factors: [{name: f, method: coin_flip, arms: [a, b]}]}"),
              HasSubstr("trial.yaml: trial.factors[0].method \"coin_flip\" is not a method"));
  EXPECT_THAT(error("trial: {id: t, factors: [{name: f, method: simple, arms: [{name: a, weight: two}]}]}"),
              HasSubstr("trial.factors[0].arms[0].weight must be a whole number, got \"two\""));
  EXPECT_THAT(error("trial: {id: t, covariates: [{name: age, kind: number}], factors: []}"),
              HasSubstr("trial.covariates[0].kind \"number\" must be numeric or categorical"));
  EXPECT_THAT(error("trial: {id: t, factors: [{name: f, method: simple}]}\nwaves: [{id: w, instrument: i, opens: monday, closes: 2021-01-01T00:00:00Z}]"),
              HasSubstr("waves[0].opens \"monday\" is not an RFC 3339 time"));
  EXPECT_THAT(error("trial: {id: t, factors: [{name: f, method: simple}]}\ninstruments: [missing.yaml]"),
              HasSubstr("instruments[0] missing.yaml: cannot be read"));
  EXPECT_THAT(error("trial: [unclosed"), HasSubstr("trial.yaml: not valid YAML"));
}

// Every protocol shipped in examples/ parses and passes the randomisation service's design
// validation.
TEST(ProtocolTest, ShippedExamplesAreValid) {
  const std::string dir = std::string(FIELDWORK_TEST_SOURCE_DIR) + "/examples";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    absl::StatusOr<std::string> text = ReadFile(entry.path().string());
    ASSERT_TRUE(text.ok());
    absl::StatusOr<Protocol> protocol = ParseProtocol(*text, entry.path().string(), ReadFile);
    ASSERT_TRUE(protocol.ok()) << protocol.status();
    EXPECT_TRUE(randomisation::ValidateDesign(protocol->design).ok())
        << entry.path() << ": " << randomisation::ValidateDesign(protocol->design);
    EXPECT_FALSE(protocol->waves.empty()) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

}  // namespace
}  // namespace fieldwork::cli

// The simulator (services/cli/simulate): deterministic from its seed, its rows pass the real
// parsers (roster, contacts, survey-ingest's CSV importer), and what it was asked for — effect,
// response rate, differential attrition, leaver rate, click rate — is recovered from its output
// within sampling error (tolerances are multiples of the standard error, not fixed results).
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/cli/contacts.h"
#include "services/cli/protocol.h"
#include "services/cli/roster.h"
#include "services/cli/simulate/allocations.h"
#include "services/cli/simulate/mail_links.h"
#include "services/cli/simulate/outcomes_sim.h"
#include "services/cli/simulate/random.h"
#include "services/cli/simulate/responses_sim.h"
#include "services/cli/simulate/roster_sim.h"
#include "services/survey_ingest/domain/csv_import.h"
#include "services/survey_ingest/domain/csv_reader.h"
#include "services/survey_ingest/domain/instrument_yaml.h"

namespace fieldwork::cli::simulate {
namespace {

namespace v1 = ::fieldwork::v1;
using survey_ingest::ImportResult;
using survey_ingest::ImportSurveyCsv;
using survey_ingest::Scorer;

constexpr double kZ = 4.0;  // tolerance in standard errors: a false failure is ~1 in 16,000

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(FIELDWORK_TEST_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Scorer InstrumentScorer(const std::string& file) {
  absl::StatusOr<survey_ingest::Instrument> instrument = survey_ingest::ParseInstrumentYaml(ReadSource(file));
  EXPECT_TRUE(instrument.ok()) << instrument.status();
  absl::StatusOr<Scorer> scorer = Scorer::Create(*instrument);
  EXPECT_TRUE(scorer.ok()) << scorer.status();
  return *std::move(scorer);
}

// `fieldwork export` text for n participants per arm, alternating arms.
std::string ExportCsv(int per_arm, const std::vector<std::string>& arms = {"treatment", "control"},
                      int withdrawn_every = 0) {
  std::string csv;
  survey_ingest::AppendCsvRecord(csv, std::vector<std::string>{"participant_id", "site", "cohort", "cluster", "messages",
                                                               "withdrawn", "left_on"});
  const int n = per_arm * static_cast<int>(arms.size());
  for (int i = 0; i < n; ++i) {
    const bool withdrawn = withdrawn_every > 0 && i % withdrawn_every == 0;
    survey_ingest::AppendCsvRecord(csv, std::vector<std::string>{absl::StrFormat("p%06d", i), "la1", "", "",
                                                                 arms[static_cast<size_t>(i) % arms.size()],
                                                                 withdrawn ? "true" : "false", ""});
  }
  return csv;
}

std::vector<SimAllocation> Allocations(const std::string& csv) {
  absl::StatusOr<std::vector<SimAllocation>> parsed = ReadAllocations(csv, "allocations.csv");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return *std::move(parsed);
}

ResponseSimOptions Options(double effect, double rate, double attrition, uint64_t seed = 11) {
  ResponseSimOptions options;
  options.wave_id = "endline";
  options.seed = seed;
  options.effect = effect;
  options.response_rate = rate;
  options.differential_attrition = attrition;
  options.factor = "messages";
  options.arms = {"treatment", "control"};
  options.opens = absl::FromCivil(absl::CivilDay(2021, 3, 8), absl::UTCTimeZone());
  options.closes = absl::FromCivil(absl::CivilDay(2021, 3, 29), absl::UTCTimeZone());
  return options;
}

struct Sample {
  double n = 0, sum = 0, sum2 = 0;
  void Add(double x) {
    n += 1;
    sum += x;
    sum2 += x * x;
  }
  double Mean() const { return sum / n; }
  double Variance() const { return (sum2 - n * Mean() * Mean()) / (n - 1); }
};

// Standardised mean difference (pooled SD) and its large-sample standard error.
struct Smd {
  double d = 0;
  double se = 0;
};
Smd StandardisedDifference(const Sample& treated, const Sample& control) {
  const double pooled = std::sqrt(((treated.n - 1) * treated.Variance() + (control.n - 1) * control.Variance()) /
                                  (treated.n + control.n - 2));
  Smd smd;
  smd.d = (treated.Mean() - control.Mean()) / pooled;
  smd.se = std::sqrt((treated.n + control.n) / (treated.n * control.n) + smd.d * smd.d / (2 * (treated.n + control.n)));
  return smd;
}

// Imports the simulated CSV with survey-ingest's own importer: every row must be accepted.
ImportResult ImportAll(const std::string& csv, const Scorer& scorer, const survey_ingest::ScaleNorms* norms = nullptr) {
  survey_ingest::ImportOptions options;
  options.norms = norms;
  absl::StatusOr<ImportResult> result = ImportSurveyCsv(csv, scorer, options);
  EXPECT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->layout, survey_ingest::CsvLayout::kQualtrics);
  EXPECT_EQ(result->rejected(), 0u);
  for (const auto& row : result->rows) {
    for (const auto& e : row.errors) ADD_FAILURE() << "line " << row.line << " " << e.field << ": " << e.reason;
  }
  EXPECT_TRUE(result->unknown_columns.empty());
  EXPECT_TRUE(result->unmapped_items.empty());
  return *std::move(result);
}

std::map<std::string, std::string> ArmOf(const std::vector<SimAllocation>& allocations) {
  std::map<std::string, std::string> arm;
  for (const auto& a : allocations) arm[a.participant_id] = a.arms.at("messages");
  return arm;
}

TEST(SimulateRandomTest, DrawsAreDeterministicAndPlausible) {
  Random a(42, "key"), b(42, "key"), c(43, "key");
  EXPECT_EQ(a.Bits(), b.Bits());
  EXPECT_NE(StreamSeed(42, "key"), StreamSeed(43, "key"));
  EXPECT_NE(StreamSeed(42, "key"), StreamSeed(42, "kez"));
  Sample normal, uniform;
  for (int i = 0; i < 20000; ++i) {
    normal.Add(c.Normal());
    const double u = c.Uniform();
    ASSERT_GE(u, 0);
    ASSERT_LT(u, 1);
    uniform.Add(u);
    ASSERT_LT(c.Index(7), 7u);
  }
  EXPECT_NEAR(normal.Mean(), 0, kZ / std::sqrt(normal.n));
  EXPECT_NEAR(normal.Variance(), 1, kZ * std::sqrt(2 / normal.n));
  EXPECT_NEAR(uniform.Mean(), 0.5, kZ * std::sqrt(1.0 / 12 / uniform.n));
}

TEST(SimulateRosterTest, SameSeedSameBytesAndEveryRowPassesTheRosterAndContactParsers) {
  absl::StatusOr<Protocol> protocol = ParseProtocol(ReadSource("examples/swing.yaml"),
                                                    std::string(FIELDWORK_TEST_SOURCE_DIR) + "/examples/swing.yaml", ReadFile);
  ASSERT_TRUE(protocol.ok()) << protocol.status();
  absl::StatusOr<SimulatedRoster> first = SimulateRoster(protocol->design, 301, 5);
  absl::StatusOr<SimulatedRoster> again = SimulateRoster(protocol->design, 301, 5);
  absl::StatusOr<SimulatedRoster> other = SimulateRoster(protocol->design, 301, 6);
  ASSERT_TRUE(first.ok() && again.ok() && other.ok());
  EXPECT_EQ(first->roster_csv, again->roster_csv);
  EXPECT_EQ(first->contacts_csv, again->contacts_csv);
  EXPECT_NE(first->roster_csv, other->roster_csv);

  absl::StatusOr<Roster> roster = ReadRoster(first->roster_csv, "roster.csv", protocol->design);
  ASSERT_TRUE(roster.ok()) << roster.status();
  EXPECT_TRUE(roster->errors.empty());
  ASSERT_EQ(roster->rows.size(), 301u);
  std::map<std::string, int> per_cohort;
  for (const RosterRow& row : roster->rows) {
    ++per_cohort[row.participant.cohort()];
    EXPECT_EQ(row.participant.site(), "frontline");
    EXPECT_FALSE(row.participant.cluster().empty());
    EXPECT_EQ(row.participant.covariates().count("baseline_wellbeing"), 1u);
  }
  // Split as evenly as possible over the two cohorts.
  EXPECT_EQ(per_cohort.size(), 2u);
  EXPECT_LE(std::abs(per_cohort["2020"] - per_cohort["2021"]), 1);

  absl::StatusOr<ContactFile> contacts = ReadContacts(first->contacts_csv, "contacts.csv");
  ASSERT_TRUE(contacts.ok()) << contacts.status();
  EXPECT_TRUE(contacts->errors.empty());
  EXPECT_EQ(contacts->rows.size(), 301u);
}

TEST(SimulateRosterTest, SizesPerCohortAreKept) {
  v1::TrialDesign design;
  design.set_trial_id("swing");
  design.add_cohorts("2020");
  design.add_cohorts("2021");
  absl::StatusOr<SimulatedRoster> sim = SimulateRoster(design, std::vector<int64_t>{281, 867}, 1);
  ASSERT_TRUE(sim.ok()) << sim.status();
  absl::StatusOr<Roster> roster = ReadRoster(sim->roster_csv, "roster.csv", design);
  ASSERT_TRUE(roster.ok()) << roster.status();
  std::map<std::string, int> per_cohort;
  for (const RosterRow& row : roster->rows) ++per_cohort[row.participant.cohort()];
  EXPECT_EQ(per_cohort["2020"], 281);
  EXPECT_EQ(per_cohort["2021"], 867);
  EXPECT_THAT(SimulateRoster(design, std::vector<int64_t>{281}, 1).status().message(),
              ::testing::HasSubstr("one size per cohort"));
}

TEST(SimulateRosterTest, AnAssignedFactorsArmColumnHoldsOnlyItsArms) {
  v1::TrialDesign design;
  design.set_trial_id("dictation");
  design.add_sites()->set_id("brent");
  design.add_sites()->set_id("coventry");
  auto* arm = design.add_covariates();
  arm->set_name("app");
  arm->set_kind(v1::Covariate::KIND_CATEGORICAL);
  arm->set_required(true);
  arm->add_levels("dictation");
  arm->add_levels("comparison");
  auto* factor = design.add_factors();
  factor->set_name("app");
  factor->set_method(v1::RANDOMISATION_METHOD_ASSIGNED);
  auto* a1 = factor->add_arms();
  a1->set_name("dictation");
  a1->set_weight(3);
  auto* a2 = factor->add_arms();
  a2->set_name("comparison");
  a2->set_weight(1);
  absl::StatusOr<SimulatedRoster> sim = SimulateRoster(design, 2000, 3);
  ASSERT_TRUE(sim.ok());
  absl::StatusOr<Roster> roster = ReadRoster(sim->roster_csv, "roster.csv", design);
  ASSERT_TRUE(roster.ok()) << roster.status();
  EXPECT_TRUE(roster->errors.empty());
  Sample dictation;
  for (const auto& row : roster->rows) {
    const std::string& given = row.participant.covariates().at("app").category();
    ASSERT_TRUE(given == "dictation" || given == "comparison") << given;
    dictation.Add(given == "dictation" ? 1 : 0);
  }
  // Drawn by the arms' weights, 3:1.
  EXPECT_NEAR(dictation.Mean(), 0.75, kZ * std::sqrt(0.75 * 0.25 / dictation.n));
}

TEST(SimulateResponsesTest, SameSeedSameBytesAndDifferentSeedDifferentAnswers) {
  const Scorer scorer = InstrumentScorer("examples/instruments/motivation.yaml");
  const auto allocations = Allocations(ExportCsv(50));
  absl::StatusOr<SimulatedResponses> a = SimulateResponses(scorer, allocations, Options(0.3, 0.7, 0.1));
  absl::StatusOr<SimulatedResponses> b = SimulateResponses(scorer, allocations, Options(0.3, 0.7, 0.1));
  absl::StatusOr<SimulatedResponses> c = SimulateResponses(scorer, allocations, Options(0.3, 0.7, 0.1, 12));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status();
  EXPECT_EQ(a->csv, b->csv);
  EXPECT_NE(a->csv, c->csv);
}

TEST(SimulateResponsesTest, EffectOnAReverseKeyedScaleAndResponseRateAreRecovered) {
  const Scorer scorer = InstrumentScorer("examples/instruments/motivation.yaml");
  const auto allocations = Allocations(ExportCsv(2500));
  constexpr double kEffect = 0.3, kRate = 0.7;
  absl::StatusOr<SimulatedResponses> sim = SimulateResponses(scorer, allocations, Options(kEffect, kRate, 0));
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_EQ(sim->target, "motivation");  // the scale with the most items
  const ImportResult imported = ImportAll(sim->csv, scorer);
  ASSERT_EQ(imported.accepted(), static_cast<size_t>(sim->rows));

  const auto arm = ArmOf(allocations);
  std::map<std::string, Sample> score;
  for (const auto& row : imported.rows) {
    const auto& response = *row.response;
    const auto* scale = response.scored.FindScale("motivation");
    ASSERT_TRUE(scale != nullptr && scale->value.has_value());
    score[arm.at(response.participant_id)].Add(*scale->value);
  }
  const Smd smd = StandardisedDifference(score["treatment"], score["control"]);
  std::cout << "motivation: asked d = " << kEffect << ", recovered d = " << smd.d << " (SE " << smd.se << ")\n";
  EXPECT_NEAR(smd.d, kEffect, kZ * smd.se) << "SE " << smd.se;
  const double n = static_cast<double>(allocations.size());
  EXPECT_NEAR(static_cast<double>(sim->rows) / n, kRate, kZ * std::sqrt(kRate * (1 - kRate) / n));
}

TEST(SimulateResponsesTest, EffectOnACompositeWithANegativeWeightIsRecovered) {
  const Scorer scorer = InstrumentScorer("examples/instruments/ons4.yaml");
  const auto allocations = Allocations(ExportCsv(2500));
  constexpr double kEffect = 0.25;
  absl::StatusOr<SimulatedResponses> sim = SimulateResponses(scorer, allocations, Options(kEffect, 0.8, 0));
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_EQ(sim->target, "subjective_wellbeing");
  EXPECT_TRUE(sim->target_is_composite);
  ImportResult imported = ImportAll(sim->csv, scorer);
  ASSERT_EQ(imported.accepted(), static_cast<size_t>(sim->rows));
  // Composites are standardised against the control respondents' scale norms here, as
  // survey-ingest standardises against an untreated baseline wave.
  const auto arm = ArmOf(allocations);
  std::map<std::string, Sample> control_scales;
  for (const auto& row : imported.rows) {
    if (arm.at(row.response->participant_id) != "control") continue;
    for (const auto& s : row.response->scored.scales) {
      if (s.value) control_scales[s.scale_id].Add(*s.value);
    }
  }
  survey_ingest::ScaleNorms norms;
  for (const auto& [id, sample] : control_scales) norms[id] = {sample.Mean(), std::sqrt(sample.Variance())};
  std::map<std::string, Sample> composite;
  for (auto& row : imported.rows) {
    scorer.ScoreComposites(row.response->scored, &norms);
    const auto* c = row.response->scored.FindComposite("subjective_wellbeing");
    ASSERT_TRUE(c != nullptr && c->value.has_value()) << c->missing_reason;
    composite[arm.at(row.response->participant_id)].Add(*c->value);
  }
  const Smd smd = StandardisedDifference(composite["treatment"], composite["control"]);
  std::cout << "subjective_wellbeing: asked d = " << kEffect << ", recovered d = " << smd.d << " (SE " << smd.se << ")\n";
  EXPECT_NEAR(smd.d, kEffect, kZ * smd.se) << "SE " << smd.se;
}

TEST(SimulateResponsesTest, DifferentialAttritionAppearsAsAskedAndWithdrawnNeverRespond) {
  const Scorer scorer = InstrumentScorer("examples/instruments/ons4.yaml");
  const auto allocations = Allocations(ExportCsv(3000, {"treatment", "control"}, 10));
  constexpr double kRate = 0.6, kAttrition = 0.2;
  absl::StatusOr<SimulatedResponses> sim = SimulateResponses(scorer, allocations, Options(0, kRate, kAttrition));
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_EQ(sim->withdrawn, 600);
  const ArmResponses& t = sim->by_arm.at("treatment");
  const ArmResponses& c = sim->by_arm.at("control");
  const double pt = static_cast<double>(t.responded) / static_cast<double>(t.eligible);
  const double pc = static_cast<double>(c.responded) / static_cast<double>(c.eligible);
  const double se = std::sqrt(pt * (1 - pt) / static_cast<double>(t.eligible) + pc * (1 - pc) / static_cast<double>(c.eligible));
  std::cout << "response: control " << pc << ", treatment " << pt << " (asked 0.7 and 0.5, SE of the gap " << se << ")\n";
  EXPECT_NEAR(pc - pt, kAttrition, kZ * se);
  EXPECT_NEAR((pt + pc) / 2, kRate, kZ * se);
  // The importer sees exactly the rows written, none from a withdrawn participant.
  const ImportResult imported = ImportAll(sim->csv, scorer);
  EXPECT_EQ(imported.accepted(), static_cast<size_t>(t.responded + c.responded));
  std::set<std::string> withdrawn;
  for (const auto& a : allocations) {
    if (a.withdrawn) withdrawn.insert(a.participant_id);
  }
  for (const auto& row : imported.rows) EXPECT_EQ(withdrawn.count(row.response->participant_id), 0u);
}

TEST(SimulateResponsesTest, LeaversBeforeTheWaveDoNotRespondAndLaterLeaversMay) {
  const Scorer scorer = InstrumentScorer("examples/instruments/ons4.yaml");
  std::string csv = "participant_id,site,cohort,cluster,messages,withdrawn,left_on\n";
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&csv, "p", i, ",la1,,,", i % 2 ? "treatment" : "control", ",false,",
                    i < 100 ? "2021-03-01" : "2021-03-20", "\n");  // the wave opens 2021-03-08
  }
  absl::StatusOr<SimulatedResponses> sim = SimulateResponses(scorer, Allocations(csv), Options(0, 1, 0));
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_EQ(sim->left_before, 100);
  EXPECT_EQ(sim->rows, 100);
  const ImportResult imported = ImportAll(sim->csv, scorer);
  for (const auto& row : imported.rows) {
    int number = 0;
    ASSERT_TRUE(absl::SimpleAtoi(row.response->participant_id.substr(1), &number));
    EXPECT_GE(number, 100) << row.response->participant_id << " left before the wave";
  }
}

TEST(SimulateResponsesTest, RefusesImpossibleOptions) {
  const Scorer scorer = InstrumentScorer("examples/instruments/ons4.yaml");
  const auto allocations = Allocations(ExportCsv(5));
  EXPECT_FALSE(SimulateResponses(scorer, allocations, Options(0, 1.5, 0)).ok());
  EXPECT_FALSE(SimulateResponses(scorer, allocations, Options(0, 0.5, 2)).ok());
  ResponseSimOptions wrong_factor = Options(0, 0.5, 0);
  wrong_factor.factor = "nudges";
  EXPECT_THAT(SimulateResponses(scorer, allocations, wrong_factor).status().message(), ::testing::HasSubstr("nudges"));
  EXPECT_FALSE(ReadAllocations("participant_id,site\np1,la1\n", "bad.csv").ok());
}

TEST(SimulateOutcomesTest, RowsHaveTheImportFormatAndLeaversAppearAtTheirRate) {
  const auto allocations = Allocations(ExportCsv(1500, {"treatment", "control"}, 7));
  OutcomeSimOptions options;
  options.seed = 9;
  options.outcomes = {"app_minutes", "sickness_absence_days"};
  options.leaver_rate = 0.1;
  options.factor = "messages";
  options.control_arm = "control";
  absl::StatusOr<SimulatedOutcomes> sim = SimulateOutcomes(allocations, options);
  absl::StatusOr<SimulatedOutcomes> again = SimulateOutcomes(allocations, options);
  ASSERT_TRUE(sim.ok() && again.ok());
  EXPECT_EQ(sim->outcomes_csv, again->outcomes_csv);
  EXPECT_EQ(sim->leavers_csv, again->leavers_csv);

  survey_ingest::CsvReader reader(sim->outcomes_csv);
  survey_ingest::CsvRecord record;
  survey_ingest::CsvError error;
  ASSERT_EQ(reader.Next(record, error), survey_ingest::CsvReader::Result::kRecord);
  EXPECT_THAT(record.fields, ::testing::ElementsAre("participant_id", "outcome", "period_start", "period_end", "value"));
  int64_t rows = 0;
  while (reader.Next(record, error) == survey_ingest::CsvReader::Result::kRecord) {
    ASSERT_EQ(record.fields.size(), 5u);
    double value = 0;
    ASSERT_TRUE(absl::SimpleAtod(record.fields[4], &value)) << record.fields[4];
    EXPECT_GE(value, 0);
    EXPECT_EQ(record.fields[2], "2021-01-04");
    ++rows;
  }
  const int64_t active = 3000 - 3000 / 7 - 1;  // every 7th from 0 is withdrawn
  EXPECT_EQ(rows, 2 * active);
  EXPECT_EQ(sim->outcome_rows, rows);
  const double share = static_cast<double>(sim->leavers) / static_cast<double>(active);
  EXPECT_NEAR(share, 0.1, kZ * std::sqrt(0.1 * 0.9 / static_cast<double>(active)));
}

TEST(SimulateClicksTest, FindsEachLoopbackTrackedLinkOnceAndFollowsAShareDeterministically) {
  const std::string mail =
      "From: study@example.org\r\nTo: p@example.org\r\nSubject: Hello\r\nContent-Type: multipart/alternative; "
      "boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nRead this: http://127.0.0.1:8080/c/abc.DEF-1.\r\n"
      "Unsubscribe: http://127.0.0.1:8080/u/xyz\r\nElsewhere: http://example.com/c/evil\r\n--b\r\n"
      "Content-Type: text/html\r\n\r\n<a href=\"http://127.0.0.1:8080/c/abc.DEF-1\">read</a> "
      "<a href=\"http://localhost:8080/c/second\">more</a>\r\n--b--\r\n";
  EXPECT_THAT(TrackedLinks(mail),
              ::testing::ElementsAre("http://127.0.0.1:8080/c/abc.DEF-1", "http://localhost:8080/c/second"));
  Sample followed;
  for (int i = 0; i < 5000; ++i) {
    const std::string url = absl::StrCat("http://127.0.0.1:1/c/token", i);
    const bool follows = Follows(3, 0.3, "mail-1.eml", url);
    EXPECT_EQ(follows, Follows(3, 0.3, "mail-1.eml", url));
    followed.Add(follows ? 1 : 0);
  }
  EXPECT_NEAR(followed.Mean(), 0.3, kZ * std::sqrt(0.3 * 0.7 / followed.n));
  EXPECT_FALSE(Follows(3, 0, "m", "http://127.0.0.1:1/c/x"));
  EXPECT_TRUE(Follows(3, 1, "m", "http://127.0.0.1:1/c/x"));
}

}  // namespace
}  // namespace fieldwork::cli::simulate

#include "services/cli/protocol.h"

#include <filesystem>
#include <fstream>

#include <google/protobuf/util/message_differencer.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "services/analysis/plan_validation.h"
#include "services/cli/contacts.h"
#include "services/cli/protocol_validation.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

absl::StatusOr<std::string> NoFiles(const std::string& path) {
  if (path == "dir/instruments/ons4.yaml") return std::string("id: ons4\n");
  if (path == "dir/templates/week.txt") return std::string("Hi {{first_name}}: {{tracked_link:https://e.org/w}}");
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
  // Unknown keys are errors everywhere, so that a misspelt key is never silently ignored.
  EXPECT_THAT(error("trial: {id: t, factors: [{name: f, method: simple, arms: [a, b], stratum: [site]}]}"),
              HasSubstr("trial.yaml: trial.factors[0].stratum is not a known key"));
  EXPECT_THAT(error("trial: {id: t, factors: [{name: f, method: simple}]}\nwaves: [{id: w, instrument: i, opens: 2021-01-01T00:00:00Z, closes: 2021-02-01T00:00:00Z, close: x}]"),
              HasSubstr("waves[0].close is not a known key"));
}

constexpr char kMessagingAndPlan[] = R"(
templates:
  - {id: weekly-text, channel: sms, body_file: templates/week.txt}
  - {id: invite, channel: both, subject: "Survey", body: "Take it: {{survey_link}}", sms_body: "Survey: {{survey_link}}"}
  - {id: remind, channel: email, subject: "Reminder", body: "Still time: {{survey_link}}"}
campaigns:
  - id: texts-2020
    kind: intervention
    audience: {factor: messages, arms: [treatment], cohorts: ["2020"]}
    channel: sms
    start: 2020-10-05T09:00:00+01:00
    time_zone: Europe/London
    window: {days: [mon, wed, 5], start_hour: 10, end_hour: 16, zone: trial}
    weekly: {count: 8, template: weekly-text}
  - id: endline-invitation
    kind: survey_invitation
    audience: all_enrolled
    channel: participant_preference
    wave: endline
    survey_url: "https://s.example.org/e?p={participant_id}"
    start: 2021-01-04T09:00:00Z
    time_zone: Europe/London
    steps:
      - {template: invite, offset: 0}
      - {template: invite, offset: 3d12h, reminder: true}
  - id: waitlist
    kind: waitlist
    audience: {factor: messages, arms: [control]}
    channel: email
    wave: endline
    waitlist_delay: 1w
    time_zone: Europe/London
    steps: [{template: remind}]
analysis:
  factor: messages
  control_arm: control
  outcomes:
    - {name: wellbeing, primary: true, wave: endline, composite: subjective_wellbeing,
       baseline: {wave: baseline, composite: subjective_wellbeing}}
    - {name: absence, administrative: sickness_absence_days}
  covariates: [age, gender]
  estimator: lin
  se_type: HC3
  alpha: 0.1
  correction: benjamini_hochberg
  subgroups: [{variable: gender, confirmatory: true}]
  power: {n: 1148, response_rate: 0.3, r_squared: 0.2}
  takeup_campaign: texts-2020
  intervention_at: 2020-10-05T09:00:00Z
  time_bin_edges_days: [0, 28, 56]
  randomisation_inference_draws: 1000
lock_plan: true
)";

std::string WithMessaging(const std::string& extra) {
  std::string yaml = kSwing;
  return yaml + extra;
}

// The SWING protocol with the endline invitation's survey_url line replaced by `survey`.
std::string WithSurvey(const std::string& survey) {
  std::string yaml = WithMessaging(kMessagingAndPlan);
  const std::string old = "    survey_url: \"https://s.example.org/e?p={participant_id}\"\n";
  const size_t at = yaml.find(old);
  EXPECT_NE(at, std::string::npos);
  return yaml.replace(at, old.size(), survey);
}

TEST(ProtocolTest, PersonalSurveyLinksExpireAtTheWavesClosePlusTheGrace) {
  constexpr int64_t kEndlineCloses = 1612137600;  // 2021-02-01T00:00:00Z
  auto invitation = [](const std::string& survey) {
    absl::StatusOr<Protocol> protocol = ParseProtocol(WithSurvey(survey), "dir/swing.yaml", NoFiles);
    EXPECT_TRUE(protocol.ok()) << protocol.status();
    return protocol.ok() ? protocol->campaigns[1] : v1::CampaignDefinition();
  };
  const v1::CampaignDefinition hosted = invitation("    survey: hosted\n");
  EXPECT_TRUE(hosted.hosted_survey());
  EXPECT_TRUE(hosted.survey_url_template().empty());
  EXPECT_EQ(hosted.survey_link_expires().seconds(), kEndlineCloses + 14 * 86400);  // the default
  EXPECT_EQ(invitation("    survey: hosted\n    survey_link_grace: 3d12h\n").survey_link_expires().seconds(),
            kEndlineCloses + 3 * 86400 + 12 * 3600);
  const v1::CampaignDefinition external =
      invitation("    survey_url: \"https://q.example.org/jfe/form/SV_1?t={survey_token}\"\n    survey_link_grace: 1w\n");
  EXPECT_FALSE(external.hosted_survey());
  EXPECT_EQ(external.survey_link_expires().seconds(), kEndlineCloses + 7 * 86400);
  // An old protocol's raw id carries no token, so nothing expires.
  EXPECT_FALSE(invitation("    survey_url: \"https://s.example.org/e?p={participant_id}\"\n").has_survey_link_expires());
}

TEST(ProtocolTest, SurveyLinkMistakesNameTheField) {
  auto error = [](const std::string& survey) {
    return std::string(ParseProtocol(WithSurvey(survey), "dir/swing.yaml", NoFiles).status().message());
  };
  EXPECT_THAT(error(""), HasSubstr("campaigns[1].survey is required: survey: hosted"));
  EXPECT_THAT(error("    survey: hosted\n    survey_url: \"https://x/{survey_token}\"\n"),
              HasSubstr("campaigns[1].survey give either survey: hosted"));
  EXPECT_THAT(error("    survey: qualtrics\n"), HasSubstr("campaigns[1].survey \"qualtrics\" must be one of hosted"));
  EXPECT_THAT(error("    survey_url: \"https://x/fixed\"\n"), HasSubstr("campaigns[1].survey_url must contain {survey_token}"));
  EXPECT_THAT(error("    survey_url: \"https://x/{participant_id}\"\n    survey_link_grace: 1d\n"),
              HasSubstr("campaigns[1].survey_link_grace only personal survey links expire"));
  EXPECT_THAT(error("    survey: hosted\n    survey_link_grace: soon\n"),
              HasSubstr("campaigns[1].survey_link_grace \"soon\" is not a duration"));
}

TEST(ProtocolTest, ARawParticipantIdInASurveyUrlIsWarnedAboutNotRefused) {
  absl::StatusOr<Protocol> old = ParseProtocol(WithMessaging(kMessagingAndPlan), "dir/swing.yaml", NoFiles);
  ASSERT_TRUE(old.ok()) << old.status();
  const std::vector<ProtocolProblem> warnings = ProtocolWarnings(*old);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].field, "campaigns[1].survey_url");
  EXPECT_THAT(warnings[0].reason, HasSubstr("anyone who edits the link can answer for a colleague"));
  absl::StatusOr<Protocol> hosted = ParseProtocol(WithSurvey("    survey: hosted\n"), "dir/swing.yaml", NoFiles);
  ASSERT_TRUE(hosted.ok()) << hosted.status();
  EXPECT_THAT(ProtocolWarnings(*hosted), IsEmpty());
}

TEST(ProtocolTest, ParsesTemplatesCampaignsAndThePlan) {
  absl::StatusOr<Protocol> protocol = ParseProtocol(WithMessaging(kMessagingAndPlan), "dir/swing.yaml", NoFiles);
  ASSERT_TRUE(protocol.ok()) << protocol.status();
  ASSERT_EQ(protocol->templates.size(), 3u);
  EXPECT_EQ(protocol->templates[0].content.sms_body(), "Hi {{first_name}}: {{tracked_link:https://e.org/w}}");
  EXPECT_TRUE(protocol->templates[0].content.subject().empty());
  EXPECT_EQ(protocol->templates[1].content.text_body(), "Take it: {{survey_link}}");
  EXPECT_EQ(protocol->templates[1].content.sms_body(), "Survey: {{survey_link}}");

  ASSERT_EQ(protocol->campaigns.size(), 3u);
  const v1::CampaignDefinition& texts = protocol->campaigns[0];
  EXPECT_EQ(texts.kind(), v1::CAMPAIGN_KIND_INTERVENTION);
  EXPECT_EQ(texts.channel(), v1::MESSAGE_CHANNEL_SMS);
  EXPECT_EQ(texts.audience().factor(), "messages");
  EXPECT_EQ(texts.audience().cohorts(0), "2020");
  ASSERT_EQ(texts.steps_size(), 8);
  EXPECT_EQ(texts.steps(7).offset().seconds(), 7 * 7 * 86400);
  EXPECT_EQ(texts.steps(7).template_id(), "weekly-text");
  EXPECT_EQ(texts.start().seconds(), 1601884800);  // 08:00 UTC
  EXPECT_THAT(texts.window().days(), ::testing::ElementsAre(1, 3, 5));
  EXPECT_EQ(texts.window().zone(), v1::ZONE_SOURCE_TRIAL);
  EXPECT_EQ(texts.window().start_hour(), 10);
  const v1::CampaignDefinition& invitation = protocol->campaigns[1];
  EXPECT_TRUE(invitation.audience().all_enrolled());
  EXPECT_EQ(invitation.wave_id(), "endline");
  EXPECT_EQ(invitation.channel(), v1::MESSAGE_CHANNEL_PARTICIPANT_PREFERENCE);
  ASSERT_EQ(invitation.steps_size(), 2);
  EXPECT_TRUE(invitation.steps(1).reminder());
  EXPECT_EQ(invitation.steps(1).offset().seconds(), 3 * 86400 + 12 * 3600);
  // The default window: weekdays 9-17 in each participant's zone.
  EXPECT_EQ(invitation.window().days_size(), 5);
  EXPECT_EQ(invitation.window().zone(), v1::ZONE_SOURCE_PARTICIPANT);
  const v1::CampaignDefinition& waitlist = protocol->campaigns[2];
  EXPECT_EQ(waitlist.kind(), v1::CAMPAIGN_KIND_WAITLIST);
  EXPECT_FALSE(waitlist.has_start());
  EXPECT_EQ(waitlist.waitlist_delay().seconds(), 7 * 86400);

  ASSERT_EQ(protocol->plans.size(), 1u);
  const v1::AnalysisPlan& plan = protocol->plans.front();
  EXPECT_EQ(plan.trial_id(), "swing");
  EXPECT_EQ(plan.plan_id(), "main");
  EXPECT_EQ(plan.control_arm(), "control");
  ASSERT_EQ(plan.outcomes_size(), 2);
  EXPECT_TRUE(plan.outcomes(0).primary());
  EXPECT_EQ(plan.outcomes(0).source().survey().kind(), v1::OutcomeSource::SurveyScore::KIND_COMPOSITE);
  EXPECT_EQ(plan.outcomes(0).baseline().survey().wave_id(), "baseline");
  EXPECT_EQ(plan.outcomes(1).source().administrative().outcome(), "sickness_absence_days");
  EXPECT_EQ(plan.estimator(), v1::ESTIMATOR_LIN);
  EXPECT_EQ(plan.se_type(), v1::SE_TYPE_HC3);
  EXPECT_EQ(plan.correction(), v1::CORRECTION_BENJAMINI_HOCHBERG);
  EXPECT_DOUBLE_EQ(plan.alpha(), 0.1);
  EXPECT_EQ(plan.subgroups(0).name(), "gender");
  EXPECT_TRUE(plan.subgroups(0).confirmatory());
  EXPECT_EQ(plan.power().n(), 1148);
  EXPECT_DOUBLE_EQ(plan.power().alpha(), 0.1);  // the plan's alpha, as the service defaults it
  EXPECT_DOUBLE_EQ(plan.power().power(), 0.8);
  EXPECT_EQ(plan.takeup_campaign(), "texts-2020");
  EXPECT_EQ(plan.time_bin_edges_days_size(), 3);
  EXPECT_EQ(plan.randomisation_inference_draws(), 1000);
  EXPECT_TRUE(protocol->lock_plan);

  // The plan passes AnalysisService's own checks against the design.
  v1::Trial trial;
  *trial.mutable_design() = protocol->design;
  v1::AnalysisPlan normalised = plan;
  analysis::NormalisePlan(trial, normalised);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(normalised, plan))
      << "the parser writes the service's defaults, so apply compares like with like";
  EXPECT_TRUE(analysis::ValidatePlan(trial, plan).ok()) << analysis::ValidatePlan(trial, plan);
}

TEST(ProtocolTest, MessagingAndPlanErrorsNameTheFieldPath) {
  auto error = [](const std::string& extra) {
    return std::string(ParseProtocol(WithMessaging(extra), "dir/swing.yaml", NoFiles).status().message());
  };
  const std::string templates = "templates:\n  - {id: t, channel: email, subject: S, body: B}\n";
  const std::string campaign_head =
      "campaigns:\n  - {id: c, kind: intervention, channel: email, start: 2021-01-04T09:00:00Z, time_zone: Europe/London,\n"
      "     audience: {factor: messages, arms: [treatment]}, ";
  EXPECT_THAT(error(templates + campaign_head + "steps: [{template: t}, {template: t, offset: 7d}, {template: t, offset: 14d}, {template: nope, offset: 21d}]}\n"),
              HasSubstr("swing.yaml: campaigns[0].steps[3].template \"nope\" is not a template of this protocol"));
  EXPECT_THAT(error(templates + campaign_head + "steps: [{template: t, offset: 7d}, {template: t, offset: 7d}]}\n"),
              HasSubstr("campaigns[0].steps[1].offset must be later than steps[0].offset"));
  EXPECT_THAT(error(templates + campaign_head + "steps: [{template: t, offset: a week}]}\n"),
              HasSubstr("campaigns[0].steps[0].offset \"a week\" is not a duration"));
  EXPECT_THAT(error(templates + campaign_head + "steps: [{template: t, reminders: true}]}\n"),
              HasSubstr("campaigns[0].steps[0].reminders is not a known key"));
  EXPECT_THAT(error(templates + campaign_head + "weekly: {count: 8, template: t}, steps: [{template: t}]}\n"),
              HasSubstr("campaigns[0].weekly give either steps or weekly"));
  EXPECT_THAT(error(templates + "campaigns:\n  - {id: c, kind: intervention, channel: sms, start: 2021-01-04T09:00:00Z, time_zone: Europe/London,\n"
                                "     audience: {factor: messages, arms: [treatment]}, weekly: {count: 2, template: t}}\n"),
              HasSubstr("campaigns[0].weekly.template template \"t\" has no SMS part"));
  EXPECT_THAT(error(templates + "campaigns:\n  - {id: c, kind: intervention, channel: email, start: 2021-01-04T09:00:00Z, time_zone: Europe/London,\n"
                                "     audience: {factor: messages, arms: [treated]}, steps: [{template: t}]}\n"),
              HasSubstr("campaigns[0].audience.arms[0] \"treated\" is not an arm of factor messages"));
  EXPECT_THAT(error(templates + "campaigns:\n  - {id: c, kind: survey_invitation, channel: email, start: 2021-01-04T09:00:00Z, time_zone: Mars/Olympus,\n"
                                "     audience: all_enrolled, wave: endline, survey_url: \"https://x/{participant_id}\", steps: [{template: t}]}\n"),
              HasSubstr("campaigns[0].time_zone \"Mars/Olympus\" is not an IANA time zone"));
  EXPECT_THAT(error(templates + "campaigns:\n  - {id: c, kind: survey_invitation, channel: email, start: 2021-01-04T09:00:00Z, time_zone: Europe/London,\n"
                                "     audience: all_enrolled, wave: midline, survey_url: \"https://x/{participant_id}\", steps: [{template: t}]}\n"),
              HasSubstr("campaigns[0].wave \"midline\" is not a wave of this protocol"));
  EXPECT_THAT(error(templates + "campaigns:\n  - {id: c, kind: waitlist, channel: email, start: 2021-01-04T09:00:00Z, time_zone: Europe/London,\n"
                                "     audience: {factor: messages, arms: [control]}, wave: endline, steps: [{template: t}]}\n"),
              HasSubstr("campaigns[0].start a waitlist campaign starts when its wave closes"));
  EXPECT_THAT(error(templates + campaign_head + "window: {days: [mon, funday]}, steps: [{template: t}]}\n"),
              HasSubstr("campaigns[0].window.days[1] \"funday\" is not a day"));
  EXPECT_THAT(error(templates + campaign_head + "window: {start_hour: 18, end_hour: 9}, steps: [{template: t}]}\n"),
              HasSubstr("campaigns[0].window.end_hour must be after start_hour"));
  EXPECT_THAT(error(templates + campaign_head + "weekly: {count: 3, template: [t, t]}}\n"),
              HasSubstr("campaigns[0].weekly.template lists 2 templates for 3 messages"));
  EXPECT_THAT(error(templates + campaign_head + "steps: [{template: t}], reminders: {count: 2, template: t}}\n"),
              HasSubstr("campaigns[0].reminders only survey invitations have reminders"));
  EXPECT_THAT(error("templates:\n  - {id: t, channel: sms, subject: S, body: B}\n"),
              HasSubstr("templates[0].subject an SMS has no subject"));
  EXPECT_THAT(error("templates:\n  - {id: t, channel: email, subject: S, body_file: templates/missing.txt}\n"),
              HasSubstr("templates[0].body_file dir/templates/missing.txt: cannot be read"));
  EXPECT_THAT(error("analysis: {control_arm: control, outcomes: [{name: w, wave: endline, scale: s}], se_type: HC9}\n"),
              HasSubstr("analysis.se_type \"HC9\" must be one of classical, HC0"));
  EXPECT_THAT(error("analysis: {control_arm: placebo, outcomes: [{name: w, wave: endline, scale: s}]}\n"),
              HasSubstr("analysis.control_arm \"placebo\" is not an arm of factor messages"));
  EXPECT_THAT(error("analysis: {control_arm: control, outcomes: [{name: w, wave: endline, scale: s}, {name: x, wave: midline, scale: s}]}\n"),
              HasSubstr("analysis.outcomes[1].wave \"midline\" is not a wave of this protocol"));
  EXPECT_THAT(error("analysis: {control_arm: control, outcomes: [{name: w, wave: endline, scale: s, administrative: a}]}\n"),
              HasSubstr("analysis.outcomes[0].administrative an outcome is a survey score"));
  EXPECT_THAT(error("analysis: {control_arm: control, outcomes: [{name: w, wave: endline, scale: s}], power: {n: 100, response_rate: 1.5}}\n"),
              HasSubstr("analysis.power.response_rate must be between 0 and 1"));
  EXPECT_THAT(error("analysis: {control_arm: control, outcomes: [{name: w, wave: endline, scale: s}], covariates: [height]}\n"),
              HasSubstr("analysis.covariates[0] \"height\" is not a covariate of the design"));
  EXPECT_THAT(error("analysis: {control_arm: control, outcome: []}\n"), HasSubstr("analysis.outcome is not a known key"));
  EXPECT_THAT(error("lock_plan: true\n"), HasSubstr("lock_plan there is no analysis: (or analyses:) section to lock"));
  EXPECT_THAT(error("campaign: []\n"), HasSubstr("swing.yaml: campaign is not a known key"));
}

// A non-randomised pilot: its factor is assigned from a roster column, so there is no
// randomisation for randomisation inference to redraw; apply refuses the plan naming the field.
TEST(ProtocolTest, RandomisationInferenceOnAnAssignedFactorIsRefused) {
  const std::string pilot = R"(
trial:
  id: pilot
  title: Dictation pilot
  sites: [a]
  covariates:
    - {name: app, kind: categorical, levels: [dictation, comparison], required: true}
  factors:
    - {name: app, method: assigned, arms: [dictation, comparison]}
instruments: [instruments/ons4.yaml]
waves:
  - {id: post, instrument: ons4, opens: 2021-06-21T00:00:00Z, closes: 2021-07-05T00:00:00Z}
analysis: {control_arm: comparison, outcomes: [{name: w, wave: post, scale: s}])";
  absl::StatusOr<Protocol> plain = ParseProtocol(pilot + "}\n", "dir/pilot.yaml", NoFiles);
  ASSERT_TRUE(plain.ok()) << plain.status();
  absl::StatusOr<Protocol> ri = ParseProtocol(
      pilot + ", randomisation_inference_draws: 1000}\n", "dir/pilot.yaml", NoFiles);
  ASSERT_FALSE(ri.ok());
  EXPECT_THAT(std::string(ri.status().message()),
              HasSubstr("pilot.yaml: analysis.randomisation_inference_draws factor app is "
                        "assigned, not randomised"));
}

TEST(ContactsTest, ReadsRowsAndReportsBadOnesWithoutEchoingAddresses) {
  const std::string csv =
      "participant_id,first_name,email,phone,preferred_channel,time_zone\n"
      "p1,Ada,ada@example.org,+447700900123,sms,Europe/London\n"
      "p2,Bo,bo@example.org,,email,\n"
      "p3,Cy,cy@example.org,,pigeon,\n"
      ",Di,di@example.org,,,\n"
      "p5,Ed,ed@example.org,,,Atlantis/Lost\n"
      "p6,Fay\n";
  absl::StatusOr<ContactFile> file = ReadContacts(csv, "contacts.csv");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->rows.size(), 2u);
  EXPECT_EQ(file->rows[0].line, 2);
  EXPECT_EQ(file->rows[0].contact.phone(), "+447700900123");
  EXPECT_EQ(file->rows[0].contact.preference(), v1::MESSAGE_CHANNEL_SMS);
  EXPECT_EQ(file->rows[0].contact.time_zone(), "Europe/London");
  EXPECT_EQ(file->rows[1].contact.preference(), v1::MESSAGE_CHANNEL_EMAIL);
  ASSERT_EQ(file->errors.size(), 4u);
  EXPECT_EQ(file->errors[0].line, 4);
  EXPECT_EQ(file->errors[0].column, "preferred_channel");
  EXPECT_EQ(file->errors[1].line, 5);
  EXPECT_EQ(file->errors[1].column, "participant_id");
  EXPECT_EQ(file->errors[2].column, "time_zone");
  EXPECT_EQ(file->errors[3].line, 7);
  EXPECT_THAT(file->errors[3].reason, HasSubstr("has 2 fields, the header has 6"));
  EXPECT_TRUE(file->errors[3].value.empty()) << "a raw row may hold an address";
  EXPECT_THAT(std::string(ReadContacts("participant_id,mobile\n", "c.csv").status().message()),
              HasSubstr("c.csv: line 1, column \"mobile\" is not participant_id"));
  EXPECT_THAT(std::string(ReadContacts("email\n", "c.csv").status().message()), HasSubstr("no participant_id column"));
}

// Every protocol shipped in examples/ parses and passes what the services check
// (ValidateProtocol runs their own rules).
TEST(ProtocolTest, ShippedExamplesAreValid) {
  const std::string dir = std::string(FIELDWORK_TEST_SOURCE_DIR) + "/examples";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    absl::StatusOr<Protocol> protocol = LoadProtocol(entry.path().string());
    ASSERT_TRUE(protocol.ok()) << protocol.status();
    EXPECT_FALSE(protocol->waves.empty()) << entry.path();
    EXPECT_FALSE(protocol->campaigns.empty()) << entry.path();
    ASSERT_FALSE(protocol->plans.empty()) << entry.path();
    EXPECT_TRUE(protocol->lock_plan) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

constexpr char kInstrument[] = R"(
id: wellbeing
version: 1
items:
  - {id: happy, label: Happy, type: likert, min: 0, max: 10}
  - {id: calm, label: Calm, type: likert, min: 0, max: 10}
scales:
  - {id: happiness, label: Happiness, items: [happy]}
  - {id: calmness, label: Calmness, items: [calm]}
composites:
  - id: mood
    label: Mood
    components: [{scale: happiness, weight: 1}, {scale: calmness, weight: 1}]
)";

absl::StatusOr<std::string> OneInstrument(const std::string& path) {
  if (path == "dir/wellbeing.yaml") return std::string(kInstrument);
  return absl::InvalidArgumentError(path + ": cannot be read");
}

std::vector<std::string> Problems(const std::string& yaml) {
  absl::StatusOr<Protocol> protocol = ParseProtocol(yaml, "dir/t.yaml", OneInstrument);
  EXPECT_TRUE(protocol.ok()) << protocol.status();
  std::vector<std::string> lines;
  if (!protocol.ok()) return lines;
  for (const ProtocolProblem& p : ValidateProtocol(*protocol)) lines.push_back(p.field + " " + p.reason);
  return lines;
}

constexpr char kValid[] = R"(
trial:
  id: mood
  factors: [{name: f, method: complete, arms: [treatment, control]}]
instruments: [wellbeing.yaml]
waves:
  - {id: baseline, instrument: wellbeing, opens: 2021-01-04T00:00:00Z, closes: 2021-02-01T00:00:00Z}
  - {id: endline, instrument: wellbeing, opens: 2021-06-07T00:00:00Z, closes: 2021-07-05T00:00:00Z, norms_wave: baseline}
templates:
  - {id: invite, channel: email, subject: Survey, body: "Take it: {{survey_link}}"}
campaigns:
  - {id: endline-invitation, kind: survey_invitation, audience: all_enrolled, channel: email, wave: endline,
     survey_url: "https://s.example.org/e?p={participant_id}", start: 2021-06-07T09:00:00Z,
     time_zone: Europe/London, steps: [{template: invite}]}
analysis:
  control_arm: control
  outcomes:
    - {name: mood, wave: endline, composite: mood, baseline: {wave: baseline, composite: mood}}
    - {name: happiness, wave: endline, scale: happiness}
)";

std::string Edited(std::initializer_list<std::pair<std::string, std::string>> edits) {
  std::string yaml = kValid;
  for (const auto& [from, to] : edits) {
    const size_t at = yaml.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) yaml.replace(at, from.size(), to);
  }
  return yaml;
}

TEST(ValidateProtocolTest, AcceptsWhatTheServicesAccept) { EXPECT_THAT(Problems(kValid), IsEmpty()); }

// Each of these passed the dry run and was refused by a service part-way through the real apply
// (or, for the scale and composite, locked into the plan); all are listed, under their YAML paths.
TEST(ValidateProtocolTest, ListsEveryProblemTheServicesWouldRefuseUnderItsYamlPath) {
  EXPECT_THAT(
      Problems(Edited({{"id: mood\n", "id: Mood\n"},
                       {"closes: 2021-07-05T00:00:00Z", "closes: 2021-06-01T00:00:00Z"},
                       {"Take it: {{survey_link}}", "Take it: {{survey_link}} {{foo}}"},
                       {"composite: mood, baseline", "composite: moods, baseline"},
                       {"scale: happiness}", "scale: happyness}"}})),
      ElementsAre("trial.id \"Mood\" must be 1-64 lowercase letters, digits or '-'",
                  "waves[1].closes 2021-06-01T00:00:00Z is not after opens 2021-06-07T00:00:00Z",
                  HasSubstr("templates[0].body unknown placeholder {{foo}}"),
                  "analysis.outcomes[0].composite \"moods\" is not a composite of instrument wellbeing v1, which "
                  "wave endline collects (mood)",
                  "analysis.outcomes[1].scale \"happyness\" is not a scale of instrument wellbeing v1, which wave "
                  "endline collects (happiness, calmness)"));
  EXPECT_THAT(Problems(Edited({{"arms: [treatment, control]", "arms: [{name: treatment, weight: 0}, control]"}})),
              ElementsAre("trial.factors[0].arms[0].weight must be positive, got 0"));
  EXPECT_THAT(Problems(Edited({{"method: complete,", "method: complete_within_strata, strata: [sites],"}})),
              ElementsAre("trial.factors[0].strata[0] \"sites\" is not site, cohort or a categorical covariate"));
  EXPECT_THAT(Problems(Edited({{"{id: baseline, instrument: wellbeing,", "{id: baseline, instrument: wellbeing, version: 2,"},
                               {"norms_wave: baseline", "norms_wave: later"}})),
              ElementsAre("waves[0].instrument \"wellbeing\" version 2 is not a valid instrument of this protocol (instruments:)",
                          "waves[1].norms_wave \"later\" is not a wave listed before this one"));
  EXPECT_THAT(Problems(Edited({{"channel: email, subject: Survey", "channel: sms"}, {"channel: email, wave", "channel: sms, wave"}})),
              IsEmpty()) << "an SMS-only template's text is its body";
  EXPECT_THAT(Problems(Edited({{"channel: email, subject: Survey", "channel: sms"},
                               {"Take it: {{survey_link}}", "{{tracked_link:ftp://x}}"},
                               {"channel: email, wave", "channel: sms, wave"}})),
              ElementsAre(HasSubstr("templates[0].body the URL of {{tracked_link:...}}")));
}

// The diversity study's online experiment, its design edited: every factor the instrument's
// personal pages name must exist and fit, or no participant's link would show the form.
TEST(ValidateProtocolTest, AnOnlineExperimentMustFitTheDesign) {
  const std::string examples = std::string(FIELDWORK_TEST_SOURCE_DIR) + "/examples/";
  // The instrument as shipped, but its exp2 texts keyed by a factor the trial does not have.
  auto from_examples = [&](const std::string& path) -> absl::StatusOr<std::string> {
    absl::StatusOr<std::string> text = ReadFile(examples + path.substr(std::string("dir/").size()));
    if (text.ok() && absl::StrContains(path, "cv_assessment")) {
      const size_t at = text->find("factor: exp2_name");
      if (at != std::string::npos) text->replace(at, 17, "factor: exp2_names");
    }
    return text;
  };
  absl::StatusOr<std::string> original = ReadFile(examples + "diversity-online.yaml");
  ASSERT_TRUE(original.ok()) << original.status();
  auto problems = [&](std::initializer_list<std::pair<std::string, std::string>> edits) {
    std::string yaml = *original;
    for (const auto& [from, to] : edits) {
      const size_t at = yaml.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos) yaml.replace(at, from.size(), to);
    }
    absl::StatusOr<Protocol> protocol = ParseProtocol(yaml, "dir/diversity-online.yaml", from_examples);
    EXPECT_TRUE(protocol.ok()) << protocol.status();
    std::vector<std::string> lines;
    if (!protocol.ok()) return lines;
    for (const ProtocolProblem& p : ValidateProtocol(*protocol)) lines.push_back(p.field + " " + p.reason);
    return lines;
  };
  EXPECT_THAT(problems({}),
              ElementsAre("instrument cv_assessment v1 pages[1].text_by_arm \"exp2_names\" is not a factor of "
                          "the trial (trial.factors)"));
  EXPECT_THAT(
      problems({{"order_items: [exp1, exp2]", "order_items: [exp1, exp3]"},
                {"arms: [joint, separate]", "arms: [joint, separate, hybrid]"},
                {"name09, name10]", "name09, name11]"}}),
      ElementsAre(
          "instrument cv_assessment v1 blocks_ordered_by factor \"experiment_order\" orders [exp1, exp3], the "
          "instrument has [exp1, exp2]",
          "instrument cv_assessment v1 pages[0].text_by_arm nothing for arm \"hybrid\" of factor \"exp1_evaluation\"",
          "instrument cv_assessment v1 pages[1].text_by_arm \"exp2_names\" is not a factor of the trial (trial.factors)",
          HasSubstr("instrument cv_assessment v1 decisions 'cv_progress'.stimuli factor \"cv_names\" orders [name01, "),
          "instrument cv_assessment v1 decisions 'cv_progress'.per_page nothing for arm \"hybrid\" of factor "
          "\"exp1_evaluation\""));
}

// The diversity study pre-registers two analyses: experiment 1 in long format (a decision block,
// the candidate's ethnicity crossed with the condition) and experiment 2 per participant. Each
// is checked under its own path in the file, against the instrument the wave collects.
TEST(ValidateProtocolTest, SeveralAnalysesAndTheLongFormatInteractionAreChecked) {
  const std::string examples = std::string(FIELDWORK_TEST_SOURCE_DIR) + "/examples/";
  auto from_examples = [&](const std::string& path) {
    return ReadFile(examples + path.substr(std::string("dir/").size()));
  };
  absl::StatusOr<std::string> original = ReadFile(examples + "diversity-online.yaml");
  ASSERT_TRUE(original.ok()) << original.status();
  auto parse = [&](std::initializer_list<std::pair<std::string, std::string>> edits) {
    std::string yaml = *original;
    for (const auto& [from, to] : edits) {
      const size_t at = yaml.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos) yaml.replace(at, from.size(), to);
    }
    return ParseProtocol(yaml, "dir/diversity-online.yaml", from_examples);
  };
  auto problems = [&](std::initializer_list<std::pair<std::string, std::string>> edits) {
    absl::StatusOr<Protocol> protocol = parse(edits);
    EXPECT_TRUE(protocol.ok()) << protocol.status();
    std::vector<std::string> lines;
    if (!protocol.ok()) return lines;
    for (const ProtocolProblem& p : ValidateProtocol(*protocol)) lines.push_back(p.field + " " + p.reason);
    return lines;
  };
  absl::StatusOr<Protocol> shipped = parse({});
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  ASSERT_EQ(shipped->plans.size(), 2u);
  EXPECT_EQ(shipped->plans[0].plan_id(), "exp1");
  EXPECT_EQ(shipped->plans[0].estimator(), v1::ESTIMATOR_LONG_INTERACTION);
  EXPECT_EQ(shipped->plans[0].outcomes(0).source().decisions().block(), "cv_progress");
  EXPECT_EQ(shipped->plans[0].interaction().attribute(), "ethnicity");
  EXPECT_EQ(shipped->plans[1].plan_id(), "exp2");
  EXPECT_THAT(problems({}), IsEmpty());

  EXPECT_THAT(problems({{"decisions: cv_progress}", "decisions: cv_progres}"}}),
              ElementsAre("analyses[0].outcomes[0].decisions \"cv_progres\" is not a decision block of "
                          "instrument cv_assessment v1 (cv_progress)"));
  EXPECT_THAT(problems({{"attribute: ethnicity", "attribute: gender"}}),
              ElementsAre("analyses[0].outcomes[0].decisions block cv_progress's stimuli declare no attribute "
                          "\"gender\" (the plan's interaction.attribute); they declare: ethnicity"));
  EXPECT_THAT(problems({{"reference_level: white_british}", "reference_level: white}"}}),
              ElementsAre("analyses[0].outcomes[0].decisions no stimulus of block cv_progress has ethnicity "
                          "\"white\" (interaction.reference_level); its levels: minority_ethnic, white_british"));
  // The service's own rules, under the entry's path: HC2 is not clustered, and a per-decision
  // outcome needs the long-format estimator.
  EXPECT_THAT(problems({{"se_type: CR2", "se_type: HC2"},
                        {"{name: cv_evaluation_score, wave: experiment, scale: cv_evaluation_score}",
                         "{name: cv_evaluation_score, wave: experiment, decisions: cv_progress}"}}),
              ElementsAre(HasSubstr("analyses[0].se_type"), HasSubstr("analyses[1].outcomes[1]")));

  // Mistakes in the list itself stop the parse, naming the entry.
  EXPECT_THAT(parse({{"plan_id: exp2", "plan_id: exp1"}}).status().message(),
              HasSubstr("analyses[1].plan_id \"exp1\" is used by an earlier analysis"));
  EXPECT_THAT(parse({{"  - plan_id: exp2\n", "  -\n"}}).status().message(), HasSubstr("analyses[1].plan_id"));
  EXPECT_THAT(parse({{"lock_plan: true", "analysis: {control_arm: separate}\nlock_plan: true"}}).status().message(),
              HasSubstr("analyses give one analysis: section or an analyses: list, not both"));
}

TEST(ValidateProtocolTest, LoadProtocolNamesTheFileOnEveryLine) {
  const std::string path = ::testing::TempDir() + "/protocol.yaml";
  const std::string instrument = ::testing::TempDir() + "/wellbeing.yaml";
  std::ofstream(instrument) << kInstrument;
  std::ofstream(path) << Edited({{"closes: 2021-07-05T00:00:00Z", "closes: 2021-06-01T00:00:00Z"},
                                 {"scale: happiness}", "scale: happyness}"}});
  absl::StatusOr<Protocol> protocol = LoadProtocol(path);
  ASSERT_FALSE(protocol.ok());
  EXPECT_EQ(protocol.status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<std::string> lines = absl::StrSplit(protocol.status().message(), '\n');
  ASSERT_EQ(lines.size(), 2u) << protocol.status();
  EXPECT_THAT(lines[0], StartsWith(path + ": waves[1].closes "));
  EXPECT_THAT(lines[1], StartsWith(path + ": analysis.outcomes[1].scale "));
}

}  // namespace
}  // namespace fieldwork::cli

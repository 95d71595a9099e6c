#include "services/cli/protocol_validation.h"

#include <map>
#include <set>
#include <utility>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/analysis/plan_validation.h"
#include "services/messaging/convert.h"
#include "services/messaging/domain/campaign.h"
#include "services/messaging/domain/ids.h"
#include "services/messaging/domain/survey_link_url.h"
#include "services/messaging/domain/template.h"
#include "services/randomisation/engine/design_validation.h"
#include "services/survey_ingest/domain/instrument.h"
#include "services/survey_ingest/domain/instrument_yaml.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;
using google::protobuf::util::TimeUtil;
using InstrumentKey = std::pair<std::string, int>;  // id, version
// A service's field names that differ from the protocol's keys; "" drops the name.
using Names = std::map<std::string, std::string, std::less<>>;

// `field` ("steps[3].template_id") with each name found in `names` replaced ("steps[3].template").
std::string Renamed(absl::string_view field, const Names& names) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(field, '.')) {
    const size_t bracket = part.find('[');
    const absl::string_view name = part.substr(0, bracket);
    const absl::string_view index = bracket == absl::string_view::npos ? "" : part.substr(bracket);
    auto it = names.find(name);
    if (it == names.end()) {
      parts.emplace_back(part);
    } else if (!it->second.empty()) {
      parts.push_back(absl::StrCat(it->second, index));
    }
  }
  return absl::StrJoin(parts, ".");
}

class Problems {
 public:
  void Add(std::string field, std::string reason) { problems_.push_back({std::move(field), std::move(reason)}); }

  // Adds each item of a service's "<field>: <reason>; <field>: <reason>" message, under
  // `prefix` + the field renamed to the protocol's key. A "; " inside a reason (the next piece
  // does not start with a field) stays in that reason.
  void AddItems(const absl::Status& status, const std::string& prefix, const Names& names) {
    if (status.ok()) return;
    std::vector<ProtocolProblem> items;
    for (absl::string_view piece : absl::StrSplit(status.message(), "; ")) {
      const size_t colon = piece.find(": ");
      const bool headed = colon != absl::string_view::npos && piece.substr(0, colon).find(' ') == absl::string_view::npos;
      if (headed) {
        items.push_back({std::string(piece.substr(0, colon)), std::string(piece.substr(colon + 2))});
      } else if (!items.empty()) {
        absl::StrAppend(&items.back().reason, "; ", piece);
      } else {
        items.push_back({"", std::string(piece)});
      }
    }
    for (ProtocolProblem& item : items) {
      const std::string field = Renamed(item.field, names);
      Add(field.empty() ? prefix.substr(0, prefix.size() - 1) : prefix + field, std::move(item.reason));
    }
  }

  std::vector<ProtocolProblem> Take() { return std::move(problems_); }

 private:
  std::vector<ProtocolProblem> problems_;
};

// RandomisationService.CreateTrial's rules. The service stops at the first problem, so this
// reports at most one.
void CheckDesign(const v1::TrialDesign& design, Problems& problems) {
  const absl::Status s = randomisation::ValidateDesign(design);
  if (s.ok()) return;
  // "<field> <reason>", the field in the design's own terms ("factors[0].arms[1].weight").
  const absl::string_view message = s.message();
  const size_t space = message.find(' ');
  const std::string field = std::string(message.substr(0, space));
  problems.Add(field == "trial_id" ? "trial.id" : "trial." + field,
               space == absl::string_view::npos ? "is invalid" : std::string(message.substr(space + 1)));
}

// SurveyIngestService.PutInstrument's rules, for the instruments in the order they are put.
// Returns the valid ones by id and version, for the checks of waves and outcomes.
std::map<InstrumentKey, survey_ingest::Instrument> CheckInstruments(const Protocol& protocol, Problems& problems) {
  std::map<InstrumentKey, survey_ingest::Instrument> valid;
  survey_ingest::InstrumentCatalog catalog;
  for (size_t i = 0; i < protocol.instruments.size(); ++i) {
    const Protocol::InstrumentFile& file = protocol.instruments[i];
    const std::string at = absl::StrCat("instruments[", i, "]");
    absl::StatusOr<survey_ingest::Instrument> parsed = survey_ingest::ParseInstrumentYaml(file.definition_yaml);
    absl::Status s = parsed.ok() ? catalog.Add(*parsed) : parsed.status();
    if (!s.ok()) {
      for (absl::string_view item : absl::StrSplit(s.message(), "; ")) problems.Add(at, absl::StrCat(file.path, ": ", item));
      continue;
    }
    valid.emplace(InstrumentKey(parsed->id, parsed->version), *std::move(parsed));
  }
  return valid;
}

// SurveyIngestService.PutWave's rules, for the waves in the order they are put.
void CheckWaves(const Protocol& protocol, const std::map<InstrumentKey, survey_ingest::Instrument>& instruments,
                Problems& problems) {
  std::set<std::string> listed;
  for (size_t i = 0; i < protocol.waves.size(); ++i) {
    const v1::Wave& wave = protocol.waves[i];
    const std::string at = absl::StrCat("waves[", i, "]");
    // survey-ingest holds wave ids to the same rule as messaging's ids.
    problems.AddItems(messaging::ValidateId("id", wave.wave_id()), at + ".", {});
    if (!listed.insert(wave.wave_id()).second) problems.Add(at + ".id", absl::StrCat("\"", wave.wave_id(), "\" is listed twice"));
    if (wave.closes_at() <= wave.opens_at()) {
      problems.Add(at + ".closes", absl::StrCat(TimeUtil::ToString(wave.closes_at()), " is not after opens ",
                                                TimeUtil::ToString(wave.opens_at())));
    }
    const InstrumentKey key(wave.instrument_id(), wave.instrument_version());
    if (instruments.count(key) == 0) {
      problems.Add(at + ".instrument", absl::StrCat("\"", wave.instrument_id(), "\" version ", wave.instrument_version(),
                                                    " is not a valid instrument of this protocol (instruments:)"));
    }
    // The service needs the norms wave stored first, and apply puts waves in the order listed.
    if (!wave.norms_wave_id().empty() && wave.norms_wave_id() != wave.wave_id() &&
        listed.count(wave.norms_wave_id()) == 0) {
      problems.Add(at + ".norms_wave", absl::StrCat("\"", wave.norms_wave_id(), "\" is not a wave listed before this one"));
    }
  }
}

// MessagingService.UpdateTemplate's rules. Returns the templates that compiled, by id.
std::map<std::string, messaging::TemplateVersion> CheckTemplates(const Protocol& protocol, Problems& problems) {
  std::map<std::string, messaging::TemplateVersion> compiled;
  for (size_t i = 0; i < protocol.templates.size(); ++i) {
    const Protocol::Template& t = protocol.templates[i];
    const std::string at = absl::StrCat("templates[", i, "].");
    problems.AddItems(messaging::ValidateId("id", t.id), at, {});
    // An SMS-only template's SMS text is its `body:` in the protocol.
    const bool sms_only = t.content.text_body().empty();
    absl::StatusOr<messaging::TemplateVersion> version =
        messaging::CompileTemplate(t.id, 1, messaging::TemplateFromProto(t.content), absl::UnixEpoch());
    if (version.ok()) {
      compiled.emplace(t.id, *std::move(version));
    } else {
      problems.AddItems(version.status(), at, {{"text_body", "body"}, {"sms_body", sms_only ? "body" : "sms_body"}});
    }
  }
  return compiled;
}

// MessagingService.CreateCampaign's rules.
void CheckCampaigns(const Protocol& protocol, const std::map<std::string, messaging::TemplateVersion>& templates,
                    Problems& problems) {
  const Names names = {{"campaign", ""}, {"campaign_id", "id"}, {"trial_time_zone", "time_zone"},
                       {"wave_id", "wave"}, {"template_id", "template"}};
  for (size_t i = 0; i < protocol.campaigns.size(); ++i) {
    const std::string at = absl::StrCat("campaigns[", i, "].");
    absl::StatusOr<messaging::Campaign> campaign =
        messaging::CampaignFromProto(protocol.design.trial_id(), protocol.campaigns[i]);
    if (!campaign.ok()) {
      problems.AddItems(campaign.status(), at, names);
      continue;
    }
    // The trial id is checked once, by the design's stricter rule; messaging's own rule for it
    // would only repeat that problem here.
    campaign->trial_id = "t";
    problems.AddItems(messaging::ValidateCampaign(*campaign), at, names);
    bool templates_compiled = true;
    for (const auto& step : campaign->steps) templates_compiled = templates_compiled && templates.count(step.template_id) > 0;
    if (!templates_compiled) continue;  // the template's own problem is reported once, under templates:
    problems.AddItems(messaging::ValidateCampaignTemplates(*campaign,
                                                           [&](absl::string_view id) -> const messaging::TemplateVersion* {
                                                             auto it = templates.find(std::string(id));
                                                             return it == templates.end() ? nullptr : &it->second;
                                                           }),
                      at, names);
  }
}

// The instrument wave `wave_id` collects, or nullptr (an unknown wave or instrument is reported
// under waves: or instruments:).
const survey_ingest::Instrument* InstrumentOfWave(const std::string& wave_id, const Protocol& protocol,
                                                  const std::map<InstrumentKey, survey_ingest::Instrument>& instruments) {
  for (const v1::Wave& w : protocol.waves) {
    if (w.wave_id() != wave_id) continue;
    auto it = instruments.find(InstrumentKey(w.instrument_id(), w.instrument_version()));
    return it == instruments.end() ? nullptr : &it->second;
  }
  return nullptr;
}

// A decisions outcome's block must be a decision block of its wave's instrument, and the
// plan's interaction attribute an attribute its stimuli declare.
void CheckDecisions(const v1::AnalysisPlan& plan, const v1::OutcomeSource& source, const std::string& at,
                    const Protocol& protocol, const std::map<InstrumentKey, survey_ingest::Instrument>& instruments,
                    Problems& problems) {
  if (!source.has_decisions()) return;
  const survey_ingest::Instrument* instrument = InstrumentOfWave(source.decisions().wave_id(), protocol, instruments);
  if (instrument == nullptr) return;
  const survey_ingest::DecisionBlock* block = instrument->FindDecisionBlock(source.decisions().block());
  if (block == nullptr) {
    std::vector<std::string> known;
    for (const auto& b : instrument->decisions) known.push_back(b.id);
    problems.Add(at + ".decisions",
                 absl::StrCat("\"", source.decisions().block(), "\" is not a decision block of instrument ",
                              instrument->Name(), " (", known.empty() ? std::string("it has none") : absl::StrJoin(known, ", "), ")"));
    return;
  }
  const std::string& attribute = plan.interaction().attribute();
  if (attribute.empty()) return;  // ValidatePlan names it
  std::set<std::string> declared;
  std::set<std::string> levels;
  for (const auto& stimulus : block->stimuli) {
    for (const auto& [name, value] : stimulus.attributes) {
      declared.insert(name);
      if (name == attribute) levels.insert(value);
    }
  }
  if (!declared.contains(attribute)) {
    problems.Add(at + ".decisions",
                 absl::StrCat("block ", block->id, "'s stimuli declare no attribute \"", attribute,
                              "\" (the plan's interaction.attribute); they declare: ",
                              declared.empty() ? std::string("none") : absl::StrJoin(declared, ", ")));
  } else if (!levels.contains(plan.interaction().reference_level())) {
    problems.Add(at + ".decisions",
                 absl::StrCat("no stimulus of block ", block->id, " has ", attribute, " \"",
                              plan.interaction().reference_level(), "\" (interaction.reference_level); its levels: ",
                              absl::StrJoin(levels, ", ")));
  }
}

// An outcome's score must be a scale or composite of the instrument its wave collects.
void CheckScore(const v1::OutcomeSource& source, const std::string& at, const Protocol& protocol,
                const std::map<InstrumentKey, survey_ingest::Instrument>& instruments, Problems& problems) {
  if (!source.has_survey()) return;
  const v1::OutcomeSource::SurveyScore& score = source.survey();
  const v1::Wave* wave = nullptr;
  for (const v1::Wave& w : protocol.waves) {
    if (w.wave_id() == score.wave_id()) wave = &w;
  }
  if (wave == nullptr) return;  // the parser names an unknown wave
  auto it = instruments.find(InstrumentKey(wave->instrument_id(), wave->instrument_version()));
  if (it == instruments.end()) return;  // reported under waves: or instruments:
  const survey_ingest::Instrument& instrument = it->second;
  const bool composite = score.kind() == v1::OutcomeSource::SurveyScore::KIND_COMPOSITE;
  const bool found = composite ? instrument.FindComposite(score.score_id()) != nullptr
                               : instrument.FindScale(score.score_id()) != nullptr;
  if (found) return;
  std::vector<std::string> known;
  if (composite) {
    for (const auto& c : instrument.composites) known.push_back(c.id);
  } else {
    for (const auto& s : instrument.scales) known.push_back(s.id);
  }
  const char* kind = composite ? "composite" : "scale";
  problems.Add(absl::StrCat(at, ".", kind),
               absl::StrCat("\"", score.score_id(), "\" is not a ", kind, " of instrument ", instrument.Name(),
                            ", which wave ", wave->wave_id(), " collects (",
                            known.empty() ? std::string("it has none") : absl::StrJoin(known, ", "), ")"));
}

// AnalysisService.RegisterPlan's rules, and the scores its outcomes name.
void CheckPlan(const Protocol& protocol, const std::map<InstrumentKey, survey_ingest::Instrument>& instruments,
               Problems& problems) {
  v1::Trial trial;
  *trial.mutable_design() = protocol.design;
  const bool listed = protocol.plans.size() > 1;
  for (size_t p = 0; p < protocol.plans.size(); ++p) {
    const v1::AnalysisPlan& plan = protocol.plans[p];
    // The file's own path to the plan: analysis, or analyses[p] in a list of several.
    const std::string section = listed ? absl::StrCat("analyses[", p, "]") : "analysis";
    problems.AddItems(analysis::ValidatePlan(trial, plan), "",
                      {{"plan", section}, {"source", ""}, {"survey", ""}, {"wave_id", "wave"},
                       {"score_id", "scale"}, {"outcome", ""}});
    for (int i = 0; i < plan.outcomes_size(); ++i) {
      const std::string at = absl::StrCat(section, ".outcomes[", i, "]");
      CheckScore(plan.outcomes(i).source(), at, protocol, instruments, problems);
      CheckDecisions(plan, plan.outcomes(i).source(), at, protocol, instruments, problems);
      if (plan.outcomes(i).has_baseline()) CheckScore(plan.outcomes(i).baseline(), at + ".baseline", protocol, instruments, problems);
    }
  }
}

const v1::Factor* FindFactor(const v1::TrialDesign& design, const std::string& name) {
  for (const v1::Factor& factor : design.factors()) {
    if (factor.name() == name) return &factor;
  }
  return nullptr;
}

bool OrdersItems(const v1::Factor& factor) {
  return factor.method() == v1::RANDOMISATION_METHOD_LATIN_SQUARE ||
         factor.method() == v1::RANDOMISATION_METHOD_RANDOM_ORDER;
}

// An online experiment's instrument against the design: every factor it names exists and
// gives what the form needs of it (an order of exactly the blocks or stimuli; a text or a
// per-page count for every arm), so that no participant's link ever shows "unavailable".
void CheckOnlineExperiments(const Protocol& protocol,
                            const std::map<InstrumentKey, survey_ingest::Instrument>& instruments,
                            Problems& problems) {
  for (const auto& [key, instrument] : instruments) {
    if (!instrument.Personalised()) continue;
    const std::string at = absl::StrCat("instrument ", instrument.Name(), " ");
    auto factor_for = [&](const std::string& field, const std::string& name, bool ordering) -> const v1::Factor* {
      const v1::Factor* factor = FindFactor(protocol.design, name);
      if (factor == nullptr) {
        problems.Add(at + field, absl::StrCat("\"", name, "\" is not a factor of the trial (trial.factors)"));
      } else if (OrdersItems(*factor) != ordering) {
        problems.Add(at + field, absl::StrCat("factor \"", name, "\" ",
                                              ordering ? "does not order items (latin_square or random_order)"
                                                       : "orders items; a text or count needs arms"));
        return nullptr;
      }
      return factor;
    };
    auto same_items = [&](const std::string& field, const v1::Factor& factor, std::set<std::string> wanted) {
      const std::set<std::string> given(factor.order_items().begin(), factor.order_items().end());
      if (given != wanted || static_cast<size_t>(factor.order_items_size()) != wanted.size()) {
        problems.Add(at + field, absl::StrCat("factor \"", factor.name(), "\" orders [", absl::StrJoin(factor.order_items(), ", "),
                                              "], the instrument has [", absl::StrJoin(wanted, ", "), "]"));
      }
    };
    auto every_arm = [&](const std::string& field, const v1::Factor& factor, const auto& per_arm) {
      for (const v1::Arm& arm : factor.arms()) {
        if (per_arm.count(arm.name()) == 0) {
          problems.Add(at + field, absl::StrCat("nothing for arm \"", arm.name(), "\" of factor \"", factor.name(), "\""));
        }
      }
    };
    if (!instrument.blocks_ordered_by.empty()) {
      std::set<std::string> blocks;
      for (const auto& page : instrument.pages) {
        if (!page.block.empty()) blocks.insert(page.block);
      }
      if (const v1::Factor* f = factor_for("blocks_ordered_by", instrument.blocks_ordered_by, true)) {
        same_items("blocks_ordered_by", *f, blocks);
      }
    }
    for (size_t p = 0; p < instrument.pages.size(); ++p) {
      const auto& texts = instrument.pages[p].text_by_arm;
      if (texts.empty()) continue;
      const std::string field = absl::StrCat("pages[", p, "].text_by_arm");
      if (const v1::Factor* f = factor_for(field, texts.factor, false)) every_arm(field, *f, texts.texts);
    }
    for (const auto& block : instrument.decisions) {
      const std::string field = absl::StrCat("decisions '", block.id, "'");
      if (const v1::Factor* f = factor_for(field + ".stimuli_factor", block.stimuli_factor, true)) {
        std::set<std::string> stimuli;
        for (const auto& stimulus : block.stimuli) stimuli.insert(stimulus.id);
        same_items(field + ".stimuli", *f, stimuli);
      }
      if (block.per_page_factor.empty()) continue;
      if (const v1::Factor* f = factor_for(field + ".per_page", block.per_page_factor, false)) {
        every_arm(field + ".per_page", *f, block.per_page);
      }
    }
  }
}

}  // namespace

std::vector<ProtocolProblem> ValidateProtocol(const Protocol& protocol) {
  Problems problems;
  CheckDesign(protocol.design, problems);
  const std::map<InstrumentKey, survey_ingest::Instrument> instruments = CheckInstruments(protocol, problems);
  CheckWaves(protocol, instruments, problems);
  CheckOnlineExperiments(protocol, instruments, problems);
  CheckCampaigns(protocol, CheckTemplates(protocol, problems), problems);
  CheckPlan(protocol, instruments, problems);
  return problems.Take();
}

std::vector<ProtocolProblem> ProtocolWarnings(const Protocol& protocol) {
  std::vector<ProtocolProblem> warnings;
  for (size_t i = 0; i < protocol.campaigns.size(); ++i) {
    if (!absl::StrContains(protocol.campaigns[i].survey_url_template(), messaging::kParticipantIdPlaceholder)) continue;
    warnings.push_back({absl::StrCat("campaigns[", i, "].survey_url"),
                        "contains {participant_id}: anyone who edits the link can answer for a colleague; use "
                        "survey: hosted (Fieldwork's form) or {survey_token} (a sealed personal token) instead"});
  }
  return warnings;
}

absl::StatusOr<Protocol> LoadProtocol(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<Protocol> protocol = ParseProtocol(*text, path, ReadFile);
  if (!protocol.ok()) return protocol.status();
  const std::vector<ProtocolProblem> problems = ValidateProtocol(*protocol);
  if (problems.empty()) return protocol;
  std::vector<std::string> lines;
  for (const ProtocolProblem& p : problems) lines.push_back(absl::StrCat(path, ": ", p.field, " ", p.reason));
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

}  // namespace fieldwork::cli

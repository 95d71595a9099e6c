#include "services/cli/simulate/responses_sim.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/cli/simulate/random.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli::simulate {
namespace {

using survey_ingest::Instrument;
using survey_ingest::Item;
using survey_ingest::ItemType;
using survey_ingest::RawResponse;
using survey_ingest::Scale;
using survey_ingest::ScaleNorms;
using survey_ingest::Scorer;
using survey_ingest::ScoredResponse;

constexpr double kLoading = 0.7;  // correlation of each item's latent value with the trait
constexpr size_t kCalibrationDraws = 20'000;
constexpr std::uint64_t kCalibrationSeed = 0x5eedca11b4a7e5ULL;

// Qualtrics' own columns before the questions, with their ImportIds and question texts.
struct MetaColumn {
  const char* name;
  const char* question;
  const char* import_id;
};
constexpr MetaColumn kMeta[] = {
    {"StartDate", "Start Date", R"({"ImportId":"startDate","timeZone":"UTC"})"},
    {"EndDate", "End Date", R"({"ImportId":"endDate","timeZone":"UTC"})"},
    {"Status", "Response Type", R"({"ImportId":"status"})"},
    {"IPAddress", "IP Address", R"({"ImportId":"ipAddress"})"},
    {"Progress", "Progress", R"({"ImportId":"progress"})"},
    {"Duration (in seconds)", "Duration (in seconds)", R"({"ImportId":"duration"})"},
    {"Finished", "Finished", R"({"ImportId":"finished"})"},
    {"RecordedDate", "Recorded Date", R"({"ImportId":"recordedDate","timeZone":"UTC"})"},
    {"ResponseId", "Response ID", R"({"ImportId":"_recordId"})"},
    {"RecipientLastName", "Recipient Last Name", R"({"ImportId":"recipientLastName"})"},
    {"RecipientFirstName", "Recipient First Name", R"({"ImportId":"recipientFirstName"})"},
    {"RecipientEmail", "Recipient Email", R"({"ImportId":"recipientEmail"})"},
    {"ExternalReference", "External Data Reference", R"({"ImportId":"externalDataReference"})"},
    {"LocationLatitude", "Location Latitude", R"({"ImportId":"locationLatitude"})"},
    {"LocationLongitude", "Location Longitude", R"({"ImportId":"locationLongitude"})"},
    {"DistributionChannel", "Distribution Channel", R"({"ImportId":"distributionChannel"})"},
    {"UserLanguage", "User Language", R"({"ImportId":"userLanguage"})"},
};

bool Reversed(const Scale& scale, const std::string& item) {
  return std::find(scale.reverse_items.begin(), scale.reverse_items.end(), item) != scale.reverse_items.end();
}

// +1 or −1 per item: the direction in which the item moves the target score.
std::map<std::string, int> Directions(const Instrument& instrument, const std::string& target) {
  std::map<std::string, int> dirs;
  auto set = [&](const Scale& scale, int sign) {
    for (const std::string& item : scale.items) dirs[item] = sign * (Reversed(scale, item) ? -1 : 1);
  };
  // Items outside the target follow the first scale they are in.
  for (auto it = instrument.scales.rbegin(); it != instrument.scales.rend(); ++it) set(*it, 1);
  if (const auto* composite = instrument.FindComposite(target)) {
    for (const auto& component : composite->components) {
      if (const Scale* scale = instrument.FindScale(component.scale)) set(*scale, component.weight < 0 ? -1 : 1);
    }
  } else if (const Scale* scale = instrument.FindScale(target)) {
    set(*scale, 1);
  }
  return dirs;
}

std::string Answer(const Item& item, int dir, double latent, Random& random) {
  switch (item.type) {
    case ItemType::kLikert:
    case ItemType::kNumeric: {
      const double middle = (item.min + item.max) / 2;
      const double spread = (item.max - item.min) / 5;
      double value = std::clamp(middle + dir * spread * latent, item.min, item.max);
      if (item.type == ItemType::kLikert || item.integer) {
        // Whole numbers inside the range (the range's ends may be fractional for numerics).
        const double low = std::ceil(item.min);
        value = std::clamp(std::round(value), low, std::max(low, std::floor(item.max)));
        return absl::StrCat(static_cast<int64_t>(value));
      }
      return absl::StrFormat("%.1f", std::clamp(std::round(value * 10) / 10, item.min, item.max));
    }
    case ItemType::kSingleChoice: {
      std::vector<const survey_ingest::ChoiceOption*> options;
      for (const auto& o : item.options) options.push_back(&o);
      if (options.empty()) return "";
      if (!item.Scorable()) return options[random.Index(options.size())]->code;
      std::stable_sort(options.begin(), options.end(), [](const auto* a, const auto* b) { return *a->score < *b->score; });
      const double top = static_cast<double>(options.size() - 1);
      const double position = std::clamp(std::round(top / 2 + dir * top / 5 * latent), 0.0, top);
      return options[static_cast<size_t>(position)]->code;
    }
    case ItemType::kFreeText:
      return item.required ? "Simulated answer." : "";
  }
  return "";
}

// Answers to every item for a participant with trait `z`, noise from `random`.
std::vector<std::string> Answers(const Instrument& instrument, const std::map<std::string, int>& dirs, double z,
                                 Random& random) {
  std::vector<std::string> answers;
  answers.reserve(instrument.items.size());
  const double noise_loading = std::sqrt(1 - kLoading * kLoading);
  for (const Item& item : instrument.items) {
    const double latent = kLoading * z + noise_loading * random.Normal();
    auto dir = dirs.find(item.id);
    answers.push_back(Answer(item, dir == dirs.end() ? 1 : dir->second, latent, random));
  }
  return answers;
}

RawResponse ToRaw(const Instrument& instrument, const std::vector<std::string>& answers) {
  RawResponse raw;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].empty()) raw[instrument.items[i].id] = answers[i];
  }
  return raw;
}

// Answers by item id, blanks left out.
std::map<std::string, std::string> ByItem(const Instrument& instrument, const std::vector<std::string>& answers) {
  std::map<std::string, std::string> by_item;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].empty()) by_item[instrument.items[i].id] = answers[i];
  }
  return by_item;
}

// The trait shift that gives the target score a standardised difference of `effect`:
// effect · SD(target) / slope of target on Z, both measured on untreated draws.
absl::StatusOr<double> CalibrateShift(const Scorer& scorer, const std::map<std::string, int>& dirs,
                                      const std::string& target, bool composite, double effect) {
  if (effect == 0) return 0.0;
  const Instrument& instrument = scorer.instrument();
  Random random(kCalibrationSeed, "calibration/" + instrument.id + "/" + target);
  std::vector<double> z(kCalibrationDraws);
  std::vector<ScoredResponse> scored(kCalibrationDraws);
  for (size_t i = 0; i < kCalibrationDraws; ++i) {
    z[i] = random.Normal();
    auto result = scorer.Score(ToRaw(instrument, Answers(instrument, dirs, z[i], random)));
    if (!result.ok()) {
      return absl::InternalError(absl::StrCat("simulated answers fail instrument ", instrument.Name(), ": ",
                                              result.errors.front().field, " ", result.errors.front().reason));
    }
    scored[i] = std::move(result.scored);
  }
  ScaleNorms norms;
  if (composite) {
    // Standardise the components as survey-ingest does against a baseline wave: by their mean
    // and SD among untreated respondents.
    for (const Scale& scale : instrument.scales) {
      double sum = 0, sum2 = 0;
      int n = 0;
      for (const auto& s : scored) {
        if (const auto* v = s.FindScale(scale.id); v != nullptr && v->value) {
          sum += *v->value;
          sum2 += *v->value * *v->value;
          ++n;
        }
      }
      if (n < 2) continue;
      const double mean = sum / n;
      const double var = (sum2 - n * mean * mean) / (n - 1);
      if (var > 0) norms[scale.id] = {mean, std::sqrt(var)};
    }
  }
  double sz = 0, st = 0, szz = 0, stt = 0, szt = 0;
  int n = 0;
  for (size_t i = 0; i < kCalibrationDraws; ++i) {
    std::optional<double> t;
    if (composite) {
      scorer.ScoreComposites(scored[i], &norms);
      if (const auto* c = scored[i].FindComposite(target)) t = c->value;
    } else if (const auto* s = scored[i].FindScale(target)) {
      t = s->value;
    }
    if (!t) continue;
    sz += z[i];
    st += *t;
    szz += z[i] * z[i];
    stt += *t * *t;
    szt += z[i] * *t;
    ++n;
  }
  if (n < 100) return absl::FailedPreconditionError(absl::StrCat("score \"", target, "\" is missing in simulated responses"));
  const double cov = (szt - sz * st / n) / (n - 1);
  const double var_z = (szz - sz * sz / n) / (n - 1);
  const double var_t = (stt - st * st / n) / (n - 1);
  const double slope = cov / var_z;
  if (!(slope > 1e-9) || !(var_t > 0)) {
    return absl::FailedPreconditionError(absl::StrCat("score \"", target, "\" does not vary with the simulated trait"));
  }
  return effect * std::sqrt(var_t) / slope;
}

std::string ResponseId(std::uint64_t seed, const std::string& wave, const std::string& participant) {
  return absl::StrFormat("R_%016x", StreamSeed(seed, "response-id/" + wave + "/" + participant));
}

std::string QualtricsTime(absl::Time t) { return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone()); }

}  // namespace

std::string TargetScore(const Instrument& instrument) {
  if (!instrument.composites.empty()) return instrument.composites.front().id;
  const Scale* best = nullptr;
  for (const Scale& s : instrument.scales) {
    if (best == nullptr || s.items.size() > best->items.size()) best = &s;
  }
  return best == nullptr ? "" : best->id;
}

absl::StatusOr<SimulatedResponses> SimulateResponses(const Scorer& scorer, const std::vector<SimAllocation>& allocations,
                                                     const ResponseSimOptions& options) {
  const Instrument& instrument = scorer.instrument();
  if (!(options.response_rate >= 0 && options.response_rate <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("--response_rate must be in [0, 1], got ", options.response_rate));
  }
  if (!(std::abs(options.differential_attrition) <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("--differential_attrition must be in [-1, 1] (proportion points), got ",
                                                   options.differential_attrition));
  }
  if (!std::isfinite(options.effect)) return absl::InvalidArgumentError("--effect must be a number");
  if (options.arms.empty()) return absl::InvalidArgumentError("the factor has no arms");
  std::string control = options.control_arm;
  if (control.empty()) {
    control = std::find(options.arms.begin(), options.arms.end(), "control") != options.arms.end() ? "control" : options.arms.back();
  }
  if (std::find(options.arms.begin(), options.arms.end(), control) == options.arms.end()) {
    return absl::InvalidArgumentError(absl::StrCat("control arm \"", control, "\" is not one of the arms ", absl::StrJoin(options.arms, ", ")));
  }

  SimulatedResponses out;
  out.target = options.target.empty() ? TargetScore(instrument) : options.target;
  out.target_is_composite = instrument.FindComposite(out.target) != nullptr;
  if (out.target.empty() || (!out.target_is_composite && instrument.FindScale(out.target) == nullptr)) {
    if (options.effect != 0) {
      return absl::InvalidArgumentError(absl::StrCat("instrument ", instrument.Name(), " has no scale or composite \"",
                                                     out.target, "\" to put the effect on"));
    }
  }
  const std::map<std::string, int> dirs = Directions(instrument, out.target);
  absl::StatusOr<double> shift = CalibrateShift(scorer, dirs, out.target, out.target_is_composite, options.effect);
  if (!shift.ok()) return shift.status();
  out.latent_shift = *shift;
  for (const std::string& arm : options.arms) out.by_arm[arm];

  std::vector<std::string> names, questions, import_ids;
  for (const MetaColumn& m : kMeta) {
    names.emplace_back(m.name);
    questions.emplace_back(m.question);
    import_ids.emplace_back(m.import_id);
  }
  for (const Item& item : instrument.items) {
    names.push_back(item.ColumnName());
    questions.push_back(item.label);
    import_ids.push_back(absl::StrCat(R"({"ImportId":")",
                                      item.qualtrics_import_id.empty() ? item.ColumnName() : item.qualtrics_import_id,
                                      R"("})"));
  }
  survey_ingest::AppendCsvRecord(out.csv, names);
  survey_ingest::AppendCsvRecord(out.csv, questions);
  survey_ingest::AppendCsvRecord(out.csv, import_ids);

  const std::string factor = options.factor;
  for (const SimAllocation& a : allocations) {
    if (a.withdrawn) {
      ++out.withdrawn;
      continue;
    }
    auto arm_it = a.arms.find(factor);
    if (arm_it == a.arms.end()) {
      return absl::InvalidArgumentError(absl::StrCat("allocations: no column for factor \"", factor, "\""));
    }
    auto counts = out.by_arm.find(arm_it->second);
    if (counts == out.by_arm.end()) {
      return absl::InvalidArgumentError(absl::StrCat("allocations: participant ", a.participant_id, " has arm \"",
                                                     arm_it->second, "\", not an arm of factor ", factor));
    }
    ++counts->second.eligible;
    const bool treated = arm_it->second != control;
    const double half = options.differential_attrition / 2;
    const double rate = std::clamp(options.response_rate + (treated ? -half : half), 0.0, 1.0);
    Random random(options.seed, "response/" + options.wave_id + "/" + a.participant_id);
    Random trait(options.seed, "trait/" + a.participant_id);
    if (!random.Bernoulli(rate)) {
      // What they would type on the pages they fill in before leaving, should they open the
      // link (a stream of its own: the respondents' draws stay as they were).
      Random unsubmitted(options.seed, "unsubmitted/" + options.wave_id + "/" + a.participant_id);
      const double z = trait.Normal() + (treated ? out.latent_shift : 0);
      out.unanswered.push_back(
          {a.participant_id, ByItem(instrument, Answers(instrument, dirs, z, unsubmitted))});
      continue;
    }
    // Someone who left the organisation before the wave opened is no longer asked.
    absl::CivilDay left;
    if (!a.left_on.empty() && options.opens && absl::ParseCivilTime(a.left_on, &left) &&
        left < absl::ToCivilDay(*options.opens, absl::UTCTimeZone())) {
      ++out.left_before;
      continue;
    }
    const double z = trait.Normal() + (treated ? out.latent_shift : 0);
    const std::vector<std::string> answers = Answers(instrument, dirs, z, random);
    if (auto check = scorer.Score(ToRaw(instrument, answers)); !check.ok()) {
      return absl::InternalError(absl::StrCat("simulated answers fail instrument ", instrument.Name(), ": ",
                                              check.errors.front().field, " ", check.errors.front().reason));
    }
    absl::Time start = absl::FromCivil(absl::CivilDay(2021, 1, 4), absl::UTCTimeZone()) +
                       absl::Seconds(std::floor(random.Uniform() * 14 * 86400));
    if (options.opens && options.closes && *options.closes > *options.opens) {
      // Inside the window, leaving room for the time spent answering.
      start = *options.opens + absl::Seconds(std::floor(random.Uniform() * 0.9 * absl::ToDoubleSeconds(*options.closes - *options.opens)));
    }
    const int64_t duration = 60 + static_cast<int64_t>(random.Index(540));
    const absl::Time end = start + absl::Seconds(duration);
    std::vector<std::string> row = {QualtricsTime(start), QualtricsTime(end), "0", "", "100",
                                    absl::StrCat(duration), "1", QualtricsTime(end + absl::Seconds(1)),
                                    ResponseId(options.seed, options.wave_id, a.participant_id), "", "", "",
                                    a.participant_id, "", "", "email", "EN"};
    row.insert(row.end(), answers.begin(), answers.end());
    survey_ingest::AppendCsvRecord(out.csv, row);
    out.answered.push_back({a.participant_id, ByItem(instrument, answers)});
    ++counts->second.responded;
    ++out.rows;
  }
  return out;
}

}  // namespace fieldwork::cli::simulate

// fieldwork simulate roster|responses|outcomes|clicks: the I/O around the pure simulator in
// services/cli/simulate/. Every command is deterministic from --seed, writes its files whole
// (to a temporary name, then renamed) and prints one line saying what it wrote.
#include <curl/curl.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/cli/commands.h"
#include "services/cli/protocol.h"
#include "services/cli/simulate/allocations.h"
#include "services/cli/simulate/mail_links.h"
#include "services/cli/simulate/outcomes_sim.h"
#include "services/cli/simulate/responses_sim.h"
#include "services/cli/simulate/roster_sim.h"
#include "services/cli/simulate_form_visits.h"
#include "services/survey_ingest/domain/instrument_yaml.h"

ABSL_FLAG(std::string, n, "100", "simulate roster: participants, in all or per cohort (\"281,867\")");
ABSL_FLAG(uint64_t, seed, 1, "simulate: the seed every draw derives from");
ABSL_FLAG(std::string, out, "",
          "simulate: output directory (roster, outcomes) or file (responses); audit anchor: the "
          "anchor file (default TRIAL.audit-anchors)");
ABSL_FLAG(std::string, wave, "", "simulate responses: the wave; responses replay and responses decisions: one wave only");
ABSL_FLAG(double, effect, 0, "simulate responses, outcomes: standardised effect, treated minus control");
ABSL_FLAG(double, response_rate, 0.8, "simulate responses: share responding, 0-1");
ABSL_FLAG(double, differential_attrition, 0,
          "simulate responses: percentage points by which treated arms respond less than control");
ABSL_FLAG(std::string, outcome, "", "simulate responses: the scale or composite the effect is on");
ABSL_FLAG(double, leaver_rate, 0.05, "simulate outcomes: share of participants who leave, 0-1");
ABSL_FLAG(std::string, via_links, "",
          "simulate responses: answer on the hosted form through the survey links in this mail "
          "directory (with --contacts), instead of writing --out");
ABSL_FLAG(std::string, contacts, "",
          "simulate responses --via_links: the contacts CSV saying whom each mail went to");
ABSL_FLAG(double, rate, 0.3, "simulate clicks: share of tracked links followed, 0-1");

namespace fieldwork::cli {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::fieldwork::v1;
namespace sim = ::fieldwork::cli::simulate;

int Fail(const std::string& message, int code = kUsage) {
  std::cerr << "fieldwork: " << message << "\n";
  return code;
}

// Writes the whole file or nothing: a temporary file next to it, renamed over it.
absl::Status WriteWhole(const fs::path& path, const std::string& content) {
  std::error_code error;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), error);
  if (error) return absl::InvalidArgumentError(absl::StrCat(path.parent_path().string(), ": ", error.message()));
  const fs::path temporary = path.string() + ".partial";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return absl::InvalidArgumentError(absl::StrCat(temporary.string(), ": cannot be written"));
  }
  fs::rename(temporary, path, error);
  if (error) return absl::InvalidArgumentError(absl::StrCat(path.string(), ": ", error.message()));
  return absl::OkStatus();
}

absl::StatusOr<Protocol> LoadProtocol(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseProtocol(*text, path, ReadFile);
}

absl::StatusOr<std::vector<sim::SimAllocation>> LoadAllocations(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return sim::ReadAllocations(*text, path);
}

std::string ControlArm(const v1::Factor& factor) {
  for (const auto& arm : factor.arms()) {
    if (arm.name() == "control" || arm.name() == "comparison") return arm.name();
  }
  return factor.arms().empty() ? "" : factor.arms(factor.arms_size() - 1).name();
}

// The factor whose arms the effect and the attrition are simulated between: the one the
// (first) analysis plan analyses, else the first with arms (an order factor such as the online
// experiments' experiment_order has none). nullptr when the design has no factor with arms.
const v1::Factor* SimulatedFactor(const Protocol& protocol) {
  const v1::Factor* first_with_arms = nullptr;
  for (const v1::Factor& f : protocol.design.factors()) {
    if (f.arms().empty()) continue;
    if (!protocol.plans.empty() && f.name() == protocol.plans.front().factor()) return &f;
    if (first_with_arms == nullptr) first_with_arms = &f;
  }
  return first_with_arms;
}

std::optional<absl::Time> TimeOf(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return std::nullopt;
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

int SimulateRosterCommand(const Args& args) {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (args.size() != 1 || out.empty()) return Fail("usage: fieldwork simulate roster PROTOCOL.yaml --n=N[,N2...] --seed=S --out=DIR");
  absl::StatusOr<Protocol> protocol = LoadProtocol(args[0]);
  if (!protocol.ok()) return Fail(std::string(protocol.status().message()));
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  std::vector<int64_t> sizes;
  for (absl::string_view part : absl::StrSplit(absl::GetFlag(FLAGS_n), ',')) {
    int64_t size = 0;
    if (!absl::SimpleAtoi(part, &size)) return Fail(absl::StrCat("--n: \"", part, "\" is not a whole number"));
    sizes.push_back(size);
  }
  absl::StatusOr<sim::SimulatedRoster> roster = sizes.size() == 1
                                                    ? sim::SimulateRoster(protocol->design, sizes[0], seed)
                                                    : sim::SimulateRoster(protocol->design, sizes, seed);
  if (!roster.ok()) return Fail(std::string(roster.status().message()));
  const fs::path dir(out);
  for (const auto& [name, content] : {std::pair{"roster.csv", &roster->roster_csv}, std::pair{"contacts.csv", &roster->contacts_csv}}) {
    if (absl::Status s = WriteWhole(dir / name, *content); !s.ok()) return Fail(std::string(s.message()));
  }
  std::cout << "simulated " << roster->participants << " participants of trial " << protocol->design.trial_id()
            << " (seed " << seed << "): " << (dir / "roster.csv").string() << ", " << (dir / "contacts.csv").string() << "\n";
  return kOk;
}

int SimulateResponsesCommand(const Args& args) {
  const std::string out = absl::GetFlag(FLAGS_out);
  const std::string wave_id = absl::GetFlag(FLAGS_wave);
  const std::string via_links = absl::GetFlag(FLAGS_via_links);
  const std::string contacts = absl::GetFlag(FLAGS_contacts);
  // Exactly one destination: a CSV file, or the form through the mails' links.
  if (args.size() != 2 || wave_id.empty() || out.empty() == via_links.empty() ||
      via_links.empty() != contacts.empty()) {
    return Fail("usage: fieldwork simulate responses PROTOCOL.yaml ALLOCATIONS.csv --wave=W --seed=S --effect=D "
                "--response_rate=R --differential_attrition=PP [--outcome=SCORE] "
                "(--out=FILE.csv | --via_links=MAIL_DIR --contacts=CONTACTS.csv)");
  }
  absl::StatusOr<Protocol> protocol = LoadProtocol(args[0]);
  if (!protocol.ok()) return Fail(std::string(protocol.status().message()));
  const v1::Wave* wave = nullptr;
  for (const auto& w : protocol->waves) {
    if (w.wave_id() == wave_id) wave = &w;
  }
  if (wave == nullptr) return Fail(absl::StrCat(args[0], ": no wave \"", wave_id, "\""));
  std::optional<survey_ingest::Instrument> instrument;
  for (const auto& file : protocol->instruments) {
    absl::StatusOr<survey_ingest::Instrument> parsed = survey_ingest::ParseInstrumentYaml(file.definition_yaml);
    if (!parsed.ok()) return Fail(absl::StrCat(file.path, ": ", parsed.status().message()));
    if (parsed->id == wave->instrument_id() && (wave->instrument_version() == 0 || parsed->version == wave->instrument_version())) {
      instrument = *std::move(parsed);
    }
  }
  if (!instrument) return Fail(absl::StrCat(args[0], ": wave \"", wave_id, "\" uses instrument \"", wave->instrument_id(), "\", which the protocol does not list"));
  absl::StatusOr<survey_ingest::Scorer> scorer = survey_ingest::Scorer::Create(*instrument);
  if (!scorer.ok()) return Fail(std::string(scorer.status().message()));
  absl::StatusOr<std::vector<sim::SimAllocation>> allocations = LoadAllocations(args[1]);
  if (!allocations.ok()) return Fail(std::string(allocations.status().message()));
  const v1::Factor* simulated = SimulatedFactor(*protocol);
  if (simulated == nullptr) return Fail(absl::StrCat(args[0], ": the design has no factor with arms"));
  const v1::Factor& factor = *simulated;
  sim::ResponseSimOptions options;
  options.wave_id = wave_id;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.effect = absl::GetFlag(FLAGS_effect);
  options.response_rate = absl::GetFlag(FLAGS_response_rate);
  options.differential_attrition = absl::GetFlag(FLAGS_differential_attrition) / 100;
  options.target = absl::GetFlag(FLAGS_outcome);
  options.factor = factor.name();
  for (const auto& arm : factor.arms()) options.arms.push_back(arm.name());
  options.control_arm = ControlArm(factor);
  options.opens = TimeOf(wave->opens_at());
  options.closes = TimeOf(wave->closes_at());
  absl::StatusOr<sim::SimulatedResponses> responses = sim::SimulateResponses(*scorer, *allocations, options);
  if (!responses.ok()) return Fail(std::string(responses.status().message()));
  if (!via_links.empty()) {
    return AnswerThroughLinks(*responses, {wave_id, options.seed, via_links, contacts});
  }
  if (absl::Status s = WriteWhole(out, responses->csv); !s.ok()) return Fail(std::string(s.message()));
  std::vector<std::string> arms;
  int64_t eligible = 0;
  for (const auto& [arm, counts] : responses->by_arm) {
    arms.push_back(absl::StrCat(arm, " ", counts.responded, "/", counts.eligible));
    eligible += counts.eligible;
  }
  std::cout << "simulated " << responses->rows << " responses of " << eligible << " participants to wave " << wave_id
            << " (" << absl::StrJoin(arms, ", ") << "; effect " << options.effect << " on " << responses->target
            << ", " << responses->withdrawn << " withdrawn and " << responses->left_before
            << " leavers skipped, seed " << options.seed << "): " << out << "\n";
  return kOk;
}

int SimulateOutcomesCommand(const Args& args) {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (args.size() != 2 || out.empty()) {
    return Fail("usage: fieldwork simulate outcomes PROTOCOL.yaml ALLOCATIONS.csv --seed=S --leaver_rate=R --out=DIR [--effect=D]");
  }
  absl::StatusOr<Protocol> protocol = LoadProtocol(args[0]);
  if (!protocol.ok()) return Fail(std::string(protocol.status().message()));
  absl::StatusOr<std::vector<sim::SimAllocation>> allocations = LoadAllocations(args[1]);
  if (!allocations.ok()) return Fail(std::string(allocations.status().message()));
  sim::OutcomeSimOptions options;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.effect = absl::GetFlag(FLAGS_effect);
  options.leaver_rate = absl::GetFlag(FLAGS_leaver_rate);
  if (const v1::Factor* factor = SimulatedFactor(*protocol); factor != nullptr) {
    options.factor = factor->name();
    options.control_arm = ControlArm(*factor);
  }
  // The administrative outcomes the analysis plans name; sickness absence when they name none.
  std::set<std::string> seen;
  for (const auto& plan : protocol->plans) {
    for (const auto& o : plan.outcomes()) {
      for (const auto* source : {&o.source(), &o.baseline()}) {
        if (source->has_administrative() && seen.insert(source->administrative().outcome()).second) {
          options.outcomes.push_back(source->administrative().outcome());
        }
      }
    }
  }
  if (options.outcomes.empty()) options.outcomes.push_back("sickness_absence_days");
  // The period: from the first wave's opening to the last wave's closing, when known.
  std::optional<absl::Time> first, last;
  for (const auto& w : protocol->waves) {
    if (auto t = TimeOf(w.opens_at()); t && (!first || *t < *first)) first = t;
    if (auto t = TimeOf(w.closes_at()); t && (!last || *t > *last)) last = t;
  }
  if (first && last && *last > *first) {
    options.period_start = absl::ToCivilDay(*first, absl::UTCTimeZone());
    options.period_end = absl::ToCivilDay(*last, absl::UTCTimeZone());
  }
  absl::StatusOr<sim::SimulatedOutcomes> outcomes = sim::SimulateOutcomes(*allocations, options);
  if (!outcomes.ok()) return Fail(std::string(outcomes.status().message()));
  const fs::path dir(out);
  if (absl::Status s = WriteWhole(dir / "outcomes.csv", outcomes->outcomes_csv); !s.ok()) return Fail(std::string(s.message()));
  if (absl::Status s = WriteWhole(dir / "leavers.csv", outcomes->leavers_csv); !s.ok()) return Fail(std::string(s.message()));
  std::cout << "simulated " << outcomes->outcome_rows << " outcome rows (" << absl::StrJoin(options.outcomes, ", ")
            << ") and " << outcomes->leavers << " leavers (seed " << options.seed << "): "
            << (dir / "outcomes.csv").string() << ", " << (dir / "leavers.csv").string() << "\n";
  return kOk;
}

size_t Discard(char* /*data*/, size_t size, size_t count, void* /*user*/) { return size * count; }

int SimulateClicksCommand(const Args& args) {
  if (args.size() != 1) return Fail("usage: fieldwork simulate clicks MAIL_DIR --rate=R --seed=S");
  const double rate = absl::GetFlag(FLAGS_rate);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (!(rate >= 0 && rate <= 1)) return Fail(absl::StrCat("--rate must be in [0, 1], got ", rate));
  std::error_code error;
  std::vector<fs::path> mails;
  for (const auto& entry : fs::directory_iterator(args[0], error)) {
    if (entry.is_regular_file()) mails.push_back(entry.path());
  }
  if (error) return Fail(absl::StrCat(args[0], ": ", error.message()));
  std::sort(mails.begin(), mails.end());  // the same order, hence the same choices, every run

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  int64_t links = 0, chosen = 0, followed = 0, failed = 0;
  bool unreachable = false;
  for (const fs::path& mail : mails) {
    absl::StatusOr<std::string> text = ReadFile(mail.string());
    if (!text.ok()) return Fail(std::string(text.status().message()));
    for (const std::string& url : sim::TrackedLinks(*text)) {
      ++links;
      if (!sim::Follows(seed, rate, mail.filename().string(), url)) continue;
      ++chosen;
      curl_easy_reset(curl);
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // the redirect target is not ours to fetch
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
      curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
      const CURLcode code = curl_easy_perform(curl);
      long status = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      if (code == CURLE_OK && status >= 200 && status < 400) {
        ++followed;
      } else {
        ++failed;
        unreachable = unreachable || code != CURLE_OK;
        std::cerr << mail.string() << ": " << url << ": "
                  << (code != CURLE_OK ? curl_easy_strerror(code) : absl::StrCat("HTTP ", status)) << "\n";
      }
    }
  }
  curl_easy_cleanup(curl);
  std::cout << "followed " << followed << " of " << links << " tracked links in " << mails.size() << " mails (chose "
            << chosen << " at rate " << rate << ", seed " << seed << ", " << failed << " failed)\n";
  if (unreachable) return kUnavailable;
  return failed == 0 ? kOk : kRejected;
}

}  // namespace

int Simulate(CliContext& /*cli*/, const Args& args, const CommandOptions& /*options*/) {
  if (args.empty()) return Fail("usage: fieldwork simulate roster|responses|outcomes|clicks ...");
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "roster") return SimulateRosterCommand(rest);
  if (args[0] == "responses") return SimulateResponsesCommand(rest);
  if (args[0] == "outcomes") return SimulateOutcomesCommand(rest);
  if (args[0] == "clicks") return SimulateClicksCommand(rest);
  return Fail(absl::StrCat("unknown simulation \"", args[0], "\": roster, responses, outcomes or clicks"));
}

}  // namespace fieldwork::cli

#include "services/survey_ingest/ingestor.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "services/common/batch_lookup.h"
#include "services/common/logging.h"
#include "services/common/quote.h"
#include "services/survey_ingest/domain/content_hash.h"
#include "services/survey_ingest/domain/csv_import.h"
#include "services/survey_ingest/domain/instrument_yaml.h"
#include "services/survey_ingest/domain/long_import.h"
#include "services/survey_ingest/domain/number_format.h"
#include "services/survey_ingest/submission_checks.h"
#include "services/survey_link/survey_link_token.h"

namespace fieldwork::survey_ingest {

namespace v1 = ::fieldwork::v1;

struct Ingestor::TrialContext {
  std::map<std::string, v1::Wave, std::less<>> waves;
  std::map<std::string, v1::Instrument, std::less<>> instruments;  // "<id>@<version>"
};

// One submission or CSV row on its way through validation.
struct Ingestor::Candidate {
  v1::Submission submission;
  bool has_submission = true;              // false: a CSV row that failed item validation
  std::vector<v1::RowError> prior_errors;  // found while reading the CSV row
  int64_t row = 0;
  std::string source = "grpc";
  std::string raw;                      // as received; empty: the submission as JSON
  std::string reject_id;                // empty: derived from the content
  std::string submission_id_field = "submission_id";  // as the caller names it (a CSV column)
  std::optional<v1::Reject> replaying;  // the stored reject being replayed
  // False when a string of the submission is not UTF-8 (a CSV row): the reject keeps the raw
  // row only, since a proto string cannot hold the parsed one.
  bool text_ok = true;
  // Results.
  std::string site;  // the participant's, when the caller may touch it
  std::optional<PendingResponse> pending;
  SubmissionResult result;
  bool new_respondent = false;
};

namespace {

constexpr absl::string_view kOtherParticipantsSubmission =
    "this submission id already belongs to another participant's response";

bool MayTouchSite(const Caller& caller, const std::string& site) {
  return !caller.sites.has_value() || caller.sites->count(site) > 0;
}

// Why a row may not be taken for this participant. The caller's site scope is checked first,
// and a site-scoped caller is told the same for another site's participant as for an unknown
// one (access.h): neither the site nor the existence leaks. Both rows are kept alike.
std::optional<std::string> ProblemWith(const RosterEntry& entry, const std::string& trial,
                                       const Caller& caller) {
  if (caller.sites.has_value() && (!entry.enrolled || !MayTouchSite(caller, entry.site))) {
    return absl::StrCat("unknown participant: not enrolled in trial ", trial,
                        " at the caller's sites");
  }
  if (!entry.enrolled) return absl::StrCat("unknown participant: not enrolled in trial ", trial);
  if (entry.withdrawn) return absl::StrCat("participant withdrawn from trial ", trial);
  return std::nullopt;
}

// The caller a stored reject was submitted by, as far as its site scope goes: a replay
// accepts only what its submitter could have sent.
Caller SubmitterOf(const v1::Reject& reject) {
  Caller caller;
  caller.name = reject.submitted_by();
  if (reject.submitter_sites_size() > 0) {
    caller.sites.emplace(reject.submitter_sites().begin(), reject.submitter_sites().end());
  }
  return caller;
}

// Whether every string of `s` can be held in a proto string field.
bool TextOk(const v1::Submission& s) {
  if (!IsUtf8(s.trial_id()) || !IsUtf8(s.wave_id()) || !IsUtf8(s.participant_id()) ||
      !IsUtf8(s.submission_id())) {
    return false;
  }
  for (const auto& [item, answer] : s.answers()) {
    if (!IsUtf8(item) || !IsUtf8(answer)) return false;
  }
  return true;
}

constexpr size_t kCsvChunk = 5000;

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  google::protobuf::Timestamp t;
  const int64_t seconds = absl::ToUnixSeconds(time);
  t.set_seconds(seconds);
  t.set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return t;
}

std::string TimeText(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

// Ids used in keys and labels: 1-128 of A-Z a-z 0-9 . _ -
absl::Status CheckId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": missing"));
  if (id.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": longer than 128 characters"));
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": \"", Quoted(id), "\" may hold only letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

std::string InstrumentKey(absl::string_view id, int version) {
  return absl::StrCat(id, "@", version);
}

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json).ok()) return "";
  return json;
}

// The field and the value are quoted short and escaped (they may be anything a partner sent,
// CSV bytes included); a reason is our text, escaped only if it quotes bytes that are not UTF-8.
v1::RowError MakeRowError(int64_t row, absl::string_view field, std::string reason,
                          absl::string_view value) {
  v1::RowError error;
  error.set_row(row);
  error.set_field(Quoted(field, 2 * kQuoteBytes));
  error.set_reason(IsUtf8(reason) ? std::move(reason) : Escaped(reason));
  error.set_value(Quoted(value));
  return error;
}

// A submission without its own id is named by its content, so that sending it again is a
// duplicate. The receipt time is left out (a retry arrives later).
std::string ContentSubmissionId(const v1::Submission& s) {
  PartsHasher hasher;
  hasher.Add(s.trial_id()).Add(s.wave_id()).Add(s.participant_id());
  std::map<std::string, std::string> answers(s.answers().begin(), s.answers().end());
  for (const auto& [item, answer] : answers) hasher.Add(item).Add(answer);
  if (s.has_submitted_at()) hasher.Add(TimeText(TimeOf(s.submitted_at())));
  return absl::StrCat("sha256:", hasher.HexDigest());
}

bool ValidDate(const v1::CivilDate& date) {
  const absl::CivilDay day(date.year(), date.month(), date.day());
  return date.year() >= 1900 && date.year() <= 2200 && day.month() == date.month() &&
         day.day() == date.day();
}

absl::CivilDay DayOf(const v1::CivilDate& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

ScoredResponse ScalesOf(const v1::Response& response) {
  ScoredResponse scored;
  for (const v1::Score& score : response.scales()) {
    ScaleScore scale;
    scale.scale_id = score.id();
    if (score.present()) scale.value = score.value();
    scored.scales.push_back(std::move(scale));
  }
  return scored;
}

// Why a submitted decision does not fit the instrument (its block is not one of the
// instrument's decision blocks, its index is beyond the block, or its item is not the one that
// decision answers), or nullopt. What was shown with it (stimulus, attributes) is the sender's
// account and is stored as sent.
std::optional<std::string> DecisionProblem(const Instrument& instrument, const v1::Decision& d) {
  const DecisionBlock* block = instrument.FindDecisionBlock(d.block());
  if (block == nullptr) {
    std::vector<std::string> known;
    for (const DecisionBlock& b : instrument.decisions) known.push_back(b.id);
    return absl::StrCat("block: not a decision block of instrument ", instrument.Name(), " (",
                        known.empty() ? std::string("it has none") : absl::StrJoin(known, ", "), ")");
  }
  if (d.index() < 1) return std::nullopt;  // CheckSubmission names it
  // item_id is required (CheckSubmission), so an empty one is never taken for "not given".
  std::optional<DecisionBlock::Misfit> misfit = block->CheckPlace(d.index(), d.item_id());
  if (!misfit.has_value()) return std::nullopt;
  return absl::StrCat(misfit->part == DecisionBlock::Misfit::Part::kIndex ? "index: " : "item_id: ",
                      misfit->reason);
}

// An imported file's decisions (a long file's rows, a wide export's loops) as the submission's;
// each one's value is left to the stored answer to its item.
void AddDecisions(std::vector<ImportedDecision>& decisions, v1::Submission& submission) {
  for (ImportedDecision& d : decisions) {
    v1::Decision& decision = *submission.add_decisions();
    decision.set_block(std::move(d.block));
    decision.set_index(d.index);
    decision.set_item_id(std::move(d.item_id));
    decision.set_stimulus(std::move(d.stimulus));
    decision.set_stimulus_text(std::move(d.stimulus_text));
    decision.mutable_attributes()->insert(d.attributes.begin(), d.attributes.end());
  }
}

}  // namespace

std::string RejectCategory(absl::string_view reason) {
  struct Rule {
    absl::string_view needle;
    absl::string_view category;
  };
  static constexpr Rule kRules[] = {
      {"unknown participant", "unknown_participant"},
      {"withdrawn", "withdrawn"},
      {"not permitted", "not_permitted"},
      {"out of range", "out_of_range"},
      {"not a number", "non_numeric"},
      {"not a whole number", "non_numeric"},
      {"unknown column", "unknown_column"},
      {"unknown item", "unknown_column"},
      {"missing required", "missing_required"},
      {"unknown code", "invalid_choice"},
      {"closed at", "wave_closed"},
      {"opens at", "wave_not_open"},
      {"unknown wave", "unknown_wave"},
  };
  for (const Rule& rule : kRules) {
    if (absl::StrContains(reason, rule.needle)) return std::string(rule.category);
  }
  return "invalid";
}

Ingestor::Ingestor(IngestStore& store, Roster& roster, const Clock& clock,
                   IngestObserver observer, const survey_link::SurveyLinkKeyRing* link_keys)
    : store_(store),
      roster_(roster),
      clock_(clock),
      observer_(std::move(observer)),
      link_keys_(link_keys) {}

// ---------------------------------------------------------------------------------------------
// Instruments and waves.

absl::StatusOr<v1::Instrument> Ingestor::PutInstrument(const std::string& trial,
                                                       const v1::Instrument& instrument) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  if (instrument.definition_yaml().empty()) {
    return absl::InvalidArgumentError("instrument.definition_yaml: missing");
  }
  absl::StatusOr<Instrument> parsed = ParseInstrumentYaml(instrument.definition_yaml());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("instrument.definition_yaml: ", parsed.status().message()));
  }
  if (!instrument.instrument_id().empty() && instrument.instrument_id() != parsed->id) {
    return absl::InvalidArgumentError(
        absl::StrCat("instrument.instrument_id: \"", instrument.instrument_id(),
                     "\" differs from the definition's id \"", parsed->id, "\""));
  }
  if (instrument.version() != 0 && instrument.version() != parsed->version) {
    return absl::InvalidArgumentError(absl::StrCat("instrument.version: ", instrument.version(),
                                                   " differs from the definition's version ",
                                                   parsed->version));
  }
  absl::StatusOr<std::vector<v1::Instrument>> stored = store_.LoadInstruments(trial);
  if (!stored.ok()) return stored.status();
  InstrumentCatalog catalog;
  const v1::Instrument* same_version = nullptr;
  for (const v1::Instrument& existing : *stored) {
    absl::StatusOr<Instrument> definition = ParseInstrumentYaml(existing.definition_yaml());
    if (!definition.ok()) continue;  // validated when stored; never expected
    if (existing.instrument_id() == parsed->id && existing.version() == parsed->version) {
      same_version = &existing;
    }
    if (absl::Status s = catalog.Add(*std::move(definition)); !s.ok()) return s;
  }
  if (absl::Status s = catalog.Add(*parsed); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("instrument: ", s.message()));
  }
  if (same_version != nullptr) return *same_version;  // identical definition: a retry
  v1::Instrument record;
  record.set_instrument_id(parsed->id);
  record.set_version(parsed->version);
  record.set_title(parsed->title);
  record.set_definition_yaml(instrument.definition_yaml());
  if (absl::Status s = store_.AddInstrument(trial, record); !s.ok()) return s;
  return record;
}

absl::StatusOr<std::vector<v1::Instrument>> Ingestor::ListInstruments(const std::string& trial) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  absl::StatusOr<std::vector<v1::Instrument>> stored = store_.LoadInstruments(trial);
  if (!stored.ok()) return stored.status();
  std::sort(stored->begin(), stored->end(), [](const v1::Instrument& a, const v1::Instrument& b) {
    return std::make_pair(a.instrument_id(), a.version()) <
           std::make_pair(b.instrument_id(), b.version());
  });
  return stored;
}

absl::StatusOr<v1::Wave> Ingestor::PutWave(const v1::Wave& wave) {
  if (absl::Status s = CheckId("wave.trial_id", wave.trial_id()); !s.ok()) return s;
  if (absl::Status s = CheckId("wave.wave_id", wave.wave_id()); !s.ok()) return s;
  if (wave.instrument_id().empty()) {
    return absl::InvalidArgumentError("wave.instrument_id: missing");
  }
  if (wave.has_opens_at() && wave.has_closes_at() &&
      TimeOf(wave.closes_at()) <= TimeOf(wave.opens_at())) {
    return absl::InvalidArgumentError(
        absl::StrCat("wave.closes_at: ", TimeText(TimeOf(wave.closes_at())),
                     " is not after opens_at ", TimeText(TimeOf(wave.opens_at()))));
  }
  absl::StatusOr<TrialContext> context = LoadContext(wave.trial_id());
  if (!context.ok()) return context.status();
  v1::Wave record = wave;
  if (record.instrument_version() == 0) {  // the latest version
    for (const auto& [key, instrument] : context->instruments) {
      if (instrument.instrument_id() == record.instrument_id() &&
          instrument.version() > record.instrument_version()) {
        record.set_instrument_version(instrument.version());
      }
    }
  }
  if (context->instruments.find(InstrumentKey(
          record.instrument_id(), record.instrument_version())) == context->instruments.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wave.instrument_id: no instrument \"", record.instrument_id(), "\"",
        record.instrument_version() == 0 ? std::string()
                                         : absl::StrCat(" version ", record.instrument_version()),
        " in trial ", record.trial_id(), " (PutInstrument first)"));
  }
  if (!record.norms_wave_id().empty() && record.norms_wave_id() != record.wave_id() &&
      context->waves.find(record.norms_wave_id()) == context->waves.end()) {
    return absl::InvalidArgumentError(absl::StrCat("wave.norms_wave_id: no wave \"",
                                                   record.norms_wave_id(), "\" in trial ",
                                                   record.trial_id()));
  }
  if (absl::Status s = store_.PutWave(record); !s.ok()) return s;
  return record;
}

absl::StatusOr<std::vector<v1::Wave>> Ingestor::ListWaves(const std::string& trial) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  absl::StatusOr<std::vector<v1::Wave>> waves = store_.LoadWaves(trial);
  if (!waves.ok()) return waves.status();
  std::sort(waves->begin(), waves->end(),
            [](const v1::Wave& a, const v1::Wave& b) { return a.wave_id() < b.wave_id(); });
  return waves;
}

absl::StatusOr<Ingestor::TrialContext> Ingestor::LoadContext(const std::string& trial) {
  TrialContext context;
  absl::StatusOr<std::vector<v1::Wave>> waves = store_.LoadWaves(trial);
  if (!waves.ok()) return waves.status();
  for (v1::Wave& wave : *waves) context.waves[wave.wave_id()] = std::move(wave);
  absl::StatusOr<std::vector<v1::Instrument>> instruments = store_.LoadInstruments(trial);
  if (!instruments.ok()) return instruments.status();
  for (v1::Instrument& instrument : *instruments) {
    context.instruments[InstrumentKey(instrument.instrument_id(), instrument.version())] =
        std::move(instrument);
  }
  return context;
}

absl::StatusOr<std::shared_ptr<const Scorer>> Ingestor::ScorerFor(const std::string& trial,
                                                                  const v1::Instrument& stored) {
  const std::string key =
      absl::StrCat(trial, "|", InstrumentKey(stored.instrument_id(), stored.version()));
  {
    std::lock_guard<std::mutex> lock(scorers_mutex_);
    auto it = scorers_.find(key);
    if (it != scorers_.end()) return it->second;
  }
  absl::StatusOr<Instrument> definition = ParseInstrumentYaml(stored.definition_yaml());
  if (!definition.ok()) return definition.status();
  absl::StatusOr<Scorer> scorer = Scorer::Create(*std::move(definition));
  if (!scorer.ok()) return scorer.status();
  auto shared = std::make_shared<const Scorer>(*std::move(scorer));
  std::lock_guard<std::mutex> lock(scorers_mutex_);
  scorers_.emplace(key, shared);
  return shared;
}

absl::StatusOr<std::shared_ptr<const Scorer>> Ingestor::ScorerOf(const std::string& trial,
                                                                 const std::string& instrument_id,
                                                                 int version) {
  {
    std::lock_guard<std::mutex> lock(scorers_mutex_);
    auto it = scorers_.find(absl::StrCat(trial, "|", InstrumentKey(instrument_id, version)));
    if (it != scorers_.end()) return it->second;
  }
  absl::StatusOr<std::vector<v1::Instrument>> stored = store_.LoadInstruments(trial);
  if (!stored.ok()) return stored.status();
  for (const v1::Instrument& instrument : *stored) {
    if (instrument.instrument_id() == instrument_id && instrument.version() == version) {
      return ScorerFor(trial, instrument);
    }
  }
  return absl::NotFoundError(absl::StrCat("instrument ", instrument_id, " v", version,
                                          " is not stored in trial ", trial));
}

// ---------------------------------------------------------------------------------------------
// Validation and storage.

absl::Status Ingestor::Process(const std::string& trial, const TrialContext& context,
                               std::vector<Candidate>& candidates, const Caller& caller,
                               bool replay, const std::string& import_sha256) {
  const absl::Time received = clock_.Now();
  std::vector<std::string> ids;
  for (Candidate& c : candidates) {
    if (!c.has_submission) continue;
    c.text_ok = TextOk(c.submission);
    for (const FieldError& e : CheckSubmission(c.submission, received)) {
      c.result.errors.push_back(MakeRowError(c.row, e.field, e.reason, e.raw));
    }
    if (c.result.errors.empty() && !c.submission.participant_id().empty()) {
      ids.push_back(c.submission.participant_id());
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  RosterEntries roster;
  if (!ids.empty()) {
    absl::StatusOr<RosterEntries> looked_up = roster_.Lookup(trial, ids);
    if (!looked_up.ok()) return looked_up.status();
    roster = *std::move(looked_up);
  }

  // A submission id names one participant's response: re-sent for the same participant it is
  // a duplicate, for another one an error (a Qualtrics ResponseId pasted into another file's
  // row, a partner reusing its ids). Owners stored earlier and owners earlier in this batch.
  std::map<std::string, std::string> owner_of;
  {
    std::vector<std::string> submission_ids;
    for (const Candidate& c : candidates) {
      if (c.has_submission && !c.submission.submission_id().empty()) {
        submission_ids.push_back(c.submission.submission_id());
      }
    }
    absl::StatusOr<std::vector<std::string>> owners = store_.SubmissionOwners(trial, submission_ids);
    if (!owners.ok()) return owners.status();
    for (size_t i = 0; i < submission_ids.size(); ++i) {
      if (!(*owners)[i].empty()) owner_of.emplace(submission_ids[i], (*owners)[i]);
    }
  }

  WriteBatch batch;
  batch.import_sha256 = import_sha256;
  std::vector<size_t> pending_of;  // batch.responses[i] is candidates[pending_of[i]]
  for (size_t index = 0; index < candidates.size(); ++index) {
    Candidate& c = candidates[index];
    std::vector<v1::RowError>& errors = c.result.errors;
    auto error = [&](absl::string_view field, std::string reason, absl::string_view value = "") {
      errors.push_back(MakeRowError(c.row, field, std::move(reason), value));
    };
    const v1::Submission& s = c.submission;
    const v1::Wave* wave = nullptr;
    if (!c.has_submission) {
      errors = c.prior_errors;
    } else if (errors.empty()) {  // else CheckSubmission's errors: not looked at further
      if (s.wave_id().empty()) {
        error("wave_id", "missing wave id");
      } else if (auto it = context.waves.find(s.wave_id()); it == context.waves.end()) {
        error("wave_id", absl::StrCat("unknown wave \"", Quoted(s.wave_id()), "\" in trial ", trial),
              s.wave_id());
      } else {
        wave = &it->second;
      }
      if (s.participant_id().empty()) {
        error("participant_id", "missing participant id");
      } else {
        const RosterEntry& entry = roster[s.participant_id()];
        const Caller submitter = c.replaying.has_value() ? SubmitterOf(*c.replaying) : caller;
        if (MayTouchSite(submitter, entry.site)) c.site = entry.site;
        if (std::optional<std::string> problem = ProblemWith(entry, trial, submitter)) {
          error("participant_id", *std::move(problem), s.participant_id());
        }
      }
      if (!s.submission_id().empty() && !s.participant_id().empty()) {
        const auto owner = owner_of.find(s.submission_id());
        if (owner != owner_of.end() && owner->second != s.participant_id()) {
          // The other participant is not named: the caller may not be allowed to see them.
          error(c.submission_id_field, std::string(kOtherParticipantsSubmission),
                s.submission_id());
        }
      }
    }
    if (wave != nullptr) {
      const absl::Time submitted = s.has_submitted_at() ? TimeOf(s.submitted_at()) : received;
      bool late = false;
      if (wave->has_opens_at() && submitted < TimeOf(wave->opens_at())) {
        error("submitted_at",
              absl::StrCat("wave \"", wave->wave_id(), "\" opens at ",
                           TimeText(TimeOf(wave->opens_at()))),
              TimeText(submitted));
      } else if (wave->has_closes_at() && submitted > TimeOf(wave->closes_at())) {
        if (wave->allow_late()) {
          late = true;
        } else {
          error("submitted_at",
                absl::StrCat("wave \"", wave->wave_id(), "\" closed at ",
                             TimeText(TimeOf(wave->closes_at()))),
                TimeText(submitted));
        }
      }
      const auto instrument = context.instruments.find(
          InstrumentKey(wave->instrument_id(), wave->instrument_version()));
      if (instrument == context.instruments.end()) {
        error("wave_id", absl::StrCat("wave \"", wave->wave_id(), "\" names instrument ",
                                      wave->instrument_id(), " v", wave->instrument_version(),
                                      ", which is not stored"));
      } else {
        absl::StatusOr<std::shared_ptr<const Scorer>> scorer = ScorerFor(trial, instrument->second);
        if (!scorer.ok()) return scorer.status();
        const bool unfinished = !s.finished() || (s.progress() > 0 && s.progress() < 100);
        // The answers are borrowed in item order: no copies on the hot path.
        const Scorer& item_scorer = **scorer;
        std::vector<RawRef> aligned(item_scorer.instrument().items.size());
        std::vector<v1::RowError> unknown;
        for (const auto& [item, answer] : s.answers()) {
          const int item_index = item_scorer.ItemIndex(item);
          if (item_index < 0) {
            unknown.push_back(MakeRowError(c.row, item,
                                           absl::StrCat("unknown item (not in instrument ",
                                                        item_scorer.instrument().Name(), ")"),
                                           answer));
          } else {
            aligned[static_cast<size_t>(item_index)] = absl::string_view(answer);
          }
        }
        for (const v1::Decision& d : s.decisions()) {
          if (std::optional<std::string> problem = DecisionProblem(item_scorer.instrument(), d)) {
            unknown.push_back(MakeRowError(
                c.row, absl::StrCat("decisions[", d.block(), " ", d.index(), "]"), *std::move(problem),
                d.item_id()));
          }
        }
        ScoreOptions options;
        options.enforce_required = !unfinished;
        ScoringResult scored = item_scorer.ScoreAligned(aligned, options);
        for (FieldError& e : scored.errors) {
          error(e.field, std::move(e.reason), e.raw);
        }
        for (v1::RowError& e : unknown) errors.push_back(std::move(e));
        if (errors.empty()) {
          PendingResponse pending;
          v1::Response& r = pending.response;
          r.set_trial_id(trial);
          r.set_wave_id(s.wave_id());
          r.set_participant_id(s.participant_id());
          r.set_submission_id(s.submission_id().empty() ? ContentSubmissionId(s)
                                                        : s.submission_id());
          r.set_instrument_id(wave->instrument_id());
          r.set_instrument_version(wave->instrument_version());
          // Accepted: the submission's answers are not needed any more, so they move.
          r.mutable_answers()->swap(*c.submission.mutable_answers());
          for (auto it = r.mutable_answers()->begin(); it != r.mutable_answers()->end();) {
            it = TrimBlanks(it->second).empty() ? r.mutable_answers()->erase(it) : std::next(it);
          }
          // Each decision in long format with its answer.
          for (v1::Decision& d : *c.submission.mutable_decisions()) {
            auto answer = r.answers().find(d.item_id());
            d.set_value(answer == r.answers().end() ? "" : answer->second);
            *r.add_decisions() = std::move(d);
          }
          for (const ScaleScore& scale : scored.scored.scales) {
            v1::Score* score = r.add_scales();
            score->set_id(scale.scale_id);
            score->set_present(scale.value.has_value());
            if (scale.value.has_value()) score->set_value(*scale.value);
          }
          if (s.has_started_at()) *r.mutable_started_at() = s.started_at();
          *r.mutable_submitted_at() = ToTimestamp(submitted);
          *r.mutable_received_at() = ToTimestamp(received);
          r.set_late(late);
          r.set_partial(unfinished);
          r.set_source(c.source);
          r.set_site(c.site);
          pending.complete = !unfinished;
          pending.submitted = submitted;
          pending.last_complete_rule = wave->rule() == v1::RESPONSE_RULE_LAST_COMPLETE;
          c.result.submission_id = r.submission_id();
          c.result.late = late;
          c.pending = std::move(pending);
          if (!s.submission_id().empty()) owner_of.emplace(s.submission_id(), s.participant_id());
        }
      }
    }
    if (c.pending.has_value()) {
      pending_of.push_back(index);
      batch.responses.push_back(*std::move(c.pending));  // not needed after the write
      if (c.replaying.has_value()) {
        v1::Reject done = *c.replaying;
        done.set_replayed(true);
        batch.replaced_rejects.push_back(std::move(done));
      }
      continue;
    }
    c.result.status = v1::SUBMISSION_STATUS_REJECTED;
    if (replay) continue;  // a replayed reject stays as it is
    v1::Reject reject;
    reject.set_trial_id(trial);
    reject.set_wave_id(c.has_submission ? s.wave_id() : c.submission.wave_id());
    reject.set_source(c.source);
    reject.set_row(c.row);
    for (const v1::RowError& e : errors) *reject.add_errors() = e;
    reject.set_raw(c.raw.empty() ? Json(s) : c.raw);
    *reject.mutable_received_at() = ToTimestamp(received);
    if (c.has_submission && c.text_ok) *reject.mutable_submission() = s;
    reject.set_site(c.site);
    reject.set_submitted_by(caller.name);
    if (caller.sites.has_value()) {
      for (const std::string& site : *caller.sites) reject.add_submitter_sites(site);
    }
    reject.set_reject_id(c.reject_id.empty()
                             ? absl::StrCat("grpc:", Sha256Hex(DeterministicBytes(s)))
                             : c.reject_id);
    batch.new_rejects.push_back(std::move(reject));
  }
  if (batch.responses.empty() && batch.new_rejects.empty() && batch.replaced_rejects.empty() &&
      batch.import_sha256.empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<WriteResult>> written = store_.Write(trial, batch);
  if (!written.ok()) return written.status();
  for (size_t i = 0; i < written->size(); ++i) {
    Candidate& c = candidates[pending_of[i]];
    const WriteResult result = (*written)[i];
    if (result == WriteResult::kOtherParticipant) {  // a concurrent writer took the id first
      c.result.status = v1::SUBMISSION_STATUS_REJECTED;
      c.result.errors.push_back(MakeRowError(c.row, c.submission_id_field,
                                             std::string(kOtherParticipantsSubmission),
                                             c.result.submission_id));
      continue;
    }
    c.result.status = result == WriteResult::kDuplicate ? v1::SUBMISSION_STATUS_DUPLICATE
                                                        : v1::SUBMISSION_STATUS_ACCEPTED;
    c.new_respondent = result == WriteResult::kNewRespondent;
  }
  return absl::OkStatus();
}

void Ingestor::Report(const std::string& trial, const std::vector<Candidate>& candidates) {
  std::map<std::pair<std::string, absl::string_view>, int64_t> submissions;  // (wave, status)
  std::map<std::string, int64_t> reasons;
  std::map<std::pair<std::string, std::string>, int64_t> respondents;  // (wave, site)
  for (const Candidate& c : candidates) {
    const std::string& wave = c.submission.wave_id();
    switch (c.result.status) {
      case v1::SUBMISSION_STATUS_ACCEPTED:
        ++submissions[{wave, "accepted"}];
        if (c.new_respondent) ++respondents[{wave, c.site}];
        break;
      case v1::SUBMISSION_STATUS_DUPLICATE:
        ++submissions[{wave, "duplicate"}];
        break;
      case v1::SUBMISSION_STATUS_REJECTED:
        ++submissions[{wave, "rejected"}];
        if (!c.result.errors.empty()) ++reasons[RejectCategory(c.result.errors.front().reason())];
        break;
      default:
        break;
    }
  }
  if (observer_.on_submission) {
    for (const auto& [key, n] : submissions)
      observer_.on_submission(trial, key.first, key.second, n);
  }
  if (observer_.on_reject) {
    for (const auto& [reason, n] : reasons) observer_.on_reject(trial, reason, n);
  }
  if (observer_.on_new_respondent) {
    for (const auto& [key, n] : respondents) {
      observer_.on_new_respondent(trial, key.first, key.second, n);
    }
  }
}

absl::StatusOr<std::vector<SubmissionResult>> Ingestor::Submit(
    std::vector<v1::Submission> submissions, int64_t first_row, const Caller& caller) {
  std::vector<SubmissionResult> results(submissions.size());
  // Grouped by trial: each trial's submissions are one atomic write.
  std::map<std::string, std::vector<size_t>> by_trial;
  for (size_t i = 0; i < submissions.size(); ++i) {
    const int64_t row = first_row + static_cast<int64_t>(i);
    if (absl::Status s = CheckId("trial_id", submissions[i].trial_id()); !s.ok()) {
      results[i].status = v1::SUBMISSION_STATUS_REJECTED;
      results[i].errors.push_back(
          MakeRowError(row, "trial_id", std::string(s.message().substr(s.message().find(':') + 2)),
                       submissions[i].trial_id()));
      continue;
    }
    if (caller.may_touch_trial && !caller.may_touch_trial(submissions[i].trial_id())) {
      results[i].status = v1::SUBMISSION_STATUS_REJECTED;
      results[i].errors.push_back(MakeRowError(
          row, "trial_id", absl::StrCat("not permitted: the caller may not submit to this trial"),
          submissions[i].trial_id()));
      continue;
    }
    by_trial[submissions[i].trial_id()].push_back(i);
  }
  for (const auto& [trial, indices] : by_trial) {
    absl::StatusOr<TrialContext> context = LoadContext(trial);
    if (!context.ok()) return context.status();
    std::vector<Candidate> candidates(indices.size());
    for (size_t k = 0; k < indices.size(); ++k) {
      candidates[k].submission = std::move(submissions[indices[k]]);
      candidates[k].row = first_row + static_cast<int64_t>(indices[k]);
      if (!caller.source.empty()) candidates[k].source = caller.source;
    }
    if (absl::Status s = Process(trial, *context, candidates, caller, false, ""); !s.ok()) {
      return s;
    }
    Report(trial, candidates);
    for (size_t k = 0; k < indices.size(); ++k) {
      results[indices[k]] = std::move(candidates[k].result);
    }
  }
  return results;
}

absl::StatusOr<std::string> Ingestor::ParticipantOfToken(
    const std::string& trial, const std::string& wave, absl::string_view token,
    std::optional<absl::Time> answered_at) const {
  // As of when the row was answered: an export is often imported after its links expired.
  absl::StatusOr<survey_link::SurveyLinkClaims> claims =
      survey_link::OpenSurveyLink(*link_keys_, token, answered_at.value_or(clock_.Now()));
  if (absl::IsFailedPrecondition(claims.status())) {
    return absl::InvalidArgumentError(answered_at.has_value()
                                          ? "survey link token expired before the row's date"
                                          : "survey link token expired (the row has no date)");
  }
  if (!claims.ok()) return absl::InvalidArgumentError("not a valid survey link token");
  if (claims->trial_id != trial || claims->wave_id != wave) {
    return absl::InvalidArgumentError("survey link token of another trial or wave");
  }
  return claims->participant_id;
}

absl::StatusOr<v1::ImportCsvResponse> Ingestor::ImportCsv(const v1::ImportCsvRequest& request,
                                                          const Caller& caller) {
  const std::string& trial = request.trial_id();
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  if (absl::Status s = CheckId("wave_id", request.wave_id()); !s.ok()) return s;
  const std::string file = request.file_name().empty() ? "the file" : request.file_name();
  if (request.content().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("content: ", file, " is empty"));
  }
  const bool long_format = request.layout() == v1::ImportCsvRequest::LAYOUT_LONG;
  if (long_format && (!request.token_column().empty() || !request.response_id_column().empty())) {
    return absl::InvalidArgumentError(
        "layout: a long file (LAYOUT_LONG) names participants in its participant column and has "
        "no response ids: not with token_column or response_id_column");
  }
  if (!request.token_column().empty()) {
    if (!request.participant_column().empty()) {
      return absl::InvalidArgumentError(
          "token_column: a file has either a token column or a participant column, not both");
    }
    if (link_keys_ == nullptr) {
      return absl::FailedPreconditionError(
          "token_column: survey-ingest has no survey link key ring (--survey_link_keys) to "
          "verify tokens with");
    }
  }
  absl::StatusOr<TrialContext> context = LoadContext(trial);
  if (!context.ok()) return context.status();
  auto wave = context->waves.find(request.wave_id());
  if (wave == context->waves.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("wave_id: unknown wave \"", request.wave_id(), "\" in trial ", trial));
  }
  auto instrument = context->instruments.find(
      InstrumentKey(wave->second.instrument_id(), wave->second.instrument_version()));
  if (instrument == context->instruments.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "wave \"", request.wave_id(), "\" names an instrument version that is not stored"));
  }
  absl::StatusOr<std::shared_ptr<const Scorer>> scorer = ScorerFor(trial, instrument->second);
  if (!scorer.ok()) return scorer.status();

  v1::ImportCsvResponse response;
  const std::string sha = Sha256Hex(request.content());
  response.set_content_sha256(sha);
  absl::StatusOr<bool> imported = store_.IsImported(trial, sha);
  if (!imported.ok()) return imported.status();
  if (*imported) {
    response.set_already_imported(true);
    return response;
  }

  ImportOptions options;
  options.layout = request.layout() == v1::ImportCsvRequest::LAYOUT_QUALTRICS
                       ? CsvLayout::kQualtrics
                   : request.layout() == v1::ImportCsvRequest::LAYOUT_PLAIN ? CsvLayout::kPlain
                                                                            : CsvLayout::kAuto;
  if (!request.participant_column().empty()) {
    options.participant_column = request.participant_column();
  }
  if (!request.token_column().empty()) {
    options.participant_column = request.token_column();
    options.resolve_participant = [this, &trial, &request](
                                      absl::string_view token,
                                      std::optional<absl::Time> answered_at) {
      return ParticipantOfToken(trial, request.wave_id(), token, answered_at);
    };
  }
  if (!request.response_id_column().empty()) {
    options.response_id_column = request.response_id_column();
  }
  options.unfinished =
      request.keep_unfinished() ? UnfinishedPolicy::kKeepPartial : UnfinishedPolicy::kReject;
  options.ignored_columns.assign(request.ignore_columns().begin(), request.ignore_columns().end());

  const std::string source = absl::StrCat("csv:", sha);
  std::vector<Candidate> chunk;
  absl::Status failure;
  // What of the file the chunks stored so far hold, for a storage failure part-way. A plain
  // file is stored in file order, so up to a line; a long file a participant at a time in the
  // order of their first rows, whose rows may lie anywhere in it, so as a count. The file is
  // recorded as imported only with its last chunk, so importing it again stores the rest.
  int64_t stored_candidates = 0;
  int64_t stored_through_line = 0;
  auto flush = [&](const std::string& import_sha) {
    if (absl::Status s = Process(trial, *context, chunk, caller, false, import_sha); !s.ok()) {
      if (stored_candidates == 0) return s;
      return absl::Status(
          s.code(),
          absl::StrCat(s.message(), "; ",
                       long_format ? absl::StrCat("the first ", stored_candidates,
                                                  " participants (by their first row)")
                                   : absl::StrCat("the rows up to line ", stored_through_line),
                       " are stored, the rest not: import the file again (what is stored "
                       "comes back as duplicates)"));
    }
    stored_candidates += static_cast<int64_t>(chunk.size());
    if (!chunk.empty()) stored_through_line = chunk.back().row;
    Report(trial, chunk);
    for (Candidate& c : chunk) {
      switch (c.result.status) {
        case v1::SUBMISSION_STATUS_ACCEPTED:
          response.set_accepted(response.accepted() + 1);
          break;
        case v1::SUBMISSION_STATUS_DUPLICATE:
          response.set_duplicate(response.duplicate() + 1);
          break;
        default:
          response.set_rejected(response.rejected() + 1);
          break;
      }
      for (v1::RowError& e : c.result.errors) *response.add_errors() = std::move(e);
    }
    chunk.clear();
    return absl::OkStatus();
  };
  if (long_format) {
    LongImportOptions long_options;
    if (!request.participant_column().empty()) {
      long_options.participant_column = request.participant_column();
    }
    long_options.wave_id = request.wave_id();
    long_options.keep_unfinished = request.keep_unfinished();
    long_options.ignored_columns = options.ignored_columns;
    absl::StatusOr<std::vector<LongParticipant>> participants =
        ReadLongCsv(request.content(), **scorer, long_options);
    if (!participants.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(file, ": ", participants.status().message()));
    }
    // One candidate per participant: all of their rows are stored together or rejected together.
    for (LongParticipant& p : *participants) {
      Candidate& c = chunk.emplace_back();
      c.row = p.line;
      c.source = source;
      c.raw = std::move(p.raw);
      c.reject_id = absl::StrCat(source, ":", p.line);
      v1::Submission& s = c.submission;
      s.set_trial_id(trial);
      s.set_wave_id(request.wave_id());
      s.set_participant_id(p.participant_id);
      if (!p.errors.empty()) {
        c.has_submission = false;
        for (const RowError& e : p.errors) {
          c.prior_errors.push_back(MakeRowError(e.row, e.field, e.reason, e.value));
        }
      } else {
        s.set_submission_id(p.submission_id);
        s.mutable_answers()->insert(p.answers.begin(), p.answers.end());
        AddDecisions(p.decisions, s);
        s.set_finished(p.finished);
      }
      if (chunk.size() >= kCsvChunk) {
        if (absl::Status flushed = flush(""); !flushed.ok()) return flushed;
      }
    }
    if (absl::Status flushed = flush(sha); !flushed.ok()) return flushed;  // records the file
    return response;
  }
  auto sink = [&](ImportedRow row) {
    if (!failure.ok()) return;
    Candidate c;
    c.row = row.line;
    c.source = source;
    c.raw = std::move(row.raw);
    c.reject_id = absl::StrCat(source, ":", row.line);
    c.submission.set_trial_id(trial);
    c.submission.set_wave_id(request.wave_id());
    if (!row.response.has_value()) {
      c.has_submission = false;
      for (const RowError& e : row.errors) {
        c.prior_errors.push_back(MakeRowError(e.row, e.field, e.reason, e.value));
      }
    } else {
      ImportedResponse& imported_response = *row.response;
      v1::Submission& s = c.submission;
      s.set_participant_id(imported_response.participant_id);
      s.set_submission_id(imported_response.submission_id);
      if (imported_response.submission_id_from_source) {
        c.submission_id_field = options.response_id_column;
      }
      for (const auto& [item, value] : RawAnswers(imported_response.scored)) {
        (*s.mutable_answers())[item] = std::holds_alternative<std::string>(value)
                                           ? std::get<std::string>(value)
                                           : FormatNumber(std::get<double>(value));
      }
      if (imported_response.start_date)
        *s.mutable_started_at() = ToTimestamp(*imported_response.start_date);
      if (imported_response.end_date) {
        *s.mutable_submitted_at() = ToTimestamp(*imported_response.end_date);
      } else if (imported_response.recorded_date) {
        *s.mutable_submitted_at() = ToTimestamp(*imported_response.recorded_date);
      }
      s.set_finished(!imported_response.partial);
      AddDecisions(imported_response.decisions, s);
    }
    chunk.push_back(std::move(c));
    if (chunk.size() >= kCsvChunk) failure = flush("");
  };
  absl::StatusOr<ImportResult> result = ImportSurveyCsv(request.content(), **scorer, options, sink);
  if (!result.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", result.status().message()));
  }
  if (!failure.ok()) return failure;
  if (absl::Status s = flush(sha); !s.ok()) return s;  // the last chunk records the file
  for (const std::string& column : result->unknown_columns) response.add_unknown_columns(column);
  for (const std::string& warning : result->warnings) response.add_warnings(warning);
  response.set_preview(static_cast<int64_t>(result->preview_rows));
  response.set_test_responses(static_cast<int64_t>(result->test_rows));
  for (const RepeatedResponse& repeat : result->repeated) {
    *response.add_repeated_response_ids() = MakeRowError(
        repeat.line, options.response_id_column,
        absl::StrCat("the same response as line ", repeat.first_line), repeat.response_id);
  }
  response.set_duplicate(response.duplicate() + static_cast<int64_t>(result->repeated.size()));
  // A response repeated within the file is a duplicate like one stored before: counted the same
  // on /metrics.
  if (observer_.on_submission && !result->repeated.empty()) {
    observer_.on_submission(request.trial_id(), request.wave_id(), "duplicate",
                            static_cast<int64_t>(result->repeated.size()));
  }
  for (const ImportColumn& column : result->columns) {
    switch (column.role) {
      case ColumnRole::kMetadata:
      case ColumnRole::kDisplayOrder:
      case ColumnRole::kPersonalData:
      case ColumnRole::kIgnored:
      case ColumnRole::kUnknown: {
        v1::IgnoredColumn* ignored = response.add_ignored_columns();
        ignored->set_name(column.name);
        ignored->set_reason(std::string(ColumnRoleName(column.role)));
        break;
      }
      default:
        break;
    }
  }
  // The composites' norms are a whole read of their reference wave, which an import has just
  // changed: read now, while the researcher waits for the import anyway, rather than by the
  // first listing after it (the first `fieldwork status` after importing 100,000 responses
  // spent 0.4 s of survey-ingest's CPU on them). A stream's batches do not do this: each would
  // read the wave again.
  if (response.accepted() > 0) ComputeNorms(trial, *context);
  return response;
}

// ---------------------------------------------------------------------------------------------
// Outcomes.

absl::StatusOr<v1::RecordOutcomesResponse> Ingestor::RecordOutcomes(
    const v1::RecordOutcomesRequest& request, const Caller& caller) {
  const std::string& trial = request.trial_id();
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  std::vector<std::string> ids;  // of the documented form: others are not looked up
  for (const v1::Outcome& o : request.outcomes()) {
    if (CheckId("participant_id", o.participant_id()).ok()) ids.push_back(o.participant_id());
  }
  RosterEntries roster;
  if (!ids.empty()) {
    absl::StatusOr<RosterEntries> looked_up = roster_.Lookup(trial, ids);
    if (!looked_up.ok()) return looked_up.status();
    roster = *std::move(looked_up);
  }
  v1::RecordOutcomesResponse response;
  std::vector<v1::Outcome> good;
  WriteBatch rejects;
  const absl::Time received = clock_.Now();
  for (int i = 0; i < request.outcomes_size(); ++i) {
    v1::Outcome o = request.outcomes(i);
    const int64_t row = i + 1;
    std::vector<v1::RowError> errors;
    auto error = [&](absl::string_view field, std::string reason, absl::string_view value = "") {
      errors.push_back(MakeRowError(row, field, std::move(reason), value));
    };
    std::string site;
    if (!o.trial_id().empty() && o.trial_id() != trial) {
      error("trial_id", absl::StrCat("differs from the request's trial ", trial), o.trial_id());
    }
    o.set_trial_id(trial);
    if (o.participant_id().empty()) {
      error("participant_id", "missing participant id");
    } else if (absl::Status id = CheckId("participant_id", o.participant_id()); !id.ok()) {
      error("participant_id", std::string(id.message().substr(id.message().find(':') + 2)),
            o.participant_id());
    } else {
      const RosterEntry& entry = roster[o.participant_id()];
      if (MayTouchSite(caller, entry.site)) site = entry.site;
      if (std::optional<std::string> problem = ProblemWith(entry, trial, caller)) {
        error("participant_id", *std::move(problem), o.participant_id());
      }
    }
    if (absl::Status s = CheckId("outcome", o.outcome()); !s.ok()) {
      error("outcome", std::string(s.message().substr(s.message().find(':') + 2)), o.outcome());
    }
    const bool start_ok = ValidDate(o.period_start());
    const bool end_ok = ValidDate(o.period_end());
    if (!start_ok) error("period_start", "missing or not a valid date");
    if (!end_ok) error("period_end", "missing or not a valid date");
    if (start_ok && end_ok && DayOf(o.period_end()) < DayOf(o.period_start())) {
      error("period_end", "before period_start");
    }
    if (!std::isfinite(o.value())) error("value", "not a finite number", FormatNumber(o.value()));
    if (errors.empty()) {
      good.push_back(std::move(o));
      continue;
    }
    response.set_rejected(response.rejected() + 1);
    for (const v1::RowError& e : errors) *response.add_errors() = e;
    v1::Reject reject;
    reject.set_trial_id(trial);
    reject.set_source("outcomes");
    reject.set_row(row);
    for (const v1::RowError& e : errors) *reject.add_errors() = e;
    reject.set_raw(Json(o));
    *reject.mutable_received_at() = ToTimestamp(received);
    reject.set_site(site);
    reject.set_submitted_by(caller.name);
    if (caller.sites.has_value()) {
      for (const std::string& s : *caller.sites) reject.add_submitter_sites(s);
    }
    reject.set_reject_id(absl::StrCat("outcome:", Sha256Hex(DeterministicBytes(o))));
    if (observer_.on_reject) observer_.on_reject(trial, RejectCategory(errors.front().reason()), 1);
    rejects.new_rejects.push_back(std::move(reject));
  }
  if (!rejects.new_rejects.empty()) {
    if (absl::StatusOr<std::vector<WriteResult>> w = store_.Write(trial, rejects); !w.ok()) {
      return w.status();
    }
  }
  absl::StatusOr<std::vector<bool>> changed = store_.WriteOutcomes(trial, good);
  if (!changed.ok()) return changed.status();
  for (bool c : *changed) {
    if (c) {
      response.set_recorded(response.recorded() + 1);
    } else {
      response.set_unchanged(response.unchanged() + 1);
    }
  }
  return response;
}

absl::Status Ingestor::ListOutcomes(const std::string& trial, const std::string& outcome,
                                    const std::function<bool(v1::Outcome&)>& visit) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  return store_.ForEachOutcome(trial, [&](v1::Outcome& o) {
    return (!outcome.empty() && o.outcome() != outcome) || visit(o);
  });
}

// ---------------------------------------------------------------------------------------------
// Rejects.

absl::StatusOr<v1::ReplayRejectsResponse> Ingestor::ReplayRejects(const std::string& trial,
                                                                  const std::string& wave) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  absl::StatusOr<TrialContext> context = LoadContext(trial);
  if (!context.ok()) return context.status();
  if (!wave.empty() && context->waves.find(wave) == context->waves.end()) {
    return absl::NotFoundError(absl::StrCat("wave_id: no wave \"", wave, "\" in trial ", trial));
  }
  absl::StatusOr<std::vector<v1::Reject>> rejects = store_.LoadRejects(trial);
  if (!rejects.ok()) return rejects.status();
  v1::ReplayRejectsResponse response;
  std::vector<Candidate> candidates;
  for (v1::Reject& reject : *rejects) {
    if (reject.replayed() || reject.has_dismissal() || (!wave.empty() && reject.wave_id() != wave)) {
      continue;
    }
    if (!reject.has_submission()) {  // a CSV row with bad values, or an outcome: not replayable
      response.set_still_rejected(response.still_rejected() + 1);
      continue;
    }
    Candidate c;
    c.submission = reject.submission();
    c.row = reject.row();
    c.source = reject.source();
    c.raw = reject.raw();
    c.reject_id = reject.reject_id();
    c.replaying = std::move(reject);
    candidates.push_back(std::move(c));
  }
  for (size_t start = 0; start < candidates.size(); start += kCsvChunk) {
    std::vector<Candidate> chunk(
        std::make_move_iterator(candidates.begin() + static_cast<std::ptrdiff_t>(start)),
        std::make_move_iterator(candidates.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                         candidates.size(), start + kCsvChunk))));
    if (absl::Status s = Process(trial, *context, chunk, {}, true, ""); !s.ok()) return s;
    for (Candidate& c : chunk) {
      if (c.result.status == v1::SUBMISSION_STATUS_REJECTED) {
        response.set_still_rejected(response.still_rejected() + 1);
      } else {
        response.set_accepted(response.accepted() + 1);
        if (c.result.status == v1::SUBMISSION_STATUS_ACCEPTED) {
          if (observer_.on_submission) {
            observer_.on_submission(trial, c.submission.wave_id(), "accepted", 1);
          }
          if (c.new_respondent && observer_.on_new_respondent) {
            observer_.on_new_respondent(trial, c.submission.wave_id(), c.site, 1);
          }
        }
      }
    }
  }
  return response;
}

absl::StatusOr<std::vector<v1::Reject>> Ingestor::ListRejects(
    const v1::ListRejectsRequest& request) {
  if (absl::Status s = CheckId("trial_id", request.trial_id()); !s.ok()) return s;
  absl::StatusOr<std::vector<v1::Reject>> all = store_.LoadRejects(request.trial_id());
  if (!all.ok()) return all.status();
  std::vector<v1::Reject> out;
  for (v1::Reject& r : *all) {
    if (!request.wave_id().empty() && r.wave_id() != request.wave_id()) continue;
    if (r.replayed() && !request.include_replayed()) continue;
    if (r.has_dismissal() && !request.include_dismissed()) continue;
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const v1::Reject& a, const v1::Reject& b) {
    return std::make_tuple(a.source(), a.row(), a.reject_id()) <
           std::make_tuple(b.source(), b.row(), b.reject_id());
  });
  return out;
}

absl::StatusOr<v1::Reject> Ingestor::DismissReject(const std::string& trial,
                                                   const std::string& reject_id,
                                                   const std::string& reason,
                                                   const std::string& admin) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  if (reject_id.empty()) return absl::InvalidArgumentError("reject_id: missing");
  if (reason.empty()) return absl::InvalidArgumentError("reason: missing (say why)");
  if (reason.size() > 1000) return absl::InvalidArgumentError("reason: longer than 1000 bytes");
  absl::StatusOr<std::vector<v1::Reject>> rejects = store_.LoadRejects(trial);
  if (!rejects.ok()) return rejects.status();
  auto it = std::find_if(rejects->begin(), rejects->end(),
                         [&](const v1::Reject& r) { return r.reject_id() == reject_id; });
  if (it == rejects->end()) {
    return absl::NotFoundError(
        absl::StrCat("reject_id: no reject \"", Quoted(reject_id), "\" in trial ", trial));
  }
  if (it->has_dismissal()) return *it;
  if (it->replayed()) {
    return absl::FailedPreconditionError(
        absl::StrCat("reject \"", Quoted(reject_id), "\" was replayed: it is a response now"));
  }
  v1::Dismissal& dismissal = *it->mutable_dismissal();
  dismissal.set_by(admin);
  dismissal.set_reason(reason);
  *dismissal.mutable_at() = ToTimestamp(clock_.Now());
  WriteBatch batch;
  batch.replaced_rejects.push_back(*it);
  if (absl::StatusOr<std::vector<WriteResult>> w = store_.Write(trial, batch); !w.ok()) {
    return w.status();
  }
  logging::Info("reject dismissed", {{"trial", trial},
                                     {"reject_id", Quoted(reject_id)},
                                     {"by", admin},
                                     {"reason", Quoted(reason, 1000)}});
  return *it;
}

// ---------------------------------------------------------------------------------------------
// Reads.

void Ingestor::ComputeNorms(const std::string& trial, const TrialContext& context) {
  for (const auto& [id, wave] : context.waves) {
    // A failure is the next listing's to report: it computes them again.
    if (absl::StatusOr<ScaleNorms> norms = NormsFor(trial, context, wave); !norms.ok()) return;
  }
}

absl::StatusOr<ScaleNorms> Ingestor::NormsFor(const std::string& trial, const TrialContext& context,
                                              const v1::Wave& wave) {
  // The norms are a whole read of the reference wave, and only composites use them: a trial
  // whose instruments have none is not read for them at all.
  bool any_composites = false;
  for (const auto& [key, stored] : context.instruments) {
    // One that cannot be scored may have composites: its responses report the failure.
    absl::StatusOr<std::shared_ptr<const Scorer>> scorer = ScorerFor(trial, stored);
    any_composites = any_composites || !scorer.ok() || !(*scorer)->instrument().composites.empty();
  }
  if (!any_composites) return ScaleNorms{};
  const std::string& norms_wave_id =
      wave.norms_wave_id().empty() ? wave.wave_id() : wave.norms_wave_id();
  auto norms_wave = context.waves.find(norms_wave_id);
  if (norms_wave == context.waves.end()) return ScaleNorms{};
  auto instrument = context.instruments.find(
      InstrumentKey(norms_wave->second.instrument_id(), norms_wave->second.instrument_version()));
  if (instrument == context.instruments.end()) return ScaleNorms{};
  absl::StatusOr<std::shared_ptr<const Scorer>> scorer = ScorerFor(trial, instrument->second);
  if (!scorer.ok()) return scorer.status();
  // Kept while the trial's data version stays where it was before they were computed: every
  // accepted response and wave change moves it, so a kept norm is never older than the data.
  const std::string kept_key = absl::StrCat(trial, "|", norms_wave_id, "|", instrument->first);
  absl::StatusOr<int64_t> version = store_.DataVersion(trial);
  if (!version.ok()) return version.status();
  {
    std::lock_guard<std::mutex> lock(norms_mutex_);
    if (auto kept = norms_.find(kept_key);
        kept != norms_.end() && kept->second.data_version == *version) {
      return kept->second.norms;
    }
  }
  // Only the scores are kept (one double per scale and counted response), not the responses.
  std::map<std::string, std::vector<double>, std::less<>> values;
  for (const Scale& scale : (*scorer)->instrument().scales) values[scale.id];
  absl::Status read = store_.ForEachResponse(
      trial, norms_wave_id, "", IngestStore::Answers::kLeftOut, [&](v1::Response& r) {
        if (!r.counted() || r.partial()) return true;
        for (const v1::Score& score : r.scales()) {
          if (!score.present()) continue;
          if (auto it = values.find(score.id()); it != values.end()) {
            it->second.push_back(score.value());
          }
        }
        return true;
      });
  if (!read.ok()) return read;
  ScaleNorms norms;
  for (const auto& [scale_id, scores] : values) {
    if (std::optional<Norm> norm = NormOf(scores)) norms.emplace(scale_id, *norm);
  }
  std::lock_guard<std::mutex> lock(norms_mutex_);
  if (norms_.size() >= 1000) norms_.clear();  // a bound; they are cheap to compute again
  norms_[kept_key] = {*version, norms};
  return norms;
}

absl::StatusOr<std::set<std::string>> Ingestor::WavesToList(const std::string& trial,
                                                             const std::string& wave_id) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  if (!wave_id.empty()) {
    if (absl::Status s = CheckId("wave_id", wave_id); !s.ok()) return s;
  }
  absl::StatusOr<std::vector<v1::Wave>> stored = store_.LoadWaves(trial);
  if (!stored.ok()) return stored.status();
  std::set<std::string> waves;
  for (const v1::Wave& wave : *stored) {
    if (wave_id.empty() || wave.wave_id() == wave_id) waves.insert(wave.wave_id());
  }
  if (!wave_id.empty() && waves.empty()) {
    return absl::NotFoundError(absl::StrCat("wave_id: no wave \"", wave_id, "\" in trial ", trial));
  }
  return waves;
}

absl::Status Ingestor::ListFormProgress(
    const v1::ListFormProgressRequest& request,
    const std::function<bool(const std::string&, const std::string&, v1::FormStage)>& visit) {
  absl::StatusOr<std::set<std::string>> waves = WavesToList(request.trial_id(), request.wave_id());
  if (!waves.ok()) return waves.status();
  for (const std::string& wave : *waves) {
    bool stopped = false;
    absl::Status read = store_.ForEachFormStage(
        request.trial_id(), wave, [&](const std::string& participant, v1::FormStage stage) {
          stopped = !visit(wave, participant, stage);
          return !stopped;
        });
    if (!read.ok() || stopped) return read;
  }
  return absl::OkStatus();
}

absl::Status Ingestor::ListRespondents(
    const v1::ListRespondentsRequest& request,
    const std::function<bool(const std::string&, const std::string&)>& visit) {
  absl::StatusOr<std::set<std::string>> waves = WavesToList(request.trial_id(), request.wave_id());
  if (!waves.ok()) return waves.status();
  for (const std::string& wave : *waves) {
    bool stopped = false;
    absl::Status read =
        store_.ForEachRespondent(request.trial_id(), wave, [&](const std::string& participant) {
          stopped = !visit(wave, participant);
          return !stopped;
        });
    if (!read.ok() || stopped) return read;
  }
  return absl::OkStatus();
}

absl::Status Ingestor::ListResponses(const v1::ListResponsesRequest& request,
                                     const std::function<bool(v1::Response&)>& visit) {
  const std::string& trial = request.trial_id();
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  absl::StatusOr<TrialContext> context = LoadContext(trial);
  if (!context.ok()) return context.status();
  std::vector<const v1::Wave*> waves;
  if (request.wave_id().empty()) {
    for (const auto& [id, wave] : context->waves) waves.push_back(&wave);
  } else if (auto it = context->waves.find(request.wave_id()); it != context->waves.end()) {
    waves.push_back(&it->second);
  } else {
    return absl::NotFoundError(
        absl::StrCat("wave_id: no wave \"", request.wave_id(), "\" in trial ", trial));
  }
  // Listings without answers do not parse them.
  const IngestStore::Answers answers = request.without_answers() || request.analysis_view()
                                           ? IngestStore::Answers::kLeftOut
                                           : IngestStore::Answers::kParsed;
  for (const v1::Wave* wave : waves) {
    absl::StatusOr<ScaleNorms> norms = NormsFor(trial, *context, *wave);
    if (!norms.ok()) return norms.status();
    absl::Status failure;  // a scorer that cannot be built stops the walk
    bool stopped = false;  // by the visitor
    absl::Status read = store_.ForEachResponse(
        trial, wave->wave_id(), request.participant_id(), answers, [&](v1::Response& r) {
          if (!r.counted() && !request.include_not_counted()) return true;
          auto instrument =
              context->instruments.find(InstrumentKey(r.instrument_id(), r.instrument_version()));
          if (instrument != context->instruments.end()) {
            absl::StatusOr<std::shared_ptr<const Scorer>> scorer =
                ScorerFor(trial, instrument->second);
            if (!scorer.ok()) {
              failure = scorer.status();
              return false;
            }
            ScoredResponse scored = ScalesOf(r);
            (*scorer)->ScoreComposites(scored, &*norms);
            r.clear_composites();
            for (const CompositeScore& composite : scored.composites) {
              v1::Score* score = r.add_composites();
              score->set_id(composite.composite_id);
              score->set_present(composite.value.has_value());
              if (composite.value.has_value()) score->set_value(*composite.value);
            }
          }
          stopped = !visit(r);
          return !stopped;
        });
    if (!failure.ok()) return failure;
    if (!read.ok()) return read;
    if (stopped) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<RosterEntries> Ingestor::RosterOf(const std::string& trial,
                                                const std::vector<std::string>& participant_ids) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  return roster_.Lookup(trial, participant_ids);
}

absl::StatusOr<v1::GetResponseStatusResponse> Ingestor::GetResponseStatus(
    const v1::GetResponseStatusRequest& request) {
  if (absl::Status s = CheckId("trial_id", request.trial_id()); !s.ok()) return s;
  if (absl::Status s = CheckId("wave_id", request.wave_id()); !s.ok()) return s;
  if (request.participant_id().empty()) {
    return absl::InvalidArgumentError("participant_id: missing");
  }
  absl::StatusOr<std::vector<RespondentStatus>> statuses = store_.GetRespondentStatuses(
      request.trial_id(), request.wave_id(), {request.participant_id()});
  if (!statuses.ok()) return statuses.status();
  const RespondentStatus& status = statuses->front();
  v1::GetResponseStatusResponse response;
  response.set_responded(status.responded);
  if (status.responded) *response.mutable_first_response_at() = ToTimestamp(status.first_response_at);
  return response;
}

absl::StatusOr<v1::GetResponseStatusesResponse> Ingestor::GetResponseStatuses(
    const v1::GetResponseStatusesRequest& request) {
  if (absl::Status s = CheckId("trial_id", request.trial_id()); !s.ok()) return s;
  if (absl::Status s = CheckId("wave_id", request.wave_id()); !s.ok()) return s;
  const size_t n = static_cast<size_t>(request.participant_ids_size());
  if (absl::Status s = CheckBatchLookupSize(n); !s.ok()) return s;
  for (size_t i = 0; i < n; ++i) {
    if (request.participant_ids(static_cast<int>(i)).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("participant_ids[", i, "]: missing"));
    }
  }
  const std::vector<std::string> ids(request.participant_ids().begin(),
                                     request.participant_ids().end());
  absl::StatusOr<std::vector<RespondentStatus>> statuses =
      store_.GetRespondentStatuses(request.trial_id(), request.wave_id(), ids);
  if (!statuses.ok()) return statuses.status();
  v1::GetResponseStatusesResponse response;
  for (size_t i = 0; i < n; ++i) {
    v1::ParticipantResponseStatus& out = *response.add_statuses();
    out.set_participant_id(ids[i]);
    out.set_responded((*statuses)[i].responded);
    if (out.responded()) *out.mutable_first_response_at() = ToTimestamp((*statuses)[i].first_response_at);
  }
  return response;
}

absl::StatusOr<v1::ResponseCountsResponse> Ingestor::ResponseCounts(const std::string& trial) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  absl::StatusOr<std::vector<v1::Wave>> waves = store_.LoadWaves(trial);
  if (!waves.ok()) return waves.status();
  std::map<std::pair<std::string, std::string>, v1::ResponseCountsResponse::Count> counts;
  auto count = [&](const std::string& wave, const std::string& site) -> auto& {
    auto& c = counts[{wave, site}];
    c.set_wave_id(wave);
    c.set_site(site);
    return c;
  };
  for (const v1::Wave& wave : *waves) {
    absl::Status read = store_.ForEachResponse(
        trial, wave.wave_id(), "", IngestStore::Answers::kLeftOut, [&](v1::Response& r) {
          auto& c = count(wave.wave_id(), r.site());
          c.set_responses(c.responses() + 1);
          if (r.counted()) c.set_respondents(c.respondents() + 1);
          return true;
        });
    if (!read.ok()) return read;
  }
  absl::StatusOr<std::vector<v1::Reject>> rejects = store_.LoadRejects(trial);
  if (!rejects.ok()) return rejects.status();
  for (const v1::Reject& r : *rejects) {
    if (r.replayed() || r.has_dismissal()) continue;
    auto& c = count(r.wave_id(), r.site());
    c.set_rejected(c.rejected() + 1);
  }
  v1::ResponseCountsResponse response;
  for (auto& [key, c] : counts) *response.add_counts() = std::move(c);
  return response;
}

absl::StatusOr<std::string> Ingestor::DataVersion(const std::string& trial) {
  if (absl::Status s = CheckId("trial_id", trial); !s.ok()) return s;
  absl::StatusOr<int64_t> version = store_.DataVersion(trial);
  if (!version.ok()) return version.status();
  return absl::StrCat(*version);
}

absl::StatusOr<std::map<std::pair<std::string, std::string>, int64_t>> Ingestor::Respondents(
    const std::string& trial) {
  absl::StatusOr<v1::ResponseCountsResponse> counts = ResponseCounts(trial);
  if (!counts.ok()) return counts.status();
  std::map<std::pair<std::string, std::string>, int64_t> out;
  for (const auto& c : counts->counts()) {
    if (c.respondents() > 0) out[{c.wave_id(), c.site()}] = c.respondents();
  }
  return out;
}

}  // namespace fieldwork::survey_ingest

#include "services/survey_ingest/form/survey_form.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/survey_ingest/domain/content_hash.h"
#include "services/survey_ingest/domain/personal_pages.h"
#include "services/survey_ingest/form/form_renderer.h"
#include "services/survey_link/survey_link_token.h"

namespace fieldwork::survey_ingest::form {

namespace v1 = ::fieldwork::v1;

struct SurveyForm::Session {
  Respondent who;
  v1::Wave wave;
  std::shared_ptr<const Scorer> scorer;
  std::vector<Page> pages;
  std::vector<ShownDecision> decisions;  // an online experiment's, as this participant sees them
  FormProgress progress;
  bool completed = false;  // by this form, or answered another way (gRPC, an import)

  const Instrument& instrument() const { return scorer->instrument(); }
  // The first page without stored answers (the last page when every page is stored but the
  // final submit did not go through).
  size_t FirstOpenPage() const {
    for (size_t i = 0; i < pages.size(); ++i) {
      if (progress.pages.find(static_cast<int>(i)) == progress.pages.end()) return i;
    }
    return pages.size() - 1;
  }
};

namespace {

constexpr char kFieldPrefix[] = "q_";

FormReply Notice(int status, const std::string& heading, const std::string& message,
                 const Instrument* instrument = nullptr) {
  NoticeView view;
  view.heading = heading;
  view.message = message;
  if (instrument != nullptr) {
    view.language = instrument->language;
    view.study_title = instrument->title;
  }
  return {status, RenderNotice(view), ""};
}

FormReply Unavailable(const absl::Status& status, const std::string& trial) {
  // Never the token or the participant: the trial and the reason are enough to act on.
  logging::Warning("survey form unavailable", {{"trial", trial}, {"error", status.ToString()}});
  return Notice(503, "The survey is unavailable for a moment",
                "Please try again in a few minutes. Answers to pages you have already moved on "
                "from are kept.");
}

FormReply InvalidLink() {
  return Notice(404, "This link is not valid",
                "Please check that you opened the whole link from your invitation.\n\nIf it still "
                "does not work, reply to the invitation to ask for a new link.");
}

std::string DateText(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%d %B %Y, %H:%M UTC", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

}  // namespace

std::string FormSubmissionId(const Respondent& who) {
  PartsHasher hasher;
  hasher.Add("fieldwork-form").Add(who.trial).Add(who.wave).Add(who.participant);
  return absl::StrCat("form:", hasher.HexDigest());
}

SurveyForm::SurveyForm(Ingestor& ingestor, FormStore& store,
                       const survey_link::SurveyLinkKeyRing& keys, const Clock& clock,
                       StageObserver observer, Allocations* allocations)
    : ingestor_(ingestor),
      store_(store),
      keys_(keys),
      clock_(clock),
      observer_(std::move(observer)),
      allocations_(allocations),
      csrf_(keys) {}

std::variant<SurveyForm::Session, FormReply> SurveyForm::Open(const std::string& token) {
  const absl::Time now = clock_.Now();
  absl::StatusOr<survey_link::SurveyLinkClaims> claims =
      survey_link::OpenSurveyLink(keys_, token, now);
  if (!claims.ok()) {
    if (claims.status().code() == absl::StatusCode::kFailedPrecondition) {
      return Notice(410, "This link has expired",
                    "The survey it was for has closed. Thank you for your interest.");
    }
    return InvalidLink();
  }
  Session session;
  session.who = {claims->trial_id, claims->wave_id, claims->participant_id};
  const std::string& trial = session.who.trial;

  absl::StatusOr<std::vector<v1::Wave>> waves = ingestor_.ListWaves(trial);
  if (!waves.ok()) return Unavailable(waves.status(), trial);
  const v1::Wave* wave = nullptr;
  for (const v1::Wave& w : *waves) {
    if (w.wave_id() == session.who.wave) wave = &w;
  }
  if (wave == nullptr) {
    return Notice(404, "This survey is not available",
                  "It may have been withdrawn by the research team. There is nothing to answer.");
  }
  session.wave = *wave;
  absl::StatusOr<std::shared_ptr<const Scorer>> scorer =
      ingestor_.ScorerOf(trial, session.wave.instrument_id(), session.wave.instrument_version());
  if (!scorer.ok()) {
    if (absl::IsNotFound(scorer.status())) {
      return Notice(404, "This survey is not available", "There is nothing to answer.");
    }
    return Unavailable(scorer.status(), trial);
  }
  session.scorer = *std::move(scorer);
  session.pages = session.instrument().FormPages();
  const Instrument* instrument = &session.instrument();

  // Enrolment and withdrawal: the roster SubmitResponse asks, never stale (roster.h).
  absl::StatusOr<RosterEntries> roster = ingestor_.RosterOf(trial, {session.who.participant});
  if (!roster.ok()) {
    if (absl::IsNotFound(roster.status())) return InvalidLink();
    return Unavailable(roster.status(), trial);
  }
  const RosterEntry& entry = (*roster)[session.who.participant];
  if (!entry.enrolled) return InvalidLink();
  if (entry.withdrawn) {
    return Notice(403, "There is nothing to answer",
                  "You are no longer taking part in this study, so this survey is closed to you. "
                  "Thank you for your help.",
                  instrument);
  }

  absl::StatusOr<FormProgress> progress = store_.Load(session.who);
  if (!progress.ok()) return Unavailable(progress.status(), trial);
  session.progress = *std::move(progress);
  v1::GetResponseStatusRequest status_request;
  status_request.set_trial_id(trial);
  status_request.set_wave_id(session.who.wave);
  status_request.set_participant_id(session.who.participant);
  absl::StatusOr<v1::GetResponseStatusResponse> responded =
      ingestor_.GetResponseStatus(status_request);
  if (!responded.ok()) return Unavailable(responded.status(), trial);
  session.completed = session.progress.completed.has_value() || responded->responded();
  if (session.completed) return session;  // shown as completed, whatever the wave's dates

  if (session.wave.has_opens_at() &&
      now < absl::FromUnixSeconds(session.wave.opens_at().seconds())) {
    return Notice(403, "This survey is not open yet",
                  absl::StrCat("It opens on ", DateText(session.wave.opens_at()),
                               ". Please use your link again then."),
                  instrument);
  }
  if (session.wave.has_closes_at() && !session.wave.allow_late() &&
      now > absl::FromUnixSeconds(session.wave.closes_at().seconds())) {
    return Notice(410, "This survey has closed",
                  absl::StrCat("It closed on ", DateText(session.wave.closes_at()),
                               ". Thank you for your interest."),
                  instrument);
  }
  if (std::optional<FormReply> notice = Personalise(session)) return *std::move(notice);
  return session;
}

std::optional<FormReply> SurveyForm::Personalise(Session& session) {
  const Instrument& instrument = session.instrument();
  if (!instrument.Personalised()) return std::nullopt;
  const std::string& trial = session.who.trial;
  if (allocations_ == nullptr) {
    return Unavailable(absl::FailedPreconditionError(
                           "an online experiment's form needs the randomisation service"),
                       trial);
  }
  absl::StatusOr<ParticipantAllocation> allocation =
      allocations_->Get(trial, session.who.participant);
  if (absl::IsNotFound(allocation.status())) {
    return Notice(403, "This survey is not ready for you yet",
                  "Please use your link again later.", &instrument);
  }
  if (!allocation.ok()) {
    // The randomisation service's message may name the participant: only its code is logged.
    return Unavailable(absl::Status(allocation.status().code(), "allocation lookup failed"), trial);
  }
  absl::StatusOr<PersonalPages> personal = PersonalisePages(instrument, *allocation);
  if (!personal.ok()) return Unavailable(personal.status(), trial);
  session.pages = std::move(personal->pages);
  session.decisions = std::move(personal->decisions);
  return std::nullopt;
}

void SurveyForm::Observe(const Respondent& who, Stage stage, const absl::StatusOr<bool>& first) {
  if (first.ok() && *first && observer_) observer_(who.trial, who.wave, stage);
}

FormReply SurveyForm::RenderPageOf(const Session& session, size_t index, Answers answers,
                                   FieldMessages errors, std::vector<std::string> general_errors,
                                   const std::string& token, int status) {
  PageView view;
  view.instrument = &session.instrument();
  view.pages = session.pages;
  view.page_index = index;
  view.answers = std::move(answers);
  view.errors = std::move(errors);
  view.general_errors = std::move(general_errors);
  view.csrf_token = csrf_.TokenFor(token);
  return {status, RenderPage(view), ""};
}

FormReply SurveyForm::Show(const std::string& token, std::optional<int> page) {
  std::variant<Session, FormReply> opened = Open(token);
  if (FormReply* reply = std::get_if<FormReply>(&opened)) return *std::move(reply);
  Session& session = std::get<Session>(opened);
  if (session.completed) {
    return Notice(200, "You have already completed this survey",
                  "Thank you: your answers are recorded. There is nothing more to do.",
                  &session.instrument());
  }
  absl::StatusOr<bool> first = store_.Mark(session.who, Stage::kOpened, clock_.Now());
  if (!first.ok()) return Unavailable(first.status(), session.who.trial);
  Observe(session.who, Stage::kOpened, first);
  size_t index = session.FirstOpenPage();
  // Any page up to the first open one (Back, or a bookmark); never a page further on.
  if (page.has_value() && *page >= 1 && static_cast<size_t>(*page) <= index + 1) {
    index = static_cast<size_t>(*page - 1);
  }
  Answers answers;
  if (auto it = session.progress.pages.find(static_cast<int>(index));
      it != session.progress.pages.end()) {
    answers = it->second;
  }
  return RenderPageOf(session, index, std::move(answers), {}, {}, token, 200);
}

FormReply SurveyForm::Post(const std::string& token,
                           const std::map<std::string, std::string>& fields) {
  std::variant<Session, FormReply> opened = Open(token);
  if (FormReply* reply = std::get_if<FormReply>(&opened)) return *std::move(reply);
  Session& session = std::get<Session>(opened);
  auto csrf = fields.find("csrf");
  if (csrf == fields.end() || !csrf_.Check(token, csrf->second)) {
    return Notice(403, "This page could not be accepted",
                  "Nothing was saved. Please open the link in your invitation again and answer "
                  "this page once more.",
                  &session.instrument());
  }
  if (session.completed) {
    return Notice(409, "You have already completed this survey",
                  "Thank you: your answers are recorded. Nothing was changed.",
                  &session.instrument());
  }
  const size_t first_open = session.FirstOpenPage();
  int posted = 0;
  auto page_field = fields.find("form_page");
  if (page_field == fields.end() || !absl::SimpleAtoi(page_field->second, &posted) || posted < 1 ||
      static_cast<size_t>(posted) > first_open + 1) {
    // A page the participant has not reached (or no page at all): show the one to answer.
    return {303, "", absl::StrCat("?page=", first_open + 1)};
  }
  const size_t index = static_cast<size_t>(posted - 1);
  Answers form_fields;
  for (const auto& [name, value] : fields) {
    if (absl::StartsWith(name, kFieldPrefix)) {
      form_fields.emplace(name.substr(sizeof(kFieldPrefix) - 1), value);
    }
  }
  Answers answers = PageAnswers(session.pages[index], form_fields);
  FieldMessages errors = ValidatePage(*session.scorer, session.pages[index], answers);
  if (!errors.empty()) {
    return RenderPageOf(session, index, std::move(answers), std::move(errors), {}, token, 422);
  }
  const absl::Time now = clock_.Now();
  absl::StatusOr<bool> first = store_.SavePage(session.who, static_cast<int>(index), answers, now);
  if (!first.ok()) return Unavailable(first.status(), session.who.trial);
  Observe(session.who, Stage::kStarted, first);
  if (!session.progress.started.has_value()) session.progress.started = now;
  session.progress.pages[static_cast<int>(index)] = answers;
  if (index + 1 < session.pages.size()) return {303, "", absl::StrCat("?page=", index + 2)};
  return Finish(session, index, answers, token);
}

FormReply SurveyForm::Finish(Session& session, size_t index, const Answers& answers,
                             const std::string& token) {
  // Every page's answers, each taken only for the items its page asks.
  v1::Submission submission;
  submission.set_trial_id(session.who.trial);
  submission.set_wave_id(session.who.wave);
  submission.set_participant_id(session.who.participant);
  submission.set_submission_id(FormSubmissionId(session.who));
  submission.set_finished(true);
  for (size_t p = 0; p < session.pages.size(); ++p) {
    auto stored = session.progress.pages.find(static_cast<int>(p));
    if (stored == session.progress.pages.end()) continue;
    for (const auto& [item, answer] : PageAnswers(session.pages[p], stored->second)) {
      (*submission.mutable_answers())[item] = answer;
    }
  }
  for (const ShownDecision& shown : session.decisions) {
    v1::Decision* decision = submission.add_decisions();
    decision->set_block(shown.block);
    decision->set_index(shown.index);
    decision->set_item_id(shown.item);
    decision->set_stimulus(shown.stimulus);
    decision->set_stimulus_text(shown.stimulus_text);
    decision->mutable_attributes()->insert(shown.attributes.begin(), shown.attributes.end());
  }
  const absl::Time started = *session.progress.started;
  submission.mutable_started_at()->set_seconds(absl::ToUnixSeconds(started));
  Caller caller;
  caller.name = "survey-form";
  caller.source = "form";
  absl::StatusOr<std::vector<SubmissionResult>> results =
      ingestor_.Submit({std::move(submission)}, 1, caller);
  if (!results.ok()) return Unavailable(results.status(), session.who.trial);
  const SubmissionResult& result = results->front();
  if (result.status == v1::SUBMISSION_STATUS_REJECTED) {
    // Only possible when something changed under the participant (the wave closed, the
    // instrument's pages changed): say what, beside the item when it is on this page.
    FieldMessages errors;
    std::vector<std::string> general;
    for (const v1::RowError& error : result.errors) {
      const Item* item = session.instrument().FindItem(error.field());
      bool on_page = false;
      for (const std::string& id : session.pages[index].items) {
        on_page = on_page || id == error.field();
      }
      if (item != nullptr && on_page) {
        errors.emplace(error.field(), PlainMessage(*item, error.reason()));
      } else if (item != nullptr) {
        general.push_back(absl::StrCat(
            "\"", item->label, "\" on an earlier page: ", PlainMessage(*item, error.reason())));
      } else {
        general.push_back(absl::StrCat("Your answers could not be accepted: ", error.reason()));
      }
    }
    return RenderPageOf(session, index, answers, std::move(errors), std::move(general), token, 422);
  }
  // Accepted, or a duplicate of this participant's earlier final submit: either way done.
  absl::StatusOr<bool> first = store_.Mark(session.who, Stage::kCompleted, clock_.Now());
  if (!first.ok()) {
    // The response is stored (the reminder guard sees it); only the form's own mark is late,
    // and the next visit finds the response anyway.
    logging::Warning("survey form: completion not marked",
                     {{"trial", session.who.trial}, {"error", first.status().ToString()}});
  }
  if (result.status == v1::SUBMISSION_STATUS_ACCEPTED)
    Observe(session.who, Stage::kCompleted, true);
  return Notice(200, "Thank you", "Your answers have been recorded. You can close this page.",
                &session.instrument());
}

}  // namespace fieldwork::survey_ingest::form

#include "services/analysis/join.h"

#include <algorithm>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

const std::string* JoinedParticipant::Arm(const std::string& factor) const {
  auto it = arm_by_factor.find(factor);
  return it == arm_by_factor.end() ? nullptr : &it->second;
}

const JoinedResponse* JoinedTrial::ResponseOf(const JoinedParticipant& participant,
                                              const std::string& wave) const {
  auto it = participant.response_by_wave.find(wave);
  return it == participant.response_by_wave.end() ? nullptr : it->second;
}

bool JoinedTrial::AddResponse(JoinedParticipant& participant, const std::string& wave,
                              const JoinedResponse& response) {
  return participant.response_by_wave.emplace(wave, &response).second;
}

void SetEnrolment(const v1::ParticipantStatus& status, JoinedParticipant& p) {
  p.id = status.participant().participant_id();
  p.site = status.participant().site();
  p.cohort = status.participant().cohort();
  p.cluster = status.participant().cluster();
  p.participant = &status.participant();
  p.status = &status;
  p.withdrawn = status.has_withdrawal();
  p.left = status.has_left_on();
}

void ApplyAllocation(const v1::Allocation& allocation, JoinedParticipant& p) {
  p.allocated = true;
  p.batch = allocation.batch();
  p.allocated_at = absl::FromUnixSeconds(allocation.allocated_at().seconds()) +
                   absl::Nanoseconds(allocation.allocated_at().nanos());
  for (const auto& assignment : allocation.assignments()) {
    p.arm_by_factor[assignment.factor()] = assignment.arm();
  }
  // The allocation carries the status too when the source merges them.
  p.withdrawn = p.withdrawn || allocation.has_withdrawal();
  p.left = p.left || allocation.has_left_on();
}

namespace {

// Each enrolled participant's position in JoinedTrial::participants, by id: built by the
// enrolment join, used by the joins after it.
using ParticipantIndex = absl::flat_hash_map<std::string, size_t>;

// The trial, its participants (sorted by id) and their allocations: each allocation is applied
// as it comes off the stream, so the list of them is never held. The stream's failure, if any.
absl::Status JoinEnrolment(v1::Trial trial, MessageList<v1::ParticipantStatus> statuses,
                           ItemStream<v1::Allocation>& allocations, JoinedTrial& joined,
                           ParticipantIndex& index) {
  joined.trial = std::move(trial);
  joined.statuses = std::move(statuses);
  const auto by_id = [](const v1::ParticipantStatus* a, const v1::ParticipantStatus* b) {
    return a->participant().participant_id() < b->participant().participant_id();
  };
  // randomisation lists them in id order already: one pass checks that, where a sort would
  // compare them all again.
  std::vector<v1::ParticipantStatus*>& order = joined.statuses.items();
  if (!std::is_sorted(order.begin(), order.end(), by_id)) {
    std::sort(order.begin(), order.end(), by_id);
  }
  joined.participants.resize(joined.statuses.size());
  index.reserve(joined.statuses.size());
  for (size_t i = 0; i < joined.statuses.size(); ++i) {
    JoinedParticipant& p = joined.participants[i];
    SetEnrolment(joined.statuses[i], p);
    index.emplace(p.id, i);
  }
  int64_t unknown_allocations = 0;
  v1::Allocation allocation;
  while (allocations.Next(allocation)) {
    auto it = index.find(allocation.participant_id());
    if (it == index.end()) {
      ++unknown_allocations;
      continue;
    }
    ApplyAllocation(allocation, joined.participants[it->second]);
  }
  if (unknown_allocations > 0) {
    joined.warnings.push_back(absl::StrCat(
        unknown_allocations, " allocations of participants not listed as enrolled were ignored"));
  }
  return allocations.Finish();
}

// A counted response as read, before the join knows whose it is.
struct ListedResponse {
  std::string participant_id;
  std::string wave_id;
  const JoinedResponse* response;
};

// What survey-ingest listed, kept in compact form as it arrives (see JoinedResponse).
struct ListedResponses {
  std::vector<ListedResponse> counted;
  JoinedResponses responses;
};

void JoinResponses(std::optional<std::vector<v1::Wave>> waves,
                   std::optional<ListedResponses> listed, const ParticipantIndex& index,
                   JoinedTrial& joined) {
  if (waves.has_value()) joined.waves = std::move(*waves);
  if (!listed.has_value()) return;
  joined.has_responses = true;
  joined.responses = std::move(listed->responses);
  int64_t unknown = 0;
  int64_t duplicates = 0;
  for (ListedResponse& r : listed->counted) {
    auto it = index.find(r.participant_id);
    if (it == index.end()) {
      ++unknown;
      continue;
    }
    if (!JoinedTrial::AddResponse(joined.participants[it->second], r.wave_id, *r.response)) {
      ++duplicates;
    }
  }
  if (unknown > 0) {
    joined.warnings.push_back(
        absl::StrCat(unknown, " responses of participants not enrolled were ignored"));
  }
  if (duplicates > 0) {
    joined.warnings.push_back(absl::StrCat(
        duplicates, " extra counted responses for the same participant and wave were ignored"));
  }
}

void JoinOutcomes(const std::optional<MessageList<v1::Outcome>>& outcomes,
                  const ParticipantIndex& index, JoinedTrial& joined) {
  if (!outcomes.has_value()) return;
  joined.has_outcomes = true;
  // The latest period wins: remember each participant's latest period per outcome.
  absl::flat_hash_map<std::pair<size_t, std::string>, std::tuple<int, int, int>> latest;
  int64_t unknown = 0;
  for (const v1::Outcome* listed : outcomes->items()) {
    const v1::Outcome& outcome = *listed;
    auto it = index.find(outcome.participant_id());
    if (it == index.end()) {
      ++unknown;
      continue;
    }
    const auto key = std::make_pair(it->second, outcome.outcome());
    const auto end = DateKey(outcome.period_end());
    auto [slot, inserted] = latest.emplace(key, end);
    if (inserted || end >= slot->second) {
      slot->second = end;
      joined.participants[it->second].outcomes[outcome.outcome()] = outcome.value();
    }
  }
  if (unknown > 0) {
    joined.warnings.push_back(
        absl::StrCat(unknown, " outcomes of participants not enrolled were ignored"));
  }
}

void JoinEngagement(const std::optional<std::vector<EngagementEvent>>& engagement,
                    const ParticipantIndex& index, JoinedTrial& joined) {
  if (!engagement.has_value()) return;
  joined.has_engagement = true;
  for (const EngagementEvent& event : *engagement) {
    auto it = index.find(event.participant_id);
    if (it != index.end()) joined.participants[it->second].took_up.insert(event.campaign);
  }
}

}  // namespace

absl::StatusOr<JoinedTrial> LoadTrial(const Sources& sources, const std::string& trial) {
  if (sources.allocations == nullptr) return absl::InternalError("no allocation source configured");
  auto annotate = [](const absl::Status& status, absl::string_view source) {
    return absl::Status(status.code(), absl::StrCat(source, ": ", status.message()));
  };
  absl::StatusOr<v1::Trial> trial_record = sources.allocations->GetTrial(trial);
  if (!trial_record.ok()) return trial_record.status();
  // survey-ingest and messaging are read on a thread of their own while randomisation is read
  // here: each service lists at its own pace, so the wait is the longest list's, not their sum.
  std::optional<std::vector<v1::Wave>> waves;
  std::optional<ListedResponses> responses;
  std::optional<MessageList<v1::Outcome>> outcomes;
  std::optional<std::vector<EngagementEvent>> engagement;
  absl::Status others_status;
  std::thread others([&] {
    others_status = [&]() -> absl::Status {
      if (sources.responses != nullptr) {
        absl::StatusOr<std::vector<v1::Wave>> w = sources.responses->ListWaves(trial);
        if (!w.ok()) return annotate(w.status(), "survey-ingest ListWaves");
        waves = std::move(*w);
        ListedResponses& listed = responses.emplace();
        absl::Status read = sources.responses->ForEachResponse(trial, [&](v1::Response& r) {
          if (!r.counted()) return;
          ListedResponse& kept = listed.counted.emplace_back();
          kept.participant_id = r.participant_id();
          kept.wave_id = r.wave_id();
          kept.response = &listed.responses.Add(std::move(r));
        });
        if (!read.ok()) return annotate(read, "survey-ingest ListResponses");
      }
      if (sources.outcomes != nullptr) {
        absl::StatusOr<MessageList<v1::Outcome>> o = sources.outcomes->ListOutcomes(trial);
        if (!o.ok()) return annotate(o.status(), "survey-ingest ListOutcomes");
        outcomes = std::move(*o);
      }
      if (sources.engagement != nullptr) {
        absl::StatusOr<std::vector<EngagementEvent>> e = sources.engagement->ListEngagement(trial);
        if (!e.ok()) return annotate(e.status(), "messaging engagement");
        engagement = std::move(*e);
      }
      return absl::OkStatus();
    }();
  });
  // The allocations are asked for first, so that randomisation starts on them (as far as the
  // stream's window lets it) while the participants are read; they are applied once the
  // participants are in.
  std::unique_ptr<ItemStream<v1::Allocation>> allocations =
      sources.allocations->StreamAllocations(trial);
  absl::StatusOr<MessageList<v1::ParticipantStatus>> statuses =
      sources.allocations->ListParticipants(trial);
  // The participants are joined with their allocations while the other lists are still being
  // read (the responses are usually the longest): a core would otherwise wait.
  JoinedTrial joined;
  ParticipantIndex index;
  absl::Status allocations_status;
  if (statuses.ok()) {
    allocations_status =
        JoinEnrolment(std::move(*trial_record), std::move(*statuses), *allocations, joined, index);
  }
  allocations.reset();  // a stream left unread (the participants failed) is cancelled
  others.join();
  // The failures in the order the sources were read in before they were read side by side.
  if (!statuses.ok()) return annotate(statuses.status(), "randomisation ListParticipants");
  if (!allocations_status.ok()) {
    return annotate(allocations_status, "randomisation ListAllocations");
  }
  if (!others_status.ok()) return others_status;
  JoinResponses(std::move(waves), std::move(responses), index, joined);
  JoinOutcomes(outcomes, index, joined);
  JoinEngagement(engagement, index, joined);
  if (!joined.has_responses)
    joined.warnings.push_back("no survey-ingest source configured: no survey responses");
  if (!joined.has_outcomes)
    joined.warnings.push_back("no outcome source configured: no administrative outcomes");
  if (!joined.has_engagement)
    joined.warnings.push_back("no messaging source configured: no take-up data");
  return joined;
}

std::optional<double> OutcomeValue(const JoinedTrial& joined, const JoinedParticipant& participant,
                                   const v1::OutcomeSource& source) {
  if (source.has_administrative()) {
    auto it = participant.outcomes.find(source.administrative().outcome());
    if (it == participant.outcomes.end()) return std::nullopt;
    return it->second;
  }
  if (!source.has_survey()) return std::nullopt;
  const JoinedResponse* response = joined.ResponseOf(participant, source.survey().wave_id());
  if (response == nullptr) return std::nullopt;
  return response->ScoreValue(
      joined.responses.score_names(), source.survey().score_id(),
      source.survey().kind() == v1::OutcomeSource::SurveyScore::KIND_COMPOSITE);
}

int64_t DecisionCount(const JoinedTrial& joined, const JoinedParticipant& participant,
                      const v1::OutcomeSource::Decisions& source) {
  const JoinedResponse* response = joined.ResponseOf(participant, source.wave_id());
  if (response == nullptr) return 0;
  int64_t count = 0;
  for (const v1::Decision& decision : response->decisions()) count += decision.block() == source.block();
  return count;
}

}  // namespace fieldwork::analysis

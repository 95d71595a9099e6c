#include "services/cli/trial_snapshot.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "services/common/paged_list.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

absl::Time TimeOf(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::Time SubmittedAt(const v1::Response& response) {
  if (response.has_submitted_at()) return TimeOf(response.submitted_at());
  return TimeOf(response.received_at());
}

bool Withdrawn(const v1::Allocation& allocation) { return allocation.has_withdrawal(); }

}  // namespace

std::vector<std::string> ArmsOf(const v1::TrialDesign& design, const std::string& factor) {
  std::vector<std::string> arms;
  for (const v1::Factor& f : design.factors()) {
    if (f.name() != factor) continue;
    for (const v1::Arm& arm : f.arms()) arms.push_back(arm.name());
  }
  return arms;
}

grpc::Status LoadTrialRecord(CliContext& cli, const std::string& trial_id,
                             TrialSnapshot& snapshot) {
  v1::GetTrialRequest get;
  get.set_trial_id(trial_id);
  v1::GetTrialResponse trial;
  if (grpc::Status s = cli.randomisation().GetTrial(cli.Call(30).get(), get, &trial); !s.ok())
    return s;
  snapshot.trial = trial.trial();
  return grpc::Status::OK;
}

grpc::Status LoadAllocations(CliContext& cli, const std::string& trial_id,
                             TrialSnapshot& snapshot) {
  if (grpc::Status s = LoadTrialRecord(cli, trial_id, snapshot); !s.ok()) return s;
  snapshot.allocations_read = false;
  return EnsureAllocations(cli, snapshot);
}

grpc::Status EnsureAllocations(CliContext& cli, TrialSnapshot& snapshot) {
  if (snapshot.allocations_read) return grpc::Status::OK;
  v1::ListAllocationsRequest list;
  list.set_trial_id(snapshot.trial.design().trial_id());
  list.set_paged(true);
  auto context = cli.Call();
  auto reader = cli.randomisation().ListAllocations(context.get(), list);
  v1::ListAllocationsResponse page;
  snapshot.allocations.clear();
  while (reader->Read(&page)) {
    ForEachListed(page.has_allocation() ? page.mutable_allocation() : nullptr,
                  *page.mutable_allocations(),
                  [&](v1::Allocation& a) { snapshot.allocations.push_back(std::move(a)); });
  }
  grpc::Status s = reader->Finish();
  snapshot.allocations_read = s.ok();
  if (!s.ok()) snapshot.allocations.clear();
  return s;
}

namespace {

grpc::Status LoadWaves(CliContext& cli, const std::string& trial_id, TrialSnapshot& snapshot) {
  v1::ListWavesRequest waves_request;
  waves_request.set_trial_id(trial_id);
  v1::ListWavesResponse waves;
  grpc::Status s = cli.survey_ingest().ListWaves(cli.Call(30).get(), waves_request, &waves);
  snapshot.waves.assign(waves.waves().begin(), waves.waves().end());
  return s;
}

}  // namespace

grpc::Status LoadResponses(CliContext& cli, const std::string& trial_id, TrialSnapshot& snapshot) {
  if (grpc::Status s = LoadWaves(cli, trial_id, snapshot); !s.ok()) return s;
  v1::ListResponsesRequest list;
  list.set_trial_id(trial_id);
  list.set_paged(true);
  auto context = cli.Call();
  auto reader = cli.survey_ingest().ListResponses(context.get(), list);
  v1::ListResponsesResponse page;
  snapshot.responses.clear();
  snapshot.respondents.clear();
  while (reader->Read(&page)) {
    ForEachListed(page.has_response() ? page.mutable_response() : nullptr,
                  *page.mutable_responses(), [&](v1::Response& r) {
                    if (!r.counted()) return;
                    snapshot.respondents.push_back({r.wave_id(), r.participant_id()});
                    snapshot.responses.push_back(std::move(r));
                  });
  }
  return reader->Finish();
}

grpc::Status LoadRespondents(CliContext& cli, const std::string& trial_id,
                             TrialSnapshot& snapshot) {
  if (grpc::Status s = LoadWaves(cli, trial_id, snapshot); !s.ok()) return s;
  v1::ListRespondentsRequest list;
  list.set_trial_id(trial_id);
  auto context = cli.Call();
  auto reader = cli.survey_ingest().ListRespondents(context.get(), list);
  v1::ListRespondentsResponse page;
  snapshot.respondents.clear();
  while (reader->Read(&page)) {
    for (std::string& participant : *page.mutable_participant_ids()) {
      snapshot.respondents.push_back({page.wave_id(), std::move(participant)});
    }
  }
  return reader->Finish();
}

std::string ComparisonFactor(const v1::TrialDesign& design, const std::string& preferred) {
  // Order factors (Latin square, random order) assign orders, not arms to compare.
  auto has_arms = [](const v1::Factor& f) {
    return !f.arms().empty() && f.method() != v1::RANDOMISATION_METHOD_LATIN_SQUARE &&
           f.method() != v1::RANDOMISATION_METHOD_RANDOM_ORDER;
  };
  for (const v1::Factor& f : design.factors()) {
    if (f.name() == preferred && has_arms(f)) return preferred;
  }
  for (const v1::Factor& f : design.factors()) {
    if (has_arms(f)) return f.name();
  }
  return "";
}

std::string ArmOf(const v1::Allocation& allocation, const std::string& factor) {
  for (const v1::Assignment& a : allocation.assignments()) {
    if (a.factor() == factor) return a.arm();
  }
  return "";
}

std::map<std::string, std::map<std::string, ArmCount>> ResponseByArmAndWave(
    const TrialSnapshot& snapshot, const std::string& factor) {
  // Hash maps keyed by views into the snapshot: status joins 100,000s of participants here,
  // and ordered maps of copied strings were most of its time.
  std::map<std::string, int64_t> randomised;
  for (const std::string& arm : ArmsOf(snapshot.trial.design(), factor)) randomised[arm] = 0;
  // participant → arm (a key of `randomised`), withdrawn left out
  absl::flat_hash_map<absl::string_view, const std::string*> arm_of;
  arm_of.reserve(snapshot.allocations.size());
  for (const v1::Allocation& a : snapshot.allocations) {
    const std::string arm = ArmOf(a, factor);
    if (arm.empty() || Withdrawn(a)) continue;
    auto counted = randomised.try_emplace(arm, 0).first;
    ++counted->second;
    arm_of[a.participant_id()] = &counted->first;
  }
  std::map<std::string, std::map<std::string, ArmCount>> result;
  auto add_wave = [&](const std::string& wave) {
    auto& arms = result[wave];
    for (const auto& [arm, n] : randomised) arms[arm].randomised = n;
  };
  for (const v1::Wave& w : snapshot.waves) add_wave(w.wave_id());
  // (wave, participant): one per person
  absl::flat_hash_set<std::pair<absl::string_view, absl::string_view>> seen;
  seen.reserve(snapshot.respondents.size());
  for (const Respondent& r : snapshot.respondents) {
    if (!result.count(r.wave_id)) add_wave(r.wave_id);
    auto arm = arm_of.find(r.participant_id);
    if (arm == arm_of.end() || !seen.emplace(r.wave_id, r.participant_id).second) continue;
    ++result[r.wave_id][*arm->second].responded;
  }
  return result;
}

std::vector<ReportResponseSeries> ResponseOverTime(const TrialSnapshot& snapshot,
                                                   const std::string& factor) {
  std::map<std::string, std::string> arm_of;
  std::map<std::string, int64_t> randomised;
  for (const v1::Allocation& a : snapshot.allocations) {
    const std::string arm = ArmOf(a, factor);
    if (arm.empty() || Withdrawn(a)) continue;
    arm_of[a.participant_id()] = arm;
    ++randomised[arm];
  }
  // wave → participant → first counted submission.
  std::map<std::string, std::map<std::string, absl::Time>> first;
  for (const v1::Response& r : snapshot.responses) {
    if (!arm_of.count(r.participant_id())) continue;
    auto [it, added] = first[r.wave_id()].try_emplace(r.participant_id(), SubmittedAt(r));
    if (!added) it->second = std::min(it->second, SubmittedAt(r));
  }
  std::map<std::string, absl::Time> opens;
  for (const v1::Wave& w : snapshot.waves) {
    if (w.has_opens_at()) opens[w.wave_id()] = TimeOf(w.opens_at());
  }
  std::vector<ReportResponseSeries> result;
  for (const auto& [wave, by_participant] : first) {
    absl::Time origin = absl::InfiniteFuture();
    for (const auto& [id, t] : by_participant) origin = std::min(origin, t);
    if (auto it = opens.find(wave); it != opens.end()) origin = std::min(origin, it->second);
    // arm → whole days since opening → responses that day.
    std::map<std::string, std::map<int64_t, int64_t>> per_day;
    for (const auto& [id, t] : by_participant) {
      ++per_day[arm_of[id]][absl::ToInt64Hours(t - origin) / 24 + 1];
    }
    for (const auto& [arm, n] : randomised) {
      ReportResponseSeries series{wave, arm, {}};
      int64_t cumulative = 0;
      for (const auto& [day, count] : per_day[arm]) {
        cumulative += count;
        series.points.emplace_back(
            static_cast<double>(day),
            static_cast<double>(cumulative) / static_cast<double>(std::max<int64_t>(1, n)));
      }
      result.push_back(std::move(series));
    }
  }
  return result;
}

std::vector<ReportProgression> ProgressionRates(
    const TrialSnapshot& snapshot, const std::string& condition_factor,
    const std::map<std::string, std::string>& candidate_groups) {
  const v1::TrialDesign& design = snapshot.trial.design();
  std::string square;
  for (const v1::Factor& f : design.factors()) {
    if (f.method() == v1::RANDOMISATION_METHOD_LATIN_SQUARE) {
      square = f.name();
      break;
    }
  }
  if (square.empty()) return {};
  const std::string condition = ComparisonFactor(design, condition_factor);
  std::map<std::string, const v1::Allocation*> allocation_of;
  for (const v1::Allocation& a : snapshot.allocations) {
    if (!Withdrawn(a)) allocation_of[a.participant_id()] = &a;
  }
  struct Tally {
    int64_t n = 0;
    int64_t progressed = 0;
  };
  std::map<std::pair<std::string, std::string>, Tally> tallies;
  std::set<std::string> counted;  // one response per participant
  constexpr absl::string_view kPrefix = "progress_cv";
  for (const v1::Response& r : snapshot.responses) {
    auto it = allocation_of.find(r.participant_id());
    if (it == allocation_of.end() || !counted.insert(r.participant_id()).second) continue;
    const v1::Allocation& allocation = *it->second;
    const v1::Assignment* order = nullptr;
    for (const v1::Assignment& a : allocation.assignments()) {
      if (a.factor() == square) order = &a;
    }
    const std::string arm = ArmOf(allocation, condition);
    if (order == nullptr || arm.empty()) continue;
    for (const auto& [item, answer] : r.answers()) {
      if (!absl::StartsWith(item, kPrefix)) continue;
      int position = 0;
      if (!absl::SimpleAtoi(item.substr(kPrefix.size()), &position) || position < 1 ||
          position > order->order_size()) {
        continue;
      }
      const std::string& name = order->order(position - 1);
      auto group = candidate_groups.find(name);
      Tally& tally = tallies[{arm, group == candidate_groups.end() ? name : group->second}];
      ++tally.n;
      if (answer == "1") ++tally.progressed;
    }
  }
  std::vector<ReportProgression> result;
  for (const auto& [key, tally] : tallies) {
    const double p = static_cast<double>(tally.progressed) / static_cast<double>(tally.n);
    result.push_back(
        {key.first, key.second, tally.n, p, std::sqrt(p * (1 - p) / static_cast<double>(tally.n)), std::nullopt});
  }
  return result;
}

}  // namespace fieldwork::cli

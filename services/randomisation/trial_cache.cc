#include "services/randomisation/trial_cache.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {

void TrialCache::Reset(TrialHeader header) {
  header_ = std::move(header);
  grouping_ = GroupingOf(header_.trial.design());
  index_.clear();
  text_index_.clear();
  texts_.clear();
  texts_.emplace_back();
  cluster_site_.clear();
  newest_batch_.clear();
  allocated_ = 0;
}

TrialCache::Text TrialCache::Intern(absl::string_view value) {
  if (value.empty()) return 0;
  auto it = text_index_.find(value);
  if (it != text_index_.end()) return it->second;
  const Text index = static_cast<Text>(texts_.size());
  texts_.emplace_back(value);
  text_index_.emplace(texts_.back(), index);
  return index;
}

std::optional<TrialCache::Text> TrialCache::FindText(absl::string_view value) const {
  if (value.empty()) return 0;
  auto it = text_index_.find(value);
  if (it == text_index_.end()) return std::nullopt;
  return it->second;
}

void TrialCache::AddParticipant(const fieldwork::v1::Participant& participant) {
  auto [it, inserted] = index_.try_emplace(participant.participant_id());
  if (!inserted) return;  // enrolments are never rewritten; a scan may repeat one
  Entry& entry = it->second;
  entry.site = Intern(participant.site());
  entry.cohort = Intern(participant.cohort());
  entry.cluster = Intern(participant.cluster());
  if (grouping_.splits && !grouping_.variables.empty()) {
    entry.group = Intern(BatchGroupKey(grouping_, participant));
  }
  if (entry.cluster != 0) cluster_site_.emplace(entry.cluster, entry.site);
}

absl::Status TrialCache::AddAllocation(const fieldwork::v1::Allocation& allocation) {
  auto it = index_.find(allocation.participant_id());
  if (it == index_.end()) {
    return absl::DataLossError(absl::StrCat("trial \"", id(), "\": allocation of \"", allocation.participant_id(),
                                            "\" has no enrolment"));
  }
  Entry& entry = it->second;
  if (!entry.allocated()) ++allocated_;
  entry.batch = allocation.batch();
  entry.arms.clear();
  for (const auto& assignment : allocation.assignments())
    entry.arms.push_back(Intern(assignment.arm()));
  int64_t& newest = newest_batch_[entry.cohort];
  newest = std::max(newest, allocation.batch());
  return absl::OkStatus();
}

absl::Status TrialCache::SetStatus(const fieldwork::v1::ParticipantStatus& status) {
  auto it = index_.find(status.participant().participant_id());
  if (it == index_.end()) {
    return absl::DataLossError(absl::StrCat("trial \"", id(), "\": status of \"",
                                            status.participant().participant_id(), "\" has no enrolment"));
  }
  it->second.withdrawn = status.has_withdrawal();
  it->second.left = status.has_left_on();
  return absl::OkStatus();
}

const TrialCache::Entry* TrialCache::Find(const std::string& participant_id) const {
  auto it = index_.find(participant_id);
  return it == index_.end() ? nullptr : &it->second;
}

const std::string* TrialCache::SiteOfCluster(const std::string& cluster) const {
  std::optional<Text> text = FindText(cluster);
  if (!text.has_value() || *text == 0) return nullptr;
  auto it = cluster_site_.find(*text);
  return it == cluster_site_.end() ? nullptr : &texts_[it->second];
}

int64_t TrialCache::NextBatch(const std::string& cohort) const {
  std::optional<Text> text = FindText(cohort);
  if (!text.has_value()) return 1;
  auto it = newest_batch_.find(*text);
  return it == newest_batch_.end() ? 1 : std::max<int64_t>(1, it->second + 1);
}

fieldwork::v1::Trial TrialCache::TrialView() const {
  fieldwork::v1::Trial trial = header_.trial;
  trial.set_enrolled(enrolled());
  trial.set_allocated(allocated());
  return trial;
}

}  // namespace fieldwork::randomisation

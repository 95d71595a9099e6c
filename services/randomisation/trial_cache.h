// What the randomisation service keeps in memory of a trial: its header (trial, secret, audit
// head) and, per participant, only what enrolment and allocation decide on: site, cohort,
// cluster, batch group, whether (and in which batch) allocated, withdrawn or left. The
// participants' and allocations' records stay in the store and are read per participant when
// a call needs them, so a trial of a million participants costs tens of bytes per participant
// here, not the kilobyte or so of their protos and indexes.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_TRIAL_CACHE_H_
#define FIELDWORK_SERVICES_RANDOMISATION_TRIAL_CACHE_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "services/randomisation/batch_groups.h"
#include "services/randomisation/store.h"

namespace fieldwork::randomisation {

class TrialCache {
 public:
  // Sites, cohorts, clusters and batch groups repeat across participants: each entry names
  // them by an index into one table of distinct strings (index 0 is "").
  using Text = uint32_t;

  struct Entry {
    Text site = 0;
    Text cohort = 0;
    Text cluster = 0;
    Text group = 0;      // BatchGroupKey under the design's grouping
    int64_t batch = -1;  // the allocation's batch (sequence number when sequential); -1: none
    // The allocation's arms (orders), one per factor in the design's order; empty: none. Kept
    // so that counts by arm (Balance's counts_only) need no record.
    absl::InlinedVector<Text, 2> arms;
    bool withdrawn = false;
    bool left = false;
    bool allocated() const { return batch >= 0; }
    // Withdrew or left: never allocated from now on.
    bool gone() const { return withdrawn || left; }
  };
  // Participant id -> entry, in id order (the List calls walk it a page at a time).
  using Index = absl::btree_map<std::string, Entry>;

  TrialCache() { texts_.emplace_back(); }
  TrialCache(const TrialCache&) = delete;
  TrialCache& operator=(const TrialCache&) = delete;

  // Empties the cache and starts it from `header` (its design decides the batch groups).
  void Reset(TrialHeader header);
  const TrialHeader& header() const { return header_; }
  const fieldwork::v1::Trial& trial() const { return header_.trial; }
  const std::string& id() const { return header_.trial.design().trial_id(); }
  const std::string& secret() const { return header_.secret; }
  // A trial write that leaves the design as it is (the batch groups depend on it: a changed
  // design needs Reset and the participants again).
  void SetTrial(fieldwork::v1::Trial trial) { header_.trial = std::move(trial); }
  // After a write appended the entry whose hash is `head`.
  void AdvanceHead(std::string head) {
    header_.audit_head = std::move(head);
    ++header_.audit_length;
  }

  // Adds a participant (a repeat of a known one changes nothing).
  void AddParticipant(const fieldwork::v1::Participant& participant);
  // Marks the participant allocated; DATA_LOSS when it is not enrolled.
  absl::Status AddAllocation(const fieldwork::v1::Allocation& allocation);
  // Records the participant's withdrawal and leaving; DATA_LOSS when it is not enrolled.
  absl::Status SetStatus(const fieldwork::v1::ParticipantStatus& status);

  const Entry* Find(const std::string& participant_id) const;
  const Index& index() const { return index_; }
  const std::string& text(Text index) const { return texts_[index]; }
  // The index of `value` in the table, or nullopt when no participant uses it.
  std::optional<Text> FindText(absl::string_view value) const;
  // The site of the cluster's participants (the first enrolled one's), or nullptr.
  const std::string* SiteOfCluster(const std::string& cluster) const;

  int64_t enrolled() const { return static_cast<int64_t>(index_.size()); }
  int64_t allocated() const { return allocated_; }
  // The number of the cohort's next Randomise batch: one more than its newest, from 1.
  int64_t NextBatch(const std::string& cohort) const;
  const BatchGrouping& grouping() const { return grouping_; }
  // The trial as callers see it: with its enrolled and allocated counts.
  fieldwork::v1::Trial TrialView() const;

 private:
  Text Intern(absl::string_view value);

  TrialHeader header_;
  BatchGrouping grouping_;
  Index index_;
  // A deque: its strings never move, so the views that key text_index_ stay valid.
  std::deque<std::string> texts_;
  absl::flat_hash_map<absl::string_view, Text> text_index_;
  absl::flat_hash_map<Text, Text> cluster_site_;
  absl::flat_hash_map<Text, int64_t> newest_batch_;  // cohort -> its newest batch
  int64_t allocated_ = 0;
};

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_TRIAL_CACHE_H_

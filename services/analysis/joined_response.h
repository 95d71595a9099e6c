// A counted response as the analyses read it: its scores, the time it was submitted and, only
// when it has any, its decisions. The join keeps this instead of the whole message: a parsed
// `Response` is about 1.2 KB (each score a message with its own id string), this 48 bytes and
// 16 a score (160 for ONS4's seven). In a cold `fieldwork status` of a large trial the first
// touch of fresh memory was the largest share of analysis's CPU (services/analysis/README.md).
#ifndef FIELDWORK_SERVICES_ANALYSIS_JOINED_RESPONSE_H_
#define FIELDWORK_SERVICES_ANALYSIS_JOINED_RESPONSE_H_

#include <google/protobuf/arena.h>
#include <google/protobuf/repeated_field.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "fieldwork/v1/survey_ingest.pb.h"

namespace fieldwork::analysis {

// Score ids (scales and composites), each stored once and referred to by a number.
class ScoreNames {
 public:
  uint32_t Intern(const std::string& id);
  // The number of `id`, or nullopt when no response has a score of that id.
  std::optional<uint32_t> Find(const std::string& id) const;

 private:
  absl::flat_hash_map<std::string, uint32_t> numbers_;
};

// Trivially destructible: it lives on JoinedResponses' arena, with its scores.
struct JoinedResponse {
  struct Score {    // trivial: made in arrays on the arena
    uint32_t name;  // in the trial's ScoreNames
    bool composite;
    bool present;  // false: too few items answered (never zero, never imputed)
    double value;
  };
  const Score* first_score = nullptr;
  uint32_t score_count = 0;
  absl::Time at;  // submitted_at, or received_at when the submission carried no time
  // The whole response, kept only when it has decisions (the CV experiments read them).
  const fieldwork::v1::Response* with_decisions = nullptr;

  absl::Span<const Score> scores() const { return {first_score, score_count}; }
  // The value of a score, or nullopt when the response has no such score or it is missing.
  std::optional<double> ScoreValue(const ScoreNames& names, const std::string& id,
                                   bool composite) const;
  // The response's decisions (none when it has none).
  const google::protobuf::RepeatedPtrField<fieldwork::v1::Decision>& decisions() const;
};

// The responses of one join in compact form. They live on an arena of huge-page blocks that is
// unmapped when the join goes (as MessageList's): no allocation per response, and the memory
// is back with the system at once instead of held by malloc's arenas.
class JoinedResponses {
 public:
  // Keeps the compact form of `response` (one with decisions is kept whole as well).
  const JoinedResponse& Add(fieldwork::v1::Response&& response);
  // Forgets every response but keeps the arena's first block for the next ones (the export
  // joins one participant at a time).
  void Clear();
  const ScoreNames& score_names() const { return score_names_; }

 private:
  google::protobuf::Arena& arena();

  std::unique_ptr<char[]> first_block_;             // the arena's first block, which Clear keeps
  std::unique_ptr<google::protobuf::Arena> arena_;  // made on first use
  ScoreNames score_names_;
  std::deque<fieldwork::v1::Response> whole_;  // a deque: adding does not move those in
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_JOINED_RESPONSE_H_

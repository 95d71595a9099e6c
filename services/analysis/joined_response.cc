#include "services/analysis/joined_response.h"

#include <type_traits>

#include "services/analysis/message_list.h"
#include "services/common/proto_time.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

uint32_t ScoreNames::Intern(const std::string& id) {
  return numbers_.try_emplace(id, static_cast<uint32_t>(numbers_.size())).first->second;
}

std::optional<uint32_t> ScoreNames::Find(const std::string& id) const {
  auto it = numbers_.find(id);
  if (it == numbers_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> JoinedResponse::ScoreValue(const ScoreNames& names, const std::string& id,
                                                 bool composite) const {
  const std::optional<uint32_t> name = names.Find(id);
  if (!name.has_value()) return std::nullopt;
  for (const Score& score : scores()) {
    if (score.name == *name && score.composite == composite) {
      if (!score.present) return std::nullopt;
      return score.value;
    }
  }
  return std::nullopt;
}

const google::protobuf::RepeatedPtrField<v1::Decision>& JoinedResponse::decisions() const {
  static const auto* const kNone = new google::protobuf::RepeatedPtrField<v1::Decision>();
  return with_decisions == nullptr ? *kNone : with_decisions->decisions();
}

google::protobuf::Arena& JoinedResponses::arena() {
  if (arena_ == nullptr) {
    // 64 KiB holds a few hundred compact responses: the export's one participant at a time
    // needs no more, and a whole trial's next blocks grow to huge pages.
    constexpr size_t kFirstBlock = size_t{64} << 10;
    first_block_ = std::make_unique<char[]>(kFirstBlock);
    arena_ = NewListArena(first_block_.get(), kFirstBlock);
  }
  return *arena_;
}

void JoinedResponses::Clear() {
  if (arena_ != nullptr) arena_->Reset();
  whole_.clear();
}

const JoinedResponse& JoinedResponses::Add(v1::Response&& response) {
  google::protobuf::Arena& arena = this->arena();
  static_assert(std::is_trivially_destructible_v<JoinedResponse>, "lives on an arena");
  JoinedResponse& joined = *google::protobuf::Arena::Create<JoinedResponse>(&arena);
  joined.score_count = static_cast<uint32_t>(response.scales_size() + response.composites_size());
  auto* scores =
      google::protobuf::Arena::CreateArray<JoinedResponse::Score>(&arena, joined.score_count);
  joined.first_score = scores;
  for (const bool composite : {false, true}) {
    for (const v1::Score& score : composite ? response.composites() : response.scales()) {
      *scores++ = {score_names_.Intern(score.id()), composite, score.present(), score.value()};
    }
  }
  joined.at =
      FromProtoTime(response.has_submitted_at() ? response.submitted_at() : response.received_at());
  if (response.decisions_size() > 0) {
    joined.with_decisions = &whole_.emplace_back(std::move(response));
  }
  return joined;
}

}  // namespace fieldwork::analysis

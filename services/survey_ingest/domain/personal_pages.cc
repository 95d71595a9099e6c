#include "services/survey_ingest/domain/personal_pages.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fieldwork::survey_ingest {
namespace {

absl::Status DoesNotFit(absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("the participant's allocation does not fit the instrument: ", what));
}

absl::StatusOr<std::string> ArmOf(const ParticipantAllocation& allocation,
                                  const std::string& factor) {
  auto arm = allocation.arms.find(factor);
  if (arm == allocation.arms.end()) return DoesNotFit(absl::StrCat("no arm of factor '", factor, "'"));
  return arm->second;
}

absl::StatusOr<std::vector<std::string>> OrderOf(const ParticipantAllocation& allocation,
                                                 const std::string& factor) {
  auto order = allocation.orders.find(factor);
  if (order == allocation.orders.end()) {
    return DoesNotFit(absl::StrCat("no order of factor '", factor, "'"));
  }
  return order->second;
}

// The text above a page's items: its own, or its condition's.
absl::Status ResolveText(const ParticipantAllocation& allocation, Page& page) {
  if (page.text_by_arm.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> arm = ArmOf(allocation, page.text_by_arm.factor);
  if (!arm.ok()) return arm.status();
  auto text = page.text_by_arm.texts.find(*arm);
  if (text == page.text_by_arm.texts.end()) {
    return DoesNotFit(absl::StrCat("no text for arm '", *arm, "' of factor '",
                                   page.text_by_arm.factor, "'"));
  }
  page.text = text->second;
  return absl::OkStatus();
}

// The pages a decision block becomes for this participant, and what each decision shows.
absl::Status ExpandDecisions(const Page& page, const DecisionBlock& block,
                             const ParticipantAllocation& allocation, PersonalPages& out) {
  absl::StatusOr<std::vector<std::string>> order = OrderOf(allocation, block.stimuli_factor);
  if (!order.ok()) return order.status();
  if (order->size() != block.items.size()) {
    return DoesNotFit(absl::StrCat("factor '", block.stimuli_factor, "' orders ", order->size(),
                                   " stimuli for the ", block.items.size(), " decisions of '",
                                   block.id, "'"));
  }
  size_t per_page = 1;
  if (!block.per_page_factor.empty()) {
    absl::StatusOr<std::string> arm = ArmOf(allocation, block.per_page_factor);
    if (!arm.ok()) return arm.status();
    auto count = block.per_page.find(*arm);
    if (count == block.per_page.end()) {
      return DoesNotFit(absl::StrCat("no per_page count for arm '", *arm, "' of factor '",
                                     block.per_page_factor, "'"));
    }
    per_page = static_cast<size_t>(count->second);
  }
  for (size_t i = 0; i < block.items.size(); ++i) {
    const Stimulus* stimulus = block.FindStimulus((*order)[i]);
    if (stimulus == nullptr) {
      return DoesNotFit(absl::StrCat("factor '", block.stimuli_factor, "' gives '", (*order)[i],
                                     "', not a stimulus of '", block.id, "'"));
    }
    if (i % per_page == 0) {
      Page shown = page;
      shown.decisions.clear();
      out.pages.push_back(std::move(shown));
    }
    Page& current = out.pages.back();
    current.items.push_back(block.items[i]);
    current.item_context[block.items[i]] =
        block.cases.empty() ? stimulus->text : absl::StrCat(stimulus->text, "\n\n", block.cases[i]);
    out.decisions.push_back({block.id, static_cast<int>(i + 1), block.items[i], stimulus->id,
                             stimulus->text, stimulus->attributes});
  }
  return absl::OkStatus();
}

// The pages with their blocks in the participant's order: the places blocks take in the
// definition are filled, in turn, by the blocks in the order the factor gives.
absl::StatusOr<std::vector<Page>> OrderBlocks(const Instrument& instrument,
                                              const ParticipantAllocation& allocation) {
  if (instrument.blocks_ordered_by.empty()) return instrument.pages;
  absl::StatusOr<std::vector<std::string>> order = OrderOf(allocation, instrument.blocks_ordered_by);
  if (!order.ok()) return order.status();
  std::map<std::string, std::vector<Page>, std::less<>> blocks;
  std::vector<std::string> slots;  // per place in the definition: a block id, or "" for a page
  std::vector<const Page*> loose;
  for (const Page& page : instrument.pages) {
    if (page.block.empty()) {
      slots.emplace_back();
      loose.push_back(&page);
      continue;
    }
    auto [it, fresh] = blocks.try_emplace(page.block);
    if (fresh) slots.push_back(page.block);
    it->second.push_back(page);
  }
  const std::set<std::string> given(order->begin(), order->end());
  std::set<std::string> declared;
  for (const auto& [id, pages] : blocks) declared.insert(id);
  if (given != declared || order->size() != declared.size()) {
    return DoesNotFit(absl::StrCat("factor '", instrument.blocks_ordered_by, "' orders [",
                                   absl::StrJoin(*order, ", "), "], the pages' blocks are [",
                                   absl::StrJoin(declared, ", "), "]"));
  }
  std::vector<Page> pages;
  size_t next_block = 0, next_loose = 0;
  for (const std::string& slot : slots) {
    if (slot.empty()) {
      pages.push_back(*loose[next_loose++]);
      continue;
    }
    for (const Page& page : blocks[(*order)[next_block++]]) pages.push_back(page);
  }
  return pages;
}

}  // namespace

absl::StatusOr<PersonalPages> PersonalisePages(const Instrument& instrument,
                                               const ParticipantAllocation& allocation) {
  absl::StatusOr<std::vector<Page>> ordered = OrderBlocks(instrument, allocation);
  if (!ordered.ok()) return ordered.status();
  PersonalPages out;
  for (Page& page : *ordered) {
    if (absl::Status status = ResolveText(allocation, page); !status.ok()) return status;
    if (page.decisions.empty()) {
      out.pages.push_back(std::move(page));
      continue;
    }
    const DecisionBlock* block = instrument.FindDecisionBlock(page.decisions);
    if (block == nullptr) return DoesNotFit(absl::StrCat("no decision block '", page.decisions, "'"));
    if (absl::Status status = ExpandDecisions(page, *block, allocation, out); !status.ok()) {
      return status;
    }
  }
  return out;
}

}  // namespace fieldwork::survey_ingest

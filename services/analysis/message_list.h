// A list of protobuf messages that owns them, whose items never move once added: what the
// sources list and the joined trial keeps (participants point into it).
//
// The gRPC sources parse each page of a list straight onto the list's arena and keep the items
// where they were parsed: a whole trial is a few hundred large blocks instead of an allocation
// per string and sub-message, nothing is moved or copied after the parse, and it is all given
// back at once. In a cold `fieldwork status` of a large trial the per-object allocations, their
// frees and the page faults on memory given back after the previous load were the largest part
// of analysis's CPU (services/analysis/README.md has the figures).
#ifndef FIELDWORK_SERVICES_ANALYSIS_MESSAGE_LIST_H_
#define FIELDWORK_SERVICES_ANALYSIS_MESSAGE_LIST_H_

#include <google/protobuf/arena.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

namespace fieldwork::analysis {

// An arena whose blocks grow to 2 MiB, those mapped as transparent huge pages where the kernel
// allows them (a fault per 2 MiB instead of per 4 KiB page).
// With `first_block`, the arena starts in that memory (the caller's, kept by Arena::Reset).
std::unique_ptr<google::protobuf::Arena> NewListArena(char* first_block = nullptr,
                                                      size_t first_block_size = 0);

template <typename T>
class MessageList {
 public:
  MessageList() = default;
  // Takes the items of a vector (in-memory sources; tests).
  MessageList(std::vector<T> items) {  // NOLINT: implicit, a vector is a list
    for (T& item : items) Add(std::move(item));
  }
  MessageList(MessageList&&) = default;
  MessageList& operator=(MessageList&&) = default;
  MessageList(const MessageList&) = delete;
  MessageList& operator=(const MessageList&) = delete;

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  T& operator[](size_t i) { return *items_[i]; }
  const T& operator[](size_t i) const { return *items_[i]; }

  // Adds an item owned by the list.
  T& Add(T&& item = T()) {
    owned_.push_back(std::move(item));
    items_.push_back(&owned_.back());
    return owned_.back();
  }
  // The arena to parse pages onto (made on first use); items parsed there are added with
  // AddParsed and live as long as the list.
  google::protobuf::Arena& arena() {
    if (arena_ == nullptr) arena_ = NewListArena();
    return *arena_;
  }
  void AddParsed(T* item_on_arena) { items_.push_back(item_on_arena); }
  void Clear() {
    items_.clear();
    owned_.clear();
    arena_.reset();
  }

  // The items in list order, to sort or filter (the items themselves stay where they are).
  std::vector<T*>& items() { return items_; }
  const std::vector<T*>& items() const { return items_; }

 private:
  std::unique_ptr<google::protobuf::Arena> arena_;  // the parsed items, and the pages they came in
  std::deque<T> owned_;  // a deque: adding does not move the items already in
  std::vector<T*> items_;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_MESSAGE_LIST_H_

// Writing and reading the List RPCs' pages (the requests' `paged` field, protos/fieldwork/v1):
// several items per stream message instead of one. gRPC's cost is per message (a sendmsg and a
// completion-queue round trip on each side), and at 100,000 items it was most of a list's time.
#ifndef FIELDWORK_SERVICES_COMMON_PAGED_LIST_H_
#define FIELDWORK_SERVICES_COMMON_PAGED_LIST_H_

#include <grpcpp/support/sync_stream.h>

#include <cstddef>
#include <utility>

#include "google/protobuf/repeated_ptr_field.h"

namespace fieldwork {

// A page ends at this many items, or at the first item that takes it past kMaxPageBytes (so a
// page stays well under gRPC's default 4 MB message limit, and an item bigger than that is
// alone in its page, as it would be unpaged).
inline constexpr int kMaxPageItems = 1000;
inline constexpr size_t kMaxPageBytes = 1 << 20;

// Writes a list's items to a server stream: one per message in the response's single field
// (`single`, e.g. &ListAllocationsResponse::mutable_allocation) when not `paged`, else pages in
// its repeated field (`page`). Add each item, then Flush once at the end.
template <typename Response, typename Item>
class ListWriter {
 public:
  using SingleField = Item* (Response::*)();
  using PageField = google::protobuf::RepeatedPtrField<Item>* (Response::*)();

  ListWriter(grpc::ServerWriterInterface<Response>* writer, bool paged, SingleField single,
             PageField page)
      : writer_(writer), paged_(paged), single_(single), page_(page) {}

  // Moves `item` into the stream; false when the client went away (stop listing).
  bool Add(Item& item) {
    if (!paged_) {
      *(message_.*single_)() = std::move(item);
      return writer_->Write(message_);
    }
    // The page is sent before an item would take it past the byte limit.
    const size_t size = item.ByteSizeLong();
    if (items_ > 0 && bytes_ + size > kMaxPageBytes && !WritePage()) return false;
    *(message_.*page_)()->Add() = std::move(item);
    bytes_ += size;
    return ++items_ < kMaxPageItems || WritePage();
  }

  // Sends the last, partial page; false when the client went away.
  bool Flush() { return items_ == 0 || WritePage(); }

 private:
  bool WritePage() {
    const bool written = writer_->Write(message_);
    (message_.*page_)()->Clear();
    items_ = 0;
    bytes_ = 0;
    return written;
  }

  grpc::ServerWriterInterface<Response>* writer_;
  bool paged_;
  SingleField single_;
  PageField page_;
  Response message_;
  int items_ = 0;
  size_t bytes_ = 0;
};

// The items of one received message of a list, paged or not: the single field's item when it is
// set (a server that does not page), then the page's. `visit(Item&)` may move from the item.
template <typename Item, typename Visit>
void ForEachListed(Item* single, google::protobuf::RepeatedPtrField<Item>& page, Visit&& visit) {
  if (single != nullptr) visit(*single);
  for (Item& item : page) visit(item);
}

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_PAGED_LIST_H_

// MessageList: what the join relies on (participants point into the list, so an item never
// moves once in), for both ways items get in: parsed onto the list's arena, and added.
#include "services/analysis/message_list.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fieldwork/v1/survey_ingest.pb.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;

v1::Response ResponseOf(const std::string& participant) {
  v1::Response r;
  r.set_participant_id(participant);
  r.set_wave_id("baseline");
  return r;
}

TEST(MessageListTest, AddedItemsStayWhereTheyAreAsMoreAreAdded) {
  MessageList<v1::Response> list;
  const v1::Response* first = &list.Add(ResponseOf("P0"));
  for (int i = 1; i < 5000; ++i) list.Add(ResponseOf("P" + std::to_string(i)));
  ASSERT_EQ(list.size(), 5000u);
  EXPECT_EQ(&list[0], first);
  EXPECT_EQ(first->participant_id(), "P0");
  EXPECT_EQ(list[4999].participant_id(), "P4999");
}

TEST(MessageListTest, PagesParsedOntoTheArenaKeepTheirItemsInPlace) {
  // As a gRPC source reads a list: each page parsed onto the arena, its items kept there.
  MessageList<v1::Response> list;
  std::vector<const v1::Response*> where;
  for (int page = 0; page < 300; ++page) {
    v1::ListResponsesResponse sent;
    for (int i = 0; i < 100; ++i) {
      *sent.add_responses() = ResponseOf("P" + std::to_string(page * 100 + i));
    }
    auto* received =
        google::protobuf::Arena::CreateMessage<v1::ListResponsesResponse>(&list.arena());
    ASSERT_TRUE(received->ParseFromString(sent.SerializeAsString()));
    for (v1::Response& r : *received->mutable_responses()) {
      EXPECT_EQ(r.GetArena(), &list.arena());
      list.AddParsed(&r);
      where.push_back(&r);
    }
  }
  ASSERT_EQ(list.size(), 30000u);
  EXPECT_GT(list.arena().SpaceAllocated(), uint64_t{2} << 20) << "more than one 2 MiB block";
  for (size_t i = 0; i < list.size(); ++i) {
    ASSERT_EQ(&list[i], where[i]);
    ASSERT_EQ(list[i].participant_id(), "P" + std::to_string(i));
  }
  // A list moves whole (the join takes the sources' lists): the items with it, in place.
  MessageList<v1::Response> moved = std::move(list);
  EXPECT_EQ(&moved[29999], where[29999]);
  EXPECT_EQ(moved[29999].participant_id(), "P29999");
}

TEST(MessageListTest, AVectorBecomesAListInOrderAndClearEmptiesIt) {
  MessageList<v1::Response> list(std::vector<v1::Response>{ResponseOf("A"), ResponseOf("B")});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].participant_id(), "A");
  EXPECT_EQ(list[1].participant_id(), "B");
  list.arena();  // with an arena as well
  list.Clear();
  EXPECT_TRUE(list.empty());
  list.Add(ResponseOf("C"));
  EXPECT_EQ(list[0].participant_id(), "C");
}

}  // namespace
}  // namespace fieldwork::analysis

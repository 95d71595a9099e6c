// ListWriter's pages: one item per message when not paged, else up to kMaxPageItems per
// message, a page ending before an item would take it past kMaxPageBytes (an item bigger than
// that alone), nothing lost or reordered; and a client gone stops the listing.
#include "services/common/paged_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fieldwork/v1/survey_ingest.pb.h"

namespace fieldwork {
namespace {

namespace v1 = ::fieldwork::v1;

// The server end of a stream that keeps what is written (the messages a client would read).
class KeptStream final : public grpc::ServerWriterInterface<v1::ListResponsesResponse> {
 public:
  explicit KeptStream(int accept = -1) : accept_(accept) {}
  void SendInitialMetadata() override {}
  bool Write(const v1::ListResponsesResponse& message, grpc::WriteOptions) override {
    if (accept_ >= 0 && static_cast<int>(messages.size()) >= accept_) return false;
    messages.push_back(message);
    return true;
  }
  std::vector<v1::ListResponsesResponse> messages;

 private:
  int accept_;  // messages taken before the client goes away; -1: all
};

using Writer = ListWriter<v1::ListResponsesResponse, v1::Response>;

v1::Response Item(int n, size_t answer_bytes = 0) {
  v1::Response r;
  r.set_participant_id("p" + std::to_string(n));
  if (answer_bytes > 0) (*r.mutable_answers())["essay"] = std::string(answer_bytes, 'x');
  return r;
}

// Every item in the messages, single then page, with the page sizes.
std::vector<std::string> Ids(const KeptStream& stream, std::vector<int>* sizes = nullptr) {
  std::vector<std::string> ids;
  for (v1::ListResponsesResponse m : stream.messages) {
    if (sizes != nullptr) sizes->push_back(m.responses_size());
    ForEachListed(m.has_response() ? m.mutable_response() : nullptr, *m.mutable_responses(),
                  [&](v1::Response& r) { ids.push_back(r.participant_id()); });
  }
  return ids;
}

std::vector<std::string> Expected(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back("p" + std::to_string(i));
  return ids;
}

TEST(ListWriterTest, UnpagedWritesOneItemPerMessageInTheSingleField) {
  KeptStream stream;
  Writer writer(&stream, false, &v1::ListResponsesResponse::mutable_response,
                &v1::ListResponsesResponse::mutable_responses);
  for (int i = 0; i < 3; ++i) {
    v1::Response r = Item(i);
    ASSERT_TRUE(writer.Add(r));
  }
  ASSERT_TRUE(writer.Flush());
  ASSERT_EQ(stream.messages.size(), 3u);
  for (const auto& m : stream.messages) EXPECT_EQ(m.responses_size(), 0);
  EXPECT_EQ(Ids(stream), Expected(3));
}

TEST(ListWriterTest, PagedWritesPagesOfAtMostTheItemLimit) {
  KeptStream stream;
  Writer writer(&stream, true, &v1::ListResponsesResponse::mutable_response,
                &v1::ListResponsesResponse::mutable_responses);
  const int n = 2 * kMaxPageItems + 1;
  for (int i = 0; i < n; ++i) {
    v1::Response r = Item(i);
    ASSERT_TRUE(writer.Add(r));
  }
  ASSERT_TRUE(writer.Flush());
  std::vector<int> sizes;
  EXPECT_EQ(Ids(stream, &sizes), Expected(n));
  EXPECT_EQ(sizes, (std::vector<int>{kMaxPageItems, kMaxPageItems, 1}));
  for (const auto& m : stream.messages) EXPECT_FALSE(m.has_response());
}

TEST(ListWriterTest, APageEndsBeforeItPassesTheByteLimit) {
  KeptStream stream;
  Writer writer(&stream, true, &v1::ListResponsesResponse::mutable_response,
                &v1::ListResponsesResponse::mutable_responses);
  // Three of these fit in a page, a fourth would not; the big one is alone in its page.
  const size_t quarter = kMaxPageBytes / 4 + 100;
  for (int i = 0; i < 4; ++i) {
    v1::Response r = Item(i, quarter);
    ASSERT_TRUE(writer.Add(r));
  }
  v1::Response big = Item(4, kMaxPageBytes + 1);
  ASSERT_TRUE(writer.Add(big));
  v1::Response small = Item(5);
  ASSERT_TRUE(writer.Add(small));
  ASSERT_TRUE(writer.Flush());
  std::vector<int> sizes;
  EXPECT_EQ(Ids(stream, &sizes), Expected(6));
  EXPECT_EQ(sizes, (std::vector<int>{3, 1, 1, 1}));
  for (const auto& m : stream.messages) {
    EXPECT_TRUE(m.responses_size() == 1 || m.ByteSizeLong() <= kMaxPageBytes);
  }
}

TEST(ListWriterTest, AClientGoneStopsTheListing) {
  KeptStream stream(/*accept=*/1);
  Writer writer(&stream, true, &v1::ListResponsesResponse::mutable_response,
                &v1::ListResponsesResponse::mutable_responses);
  bool added = true;
  int i = 0;
  for (; added && i < 3 * kMaxPageItems; ++i) {
    v1::Response r = Item(i);
    added = writer.Add(r);
  }
  EXPECT_FALSE(added);
  EXPECT_EQ(i, 2 * kMaxPageItems);  // the second page's write failed
  EXPECT_EQ(stream.messages.size(), 1u);
}

}  // namespace
}  // namespace fieldwork

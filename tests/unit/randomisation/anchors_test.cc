// The anchor file's format and the check of a log against anchors (fieldwork::audit_anchors).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/randomisation/anchors/anchor_check.h"
#include "services/randomisation/anchors/anchor_file.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

std::string Hash(char c) { return std::string(64, c); }

// A log of `n` entries whose hashes are "000…", "111…", … (the chain itself is not checked here).
std::vector<v1::AuditEntry> Log(int n) {
  std::vector<v1::AuditEntry> entries(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    entries[static_cast<size_t>(i)].set_sequence(i);
    entries[static_cast<size_t>(i)].set_hash(Hash(static_cast<char>('0' + i)));
  }
  return entries;
}

v1::AuditHead Anchor(int64_t length, const std::string& sha256) {
  v1::AuditHead anchor;
  anchor.set_length(length);
  anchor.set_sha256(sha256);
  return anchor;
}

v1::VerifyAuditLogResponse ValidChain(int64_t entries) {
  v1::VerifyAuditLogResponse result;
  result.set_valid(true);
  result.set_entries(entries);
  result.set_first_bad_sequence(-1);
  return result;
}

TEST(AnchorFileTest, FormatsAndParsesLines) {
  v1::AuditHead head = Anchor(12, Hash('a'));
  head.mutable_time()->set_seconds(1'796'340'000);
  const std::string line = FormatAnchor("swing", head);
  EXPECT_EQ(line, absl::StrCat("2026-12-03T23:20:00Z swing 12 ", Hash('a'), "\n"));
  const std::string text =
      absl::StrCat("# a comment\n\n", line, "  2026-12-04T08:00:00Z\tswing  13 ", Hash('b'), "\n");
  absl::StatusOr<std::vector<v1::AuditHead>> parsed = ParseAnchors(text, "f", "swing");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].length(), 12);
  EXPECT_EQ((*parsed)[0].sha256(), Hash('a'));
  EXPECT_EQ((*parsed)[0].time().seconds(), 1'796'340'000);
  EXPECT_EQ((*parsed)[1].length(), 13);
  EXPECT_EQ(DefaultAnchorPath("swing"), "swing.audit-anchors");
}

TEST(AnchorFileTest, ReportsEveryBadLineWithItsFieldAndReason) {
  const std::string text = absl::StrCat("yesterday swing 3 ", Hash('a'), "\n",             // line 1
                                        "2026-12-03T23:20:00Z other 3 ", Hash('a'), "\n",  // 2
                                        "2026-12-03T23:20:00Z swing 0 ", Hash('a'), "\n",  // 3
                                        "2026-12-03T23:20:00Z swing 3 ABC\n",              // 4
                                        "2026-12-03T23:20:00Z swing 3\n");                 // 5
  absl::StatusOr<std::vector<v1::AuditHead>> parsed =
      ParseAnchors(text, "swing.audit-anchors", "swing");
  ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(parsed.status().message());
  EXPECT_THAT(
      message,
      HasSubstr("swing.audit-anchors:1: recorded_at: is not an RFC 3339 time (\"yesterday\")"));
  EXPECT_THAT(message, HasSubstr("swing.audit-anchors:2: trial: the anchor is for another trial "
                                 "than \"swing\" (\"other\")"));
  EXPECT_THAT(message,
              HasSubstr("swing.audit-anchors:3: length: is not a positive whole number (\"0\")"));
  EXPECT_THAT(
      message,
      HasSubstr("swing.audit-anchors:4: sha256: is not 64 lower-case hex digits (\"ABC\")"));
  EXPECT_THAT(message, HasSubstr("swing.audit-anchors:5: line: has 3 fields"));
}

TEST(AnchorCheckTest, MatchedTruncatedAndRewritten) {
  const std::vector<v1::AuditEntry> log = Log(4);
  google::protobuf::RepeatedPtrField<v1::AuditHead> anchors;
  *anchors.Add() = Anchor(2, Hash('1'));  // matches entry 1
  *anchors.Add() = Anchor(6, Hash('5'));  // beyond the log
  *anchors.Add() = Anchor(3, Hash('f'));  // entry 2 has another hash
  ASSERT_TRUE(ValidateAnchors(anchors).ok());
  v1::VerifyAuditLogResponse result = ValidChain(4);
  CheckAnchors(log, anchors, result);
  EXPECT_FALSE(result.valid());
  ASSERT_EQ(result.anchors_size(), 3);
  EXPECT_EQ(result.anchors(0).result(), v1::AnchorCheck::RESULT_MATCHED);
  EXPECT_EQ(result.anchors(1).result(), v1::AnchorCheck::RESULT_TRUNCATED);
  EXPECT_THAT(result.anchors(1).reason(), HasSubstr("the log has 4 entries but an anchor has 6"));
  EXPECT_EQ(result.anchors(2).result(), v1::AnchorCheck::RESULT_REWRITTEN);
  // The failing anchor with the smallest length is reported: the earliest damage.
  EXPECT_EQ(result.first_bad_sequence(), 2);
  EXPECT_THAT(result.reason(), HasSubstr("rewritten at or before entry 2"));
  EXPECT_EQ(result.head().length(), 4);
  EXPECT_EQ(result.head().sha256(), Hash('3'));
}

TEST(AnchorCheckTest, AnAnchorBehindABrokenChainIsNotMatched) {
  const std::vector<v1::AuditEntry> log = Log(4);
  google::protobuf::RepeatedPtrField<v1::AuditHead> anchors;
  *anchors.Add() = Anchor(1, Hash('0'));  // before the break: still matched
  *anchors.Add() = Anchor(4, Hash('3'));  // the stored hash matches, but entry 2 fails the chain
  v1::VerifyAuditLogResponse result = ValidChain(4);
  result.set_valid(false);
  result.set_first_bad_sequence(2);
  result.set_reason("the entry's content does not match its hash");
  CheckAnchors(log, anchors, result);
  EXPECT_EQ(result.anchors(0).result(), v1::AnchorCheck::RESULT_MATCHED);
  EXPECT_EQ(result.anchors(1).result(), v1::AnchorCheck::RESULT_REWRITTEN);
  EXPECT_EQ(result.first_bad_sequence(), 2) << "the chain's own failure stays the reported one";
  EXPECT_EQ(result.reason(), "the entry's content does not match its hash");
}

TEST(AnchorCheckTest, ValidationNamesTheAnchorAndField) {
  google::protobuf::RepeatedPtrField<v1::AuditHead> anchors;
  *anchors.Add() = Anchor(1, Hash('a'));
  *anchors.Add() = Anchor(-2, Hash('a'));
  EXPECT_THAT(std::string(ValidateAnchors(anchors).message()),
              HasSubstr("anchors[1].length: must be at least 1"));
  anchors.Mutable(1)->set_length(2);
  anchors.Mutable(1)->set_sha256("g");
  EXPECT_THAT(std::string(ValidateAnchors(anchors).message()),
              HasSubstr("anchors[1].sha256: must be 64 lower-case hex digits"));
}

}  // namespace
}  // namespace fieldwork::randomisation

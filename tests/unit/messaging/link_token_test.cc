#include "services/messaging/domain/link_token.h"

#include <string>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldwork::messaging {
namespace {

using ::testing::HasSubstr;

const std::string kKey(32, 'k');
const std::string kOtherKey(32, 'K');

LinkSigner Signer(const std::string& key = kKey) {
  absl::StatusOr<LinkSigner> signer = LinkSigner::Create(key);
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *signer;
}

LinkClaims Click() {
  LinkClaims c;
  c.kind = LinkTokenKind::kClick;
  c.trial_id = "beneficiaries";
  c.campaign_id = "video";
  c.step = 0;
  c.participant_id = "p-0042";
  c.link_index = 1;
  c.template_version = 3;
  c.target_url = "https://vimeo.example/v/123?h=abc";
  return c;
}

LinkClaims Open() {
  LinkClaims c = Click();
  c.kind = LinkTokenKind::kOpen;
  c.link_index = 0;
  c.template_version = 0;
  c.target_url.clear();
  return c;
}

TEST(LinkTokenTest, ClickTokenRoundTrips) {
  absl::StatusOr<std::string> token = Signer().Sign(Click());
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<LinkClaims> claims = Signer().Verify(*token, LinkTokenKind::kClick);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(*claims, Click());
}

TEST(LinkTokenTest, IndexOnlyOpenAndUnsubscribeTokensRoundTrip) {
  LinkClaims index_only = Click();
  index_only.target_url.clear();
  absl::StatusOr<std::string> t1 = Signer().Sign(index_only);
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(*Signer().Verify(*t1, LinkTokenKind::kClick), index_only);
  EXPECT_LT(t1->size(), Signer().Sign(Click())->size());

  absl::StatusOr<std::string> t2 = Signer().Sign(Open());
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(*Signer().Verify(*t2, LinkTokenKind::kOpen), Open());

  LinkClaims unsubscribe = Open();
  unsubscribe.kind = LinkTokenKind::kUnsubscribe;
  absl::StatusOr<std::string> t3 = Signer().Sign(unsubscribe);
  ASSERT_TRUE(t3.ok());
  EXPECT_EQ(*Signer().Verify(*t3, LinkTokenKind::kUnsubscribe), unsubscribe);
}

TEST(LinkTokenTest, TokensAreUrlSafe) {
  std::string token = *Signer().Sign(Click());
  for (char c : token) {
    EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                c == '.')
        << c;
  }
}

TEST(LinkTokenTest, ForgedTokenIsRefused) {
  std::string forged = *Signer(kOtherKey).Sign(Click());
  absl::StatusOr<LinkClaims> claims = Signer().Verify(forged, LinkTokenKind::kClick);
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(claims.status().message()), HasSubstr("signature does not match"));
}

TEST(LinkTokenTest, PayloadSwappedOntoAnotherSignatureIsRefused) {
  LinkClaims other = Click();
  other.participant_id = "p-0043";
  std::string a = *Signer().Sign(Click());
  std::string b = *Signer().Sign(other);
  std::string spliced = b.substr(0, b.find('.')) + a.substr(a.find('.'));
  EXPECT_EQ(Signer().Verify(spliced, LinkTokenKind::kClick).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(LinkTokenTest, EverySingleCharacterAlterationIsRefused) {
  const std::string token = *Signer().Sign(Click());
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
  for (size_t i = 0; i < token.size(); ++i) {
    for (char replacement : {'A', 'b', '_', '9'}) {
      if (token[i] == replacement) continue;
      std::string altered = token;
      altered[i] = replacement;
      EXPECT_FALSE(Signer().Verify(altered, LinkTokenKind::kClick).ok())
          << "position " << i << " -> " << replacement;
    }
  }
  // Truncated and extended.
  EXPECT_FALSE(Signer().Verify(token.substr(0, token.size() - 1), LinkTokenKind::kClick).ok());
  EXPECT_FALSE(Signer().Verify(token + "A", LinkTokenKind::kClick).ok());
  EXPECT_FALSE(Signer().Verify("A" + token, LinkTokenKind::kClick).ok());
}

TEST(LinkTokenTest, TokenOfAnotherKindIsRefused) {
  std::string open = *Signer().Sign(Open());
  absl::StatusOr<LinkClaims> claims = Signer().Verify(open, LinkTokenKind::kUnsubscribe);
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(claims.status().message()), HasSubstr("another kind"));
}

TEST(LinkTokenTest, MalformedTokensAreRefused) {
  std::string token = *Signer().Sign(Click());
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string("abc"), token + ".x",
        token.substr(0, token.find('.')), token.substr(0, token.find('.')) + ".",
        "." + token.substr(token.find('.') + 1), token + "=", std::string("a+b/c.d+e/f"),
        std::string(9000, 'A')}) {
    absl::StatusOr<LinkClaims> claims = Signer().Verify(bad, LinkTokenKind::kClick);
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
}

TEST(LinkTokenTest, SignRefusesClaimsItCannotCarry) {
  struct Case {
    void (*change)(LinkClaims&);
    const char* field;
  };
  const Case cases[] = {
      {[](LinkClaims& c) { c.trial_id.clear(); }, "trial_id:"},
      {[](LinkClaims& c) { c.campaign_id = "a:b"; }, "campaign_id:"},
      {[](LinkClaims& c) { c.participant_id = std::string(200, 'p'); }, "participant_id:"},
      {[](LinkClaims& c) { c.target_url = "javascript:alert(1)"; }, "target_url:"},
      {[](LinkClaims& c) { c.target_url = "https://"; }, "target_url:"},
      {[](LinkClaims& c) { c.target_url = "https://a.org/\"><script>"; }, "target_url:"},
      {[](LinkClaims& c) { c.target_url = "https://a.org/" + std::string(2100, 'x'); },
       "target_url:"},
      {[](LinkClaims& c) { c.kind = static_cast<LinkTokenKind>(9); }, "kind:"},
  };
  for (const Case& c : cases) {
    LinkClaims claims = Click();
    c.change(claims);
    absl::StatusOr<std::string> token = Signer().Sign(claims);
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(token.status().message()), HasSubstr(c.field));
  }
  LinkClaims open_with_url = Open();
  open_with_url.target_url = "https://a.org";
  EXPECT_EQ(Signer().Sign(open_with_url).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LinkTokenTest, KeyMustBe32Bytes) {
  EXPECT_EQ(LinkSigner::Create("short").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LinkSigner::Create(std::string(33, 'k')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fieldwork::messaging

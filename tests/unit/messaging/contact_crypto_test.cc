#include "services/messaging/domain/contact_crypto.h"

#include <string>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/messaging/domain/encoding.h"

namespace fieldwork::messaging {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string RawKey() { return *HexDecode(kHexKey); }

ContactCipher Cipher(const std::string& key = RawKey()) {
  absl::StatusOr<ContactCipher> cipher = ContactCipher::Create(key);
  EXPECT_TRUE(cipher.ok()) << cipher.status();
  return *cipher;
}

TEST(ParseKeyTest, HexAndEveryBase64Spelling) {
  const std::string raw = RawKey();
  EXPECT_EQ(*ParseKey32(kHexKey, "key"), raw);
  EXPECT_EQ(*ParseKey32("  " + kHexKey + "\n", "key"), raw);  // a key file's newline
  std::string upper = kHexKey;
  for (char& c : upper) c = absl::ascii_toupper(static_cast<unsigned char>(c));
  EXPECT_EQ(*ParseKey32(upper, "key"), raw);
  EXPECT_EQ(*ParseKey32("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "key"), raw);
  EXPECT_EQ(*ParseKey32("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "key"), raw);
  std::string all_ff(32, '\xFF');
  EXPECT_EQ(*ParseKey32("__________________________________________8", "key"), all_ff);
  EXPECT_EQ(*ParseKey32("//////////////////////////////////////////8=", "key"), all_ff);
}

TEST(ParseKeyTest, BadKeysNameTheSourceAndNeverEchoTheText) {
  for (const std::string& bad :
       {std::string(""), std::string("secret"), kHexKey.substr(2), kHexKey + "00",
        std::string(63, 'a') + "g", std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8fHw=="),
        std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH!8=")}) {
    absl::StatusOr<std::string> key = ParseKey32(bad, "FIELDWORK_CONTACT_KEY");
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(key.status().message()), HasSubstr("FIELDWORK_CONTACT_KEY: expected"));
    if (bad.size() > 3) {
      EXPECT_THAT(std::string(key.status().message()), Not(HasSubstr(bad)));
    }
  }
}

TEST(ContactCipherTest, SealAndOpen) {
  const std::string contact = "{\"email\":\"sam@example.org\",\"phone\":\"+447700900123\"}";
  absl::StatusOr<std::string> record = Cipher().Seal("p-1", contact);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->size(), 1 + 24 + contact.size() + 16);
  EXPECT_THAT(*record, Not(HasSubstr("example.org")));
  absl::StatusOr<std::string> opened = Cipher().Open("p-1", *record);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, contact);
  EXPECT_EQ(*Cipher().Open("p-1", *Cipher().Seal("p-1", "")), "");
}

TEST(ContactCipherTest, EveryRecordHasAFreshNonce) {
  std::string a = *Cipher().Seal("p-1", "same");
  std::string b = *Cipher().Seal("p-1", "same");
  EXPECT_NE(a, b);
  EXPECT_NE(a.substr(1, 24), b.substr(1, 24));
}

TEST(ContactCipherTest, ARecordCannotBeMovedToAnotherParticipant) {
  std::string record = *Cipher().Seal("p-1", "sam@example.org");
  absl::StatusOr<std::string> swapped = Cipher().Open("p-2", record);
  EXPECT_EQ(swapped.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(swapped.status().message()), HasSubstr("decryption failed"));
  EXPECT_THAT(std::string(swapped.status().message()), Not(HasSubstr("sam@")));
}

TEST(ContactCipherTest, WrongKeyFails) {
  std::string record = *Cipher().Seal("p-1", "sam@example.org");
  EXPECT_EQ(Cipher(std::string(32, 'x')).Open("p-1", record).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(ContactCipherTest, AnyAlteredByteFails) {
  const std::string record = *Cipher().Seal("p-1", "sam@example.org");
  for (size_t i = 0; i < record.size(); ++i) {
    std::string altered = record;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    EXPECT_EQ(Cipher().Open("p-1", altered).status().code(), absl::StatusCode::kDataLoss) << i;
  }
}

TEST(ContactCipherTest, TruncatedAndUnknownVersionFail) {
  const std::string record = *Cipher().Seal("p-1", "x");
  absl::StatusOr<std::string> truncated = Cipher().Open("p-1", record.substr(0, 40));
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(truncated.status().message()), HasSubstr("truncated"));
  EXPECT_EQ(Cipher().Open("p-1", "").status().code(), absl::StatusCode::kDataLoss);
  std::string v2 = record;
  v2[0] = 2;
  EXPECT_THAT(std::string(Cipher().Open("p-1", v2).status().message()),
              HasSubstr("unknown format version 2"));
}

TEST(ContactCipherTest, SealWithAGivenNonceIsDeterministic) {
  const std::string nonce(24, 'n');
  EXPECT_EQ(*Cipher().SealWithNonce("p-1", "x", nonce), *Cipher().SealWithNonce("p-1", "x", nonce));
  EXPECT_NE(*Cipher().SealWithNonce("p-1", "x", nonce), *Cipher().SealWithNonce("p-2", "x", nonce));
  EXPECT_EQ(Cipher().SealWithNonce("p-1", "x", "short").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ContactCipherTest, BadInput) {
  EXPECT_EQ(ContactCipher::Create("short").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Cipher().Seal("", "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Cipher().Seal("a:b", "x").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fieldwork::messaging

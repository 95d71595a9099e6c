#include "services/common/quote.h"

#include <gtest/gtest.h>

#include <string>

namespace fieldwork {
namespace {

TEST(QuoteTest, Utf8IsRecognised) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain"));
  EXPECT_TRUE(IsUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsUtf8("caf\xe9"));              // Latin-1
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));             // overlong '/'
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));         // a surrogate
  EXPECT_FALSE(IsUtf8("\xf4\x90\x80\x80"));     // above U+10FFFF
  EXPECT_FALSE(IsUtf8("\xe2\x82"));             // cut short
}

TEST(QuoteTest, EscapesWhatIsNotText) {
  EXPECT_EQ(Escaped("7"), "7");
  EXPECT_EQ(Escaped("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(Escaped("caf\xe9"), "caf\\xe9");
  EXPECT_EQ(Escaped("a\nb\\c"), "a\\x0ab\\\\c");
  EXPECT_TRUE(IsUtf8(Escaped(std::string("\xff\xfe\x00", 3))));
}

TEST(QuoteTest, QuotesAShortPrefix) {
  EXPECT_EQ(Quoted("short"), "short");
  const std::string huge(8000, 'x');
  const std::string quoted = Quoted(huge);
  EXPECT_EQ(quoted, std::string(kQuoteBytes, 'x') + "... (8000 bytes)");
  // Never cut inside a character or an escape.
  EXPECT_EQ(Quoted("\xc3\xa9\xc3\xa9", 3), "\xc3\xa9... (4 bytes)");
  EXPECT_EQ(Quoted("a\xff", 4), "a... (2 bytes)");
}

TEST(ExcerptTest, ShortValuesAreQuotedWholeAndEscaped) {
  EXPECT_EQ(Excerpt("p-001"), "\"p-001\"");
  EXPECT_EQ(Excerpt("a\"b\n\xff\\"), "\"a\\\"b\\x0a\\xff\\\\\"");
  EXPECT_EQ(Excerpt("Zoë"), "\"Zoë\"") << "UTF-8 text stays readable";
}

TEST(ExcerptTest, LongValuesShowOnlyAPrefixAndTheirLength) {
  const std::string id(8192, 'x');
  EXPECT_EQ(Excerpt(id), "\"" + std::string(kExcerptBytes, 'x') + "\"... (8192 bytes)");
}

}  // namespace
}  // namespace fieldwork

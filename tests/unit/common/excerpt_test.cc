#include "services/common/excerpt.h"

#include <string>

#include <gtest/gtest.h>

namespace fieldwork {
namespace {

TEST(ExcerptTest, ShortValuesAreQuotedWholeAndEscaped) {
  EXPECT_EQ(Excerpt("p-001"), "\"p-001\"");
  EXPECT_EQ(Excerpt("a\"b\n\xff"), "\"a\\\"b\\n\\xff\"");
}

TEST(ExcerptTest, LongValuesShowOnlyAPrefixAndTheirLength) {
  const std::string id(8192, 'x');
  EXPECT_EQ(Excerpt(id), "\"" + std::string(kExcerptBytes, 'x') + "\"... (8192 bytes)");
}

}  // namespace
}  // namespace fieldwork

#include "services/common/logging.h"

#include <gtest/gtest.h>

namespace fieldwork::logging {
namespace {

TEST(LoggingTest, OneJsonObjectPerLineWithFields) {
  const std::string line =
      FormatLine(Severity::kWarning, "randomisation", "enrolled\nbatch", {{"rows", 12}, {"trial", "swing"}});
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a newline in a message must be escaped";
  const nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["severity"], "WARNING");
  EXPECT_EQ(parsed["service"], "randomisation");
  EXPECT_EQ(parsed["message"], "enrolled\nbatch");
  EXPECT_EQ(parsed["rows"], 12);
  EXPECT_EQ(parsed["trial"], "swing");
  EXPECT_TRUE(parsed["time"].is_string());
}

TEST(LoggingTest, FieldsCannotOverwriteTheStandardKeysAndBadUtf8DoesNotThrow) {
  const std::string line = FormatLine(Severity::kInfo, "svc", "m", {{"severity", "FAKE"}});
  EXPECT_EQ(nlohmann::json::parse(line)["severity"], "INFO");
  EXPECT_NO_THROW(FormatLine(Severity::kInfo, "svc", "bad \xff byte", nullptr));
}

}  // namespace
}  // namespace fieldwork::logging

#include "services/messaging/domain/contact.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fieldwork::messaging {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Contact Valid() {
  Contact c;
  c.participant_id = "p-1";
  c.email = "sam.jones+trial@mail.example.org";
  c.phone = "+447700900123";
  c.first_name = "Sam";
  c.time_zone = "Europe/London";
  c.preference = DeliveryChannel::kSms;
  return c;
}

TEST(ContactTest, ValidContacts) {
  EXPECT_TRUE(ValidateContact(Valid()).ok()) << ValidateContact(Valid());
  Contact email_only = Valid();
  email_only.phone.clear();
  email_only.time_zone.clear();
  email_only.first_name.clear();
  EXPECT_TRUE(ValidateContact(email_only).ok());
  Contact phone_only = Valid();
  phone_only.email.clear();
  EXPECT_TRUE(ValidateContact(phone_only).ok());
}

TEST(ContactTest, BadInputNamesTheFieldButNotTheValue) {
  struct Case {
    void (*change)(Contact&);
    const char* field;
  };
  const Case cases[] = {
      {[](Contact& c) { c.participant_id.clear(); }, "participant_id: required"},
      {[](Contact& c) { c.participant_id = "p 1"; }, "participant_id: character 2"},
      {[](Contact& c) {
         c.email.clear();
         c.phone.clear();
       },
       "email: an e-mail address or a phone number is required"},
      {[](Contact& c) { c.email = "sam.example.org"; }, "email: not an address"},
      {[](Contact& c) { c.email = "sam@localhost"; }, "email: not an address"},
      {[](Contact& c) { c.email = "sam@@example.org"; }, "email: not an address"},
      {[](Contact& c) { c.email = "sam jones@example.org"; }, "email: not an address"},
      {[](Contact& c) { c.email = "sam@example..org"; }, "email: not an address"},
      {[](Contact& c) { c.email = "sam@-example.org"; }, "email: not an address"},
      {[](Contact& c) { c.email = "sam@example.org\r\nBcc: x@y.org"; }, "email: not an address"},
      {[](Contact& c) { c.email = "<sam>@example.org"; }, "email: not an address"},
      {[](Contact& c) { c.email = ".sam@example.org"; }, "email: not an address"},
      {[](Contact& c) { c.email = std::string(250, 'a') + "@example.org"; },
       "email: not an address"},
      {[](Contact& c) { c.phone = "07700900123"; }, "phone: not an E.164 number"},
      {[](Contact& c) { c.phone = "+44 7700 900123"; }, "phone: not an E.164 number"},
      {[](Contact& c) { c.phone = "+0447700900123"; }, "phone: not an E.164 number"},
      {[](Contact& c) { c.phone = "+1234567"; }, "phone: not an E.164 number"},
      {[](Contact& c) { c.phone = "+1234567890123456"; }, "phone: not an E.164 number"},
      {[](Contact& c) { c.first_name = "Sam\nBcc"; }, "first_name: contains a line break"},
      {[](Contact& c) { c.first_name = std::string(201, 'S'); }, "first_name: longer than 200"},
      {[](Contact& c) { c.time_zone = "Europe/Nowhere"; }, "time_zone: not a known IANA time zone"},
  };
  for (const Case& c : cases) {
    Contact contact = Valid();
    c.change(contact);
    absl::Status status = ValidateContact(contact);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    std::string message(status.message());
    EXPECT_THAT(message, HasSubstr(c.field));
    if (!contact.email.empty()) {
      EXPECT_THAT(message, Not(HasSubstr(contact.email)));
    }
    if (!contact.phone.empty()) {
      EXPECT_THAT(message, Not(HasSubstr(contact.phone)));
    }
    EXPECT_THAT(message, Not(HasSubstr("Sam")));
  }
}

}  // namespace
}  // namespace fieldwork::messaging

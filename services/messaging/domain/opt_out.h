// Recognises an SMS opt-out ("STOP" and its usual variants) in an inbound message body.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_OPT_OUT_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_OPT_OUT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace fieldwork::messaging {

struct OptOutMatch {
  bool opt_out = false;
  std::string keyword;  // the keyword recognised, upper case (e.g. "STOPALL")
};

// Normalises the body (case, surrounding and repeated whitespace including non-breaking
// spaces, trailing punctuation such as "." or "!") and recognises:
//  * the whole message being one of STOP, STOPALL, STOP ALL, UNSUBSCRIBE, CANCEL, END, QUIT,
//    OPTOUT, OPT OUT, OPT-OUT, REVOKE;
//  * a message whose first word is STOP, STOPALL or UNSUBSCRIBE ("Stop please", "STOP
//    texting me"): those words are unambiguous at the start of a reply.
// END, QUIT and CANCEL count only on their own, since they start ordinary sentences ("End of
// the week is busy"). An opt-out is treated as one from SMS; the caller decides whether it also
// covers e-mail.
OptOutMatch RecogniseSmsOptOut(absl::string_view body);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_OPT_OUT_H_

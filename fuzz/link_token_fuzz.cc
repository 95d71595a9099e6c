// Fuzzes the tracked-link / open / unsubscribe token verifier (link_token.h). The first byte
// picks the mode:
//   even: the rest is a token to verify, as a forger would send it. If any kind accepts it,
//         it must be exactly what Sign makes of its claims (no second spelling is accepted).
//   odd:  the rest is claims, one field a line (trial, campaign, step, participant, link
//         index, template version, target URL), then a line of edits (byte pairs: position,
//         new value). A signed token must verify to the same claims, only as its own kind;
//         and the token with any one character changed, cut short, lengthened, or with the
//         edits applied must be refused.
// The survey-link token has a target of its own (survey_link_fuzz.cc).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "fuzz/check.h"
#include "services/messaging/domain/link_token.h"

namespace fieldwork::messaging {
namespace {

using fuzz::Check;

constexpr LinkTokenKind kKinds[] = {LinkTokenKind::kClick, LinkTokenKind::kOpen,
                                    LinkTokenKind::kUnsubscribe};
constexpr absl::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const LinkSigner& Signer() {
  static const LinkSigner* signer = [] {
    absl::StatusOr<LinkSigner> created = LinkSigner::Create(std::string(kLinkKeyBytes, 'k'));
    Check(created.ok(), "the fuzz key makes a signer", created.status().ToString());
    return new LinkSigner(*std::move(created));
  }();
  return *signer;
}

bool AcceptedAsAnyKind(absl::string_view token) {
  for (LinkTokenKind kind : kKinds) {
    if (Signer().Verify(token, kind).ok()) return true;
  }
  return false;
}

void VerifyForged(absl::string_view token) {
  for (LinkTokenKind kind : kKinds) {
    absl::StatusOr<LinkClaims> claims = Signer().Verify(token, kind);
    if (!claims.ok()) {
      Check(claims.status().code() == absl::StatusCode::kUnauthenticated,
            "a refused token is UNAUTHENTICATED", claims.status().ToString());
      continue;
    }
    Check(claims->kind == kind, "an accepted token is of the kind asked for");
    absl::StatusOr<std::string> canonical = Signer().Sign(*claims);
    Check(canonical.ok() && *canonical == token,
          "an accepted token is the one Sign makes of its claims", token);
  }
}

uint32_t Number(absl::string_view text) {
  uint32_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) value = static_cast<uint32_t>(text.size());
  return value;
}

void SignAndTamper(uint8_t mode, absl::string_view rest) {
  std::vector<absl::string_view> lines = absl::StrSplit(rest, '\n');
  lines.resize(8);
  LinkClaims claims;
  claims.kind = kKinds[(mode >> 1) % 3];
  claims.trial_id = std::string(lines[0]);
  claims.campaign_id = std::string(lines[1]);
  claims.step = Number(lines[2]);
  claims.participant_id = std::string(lines[3]);
  claims.link_index = Number(lines[4]);
  claims.template_version = Number(lines[5]);
  claims.target_url = std::string(lines[6]);
  absl::StatusOr<std::string> signed_token = Signer().Sign(claims);
  if (!signed_token.ok()) {
    Check(signed_token.status().code() == absl::StatusCode::kInvalidArgument,
          "claims that cannot be carried are INVALID_ARGUMENT", signed_token.status().ToString());
    return;
  }
  const std::string& token = *signed_token;
  for (LinkTokenKind kind : kKinds) {
    absl::StatusOr<LinkClaims> verified = Signer().Verify(token, kind);
    if (kind == claims.kind) {
      Check(verified.ok() && *verified == claims, "a signed token verifies to its claims", token);
    } else {
      Check(!verified.ok(), "a token is refused as another kind", token);
    }
  }
  std::string changed = token;
  for (size_t i = 0; i < token.size(); ++i) {
    const size_t at = kBase64Url.find(token[i]);
    changed[i] = at == absl::string_view::npos ? 'A' : kBase64Url[(at + 1 + i % 63) % 64];
    Check(!AcceptedAsAnyKind(changed), "a token with one character changed is refused",
          absl::StrCat(token, " with character ", i, " changed: ", changed));
    changed[i] = token[i];
  }
  Check(!AcceptedAsAnyKind(token.substr(0, token.size() - 1)), "a token cut short is refused");
  Check(!AcceptedAsAnyKind(token + "A"), "a lengthened token is refused");
  const absl::string_view edits = lines[7];
  for (size_t i = 0; i + 1 < edits.size(); i += 2) {
    changed[static_cast<unsigned char>(edits[i]) % changed.size()] = edits[i + 1];
  }
  if (changed != token) {
    Check(!AcceptedAsAnyKind(changed), "an edited token is refused", changed);
  }
}

}  // namespace
}  // namespace fieldwork::messaging

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    fieldwork::messaging::VerifyForged(rest);
  } else {
    fieldwork::messaging::SignAndTamper(data[0], rest);
  }
  return 0;
}

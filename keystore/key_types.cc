#include "keystore/key_types.h"

#include <string>

namespace instaccess::keystore {

std::string_view PurposeName(Purpose p) { return p == Purpose::kSig ? "sig" : "enc"; }

std::string_view StateName(KeyState s) {
  switch (s) {
    case KeyState::kPending:
      return "pending";
    case KeyState::kActive:
      return "active";
    case KeyState::kRetired:
      return "retired";
    case KeyState::kDestroyed:
      return "destroyed";
    case KeyState::kRevoked:
      return "revoked";
  }
  return "unknown";
}

std::string_view OriginName(KeyOrigin o) {
  switch (o) {
    case KeyOrigin::kGenerated:
      return "generated";
    case KeyOrigin::kImported:
      return "imported";
    case KeyOrigin::kPeer:
      return "peer";
  }
  return "unknown";
}

Result<Purpose> ParsePurpose(std::string_view s) {
  if (s == "sig") return Purpose::kSig;
  if (s == "enc") return Purpose::kEnc;
  return InvalidArgument("unknown key purpose \"" + std::string(s) + "\" (expected sig or enc)");
}

Result<KeyState> ParseState(std::string_view s) {
  for (KeyState k : {KeyState::kPending, KeyState::kActive, KeyState::kRetired,
                     KeyState::kDestroyed, KeyState::kRevoked}) {
    if (StateName(k) == s) return k;
  }
  return DataLoss("unknown key state \"" + std::string(s) + "\"");
}

Result<KeyOrigin> ParseOrigin(std::string_view s) {
  for (KeyOrigin o : {KeyOrigin::kGenerated, KeyOrigin::kImported, KeyOrigin::kPeer}) {
    if (OriginName(o) == s) return o;
  }
  return DataLoss("unknown key origin \"" + std::string(s) + "\"");
}

bool IsValidKid(std::string_view kid) {
  if (kid.empty() || kid.size() > kMaxKidLength) return false;
  for (char c : kid) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '~' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace instaccess::keystore

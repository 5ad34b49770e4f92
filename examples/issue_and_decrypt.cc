// An application's use of instaccessd: issue a token for a user, then decrypt it as a gateway
// would, telling the kinds of failure apart.
//
//   instaccess-example [SOCKET]     (default: $INSTACCESS_SOCKET, else the system socket)
//
// Build it against an installed client library with CMake (this directory's CMakeLists.txt:
// find_package(instaccess) + target_link_libraries(app instaccess::client)) or with pkg-config:
//   g++ -std=c++17 issue_and_decrypt.cc $(pkg-config --cflags --libs instaccess)
#include <instaccess/client.h>

#include <cstdlib>
#include <iostream>

namespace ic = instaccess::client;

int main(int argc, char** argv) {
  std::string socket = "/run/instaccessd/instaccessd.sock";
  if (const char* env = std::getenv("INSTACCESS_SOCKET")) socket = env;
  if (argc > 1) socket = argv[1];

  // One Client per process: it is thread-safe and keeps its connections for reuse.
  ic::Client client(socket);

  ic::Claims claims{{"sub", "42"}, {"acct", "1"}};
  claims.SetString("canvas_domain", "canvas.example.edu").SetInt("canvas_shard_id", 1);
  ic::IssueOptions options;
  options.ttl = std::chrono::minutes(5);

  ic::Result<std::string> token = client.Issue(claims, options);
  if (!token) {
    const ic::Error& e = token.error();
    std::cerr << "issue failed: " << e.message() << "\n";
    switch (e.kind()) {
      case ic::ErrorKind::kUnreachable:
        return 3;  // the daemon is not running (or not ours)
      case ic::ErrorKind::kForbidden:
        return 4;  // this uid has no 'issue' role
      default:
        return 1;
    }
  }
  std::cout << "token: " << token->substr(0, 40) << "... (" << token->size() << " bytes)\n";

  ic::Result<ic::DecryptedToken> opened = client.Decrypt(*token);
  if (!opened) {
    const ic::Error& e = opened.error();
    if (e.kind() == ic::ErrorKind::kTokenExpired) {
      std::cerr << "expired: ask the user to sign in again\n";
    } else {
      std::cerr << "decrypt failed: " << e.ToString() << "\n";
    }
    return e.IsTokenError() ? 5 : 1;
  }
  std::cout << "sub " << opened->claims.GetString("sub").value_or("?") << ", acct "
            << opened->claims.GetString("acct").value_or("?") << ", expires at "
            << opened->claims.GetInt("exp").value_or(0) << ", signed with " << opened->sig_kid
            << "\n";
  return 0;
}

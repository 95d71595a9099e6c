// fieldwork-token: makes bearer tokens for the tokens file.
//
// Usage:
//   fieldwork-token new     prints a fresh random token and its SHA-256 (put only the
//                           SHA-256 in the tokens file; give the token to its holder)
//   fieldwork-token hash    reads a token on standard input and prints its SHA-256
#include <sodium.h>

#include <iostream>
#include <string>

#include "services/common/auth.h"

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::cerr << "fieldwork-token: libsodium failed to initialise\n";
    return 1;
  }
  const std::string command = argc == 2 ? argv[1] : "";
  if (command == "new") {
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof(bytes));
    char hex[sizeof(bytes) * 2 + 1];
    sodium_bin2hex(hex, sizeof(hex), bytes, sizeof(bytes));
    const std::string token = std::string("fw_") + hex;
    std::cout << "token:  " << token << "\nsha256: " << fieldwork::HashToken(token) << "\n";
    return 0;
  }
  if (command == "hash") {
    std::string token;
    std::getline(std::cin, token);
    std::cout << fieldwork::HashToken(token) << "\n";
    return 0;
  }
  std::cerr << "usage: fieldwork-token new | hash  (hash reads the token on stdin)\n";
  return 2;
}

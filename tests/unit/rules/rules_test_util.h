// Helpers for the rule parser tests.
#pragma once
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <string>

#include "dataplane/rules/parser.h"

namespace spectre::rules::test {

struct Parsed {
  bool ok = false, unsupported = false;
  std::string err;
  Rule rule;
};

inline Parsed parse(const std::string& text, const Vars& vars = Vars::suricata_defaults()) {
  Parsed p;
  p.ok = parse_rule(text, vars, p.rule, p.err, p.unsupported);
  return p;
}

// A rule with the given options and a standard header.
inline Parsed opts(const std::string& options, const std::string& proto = "tcp") {
  return parse("alert " + proto + " any any -> any any (" + options + " sid:1;)");
}

inline bool has_ip(const IpSet& s, const char* addr) {
  uint8_t a[16] = {};
  if (inet_pton(AF_INET, addr, a) == 1) return s.contains(a, 4);
  if (inet_pton(AF_INET6, addr, a) == 1) return s.contains(a, 6);
  ADD_FAILURE() << "bad test address " << addr;
  return false;
}

}  // namespace spectre::rules::test

#define EXPECT_PARSE_OK(p) EXPECT_TRUE((p).ok) << (p).err
#define EXPECT_SYNTAX_ERROR(p, substr)                                   \
  do {                                                                   \
    EXPECT_FALSE((p).ok);                                                \
    EXPECT_FALSE((p).unsupported) << (p).err;                            \
    EXPECT_NE((p).err.find(substr), std::string::npos) << (p).err;       \
  } while (0)
#define EXPECT_UNSUPPORTED(p, substr)                                    \
  do {                                                                   \
    EXPECT_FALSE((p).ok);                                                \
    EXPECT_TRUE((p).unsupported) << (p).err;                             \
    EXPECT_NE((p).err.find(substr), std::string::npos) << (p).err;       \
  } while (0)

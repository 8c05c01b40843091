#include "ctrlplane/cortex/detection.h"

#include <arpa/inet.h>

namespace spectre::cortex {

namespace {
const char* const kKinds[] = {"signature", "ml", "behaviour", "intel", "correlation", "flow"};
uint64_t load64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}
}  // namespace

const char* kind_name(Kind k) { return uint8_t(k) < uint8_t(Kind::kKindEnd) ? kKinds[uint8_t(k)] : "?"; }

bool parse_kind(std::string_view s, Kind& out) {
  for (uint8_t i = 0; i < uint8_t(Kind::kKindEnd); i++)
    if (s == kKinds[i]) return out = Kind(i), true;
  return false;
}

Val addr_val(const uint8_t* a, uint8_t ver) {
  if (ver == 4) return Val{0, 0xffff00000000ull | (uint64_t(a[0]) << 24 | a[1] << 16 | a[2] << 8 | a[3])};
  return Val{load64(a), load64(a + 8)};
}

Val net_val(const uint8_t* a, uint8_t ver) {
  if (ver == 4) return Val{0, 0xffff00000000ull | (uint64_t(a[0]) << 24 | a[1] << 16 | a[2] << 8)};
  return Val{load64(a), 0};
}

Val str_val(std::string_view s) {
  // Two FNV-1a lanes: collisions between distinct names are negligible at 128 bits.
  uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull ^ s.size();
  for (unsigned char c : s) {
    h1 = (h1 ^ c) * 0x100000001b3ull;
    h2 = (h2 ^ c) * 0x100000001b3ull + 1;
  }
  return Val{h2 | 1ull << 63, h1};
}

std::string val_addr_str(const Val& v) {
  char buf[INET6_ADDRSTRLEN] = "";
  uint8_t b[16];
  for (int i = 0; i < 8; i++) b[i] = uint8_t(v.hi >> (56 - 8 * i)), b[8 + i] = uint8_t(v.lo >> (56 - 8 * i));
  if (v.hi == 0 && (v.lo >> 32) == 0xffff) inet_ntop(AF_INET, b + 12, buf, sizeof buf);
  else inet_ntop(AF_INET6, b, buf, sizeof buf);
  return buf;
}

bool parse_addr(std::string_view s, uint8_t (&out)[16], uint8_t& ver) {
  std::string z(s);
  std::memset(out, 0, 16);
  if (inet_pton(AF_INET, z.c_str(), out) == 1) return ver = 4, true;
  if (inet_pton(AF_INET6, z.c_str(), out) == 1) return ver = 6, true;
  return false;
}

}  // namespace spectre::cortex

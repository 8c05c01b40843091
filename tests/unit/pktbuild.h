// Tiny packet builder for unit tests: every layer returns its bytes, callers
// nest them (eth(0x0800, ipv4(..., tcp(...)))). Lengths are computed unless
// an override field (>= 0) asks for a wrong value.
#pragma once
#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace pb {

using Bytes = std::vector<uint8_t>;
using Ip4 = std::array<uint8_t, 4>;
using Ip6 = std::array<uint8_t, 16>;

inline void app8(Bytes& b, uint8_t v) { b.push_back(v); }
inline void app16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
inline void app32(Bytes& b, uint32_t v) {
  app16(b, uint16_t(v >> 16));
  app16(b, uint16_t(v));
}
inline void app(Bytes& b, const uint8_t* p, size_t n) {
  size_t old = b.size();
  b.resize(old + n);
  if (n) std::memcpy(b.data() + old, p, n);
}
inline void app(Bytes& b, const Bytes& x) { app(b, x.data(), x.size()); }
template <size_t N>
inline void app(Bytes& b, const std::array<uint8_t, N>& x) { app(b, x.data(), N); }
inline void put16(Bytes& b, size_t off, uint16_t v) {
  b.at(off) = uint8_t(v >> 8);
  b.at(off + 1) = uint8_t(v);
}
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) app(out, p);
  return out;
}
inline Bytes slice(const Bytes& b, size_t off, size_t n) {
  return Bytes(b.begin() + long(off), b.begin() + long(off + n));
}
inline Bytes fill(size_t n, uint8_t v) { return Bytes(n, v); }
// Bytes i*mul+add (mod 256): a payload whose every position is recognisable.
inline Bytes pattern(size_t n, uint8_t add = 0, uint8_t mul = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = uint8_t(i * mul + add);
  return b;
}

inline Ip4 ip4(const char* s) {
  Ip4 a{};
  if (inet_pton(AF_INET, s, a.data()) != 1) throw std::invalid_argument(s);
  return a;
}
inline Ip6 ip6(const char* s) {
  Ip6 a{};
  if (inet_pton(AF_INET6, s, a.data()) != 1) throw std::invalid_argument(s);
  return a;
}

// ---- TCP options ----
namespace opt {
inline Bytes eol() { return {0}; }
inline Bytes nop() { return {1}; }
inline Bytes mss(uint16_t v) { return {2, 4, uint8_t(v >> 8), uint8_t(v)}; }
inline Bytes wscale(uint8_t s) { return {3, 3, s}; }
inline Bytes sack_perm() { return {4, 2}; }
inline Bytes ts(uint32_t val, uint32_t ecr) {
  Bytes b{8, 10};
  app32(b, val);
  app32(b, ecr);
  return b;
}
}  // namespace opt

// ---- L4 ----
struct Tcp {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0x02;
  uint16_t win = 65535;
  Bytes opts;        // padded with EOL to a multiple of 4
  Bytes payload;
  int doff = -1;     // data offset in 32-bit words; -1: computed
};
inline Bytes tcp(const Tcp& t) {
  Bytes o = t.opts;
  while (o.size() % 4) o.push_back(0);
  Bytes b;
  app16(b, t.sport);
  app16(b, t.dport);
  app32(b, t.seq);
  app32(b, t.ack);
  int doff = t.doff >= 0 ? t.doff : int(5 + o.size() / 4);
  app8(b, uint8_t(doff << 4));
  app8(b, t.flags);
  app16(b, t.win);
  app16(b, 0);  // checksum: not verified by the decoder
  app16(b, 0);  // urgent pointer
  app(b, o);
  app(b, t.payload);
  return b;
}

inline Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload = {}, int len = -1) {
  Bytes b;
  app16(b, sport);
  app16(b, dport);
  app16(b, uint16_t(len >= 0 ? len : int(8 + payload.size())));
  app16(b, 0);
  app(b, payload);
  return b;
}

// ICMPv4 and ICMPv6 share the 8-byte echo layout.
inline Bytes icmp(uint8_t type, uint8_t code, uint16_t id = 0, uint16_t seq = 0,
                  const Bytes& payload = {}) {
  Bytes b{type, code, 0, 0};
  app16(b, id);
  app16(b, seq);
  app(b, payload);
  return b;
}

// ---- L3 ----
struct V4 {
  Ip4 src{}, dst{};
  uint8_t proto = 6;
  uint16_t id = 0;
  uint16_t frag_off = 0;  // bytes, multiple of 8
  bool mf = false, df = false;
  uint8_t ttl = 64;
  Bytes opts;             // padded with EOL to a multiple of 4
  int ihl = -1;           // header length in words; -1: computed
  int tot_len = -1;       // -1: computed
  uint8_t version = 4;
};
inline Bytes ipv4(const V4& h, const Bytes& payload) {
  Bytes o = h.opts;
  while (o.size() % 4) o.push_back(0);
  int ihl = h.ihl >= 0 ? h.ihl : int(5 + o.size() / 4);
  Bytes b;
  app8(b, uint8_t(h.version << 4 | (ihl & 0x0f)));
  app8(b, 0);
  app16(b, uint16_t(h.tot_len >= 0 ? h.tot_len : int(20 + o.size() + payload.size())));
  app16(b, h.id);
  app16(b, uint16_t((h.df ? 0x4000 : 0) | (h.mf ? 0x2000 : 0) | (h.frag_off / 8)));
  app8(b, h.ttl);
  app8(b, h.proto);
  app16(b, 0);
  app(b, h.src);
  app(b, h.dst);
  app(b, o);
  app(b, payload);
  return b;
}

struct V6 {
  Ip6 src{}, dst{};
  uint8_t nh = 6;
  uint8_t hlim = 64;
  int plen = -1;          // -1: computed
  uint8_t version = 6;
};
inline Bytes ipv6(const V6& h, const Bytes& payload) {
  Bytes b;
  app32(b, uint32_t(h.version) << 28);
  app16(b, uint16_t(h.plen >= 0 ? h.plen : int(payload.size())));
  app8(b, h.nh);
  app8(b, h.hlim);
  app(b, h.src);
  app(b, h.dst);
  app(b, payload);
  return b;
}
// Hop-by-hop / destination options / routing header of `len` bytes
// (multiple of 8, at most 2048), padded with Pad1 options.
inline Bytes ext6(uint8_t nh, size_t len) {
  if (len < 8 || len % 8 || len > 2048) throw std::invalid_argument("ext6 len");
  Bytes b(len, 0);
  b[0] = nh;
  b[1] = uint8_t(len / 8 - 1);
  return b;
}
// Authentication header: length field counts 4-byte words minus 2.
inline Bytes ah6(uint8_t nh, size_t len) {
  if (len < 12 || len % 4) throw std::invalid_argument("ah6 len");
  Bytes b(len, 0xa5);
  b[0] = nh;
  b[1] = uint8_t(len / 4 - 2);
  b[2] = b[3] = 0;
  return b;
}
inline Bytes frag6(uint8_t nh, uint16_t off, bool more, uint32_t id) {
  Bytes b{nh, 0};
  app16(b, uint16_t((off & 0xfff8) | (more ? 1 : 0)));
  app32(b, id);
  return b;
}

// ---- L2 ----
struct Vlan {
  uint16_t tpid = 0x8100;
  uint16_t tci = 0;
};
inline Bytes eth(uint16_t ethertype, const Bytes& payload, std::vector<Vlan> vlans = {}) {
  Bytes b{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  for (const Vlan& v : vlans) {
    app16(b, v.tpid);
    app16(b, v.tci);
  }
  app16(b, ethertype);
  app(b, payload);
  return b;
}
// Linux cooked capture v1 (16-byte header, protocol at 14).
inline Bytes sll(uint16_t proto, const Bytes& payload) {
  Bytes b{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
  app16(b, proto);
  app(b, payload);
  return b;
}
// Linux cooked capture v2 (20-byte header, protocol first).
inline Bytes sll2(uint16_t proto, const Bytes& payload) {
  Bytes b;
  app16(b, proto);
  app16(b, 0);
  app32(b, 2);  // interface index
  app16(b, 1);  // ARPHRD_ETHER
  app8(b, 0);
  app8(b, 6);
  for (int i = 0; i < 8; i++) app8(b, uint8_t(i));
  app(b, payload);
  return b;
}
// BSD loopback: 4-byte address family, little- or big-endian.
inline Bytes null_hdr(uint32_t af, bool big_endian, const Bytes& payload) {
  Bytes b(4);
  for (int i = 0; i < 4; i++) b[size_t(i)] = uint8_t(af >> (big_endian ? 24 - 8 * i : 8 * i));
  app(b, payload);
  return b;
}

}  // namespace pb

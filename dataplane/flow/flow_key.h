// Direction-free flow key and its symmetric hash.
#pragma once
#include <cstdint>
#include <cstring>

#include <rte_hash_crc.h>

namespace spectre {

// Canonical key: the endpoint (addr, port) that sorts lower is "lo", so both
// directions of a flow produce the same bytes. 48 bytes: compared as 6 words.
struct alignas(16) FlowKey {
  uint8_t lo_addr[16];   // IPv4 uses the first 4 bytes, the rest stay zero
  uint8_t hi_addr[16];
  uint16_t lo_port, hi_port;
  uint16_t vlan[2];      // 0x1000 | id when a tag is present, 0 otherwise
  uint8_t proto, ip_ver;
  uint8_t pad[6];

  bool operator==(const FlowKey& o) const {
    uint64_t a[6], b[6];  // memcpy: compiled to plain loads, no aliasing UB
    std::memcpy(a, this, sizeof a);
    std::memcpy(b, &o, sizeof b);
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) |
            (a[4] ^ b[4]) | (a[5] ^ b[5])) == 0;
  }
};
static_assert(sizeof(FlowKey) == 48);

// Fills `k` from one packet's endpoints; returns true when the packet's
// source is the key's "hi" endpoint (i.e. the key is swapped).
inline bool make_flow_key(FlowKey& k, const uint8_t* src, const uint8_t* dst, unsigned alen,
                          uint16_t sport, uint16_t dport, uint8_t proto, uint8_t ip_ver,
                          const uint16_t vlan[2]) {
  std::memset(&k, 0, sizeof k);
  int c;
  if (alen == 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, dst, 4);
    a = __builtin_bswap32(a);
    b = __builtin_bswap32(b);
    c = a < b ? -1 : a > b ? 1 : 0;
  } else {
    c = std::memcmp(src, dst, 16);
  }
  bool swap = c > 0 || (c == 0 && sport > dport);
  const uint8_t* lo = swap ? dst : src;
  const uint8_t* hi = swap ? src : dst;
  if (alen == 4) {
    std::memcpy(k.lo_addr, lo, 4);
    std::memcpy(k.hi_addr, hi, 4);
  } else {
    std::memcpy(k.lo_addr, lo, 16);
    std::memcpy(k.hi_addr, hi, 16);
  }
  k.lo_port = swap ? dport : sport;
  k.hi_port = swap ? sport : dport;
  k.vlan[0] = vlan[0];
  k.vlan[1] = vlan[1];
  k.proto = proto;
  k.ip_ver = ip_ver;
  return swap;
}

// CRC32C over the canonical key: symmetric because the key is. ~15 cycles.
inline uint32_t flow_hash(const FlowKey& k) { return rte_hash_crc(&k, sizeof k, 0x5eed); }

// Hash of the address pair and VLANs only (ports ignored), symmetric. Used to
// pick a worker so that IP fragments and whole packets of one flow meet on
// the same core.
inline uint32_t addr_pair_hash(const uint8_t* a, const uint8_t* b, unsigned alen,
                               const uint16_t vlan[2]) {
  alignas(16) uint8_t x[16], y[16];  // packet bytes may be unaligned
  std::memcpy(x, a, alen);
  std::memcpy(y, b, alen);
  uint32_t ha = rte_hash_crc(x, alen, 0x11);
  uint32_t hb = rte_hash_crc(y, alen, 0x11);
  uint32_t v = (uint32_t(vlan[0]) << 16) | vlan[1];
  return rte_hash_crc_4byte(v, ha ^ hb);  // xor: order-free
}

}  // namespace spectre

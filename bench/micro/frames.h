// Test frames for the microbenchmarks: varied addresses and ports so that
// hashes and keys differ from one call to the next.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

namespace spectre::micro {

inline void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
inline void put32(uint8_t* p, uint32_t v) { put16(p, uint16_t(v >> 16)); put16(p + 2, uint16_t(v)); }

// Ethernet / IPv4 / TCP ACK with NOP,NOP,timestamp options: 66 bytes.
inline std::vector<uint8_t> ipv4_tcp_frame(uint32_t i) {
  std::vector<uint8_t> f(66, 0);
  uint8_t* p = f.data();
  p[0] = 0x02; p[5] = 0x02; p[6] = 0x02; p[11] = 0x01;
  put16(p + 12, 0x0800);
  uint8_t* ip = p + 14;
  ip[0] = 0x45;
  put16(ip + 2, 52);
  put16(ip + 6, 0x4000);
  ip[8] = 64;
  ip[9] = 6;
  put32(ip + 12, 0xc6120000u | (i & 0xffff));          // 198.18.x.y
  put32(ip + 16, 0xc6130000u | ((i * 40503u) & 0xffff)); // 198.19.x.y
  uint8_t* tcp = ip + 20;
  put16(tcp, uint16_t(10000 + (i >> 4)));
  put16(tcp + 2, 443);
  put32(tcp + 4, 1000 + i);
  put32(tcp + 8, 2000 + i);
  tcp[12] = 8 << 4;  // 32-byte header
  tcp[13] = 0x10;    // ACK
  put16(tcp + 14, 501);
  tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;
  put32(tcp + 24, 123456 + i);
  put32(tcp + 28, 654321);
  return f;
}

// Ethernet / IPv6 / UDP with 32 bytes of payload: 94 bytes.
inline std::vector<uint8_t> ipv6_udp_frame(uint32_t i) {
  std::vector<uint8_t> f(94, 0);
  uint8_t* p = f.data();
  p[0] = 0x02; p[5] = 0x02; p[6] = 0x02; p[11] = 0x01;
  put16(p + 12, 0x86dd);
  uint8_t* ip = p + 14;
  ip[0] = 0x60;
  put16(ip + 4, 40);
  ip[6] = 17;
  ip[7] = 64;
  put32(ip + 8, 0x20010db8);   // 2001:db8::/32 (documentation)
  put32(ip + 20, i);
  put32(ip + 24, 0x20010db8);
  put32(ip + 36, 0x10000 + i * 7);
  uint8_t* udp = ip + 40;
  put16(udp, uint16_t(20000 + (i & 0xfff)));
  put16(udp + 2, 53);
  put16(udp + 4, 40);
  for (int k = 8; k < 40; k++) udp[k] = uint8_t(k);
  return f;
}

}  // namespace spectre::micro

// Helpers for the reassembly tests: a sink recording what was delivered, and a
// one-direction harness.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/stream/reassembly.h"

namespace spectre::stest {

constexpr uint8_t kSyn = 0x02, kFin = 0x01, kRst = 0x04, kAck = 0x10;

struct Sink {
  std::vector<uint8_t> bytes;        // delivered bytes, concatenated
  std::vector<uint64_t> offs;        // stream offset (from the start) of each delivered byte
  std::vector<std::pair<size_t, uint32_t>> gaps;  // (index in bytes of the next byte, size)
  std::vector<const uint8_t*> ptrs;  // data pointer of each call
  uint64_t pos = 0;                  // offset after the last piece
  uint32_t calls = 0;
  uint32_t empty_calls = 0;          // calls with len == 0 (should never happen)

  static void cb(void* u, const uint8_t* d, uint32_t len, uint32_t gap) {
    Sink& s = *static_cast<Sink*>(u);
    s.calls++;
    if (len == 0) s.empty_calls++;
    s.ptrs.push_back(d);
    if (gap) s.gaps.emplace_back(s.bytes.size(), gap);
    s.pos += gap;
    for (uint32_t i = 0; i < len; i++) {
      s.bytes.push_back(d[i]);
      s.offs.push_back(s.pos + i);
    }
    s.pos += len;
  }
  std::string str() const { return std::string(bytes.begin(), bytes.end()); }
};

struct Dir {
  SegmentPool& pool;
  StreamConfig cfg;
  StreamDir d{};
  StreamCounters ctr{};
  Sink sink;

  Dir(SegmentPool& p, StreamConfig c = {}) : pool(p), cfg(c) {}
  void seg(uint32_t seq, uint8_t flags, const void* data, uint32_t len) {
    stream_segment(d, pool, cfg, seq, flags, static_cast<const uint8_t*>(data), len, ctr,
                   &Sink::cb, &sink);
  }
  void seg(uint32_t seq, const std::string& s, uint8_t flags = kAck) {
    seg(seq, flags, s.data(), uint32_t(s.size()));
  }
  void syn(uint32_t isn) { seg(isn, kSyn, nullptr, 0); }
  void finish() { stream_finish(d, pool, ctr, &Sink::cb, &sink); }
};

}  // namespace spectre::stest

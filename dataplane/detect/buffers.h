// A set of inspection buffers handed from the app-layer parsers to detection.
// Views only: valid for the duration of the call that receives them.
#pragma once
#include <cstdint>

#include "dataplane/rules/rule.h"

namespace spectre {

struct BufferSet {
  const uint8_t* data[rules::kBufCount] = {};
  uint32_t len[rules::kBufCount] = {};
  uint64_t mask = 0;  // bit b set: buffer b is present (may be empty)
  uint32_t events = 0;  // rules::AppEvent bits raised by this transaction direction

  void set(rules::Buf b, const uint8_t* d, uint32_t n) {
    data[b] = d;
    len[b] = n;
    mask |= uint64_t(1) << b;
  }
  bool has(rules::Buf b) const { return mask & (uint64_t(1) << b); }
};

}  // namespace spectre

// A set of inspection buffers handed from the app-layer parsers to detection.
// Views only: valid for the duration of the call that receives them.
#pragma once
#include <cstdint>

#include "dataplane/rules/rule.h"

namespace spectre {

struct BufferSet {
  const uint8_t* data[rules::kBufCount] = {};
  uint32_t len[rules::kBufCount] = {};
  rules::BufMask mask;  // buffers present (may be empty)
  uint32_t events = 0;  // rules::AppEvent bits raised by this transaction direction

  void set(rules::Buf b, const uint8_t* d, uint32_t n) {
    data[b] = d;
    len[b] = n;
    mask.add(b);
  }
  bool has(rules::Buf b) const { return mask.has(b); }

  // At most one multi-buffer (Suricata's tls.certs): the instances of buffer
  // `multi_buf`, data[multi_buf] being the first. A rule's items on it match
  // when one instance satisfies them all.
  struct Part {
    const uint8_t* data;
    uint32_t len;
  };
  const Part* multi = nullptr;
  uint32_t multi_n = 0;
  rules::Buf multi_buf = rules::kPayload;
  void set_multi(rules::Buf b, const Part* parts, uint32_t n) {
    multi = parts;
    multi_n = n;
    multi_buf = b;
    if (n) set(b, parts[0].data, parts[0].len);
  }
};

}  // namespace spectre

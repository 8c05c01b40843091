// Exact floor(n / d) for a divisor fixed before the fast path (a window or
// sub-window length from the configuration): a multiply-high and one
// correction, ~5 cycles, where a 64-bit div costs ~15 (Golden Cove) to ~40+
// (Skylake) and the behaviour and host-window stages divide packet times by
// their window several times per flow event.
#pragma once
#include <cstdint>

namespace spectre {

class Divider {
 public:
  Divider() : Divider(1) {}
  // d == 0 is taken as 1 (the callers' max(d, 1)).
  explicit Divider(uint64_t d) : d_(d ? d : 1), m_(~0ull / d_) {}
  // m = floor((2^64-1)/d) >= 2^64/d - 1, so n*m/2^64 lies in (n/d - 1, n/d]:
  // its floor is the quotient or one less, and the remainder says which.
  uint64_t div(uint64_t n) const {
    uint64_t q = uint64_t((static_cast<unsigned __int128>(n) * m_) >> 64);
    return q + (n - q * d_ >= d_);
  }
  uint64_t divisor() const { return d_; }

 private:
  uint64_t d_, m_;
};

}  // namespace spectre

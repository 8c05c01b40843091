// clock_gettime in nanoseconds (control side and tools; live workers read
// CLOCK_REALTIME once per loop iteration for packet times).
#pragma once
#include <cstdint>
#include <ctime>

namespace spectre {

inline uint64_t clock_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace spectre

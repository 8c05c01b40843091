// Transforms of inspection buffers (rules::Transform), compiled once and
// applied per evaluation into the worker's two fixed scratch buffers (no
// allocation). Output beyond kXformMax bytes is cut (counted).
#pragma once
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/rules/rule.h"

namespace spectre::detect_internal {

struct WorkerState;

constexpr uint32_t kXformMax = 65536;  // bytes per transformed buffer

struct XformC {
  std::vector<rules::Transform> steps;
  std::vector<pcre2_code*> re;  // per step: the pcrexform pattern, else null
};

// Compiles a chain's pcrexform patterns. Empty string: ok; else the reason.
std::string build_xform(const std::vector<rules::Transform>& steps, XformC& out);
void free_xform(XformC& x);
// Capture pairs pcrexform needs in the worker's match data.
uint32_t xform_pairs(const XformC& x);
// Applies the chain to [d, d + n); d/n then view the result (valid until the
// next call on this worker). Returns false when the output was cut.
bool apply_xform(const XformC& x, WorkerState& ws, const uint8_t*& d, uint32_t& n);
// base64_decode: decodes [d, d + n) into out (kXformMax bytes): whitespace is
// skipped, decoding stops at '=' or any other byte outside the alphabet.
uint32_t base64_decode(const uint8_t* d, uint32_t n, uint8_t* out);

}  // namespace spectre::detect_internal

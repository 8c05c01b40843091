// HTTP/2 keywords with values (Suricata's http2-keywords page), rewritten as
// byte_test items on the internal (http2.hdr) buffer of an HTTP/2
// transaction (app_http2.cc: a stream's direction, or one stream-0 frame):
// [0..1] frame types seen (bit per type, big-endian), [2] has an error
// code, [3..6] error code (RST_STREAM / GOAWAY), [7] has a priority,
// [8] priority weight (PRIORITY, HEADERS), [9] has a window update,
// [10..13] its increment, [14] has an HPACK dynamic table size update,
// [15..18] the size, then per SETTINGS parameter id 1..6 at 19 + 5*(id-1):
// has (1 byte), last value (4 bytes).
//   http2.frametype:GOAWAY        -> byte_test:2,&,128,0
//   http2.errorcode:CANCEL        -> byte_test:1,=,1,2; byte_test:4,=,8,3
//   http2.window:<100000          -> byte_test:1,=,1,9; byte_test:4,<,100000,10
//   http2.settings:SETTINGS_ENABLE_PUSH=0 -> byte_test:1,=,1,24; byte_test:4,=,0,25
// Numbers: N, <N, >N, <=N, >=N, !N, N-M (exclusive), as Suricata's integers.
#include <cctype>
#include <cstring>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

using Op = ByteOp::Op;

void push_test(Ctx& c, int32_t off, uint8_t nbytes, Op op, uint64_t v, bool neg = false) {
  push_byte_test(c, kHttp2Hdr, off, nbytes, op, v, neg);
}

// An unsigned comparison of `nbytes` bytes at `off`.
bool push_cmp(Ctx& c, std::string_view kw, std::string_view v, int32_t off, uint8_t nbytes) {
  return push_uint_cmp(c, kHttp2Hdr, kw, v, off, nbytes, nbytes == 1 ? 255 : 0xffffffffu);
}

bool ieq(std::string_view a, const char* b) {
  size_t n = strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; i++)
    if (std::toupper(uint8_t(a[i])) != uint8_t(b[i])) return false;
  return true;
}

// A name of `names` (its index) or a number.
template <size_t N>
bool named(std::string_view v, const char* const (&names)[N], uint32_t max, uint32_t& out) {
  v = trim(v);
  for (size_t i = 0; i < N; i++)
    if (ieq(v, names[i])) {
      out = uint32_t(i);
      return true;
    }
  return parse_u32_max(v, max, out);
}

const char* const kTypes[] = {"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS",
                              "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"};
const char* const kErrors[] = {"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
                               "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
                               "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
                               "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
const char* const kSettings[] = {"SETTINGS_HEADER_TABLE_SIZE", "SETTINGS_ENABLE_PUSH",
                                 "SETTINGS_MAX_CONCURRENT_STREAMS", "SETTINGS_INITIAL_WINDOW_SIZE",
                                 "SETTINGS_MAX_FRAME_SIZE", "SETTINGS_MAX_HEADER_LIST_SIZE"};

// http2.settings:NAME[<op>N]: the parameter was sent (and its value compares).
bool opt_settings(Ctx& c, std::string_view v) {
  size_t q = v.find_first_of("<>=!");
  std::string_view name = trim(v.substr(0, q));
  uint32_t id = 0;
  for (uint32_t i = 0; i < 6; i++)
    if (ieq(name, kSettings[i])) id = i + 1;
  if (!id && (!parse_u32_max(name, 6, id) || !id))
    return unsup(c.st, "unsupported: http2.settings " + std::string(name) + " (parameters 1..6 only)");
  const int32_t at = 19 + 5 * int32_t(id - 1);
  push_test(c, at, 1, Op::kEq, 1);
  if (q == std::string_view::npos) return true;
  return push_cmp(c, "http2.settings", v.substr(q), at + 1, 4);
}

}  // namespace

bool opt_http2(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  handled = name == "http2.frametype" || name == "http2.errorcode" || name == "http2.priority" ||
            name == "http2.window" || name == "http2.size_update" || name == "http2.settings";
  if (!handled) return true;
  if (!has_value) return fail(c.st, std::string(name) + " needs a value");
  v = trim(v);
  if (!v.empty() && v[0] == '[')  // Suricata 8's multi-integer form
    return unsup(c.st, "unsupported: " + std::string(name) + " multi-integer value");
  uint32_t x;
  if (name == "http2.frametype") {
    if (!named(v, kTypes, 15, x)) return unsup(c.st, "unsupported: http2.frametype '" + std::string(v) + "'");
    push_test(c, 0, 2, Op::kAnd, 1u << x);
    return true;
  }
  if (name == "http2.errorcode") {
    push_test(c, 2, 1, Op::kEq, 1);
    if (named(v, kErrors, 0xffffffffu, x)) {
      push_test(c, 3, 4, Op::kEq, x);
      return true;
    }
    return push_cmp(c, name, v, 3, 4);
  }
  if (name == "http2.priority") {
    push_test(c, 7, 1, Op::kEq, 1);
    return push_cmp(c, name, v, 8, 1);
  }
  if (name == "http2.window") {
    push_test(c, 9, 1, Op::kEq, 1);
    return push_cmp(c, name, v, 10, 4);
  }
  if (name == "http2.size_update") {
    push_test(c, 14, 1, Op::kEq, 1);
    return push_cmp(c, name, v, 15, 4);
  }
  return opt_settings(c, v);
}

}  // namespace spectre::rules::detail

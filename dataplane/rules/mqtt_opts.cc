// MQTT keywords with values (Suricata's mqtt-keywords page), rewritten as
// byte_test / content items on the internal (mqtt.hdr) buffer, 8 bytes per
// message (app_mqtt.cc): [0] type, [1] fixed-header flags,
// [2] fixed-header QoS bits, [3] has a reason code, [4] reason code, [5] CONNACK session_present,
// [6] CONNECT flags, [7] protocol version of the flow's CONNECT.
//   mqtt.type:CONNECT              -> content "|01|", depth 1
//   mqtt.flags:dup,!retain         -> byte_test:1,&,8,1; byte_test:1,!&,1,1
//   mqtt.qos:1                     -> byte_test:1,=,1,2
//   mqtt.reason_code:>16           -> byte_test:1,=,1,3; byte_test:1,>,16,4
//   mqtt.connack.session_present:yes -> type CONNACK; byte_test:1,=,1,5
//   mqtt.connect.flags:username    -> type CONNECT; byte_test:1,&,128,6
//   mqtt.protocol_version:5        -> byte_test:1,=,5,7
// Numbers take Suricata's unsigned integer forms: N, <N, >N, <=N, >=N, !N,
// N-M (exclusive). The sticky buffers are in buffers.cc.
#include <cctype>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

using Op = ByteOp::Op;

void push_test(Ctx& c, int32_t off, Op op, uint64_t v, bool neg = false) {
  push_byte_test(c, kMqttHdr, off, 1, op, v, neg);
}

void push_type(Ctx& c, uint8_t t) {
  MatchItem it;
  it.kind = MatchItem::Kind::kContent;
  it.buf = kMqttHdr;
  it.content.bytes = std::string(1, char(t));
  it.content.has_depth = true;
  it.content.depth = 1;
  c.r.items.push_back(std::move(it));
}

bool u8(std::string_view s, uint32_t& out) { return parse_u32_max(s, 255, out); }

// An unsigned 8-bit comparison at offset `off`.
bool push_cmp(Ctx& c, std::string_view kw, std::string_view v, int32_t off) {
  return push_uint_cmp(c, kMqttHdr, kw, v, off, 1, 255);
}

const char* const kTypes[] = {"UNASSIGNED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC",
                              "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK",
                              "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"};

bool opt_type(Ctx& c, std::string_view v) {
  v = trim(v);
  for (uint8_t t = 0; t < 16; t++) {
    std::string_view n = kTypes[t];
    bool eq = n.size() == v.size();
    for (size_t i = 0; eq && i < n.size(); i++) eq = std::toupper(uint8_t(v[i])) == n[i];
    if (eq) {
      push_type(c, t);
      return true;
    }
  }
  uint32_t x;
  if (u8(v, x) && x < 16) {
    push_type(c, uint8_t(x));
    return true;
  }
  return push_cmp(c, "mqtt.type", v, 0);  // <N, >N, N-M
}

// "a,!b": each flag set (or, with '!', not set) in the byte at `off`.
bool opt_bits(Ctx& c, std::string_view kw, std::string_view v, int32_t off,
              std::initializer_list<std::pair<const char*, uint8_t>> names) {
  bool any = false;
  while (!v.empty()) {
    size_t q = v.find(',');
    std::string_view f = trim(v.substr(0, q));
    v = q == std::string_view::npos ? std::string_view() : v.substr(q + 1);
    bool neg = !f.empty() && f[0] == '!';
    if (neg) f = trim(f.substr(1));
    uint8_t mask = 0;
    for (auto& [n, m] : names)
      if (f == n) mask = m;
    if (!mask) return fail(c.st, std::string(kw) + ": unknown flag '" + std::string(f) + "'");
    push_test(c, off, Op::kAnd, mask, neg);
    any = true;
  }
  if (!any) return fail(c.st, std::string(kw) + " needs flags");
  return true;
}

}  // namespace

bool opt_mqtt(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  handled = true;
  if (!name.starts_with("mqtt.") || name == "mqtt.connect.clientid" || name == "mqtt.connect.username" ||
      name == "mqtt.connect.password" || name == "mqtt.connect.willtopic" || name == "mqtt.connect.willmessage" ||
      name == "mqtt.connect.protocol_string" || name.starts_with("mqtt.publish.") ||
      name == "mqtt.subscribe.topic" || name == "mqtt.unsubscribe.topic") {
    handled = false;  // sticky buffers (buffers.cc)
    return true;
  }
  if (!has_value) return fail(c.st, std::string(name) + " needs a value");
  v = trim(v);
  if (!v.empty() && v[0] == '[')  // Suricata 8's multi-integer form (any/all/index of a list)
    return unsup(c.st, "unsupported: " + std::string(name) + " multi-integer value");
  if (name == "mqtt.type") return opt_type(c, v);
  if (name == "mqtt.flags") return opt_bits(c, name, v, 1, {{"dup", 8}, {"retain", 1}});
  if (name == "mqtt.qos") {
    uint32_t q;
    if (!u8(v, q) || q > 2) return fail(c.st, "mqtt.qos: bad value '" + std::string(v) + "' (0, 1 or 2)");
    push_test(c, 2, Op::kEq, q);  // the fixed header's QoS bits, any type (PUBREL's are 1)
    return true;
  }
  if (name == "mqtt.reason_code" || name == "mqtt.connack.return_code") {
    push_test(c, 3, Op::kEq, 1);
    return push_cmp(c, name, v, 4);
  }
  if (name == "mqtt.connack.session_present") {
    bool yes = v == "yes" || v == "true", no = v == "no" || v == "false";
    if (!yes && !no) return fail(c.st, "mqtt.connack.session_present: yes, true, no or false");
    push_type(c, 2);
    push_test(c, 5, Op::kEq, yes ? 1 : 0);
    return true;
  }
  if (name == "mqtt.connect.flags") {
    push_type(c, 1);
    return opt_bits(c, name, v, 6,
                    {{"username", 0x80}, {"password", 0x40}, {"will_retain", 0x20}, {"will", 0x04},
                     {"clean_session", 0x02}});
  }
  if (name == "mqtt.protocol_version") return push_cmp(c, name, v, 7);
  return unsup(c.st, "unsupported keyword: " + std::string(name));
}

}  // namespace spectre::rules::detail

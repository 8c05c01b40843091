// MQTT 3.1 / 3.1.1 / 5.0 over TCP (Suricata's `mqtt` app layer): each
// control packet is one tx in its direction. The fixed header (type, flags,
// remaining length: a varint of at most 4 bytes, RFC-style bounded) frames
// the stream; the message is gathered in the direction's pooled buffer
// (larger ones are kept up to the buffer: the fields that fit are read, the
// EVE record says truncated). Buffers: mqtt.connect.* (clientid, username,
// password, willtopic, willmessage, protocol_string), mqtt.publish.topic /
// message, mqtt.subscribe.topic / mqtt.unsubscribe.topic (multi-buffers),
// and the internal (mqtt.hdr) the numeric keywords test (see mqtt_opts.cc).
// MQTT 5 properties are skipped (their length checked), not read.
//
// Errors: a remaining length longer than 4 bytes cannot be framed: the
// direction stops (malformed, counted). A field running past its message
// is malformed (counted); the tx still goes out with the fields before it.
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

namespace {

enum : uint8_t {
  kConnect = 1, kConnack, kPublish, kPuback, kPubrec, kPubrel, kPubcomp, kSubscribe, kSuback,
  kUnsubscribe, kUnsuback, kPingreq, kPingresp, kDisconnect, kAuth,
};
constexpr uint32_t kMaxTopics = 32;  // topics of one (UN)SUBSCRIBE inspected

// A bounds-checked reader over one message; `ok` turns false at the first
// field that runs past the end.
struct Rd {
  const uint8_t* p;
  uint32_t n, at = 0;
  bool ok = true;
  bool left() const { return ok && at < n; }
  uint8_t u8() {
    if (!ok || at + 1 > n) return ok = false, 0;
    return p[at++];
  }
  uint16_t u16() {
    if (!ok || at + 2 > n) return ok = false, 0;
    uint16_t v = uint16_t(p[at] << 8 | p[at + 1]);
    at += 2;
    return v;
  }
  // A 2-byte length-prefixed string or binary field.
  bool str(const uint8_t** s, uint32_t* sl) {
    uint16_t l = u16();
    if (!ok || l > n - at) return ok = false;
    *s = p + at;
    *sl = l;
    at += l;
    return true;
  }
  uint32_t varint() {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
      uint8_t b = u8();
      v |= uint32_t(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  // MQTT 5 properties: a varint length and that many bytes, skipped.
  void props(bool v5) {
    if (!v5) return;
    uint32_t l = varint();
    if (!ok || l > n - at) ok = false;
    else at += l;
  }
};

void put(char* dst, size_t cap, const uint8_t* s, uint32_t n) { copy_field(dst, cap, s, n); }

struct Msg {
  AppMeta::Mqtt& m;
  BufferSet& bs;
  Rd r;
  bool v5;
  void buf(rules::Buf b, const uint8_t* s, uint32_t n) { bs.set(b, s, n); }
};

void reason(Msg& g) {
  g.m.reason = g.r.u8();
  g.m.has_reason = g.r.ok;
}

void connect(Msg& g) {
  Rd& r = g.r;
  AppMeta::Mqtt& m = g.m;
  const uint8_t* s;
  uint32_t sl;
  if (!r.str(&s, &sl)) return;
  put(m.protocol_string, sizeof m.protocol_string, s, sl);
  g.buf(rules::kMqttProtocolString, s, sl);
  m.version = r.u8();
  m.connect_flags = r.u8();
  r.u16();  // keep alive
  g.v5 = m.version == 5;
  r.props(g.v5);
  if (!r.str(&s, &sl)) return;
  put(m.client_id, sizeof m.client_id, s, sl);
  g.buf(rules::kMqttClientId, s, sl);
  if (m.connect_flags & 0x04) {  // will
    r.props(g.v5);
    if (!r.str(&s, &sl)) return;
    put(m.will_topic, sizeof m.will_topic, s, sl);
    g.buf(rules::kMqttWillTopic, s, sl);
    if (!r.str(&s, &sl)) return;
    put(m.will_message, sizeof m.will_message, s, sl);
    g.buf(rules::kMqttWillMessage, s, sl);
  }
  if (m.connect_flags & 0x80) {
    if (!r.str(&s, &sl)) return;
    put(m.username, sizeof m.username, s, sl);
    g.buf(rules::kMqttUsername, s, sl);
  }
  if (m.connect_flags & 0x40) {  // the password: a buffer only (never logged)
    if (!r.str(&s, &sl)) return;
    g.buf(rules::kMqttPassword, s, sl);
  }
}

void publish(Msg& g) {
  Rd& r = g.r;
  const uint8_t* s;
  uint32_t sl;
  if (!r.str(&s, &sl)) return;
  put(g.m.topic, sizeof g.m.topic, s, sl);
  g.buf(rules::kMqttPublishTopic, s, sl);
  if ((g.m.flags >> 1 & 3) == 3) return void(r.ok = false);  // QoS 3 is malformed
  if (g.m.flags & 0x06) {
    g.m.message_id = r.u16();
    g.m.has_id = r.ok;
  }
  r.props(g.v5);
  if (!r.ok) return;
  put(g.m.message, sizeof g.m.message, r.p + r.at, r.n - r.at);
  g.buf(rules::kMqttPublishMessage, r.p + r.at, r.n - r.at);
  r.at = r.n;
}

// SUBSCRIBE (topic + options byte each) and UNSUBSCRIBE (topics).
void topics(AppCtx& c, Msg& g, bool sub) {
  Rd& r = g.r;
  g.m.message_id = r.u16();
  g.m.has_id = r.ok;
  r.props(g.v5);
  auto* parts = reinterpret_cast<BufferSet::Part*>(c.impl->alloc(kMaxTopics * sizeof(BufferSet::Part)));
  uint32_t np = 0;
  while (r.left()) {
    const uint8_t* s;
    uint32_t sl;
    if (!r.str(&s, &sl)) break;
    uint8_t opt = sub ? r.u8() : 0;
    if (!r.ok) break;
    if (g.m.ntopics < 4) {
      put(g.m.topics[g.m.ntopics], sizeof g.m.topics[0], s, sl);
      g.m.topic_qos[g.m.ntopics] = opt & 3;
    }
    if (g.m.ntopics < 255) g.m.ntopics++;
    if (parts && np < kMaxTopics) parts[np++] = {s, sl};
  }
  if (np) g.bs.set_multi(sub ? rules::kMqttSubscribeTopic : rules::kMqttUnsubscribeTopic, parts, np);
}

// The variable header and payload of one message (by type).
void body(AppCtx& c, Msg& g, uint8_t type) {
  Rd& r = g.r;
  switch (type) {
    case kConnect: connect(g); break;
    case kConnack:
      g.m.session_present = r.u8() & 1;
      reason(g);
      r.props(g.v5);
      break;
    case kPublish: publish(g); break;
    case kPuback: case kPubrec: case kPubrel: case kPubcomp:
      g.m.message_id = r.u16();
      g.m.has_id = r.ok;
      if (g.v5 && r.left()) reason(g);  // MQTT 5: absent means 0 (success)
      if (g.v5 && r.left()) r.props(true);
      break;
    case kSubscribe: topics(c, g, true); break;
    case kUnsubscribe: topics(c, g, false); break;
    case kSuback: case kUnsuback:
      g.m.message_id = r.u16();
      g.m.has_id = r.ok;
      r.props(g.v5);
      for (; r.left(); g.m.ntopics++) {  // SUBACK: granted QoS / reason codes; UNSUBACK (5): reason codes
        uint8_t v = r.u8();
        if (g.m.ntopics < 4) g.m.topic_qos[g.m.ntopics] = v;
        if (type == kUnsuback && !g.m.has_reason) g.m.has_reason = 1, g.m.reason = v;
        if (g.m.ntopics == 254) break;
      }
      if (type == kSuback) r.at = r.n;
      break;
    case kDisconnect: case kAuth:
      if (g.v5 && r.left()) reason(g);
      if (g.v5 && r.left()) r.props(true);
      break;
    default: break;  // PINGREQ, PINGRESP, 0 (reserved): no fields
  }
}

// A whole message (or its kept part, `cut`): fields, buffers, the tx.
void message(AppCtx& c, AppState* s, int d, uint8_t hdr, uint32_t rem, const uint8_t* p, uint32_t n, bool cut,
             AppSink& sink) {
  c.impl->scratch_used = 0;  // the previous message's views are gone: many small ones cannot exhaust it
  AppMeta& a = s->meta;
  uint8_t version = a.mqtt.version;
  memset(&a.mqtt, 0, sizeof a.mqtt);
  a.mqtt.version = version;
  a.mqtt.type = hdr >> 4;
  a.mqtt.flags = hdr & 15;
  a.mqtt.length = rem;
  a.mqtt.truncated = cut;
  BufferSet bs;
  bs.set(rules::kPayload, p, n);  // the message after the fixed header, for rules mixing buffers
  Msg g{a.mqtt, bs, Rd{p, n}, version == 5};
  body(c, g, a.mqtt.type);
  c.ctr.mqtt_messages++;
  if (cut) c.ctr.mqtt_truncated++;
  else if (!g.r.ok) c.ctr.mqtt_malformed++;
  uint8_t* h = c.impl->alloc(8);
  if (h) {
    const AppMeta::Mqtt& m = a.mqtt;
    const uint8_t v[8] = {m.type, m.flags, uint8_t((m.flags >> 1) & 3), m.has_reason,
                          m.reason, m.session_present, m.connect_flags, m.version};
    memcpy(h, v, 8);
    bs.set(rules::kMqttHdr, h, 8);
  }
  sink.on_tx(d == 0, bs, a);
}

bool flags_ok(uint8_t hdr) {
  uint8_t t = hdr >> 4, f = hdr & 15;
  if (t == kPublish) return (f & 6) != 6;
  if (t == kPubrel || t == kSubscribe || t == kUnsubscribe) return f == 2;
  return t != 0 && f == 0;
}

}  // namespace

int mqtt_probe(const uint8_t* p, uint32_t n, bool port) {
  if (!n) return 2;
  if (!port && p[0] != 0x10) return 0;
  if (!flags_ok(p[0])) return 0;
  uint32_t i = 1, rem = 0;
  for (; i <= 4; i++) {
    if (i >= n) return 2;
    rem |= uint32_t(p[i] & 0x7f) << (7 * (i - 1));
    if (!(p[i] & 0x80)) break;
  }
  if (i > 4) return 0;
  if (p[0] != 0x10) return 1;  // on the MQTT port: a well-formed fixed header
  // CONNECT: "MQTT" level 4/5 or "MQIsdp" level 3 (bytes after the length).
  static const uint8_t k311[] = {0, 4, 'M', 'Q', 'T', 'T'}, k31[] = {0, 6, 'M', 'Q', 'I', 's', 'd', 'p'};
  const uint8_t* q = p + i + 1;
  uint32_t qn = n - i - 1;
  auto match = [&](const uint8_t* w, uint32_t wl, uint8_t lo, uint8_t hi) {
    uint32_t k = std::min(qn, wl);
    if (memcmp(q, w, k) != 0) return 0;
    if (qn <= wl) return 2;
    return q[wl] >= lo && q[wl] <= hi ? 1 : 0;
  };
  int a = match(k311, sizeof k311, 4, 5), b = match(k31, sizeof k31, 3, 3);
  if (a == 1 || b == 1) return rem >= 10 ? 1 : 0;
  return std::max(a, b);
}

void mqtt_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  MqttDir& h = s->dir[d].u.mqtt;
  while (n) {
    if (h.phase == 0) {
      h.hdr = *p++;
      n--;
      h.phase = 1;
      h.rem = h.len_n = 0;
      continue;
    }
    if (h.phase == 1) {
      uint8_t b = *p++;
      n--;
      h.rem |= uint32_t(b & 0x7f) << (7 * h.len_n++);
      if (b & 0x80) {
        if (h.len_n == 4) {  // a fifth length byte: not MQTT any more
          c.ctr.mqtt_malformed++;
          s->dir[d].det = kDead;
          release(c, s, d);
          return;
        }
        continue;
      }
      h.phase = 2;
      h.got = h.stored = 0;
      if (h.rem) acquire(c, s, d);
    }
    if (h.phase == 3) {  // the rest of a message handed on when the buffer filled
      uint32_t k = std::min(n, h.rem - h.got);
      h.got += k;
      p += k;
      n -= k;
      if (h.got == h.rem) h.phase = 0;
      continue;
    }
    uint32_t cap = 0;
    uint8_t* st = h.rem ? storage(c, s, d, &cap) : nullptr;
    uint32_t k = std::min(n, h.rem - h.got);
    uint32_t keep = st ? std::min(k, cap - h.stored) : 0;
    if (keep) memcpy(st + h.stored, p, keep);
    h.stored += keep;
    h.got += keep;
    p += keep;
    n -= keep;
    // Whole, or the buffer is full (a huge remaining length cannot hold the
    // message back: it is handed on cut, the rest skipped).
    if (h.got < h.rem && h.stored < cap) return;
    message(c, s, d, h.hdr, h.rem, st ? st : p, h.stored, h.stored < h.rem, sink);
    release(c, s, d);
    h.phase = h.got < h.rem ? 3 : 0;
  }
}

}  // namespace app
}  // namespace spectre

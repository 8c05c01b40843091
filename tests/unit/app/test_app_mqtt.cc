// MQTT: detection (CONNECT anywhere, any fixed header on 1883, near misses),
// fields of every message type (3.1.1 and 5), the (mqtt.hdr) layout the
// keywords test, EVE objects, the remaining-length varint bound, oversized
// and malformed messages counted, split at every byte, fuzz.
#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

std::string varint(uint32_t v) {
  std::string s;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    s += char(b);
  } while (v);
  return s;
}
std::string u16(uint16_t v) { return std::string{char(v >> 8), char(v & 0xff)}; }
std::string str(const std::string& s) { return u16(uint16_t(s.size())) + s; }
std::string pkt(uint8_t hdr, const std::string& body) { return std::string(1, char(hdr)) + varint(uint32_t(body.size())) + body; }

// CONNECT with will, username and password (level 4, or 5 with properties).
std::string connect(uint8_t level = 4) {
  std::string props = level == 5 ? std::string("\x05\x11\x00\x00\x00\x0a", 6) : "";  // session expiry
  std::string will_props = level == 5 ? std::string("\x00", 1) : "";
  return pkt(0x10, str("MQTT") + char(level) + char(0xc6) + u16(60) + props + str("client-1") + will_props +
                       str("will/t") + str("bye") + str("benson") + str("swordfish"));
}
std::string connack(uint8_t level = 4) {
  return pkt(0x20, std::string{char(1), char(0)} + (level == 5 ? std::string(1, '\0') : ""));
}
std::string publish(uint8_t level = 4) {
  return pkt(0x33, str("house/bulb") + u16(7) + (level == 5 ? std::string(1, '\0') : "") + "OFF payload");
}
std::string subscribe() { return pkt(0x82, u16(9) + str("a/#") + char(1) + str("b/+") + char(2)); }

struct Run {
  std::vector<Tx> txs;
  AppProto proto;
};

Run run(AppCtx& ctx, const std::vector<Seg>& segs, uint16_t port = 1883) {
  Run r;
  r.txs = run_tcp(ctx, segs, {}, 40000, port, &r.proto);
  return r;
}

std::string hdr(const Tx& t) { return t.get(kMqttHdr); }

TEST(AppMqtt, Session311) {
  AppCtx ctx(small_cfg());
  auto r = run(ctx, {{true, connect()}, {false, connack()}, {true, publish() + subscribe()},
                     {false, pkt(0x40, u16(7)) + pkt(0x90, u16(9) + std::string{char(1), char(0x80)})},
                     {true, pkt(0xa2, u16(10) + str("a/#")) + pkt(0xc0, "") + pkt(0xe0, "")}},
                 7777);  // a CONNECT decides on any port
  EXPECT_EQ(r.proto, AppProto::kMqtt);
  ASSERT_EQ(r.txs.size(), 9u);
  const Tx& c = r.txs[0];
  EXPECT_TRUE(c.to_server);
  EXPECT_EQ(c.get(kMqttProtocolString), "MQTT");
  EXPECT_EQ(c.get(kMqttClientId), "client-1");
  EXPECT_EQ(c.get(kMqttWillTopic), "will/t");
  EXPECT_EQ(c.get(kMqttWillMessage), "bye");
  EXPECT_EQ(c.get(kMqttUsername), "benson");
  EXPECT_EQ(c.get(kMqttPassword), "swordfish");
  EXPECT_EQ(hdr(c), std::string("\x01\x00\x00\x00\x00\x00\xc6\x04", 8));
  std::string j;
  format_app_json(c.meta, j);
  EXPECT_EQ(j, "\"mqtt\":{\"connect\":{\"qos\":0,\"retain\":false,\"dup\":false,\"protocol_string\":\"MQTT\","
               "\"protocol_version\":4,\"flags\":{\"username\":true,\"password\":true,\"will_retain\":false,"
               "\"will\":true,\"clean_session\":true},\"client_id\":\"client-1\",\"username\":\"benson\","
               "\"will\":{\"topic\":\"will/t\",\"message\":\"bye\"}}}");
  const Tx& ack = r.txs[1];
  EXPECT_FALSE(ack.to_server);
  EXPECT_EQ(hdr(ack), std::string("\x02\x00\x00\x01\x00\x01\x00\x04", 8));  // session present, code 0
  j.clear();
  format_app_json(ack.meta, j);
  EXPECT_EQ(j, "\"mqtt\":{\"connack\":{\"qos\":0,\"retain\":false,\"dup\":false,\"session_present\":true,"
               "\"return_code\":0}}");
  const Tx& pub = r.txs[2];
  EXPECT_EQ(pub.get(kMqttPublishTopic), "house/bulb");
  EXPECT_EQ(pub.get(kMqttPublishMessage), "OFF payload");
  EXPECT_EQ(hdr(pub)[1], 3);  // retain, QoS 1
  EXPECT_EQ(hdr(pub)[2], 1);
  j.clear();
  format_app_json(pub.meta, j);
  EXPECT_EQ(j, "\"mqtt\":{\"publish\":{\"qos\":1,\"retain\":true,\"dup\":false,\"topic\":\"house/bulb\","
               "\"message_id\":7,\"message\":\"OFF payload\"}}");
  const Tx& sub = r.txs[3];
  EXPECT_EQ(sub.multi_buf, int(kMqttSubscribeTopic));
  EXPECT_EQ(sub.multi, (std::vector<std::string>{"a/#", "b/+"}));
  j.clear();
  format_app_json(sub.meta, j);
  EXPECT_EQ(j, "\"mqtt\":{\"subscribe\":{\"qos\":1,\"retain\":false,\"dup\":false,\"message_id\":9,"
               "\"topics\":[{\"topic\":\"a/#\",\"qos\":1},{\"topic\":\"b/+\",\"qos\":2}]}}");
  j.clear();
  format_app_json(r.txs[4].meta, j);
  EXPECT_EQ(j, "\"mqtt\":{\"puback\":{\"qos\":0,\"retain\":false,\"dup\":false,\"message_id\":7}}");
  j.clear();
  format_app_json(r.txs[5].meta, j);
  EXPECT_EQ(j, "\"mqtt\":{\"suback\":{\"qos\":0,\"retain\":false,\"dup\":false,\"message_id\":9,"
               "\"qos_granted\":[1,128]}}");
  EXPECT_EQ(r.txs[6].multi, (std::vector<std::string>{"a/#"}));
  EXPECT_EQ(r.txs[6].multi_buf, int(kMqttUnsubscribeTopic));
  EXPECT_EQ(hdr(r.txs[7])[0], 12);  // PINGREQ
  EXPECT_EQ(hdr(r.txs[8])[0], 14);  // DISCONNECT
  EXPECT_EQ(ctx.ctr.mqtt_messages, 9u);
  EXPECT_EQ(ctx.ctr.mqtt_malformed, 0u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppMqtt, Version5ReasonCodesAndProperties) {
  AppCtx ctx(small_cfg());
  auto r = run(ctx, {{true, connect(5)}, {false, pkt(0x20, std::string("\x00\x86\x03\x22\x00\x0a", 6))},
                     {true, publish(5)}, {false, pkt(0x40, u16(7) + char(0x10))},
                     {false, pkt(0xb0, u16(3) + char(0) + char(0x11))}, {false, pkt(0xe0, std::string("\x8b\x00", 2))}});
  ASSERT_EQ(r.txs.size(), 6u);
  EXPECT_EQ(r.txs[0].get(kMqttClientId), "client-1");  // after the CONNECT properties
  EXPECT_EQ(r.txs[0].get(kMqttWillTopic), "will/t");    // after the will properties
  EXPECT_EQ(hdr(r.txs[1]).substr(3, 2), "\x01\x86");   // bad user name or password
  EXPECT_EQ(hdr(r.txs[1])[7], 5);
  EXPECT_EQ(r.txs[2].get(kMqttPublishMessage), "OFF payload");  // after the properties
  EXPECT_EQ(hdr(r.txs[3]).substr(3, 2), "\x01\x10");   // PUBACK: no matching subscribers
  EXPECT_EQ(hdr(r.txs[4]).substr(3, 2), "\x01\x11");   // UNSUBACK: no subscription existed
  EXPECT_EQ(hdr(r.txs[5]).substr(3, 2), "\x01\x8b");   // DISCONNECT: server shutting down
  std::string j;
  format_app_json(r.txs[3].meta, j);
  EXPECT_EQ(j, "\"mqtt\":{\"puback\":{\"qos\":0,\"retain\":false,\"dup\":false,\"message_id\":7,\"reason_code\":16}}");
  EXPECT_EQ(ctx.ctr.mqtt_malformed, 0u);
}

TEST(AppMqtt, Detection) {
  AppCtx ctx(small_cfg());
  // Any well-formed fixed header on 1883 (a capture without the CONNECT).
  EXPECT_EQ(run(ctx, {{true, publish()}}).proto, AppProto::kMqtt);
  EXPECT_NE(run(ctx, {{true, publish()}}, 7777).proto, AppProto::kMqtt);
  // Near misses: another protocol name, level 9, bad flags, a 5-byte length.
  for (std::string m : {pkt(0x10, str("MQTX") + char(4) + char(2) + u16(60) + str("c")),
                        pkt(0x10, str("MQTT") + char(9) + char(2) + u16(60) + str("c")),
                        std::string("\x10\xff\xff\xff\xff\x01\x00\x04MQTT\x04", 12)}) {
    EXPECT_NE(run(ctx, {{true, m}}, 7777).proto, AppProto::kMqtt);
  }
  EXPECT_NE(run(ctx, {{true, std::string("\x81\x02\x00\x01", 4) + std::string(12, 'x')}}).proto, AppProto::kMqtt);  // SUBSCRIBE must have flags 2
  // MQTT 3.1's "MQIsdp", level 3.
  EXPECT_EQ(run(ctx, {{true, pkt(0x10, str("MQIsdp") + char(3) + char(2) + u16(60) + str("c"))}}, 7777).proto,
            AppProto::kMqtt);
}

TEST(AppMqtt, MalformedAndBounded) {
  AppConfig cfg = small_cfg();
  cfg.header_limit = 512;
  cfg.request_body_limit = cfg.response_body_limit = 512;
  AppCtx ctx(cfg);
  // A field past the end: counted, the tx keeps the fields before it, the next message is framed.
  auto r = run(ctx, {{true, connect() + pkt(0x30, u16(40) + "short") + publish()}});
  ASSERT_EQ(r.txs.size(), 3u);
  EXPECT_FALSE(r.txs[1].has(kMqttPublishTopic));
  EXPECT_EQ(r.txs[2].get(kMqttPublishTopic), "house/bulb");
  EXPECT_EQ(ctx.ctr.mqtt_malformed, 1u);
  // Larger than the buffer (1 KiB here): the kept part is read, EVE says truncated.
  std::string big = pkt(0x30, str("big/topic") + std::string(5000, 'm'));
  r = run(ctx, {{true, connect() + big + publish()}});
  ASSERT_EQ(r.txs.size(), 3u);
  EXPECT_EQ(r.txs[1].get(kMqttPublishTopic), "big/topic");
  EXPECT_EQ(r.txs[1].get(kMqttPublishMessage).size(), 1024u - 11u);
  std::string j;
  format_app_json(r.txs[1].meta, j);
  EXPECT_EQ(j, "\"mqtt\":{\"publish\":{\"qos\":0,\"retain\":false,\"dup\":false,\"truncated\":true,"
               "\"skipped_length\":5011}}");
  EXPECT_EQ(ctx.ctr.mqtt_truncated, 1u);
  // A remaining length of 200 MB cannot hold a message back: handed on when
  // the buffer is full, the rest skipped.
  std::string huge = std::string("\x30\x80\x80\x80\x64", 5) + str("hidden/topic") + std::string(2000, 'h');
  r = run(ctx, {{true, connect() + huge}});
  ASSERT_EQ(r.txs.size(), 2u);
  EXPECT_EQ(r.txs[1].get(kMqttPublishTopic), "hidden/topic");
  EXPECT_TRUE(r.txs[1].meta.mqtt.truncated);
  EXPECT_EQ(ctx.ctr.mqtt_truncated, 2u);
  // A remaining length of five bytes: the direction stops (counted).
  uint64_t bad = ctx.ctr.mqtt_malformed;
  r = run(ctx, {{true, connect() + std::string("\x30\xff\xff\xff\xff\x7f", 6) + publish()}});
  EXPECT_EQ(r.txs.size(), 1u);
  EXPECT_EQ(ctx.ctr.mqtt_malformed, bad + 1);
  // QoS 3 is malformed.
  r = run(ctx, {{true, connect() + pkt(0x36, str("t") + u16(1) + "x")}});
  EXPECT_EQ(ctx.ctr.mqtt_malformed, bad + 2);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppMqtt, SplitAtEveryByte) {
  expect_split_invariant(small_cfg(),
                         {{true, connect(5) + publish(5)}, {false, connack(5)}, {true, subscribe() + pkt(0xc0, "")}},
                         40000, 1883);
}

TEST(AppMqtt, MutationFuzz) {
  AppCtx ctx(small_cfg());
  std::mt19937 rng(1883);
  const std::vector<Seg> seed = {{true, connect(5)}, {false, connack(5)}, {true, publish(5) + subscribe()},
                                 {false, pkt(0x90, u16(9) + char(1))}};
  uint64_t txs = 0;
  for (int it = 0; it < 100000; it++) {
    std::vector<Seg> segs;
    std::vector<std::vector<uint32_t>> cuts;
    for (auto& s : seed) {
      std::string m = rng() % 3 ? s.data : mutate(rng, s.data);
      segs.push_back({s.to_server, m, rng() % 50 == 0 ? 5u : 0u});
      cuts.push_back(m.empty() || rng() % 2 ? std::vector<uint32_t>{} : std::vector<uint32_t>{uint32_t(rng() % m.size())});
    }
    txs += run_tcp(ctx, segs, cuts, 40000, (it & 1) ? 1883 : 9999).size();
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << it;
  }
  EXPECT_GT(txs, 100000u);
}

}  // namespace
}  // namespace spectre

// EVE JSON formatting: timestamps, flow records, names.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "dataplane/decode/packet.h"
#include "dataplane/events/eve.h"
#include "tests/unit/pktbuild.h"

namespace spectre {
namespace {

constexpr uint64_t kSec = 1000000000ull;
constexpr uint64_t kNoon2024 = 1704110400ull * kSec;  // 2024-01-01T12:00:00Z

std::string line(const FlowRecord& r) {
  fmt::memory_buffer b;
  format_flow(b, r);
  return fmt::to_string(b);
}

template <size_t N>
void set_addr(uint8_t (&dst)[16], const std::array<uint8_t, N>& a) {
  std::memset(dst, 0, 16);
  std::memcpy(dst, a.data(), N);
}

FlowRecord tcp_record() {
  FlowRecord r{};
  r.flow_id = 1234567;
  r.first_ts = kNoon2024 + 500;
  r.last_ts = kNoon2024 + 3 * kSec + 250000000;
  r.pkts[0] = 3;
  r.pkts[1] = 2;
  r.bytes[0] = 180;
  r.bytes[1] = 140;
  set_addr(r.src, pb::ip4("10.0.0.1"));
  set_addr(r.dst, pb::ip4("10.0.0.2"));
  r.sport = 40000;
  r.dport = 80;
  r.ip_ver = 4;
  r.proto = 6;
  r.tcp_flags_ts = kSyn | kAck | kPsh | kFin;
  r.tcp_flags_tc = kSyn | kAck | kFin;
  r.tcp_state = TcpState::kClosed;
  r.reason = EndReason::kTimeout;
  r.flags = kFlowSeenToServer | kFlowSeenToClient;
  return r;
}

// Minimal structural check: one line, balanced braces/brackets outside strings.
void expect_json_shape(const std::string& s) {
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back(), '\n');
  EXPECT_EQ(s.find('\n'), s.size() - 1);
  int depth = 0;
  bool in_str = false;
  for (char c : s) {
    if (c == '"') in_str = !in_str;
    if (in_str) continue;
    if (c == '{' || c == '[') depth++;
    if (c == '}' || c == ']') depth--;
    ASSERT_GE(depth, 0) << s;
  }
  EXPECT_FALSE(in_str);
  EXPECT_EQ(depth, 0) << s;
}

bool has(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

TEST(Eve, FormatTs) {
  EXPECT_EQ(format_ts(0), "1970-01-01T00:00:00.000000+0000");
  EXPECT_EQ(format_ts(kNoon2024 + 123456789), "2024-01-01T12:00:00.123456+0000");
  EXPECT_EQ(format_ts(999), "1970-01-01T00:00:00.000000+0000");   // truncated, not rounded
  EXPECT_EQ(format_ts(1000), "1970-01-01T00:00:00.000001+0000");
  EXPECT_EQ(format_ts(1709251199ull * kSec + 999999999), "2024-02-29T23:59:59.999999+0000");
  EXPECT_EQ(format_ts(2147483648ull * kSec + 7000), "2038-01-19T03:14:08.000007+0000");
  fmt::memory_buffer b;
  b.append(std::string_view("x="));
  format_ts(b, kNoon2024);
  EXPECT_EQ(fmt::to_string(b), "x=2024-01-01T12:00:00.000000+0000");
}

TEST(Eve, TcpFlowExactLine) {
  std::string s = line(tcp_record());
  EXPECT_EQ(s,
            "{\"timestamp\":\"2024-01-01T12:00:03.250000+0000\",\"flow_id\":1234567,\"event_type\":\"flow\","
            "\"src_ip\":\"10.0.0.1\",\"src_port\":40000,\"dest_ip\":\"10.0.0.2\",\"dest_port\":80,\"proto\":\"TCP\","
            "\"ip_v\":4,\"flow\":{\"pkts_toserver\":3,\"pkts_toclient\":2,\"bytes_toserver\":180,\"bytes_toclient\":140,"
            "\"start\":\"2024-01-01T12:00:00.000000+0000\",\"end\":\"2024-01-01T12:00:03.250000+0000\",\"age\":3,"
            "\"state\":\"closed\",\"reason\":\"timeout\",\"alerted\":false},"
            "\"tcp\":{\"tcp_flags\":\"1b\",\"tcp_flags_ts\":\"1b\",\"tcp_flags_tc\":\"13\",\"syn\":true,\"fin\":true,"
            "\"psh\":true,\"ack\":true,\"state\":\"closed\"}}\n");
  expect_json_shape(s);
}

TEST(Eve, InitiatorOrderIsKept) {
  // The record's src is the initiator even when it sorts higher.
  FlowRecord r = tcp_record();
  set_addr(r.src, pb::ip4("192.168.1.200"));
  set_addr(r.dst, pb::ip4("10.0.0.1"));
  r.sport = 5000;
  r.dport = 22;
  std::string s = line(r);
  EXPECT_TRUE(has(s, "\"src_ip\":\"192.168.1.200\",\"src_port\":5000,\"dest_ip\":\"10.0.0.1\",\"dest_port\":22,")) << s;
}

TEST(Eve, TcpFlagBooleansOnlyWhenSet) {
  FlowRecord r = tcp_record();
  r.tcp_flags_ts = kRst | kUrg;
  r.tcp_flags_tc = kEce | kCwr;
  r.tcp_state = TcpState::kEstablished;
  r.flags |= kFlowAlerted;
  r.reason = EndReason::kForced;
  std::string s = line(r);
  EXPECT_TRUE(has(s, "\"tcp\":{\"tcp_flags\":\"e4\",\"tcp_flags_ts\":\"24\",\"tcp_flags_tc\":\"c0\","
                     "\"rst\":true,\"urg\":true,\"ecn\":true,\"cwr\":true,\"state\":\"established\"}")) << s;
  for (const char* absent : {"\"syn\"", "\"fin\"", "\"psh\"", "\"ack\""}) EXPECT_FALSE(has(s, absent)) << absent;
  EXPECT_TRUE(has(s, "\"state\":\"established\",\"reason\":\"forced\",\"alerted\":true}")) << s;

  r.tcp_flags_ts = r.tcp_flags_tc = 0;
  r.tcp_state = TcpState::kSynSent;
  r.reason = EndReason::kShutdown;
  s = line(r);
  EXPECT_TRUE(has(s, "\"tcp\":{\"tcp_flags\":\"00\",\"tcp_flags_ts\":\"00\",\"tcp_flags_tc\":\"00\",\"state\":\"syn_sent\"}"))
      << s;
  EXPECT_TRUE(has(s, "\"state\":\"new\",\"reason\":\"shutdown\"")) << s;
  expect_json_shape(s);
}

TEST(Eve, VlanList) {
  FlowRecord r = tcp_record();
  EXPECT_FALSE(has(line(r), "vlan"));
  r.vlan[0] = 0x1000 | 100;
  EXPECT_TRUE(has(line(r), "\"proto\":\"TCP\",\"ip_v\":4,\"vlan\":[100],\"flow\":{")) << line(r);
  r.vlan[0] = 0x1000 | 200;
  r.vlan[1] = 0x1000 | 100;
  EXPECT_TRUE(has(line(r), "\"vlan\":[200,100],")) << line(r);
  r.vlan[0] = 0x1000;  // VID 0 (priority tag) is still a tag
  r.vlan[1] = 0;
  EXPECT_TRUE(has(line(r), "\"vlan\":[0],")) << line(r);
  expect_json_shape(line(r));
}

TEST(Eve, IcmpHasTypeAndNoPorts) {
  FlowRecord r{};
  r.flow_id = 9;
  r.first_ts = kNoon2024;
  r.last_ts = kNoon2024 + kSec;
  r.pkts[0] = r.pkts[1] = 1;
  r.bytes[0] = r.bytes[1] = 98;
  set_addr(r.src, pb::ip4("10.1.1.1"));
  set_addr(r.dst, pb::ip4("8.8.8.8"));
  r.sport = r.dport = 0x0800;
  r.ip_ver = 4;
  r.proto = 1;
  r.icmp_type = 8;
  r.flags = kFlowSeenToServer | kFlowSeenToClient;
  std::string s = line(r);
  EXPECT_TRUE(has(s, "\"src_ip\":\"10.1.1.1\",\"dest_ip\":\"8.8.8.8\",\"proto\":\"ICMP\",\"ip_v\":4,\"icmp_type\":8,\"icmp_code\":0,"))
      << s;
  EXPECT_FALSE(has(s, "_port"));
  EXPECT_FALSE(has(s, "\"tcp\""));
  EXPECT_TRUE(has(s, "\"age\":1,\"state\":\"established\"")) << s;
  r.flags = kFlowSeenToServer;
  EXPECT_TRUE(has(line(r), "\"state\":\"new\"")) << line(r);
  expect_json_shape(s);
}

TEST(Eve, Ipv6AddressesAndProtoNames) {
  FlowRecord r{};
  r.ip_ver = 6;
  r.proto = 58;
  r.icmp_type = 128;
  set_addr(r.src, pb::ip6("2001:db8::1"));
  set_addr(r.dst, pb::ip6("fe80::1:0:0:2"));
  std::string s = line(r);
  // Suricata's form: eight zero-padded groups, never "::" (util-print.c).
  EXPECT_TRUE(has(s, "\"src_ip\":\"2001:0db8:0000:0000:0000:0000:0000:0001\","
                     "\"dest_ip\":\"fe80:0000:0000:0000:0001:0000:0000:0002\",\"proto\":\"IPv6-ICMP\",\"ip_v\":6,"
                     "\"icmp_type\":128,"))
      << s;
  set_addr(r.src, pb::ip6("::1"));
  set_addr(r.dst, pb::ip6("::ffff:192.0.2.1"));
  r.proto = 17;
  r.sport = 53;
  r.dport = 5353;
  s = line(r);
  EXPECT_TRUE(has(s, "\"src_ip\":\"0000:0000:0000:0000:0000:0000:0000:0001\",\"src_port\":53,"
                     "\"dest_ip\":\"0000:0000:0000:0000:0000:ffff:c000:0201\",\"dest_port\":5353,\"proto\":\"UDP\""))
      << s;
  set_addr(r.src, pb::ip6("abcd:ef01:2345:6789:fedc:ba98:7654:3210"));
  EXPECT_TRUE(has(line(r), "\"src_ip\":\"abcd:ef01:2345:6789:fedc:ba98:7654:3210\"")) << line(r);

  char buf[8];
  EXPECT_STREQ(proto_name(6, buf), "TCP");
  EXPECT_STREQ(proto_name(132, buf), "SCTP");
  EXPECT_STREQ(proto_name(47, buf), "GRE");
  EXPECT_STREQ(proto_name(253, buf), "253");
  EXPECT_STREQ(proto_name(7, buf), "007");
  r.proto = 132;
  EXPECT_TRUE(has(line(r), "\"src_port\":53")) << line(r);  // SCTP has ports
}

TEST(Eve, StateNames) {
  EXPECT_STREQ(tcp_state_name(TcpState::kNone), "none");
  EXPECT_STREQ(tcp_state_name(TcpState::kSynRecv), "syn_recv");
  EXPECT_STREQ(tcp_state_name(TcpState::kFinWait1), "fin_wait1");
  FlowRecord r{};
  r.proto = 6;
  r.tcp_state = TcpState::kFinWait1;
  EXPECT_STREQ(flow_state_name(r), "established");
  r.tcp_state = TcpState::kSynRecv;
  EXPECT_STREQ(flow_state_name(r), "new");
  r.tcp_state = TcpState::kClosed;
  EXPECT_STREQ(flow_state_name(r), "closed");
  r.proto = 17;
  r.flags = kFlowSeenToClient;
  EXPECT_STREQ(flow_state_name(r), "new");
}

AlertRecord alert_record() {
  AlertRecord a{};
  a.kind = AlertRecord::kAlert;
  a.ts_ns = kNoon2024;
  a.flow_id = 77;
  set_addr(a.src, pb::ip4("10.0.0.1"));
  set_addr(a.dst, pb::ip4("10.0.0.2"));
  a.sport = 40000;
  a.dport = 80;
  a.ip_ver = 4;
  a.proto = 6;
  a.has_flow = true;
  a.to_server = true;
  a.gid = 1;
  a.sid = 2018358;
  a.rev = 10;
  a.severity = 2;
  std::strcpy(a.msg, "m");
  std::strcpy(a.metadata, "{\"created_at\":[\"2014_01_01\"],\"tag\":[\"a\",\"b\"]}");
  return a;
}
std::string alert_line(const AlertRecord& a) {
  fmt::memory_buffer b;
  format_alert(b, a);
  return fmt::to_string(b);
}

TEST(EveAlert, PcapCntOnlyForRealPackets) {
  AlertRecord a = alert_record();
  a.pcap_cnt = 53381;
  a.pkt_src = kPktSrcWire;
  std::string s = alert_line(a);
  EXPECT_TRUE(has(s, "\"flow_id\":77,\"pcap_cnt\":53381,\"event_type\":\"alert\",")) << s;
  EXPECT_TRUE(has(s, "\"proto\":\"TCP\",\"ip_v\":4,\"pkt_src\":\"wire/pcap\",")) << s;
  EXPECT_TRUE(has(s, "\"signature_id\":2018358,\"rev\":10,")) << s;
  EXPECT_TRUE(has(s, "\"metadata\":{\"created_at\":[\"2014_01_01\"],\"tag\":[\"a\",\"b\"]}}")) << s;
  expect_json_shape(s);
  a.pcap_cnt = 0;  // live mode, or a flow-timeout record
  a.pkt_src = kPktSrcNone;
  s = alert_line(a);
  EXPECT_FALSE(has(s, "pcap_cnt")) << s;
  EXPECT_TRUE(has(s, "\"pkt_src\":\"stream (flow timeout)\"")) << s;
  a.pkt_src = kPktSrcDefrag;
  EXPECT_TRUE(has(alert_line(a), "\"pkt_src\":\"defrag\"")) << alert_line(a);
  a.metadata[0] = 0;
  EXPECT_FALSE(has(alert_line(a), "metadata"));
}

TEST(EveAlert, AppEventHasPcapCntAndIpvButNoPktSrc) {
  AlertRecord a = alert_record();
  a.kind = AlertRecord::kAppTx;
  a.ip_ver = 6;
  set_addr(a.src, pb::ip6("2001:db8::1"));
  set_addr(a.dst, pb::ip6("2001:db8::2"));
  a.pcap_cnt = 4;
  a.pkt_src = kPktSrcWire;
  a.app_proto = uint8_t(rules::AppProto::kHttp);
  fmt::memory_buffer b;
  format_app_event(b, a);
  std::string s = fmt::to_string(b);
  EXPECT_TRUE(has(s, "\"flow_id\":77,\"pcap_cnt\":4,\"event_type\":\"http\",")) << s;
  EXPECT_TRUE(has(s, "\"src_ip\":\"2001:0db8:0000:0000:0000:0000:0000:0001\"")) << s;
  EXPECT_TRUE(has(s, "\"ip_v\":6")) << s;
  EXPECT_FALSE(has(s, "pkt_src")) << s;
}

}  // namespace
}  // namespace spectre

namespace spectre {
namespace {
// RFC 4648 test vectors through the alert's payload; packet with linktype 101.
TEST(EveAlert, PayloadAndPacketBase64) {
  AlertRecord a{};
  a.ip_ver = 4;
  a.proto = 17;
  a.pkt_src = kPktSrcWire;
  fmt::memory_buffer b;
  format_alert(b, a);
  std::string s = fmt::to_string(b);
  EXPECT_EQ(s.find("payload"), std::string::npos) << s;
  EXPECT_EQ(s.find("packet"), std::string::npos) << s;
  const std::pair<const char*, const char*> v[] = {
      {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (auto [in, want] : v) {
    a.payload_len = uint16_t(std::strlen(in));
    std::memcpy(a.x.raw.payload, in, a.payload_len);
    a.payload_stream = a.payload_len % 2;
    b.clear();
    format_alert(b, a);
    s = fmt::to_string(b);
    EXPECT_NE(s.find(std::string("\"payload\":\"") + want + "\",\"stream\":" + (a.payload_stream ? "1" : "0")),
              std::string::npos) << s;
  }
  const uint8_t pkt[] = {0x45, 0x00, 0xff, 0xfe};
  a.packet_len = sizeof pkt;
  std::memcpy(a.x.raw.packet, pkt, sizeof pkt);
  b.clear();
  format_alert(b, a);
  s = fmt::to_string(b);
  EXPECT_NE(s.find("\"packet\":\"RQD//g==\",\"packet_info\":{\"linktype\":101}"), std::string::npos) << s;
}
}  // namespace
}  // namespace spectre

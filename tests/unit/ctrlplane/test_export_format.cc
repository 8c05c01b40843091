// Exporter formats: EVE JSON from structs, CEF/LEEF escaping (checked by an
// independent parser on nasty strings), RFC 5424 headers, severity mapping.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "ctrlplane/export/event.h"
#include "ctrlplane/export/siem_format.h"
#include "ml/json.h"

using namespace spectre::exporter;
namespace mj = spectre::ml::json;

namespace {

const std::string kNasty = "a|b\\c=d\ne\rf\tg \"q\" =\\| \xc3\xbcnicode end\\";

CpAlert sample_alert() {
  CpAlert a;
  a.ts_ns = 1700000000123456789ull;
  a.flow_id = 1234567890123ull;
  a.src_ip = "10.0.0.1";
  a.dst_ip = "192.168.1.2";
  a.src_port = 40000;
  a.dst_port = 80;
  a.proto = "TCP";
  a.app_proto = "http";
  a.direction = "to_server";
  a.gid = 1;
  a.sid = 2019401;
  a.rev = 3;
  a.signature = "ET POLICY \"quoted\" sig";
  a.category = "Potentially Bad Traffic";
  a.severity = 2;
  return a;
}

std::string jstr(const mj::Doc& d, uint32_t obj, std::string_view k) {
  uint32_t i = d.find(obj, k);
  return i == mj::kNone ? "<missing>" : d.str(i);
}
int64_t jint(const mj::Doc& d, uint32_t obj, std::string_view k) {
  int64_t v = -1;
  uint32_t i = d.find(obj, k);
  if (i != mj::kNone) d.to_int(i, v);
  return v;
}

// --- independent CEF / LEEF parsers (spec rules, not the formatter's code) ---
std::vector<std::string> split_header(const std::string& s, size_t fields, size_t* rest) {
  std::vector<std::string> out;
  std::string cur;
  size_t i = 0;
  for (; i < s.size() && out.size() < fields; i++) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      cur.push_back(s[++i]);
    } else if (s[i] == '|') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(s[i]);
    }
  }
  *rest = i;
  return out;
}

std::string unescape(const std::string& v) {
  std::string o;
  for (size_t i = 0; i < v.size(); i++) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      char c = v[++i];
      o.push_back(c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c);
    } else {
      o.push_back(v[i]);
    }
  }
  return o;
}

std::map<std::string, std::string> cef_ext(const std::string& ext) {
  // Positions of unescaped '=': each ends a key that starts after the last space.
  std::vector<size_t> eq;
  for (size_t i = 0; i < ext.size(); i++) {
    if (ext[i] == '\\') i++;
    else if (ext[i] == '=') eq.push_back(i);
  }
  std::map<std::string, std::string> kv;
  for (size_t k = 0; k < eq.size(); k++) {
    size_t ks = ext.rfind(' ', eq[k]);
    ks = ks == std::string::npos ? 0 : ks + 1;
    std::string key = ext.substr(ks, eq[k] - ks);
    size_t vend = ext.size();
    if (k + 1 < eq.size()) vend = ext.rfind(' ', eq[k + 1]);
    kv[key] = unescape(ext.substr(eq[k] + 1, vend - eq[k] - 1));
  }
  return kv;
}

}  // namespace

TEST(ExportFormat, EveAlertFieldsParse) {
  CpAlert a = sample_alert();
  a.signature = kNasty;
  a.ml = CpMl{"xgb", "2026.1", 0.97, 0.5, "scan", "k4", {{"syn_ratio", 0.9, 1.25}, {"dport_entropy", 3.5, -0.5}}};
  std::string line;
  format_eve(line, a);
  ASSERT_EQ(line.back(), '\n');
  ASSERT_EQ(line.find('\n'), line.size() - 1);  // one line, escapes kept it so
  mj::Doc d;
  std::string err;
  ASSERT_TRUE(d.parse(line, err)) << err << "\n" << line;
  EXPECT_EQ(jstr(d, 0, "timestamp"), "2023-11-14T22:13:20.123456+0000");
  EXPECT_EQ(jint(d, 0, "flow_id"), 1234567890123);
  EXPECT_EQ(jstr(d, 0, "event_type"), "alert");
  EXPECT_EQ(jstr(d, 0, "src_ip"), "10.0.0.1");
  EXPECT_EQ(jint(d, 0, "src_port"), 40000);
  EXPECT_EQ(jstr(d, 0, "dest_ip"), "192.168.1.2");
  EXPECT_EQ(jint(d, 0, "dest_port"), 80);
  EXPECT_EQ(jstr(d, 0, "proto"), "TCP");
  EXPECT_EQ(jstr(d, 0, "app_proto"), "http");
  EXPECT_EQ(jstr(d, 0, "direction"), "to_server");
  uint32_t al = d.find(0, "alert");
  ASSERT_NE(al, mj::kNone);
  EXPECT_EQ(jstr(d, al, "action"), "allowed");
  EXPECT_EQ(jint(d, al, "gid"), 1);
  EXPECT_EQ(jint(d, al, "signature_id"), 2019401);
  EXPECT_EQ(jint(d, al, "rev"), 3);
  EXPECT_EQ(jstr(d, al, "signature"), kNasty);
  EXPECT_EQ(jint(d, al, "severity"), 2);
  uint32_t ml = d.find(0, "ml");
  ASSERT_NE(ml, mj::kNone);
  EXPECT_EQ(jstr(d, ml, "class"), "scan");
  EXPECT_EQ(jstr(d, ml, "phase"), "k4");
  double sc = 0;
  ASSERT_TRUE(d.to_double(d.find(ml, "score"), sc));
  EXPECT_DOUBLE_EQ(sc, 0.97);
  uint32_t tf = d.find(ml, "top_features");
  ASSERT_EQ(d.size(tf), 2u);
  EXPECT_EQ(jstr(d, d.first(tf), "name"), "syn_ratio");
}

TEST(ExportFormat, EveAlertNoPortsForIcmpAndPassThrough) {
  CpAlert a = sample_alert();
  a.proto = "ICMP";
  std::string line;
  format_eve(line, a);
  EXPECT_EQ(line.find("src_port"), std::string::npos);
  a.eve_json = "{\"event_type\":\"alert\",\"x\":1}";
  std::string p;
  format_eve(p, a);
  EXPECT_EQ(p, a.eve_json + "\n");
}

TEST(ExportFormat, EveFlowFieldsParse) {
  CpFlow f;
  f.flow_id = 7;
  f.src_ip = "2001:db8::1";
  f.dst_ip = "2001:db8::2";
  f.src_port = 1;
  f.dst_port = 443;
  f.proto = "TCP";
  f.app_proto = "tls";
  f.pkts_toserver = 5;
  f.pkts_toclient = 4;
  f.bytes_toserver = 500;
  f.bytes_toclient = 4000;
  f.start_ns = 1700000000000000000ull;
  f.end_ns = 1700000003500000000ull;
  f.state = "closed";
  f.reason = "timeout";
  f.alerted = true;
  f.tcp_flags_ts = 0x1b;
  f.tcp_flags_tc = 0x12;
  f.tcp_state = "closed";
  std::string line;
  format_eve(line, f);
  mj::Doc d;
  std::string err;
  ASSERT_TRUE(d.parse(line, err)) << err << "\n" << line;
  EXPECT_EQ(jstr(d, 0, "event_type"), "flow");
  uint32_t fl = d.find(0, "flow");
  EXPECT_EQ(jint(d, fl, "pkts_toserver"), 5);
  EXPECT_EQ(jint(d, fl, "bytes_toclient"), 4000);
  EXPECT_EQ(jint(d, fl, "age"), 3);
  EXPECT_EQ(jstr(d, fl, "state"), "closed");
  EXPECT_EQ(d.raw(d.find(fl, "alerted")), "true");
  uint32_t tcp = d.find(0, "tcp");
  EXPECT_EQ(jstr(d, tcp, "tcp_flags"), "1b");
  EXPECT_EQ(d.raw(d.find(tcp, "syn")), "true");
  EXPECT_EQ(d.find(tcp, "rst"), mj::kNone);
}

TEST(ExportFormat, SeverityMapping) {
  EXPECT_EQ(syslog_severity(1), 2);
  EXPECT_EQ(syslog_severity(2), 3);
  EXPECT_EQ(syslog_severity(3), 4);
  EXPECT_EQ(syslog_severity(4), 5);
  EXPECT_EQ(syslog_severity(0), 5);
  EXPECT_EQ(cef_severity(1), 10);
  EXPECT_EQ(cef_severity(3), 5);
  EXPECT_EQ(leef_severity(2), 7);
  EXPECT_EQ(leef_severity(200), 3);
}

TEST(ExportFormat, CefEscapingRoundTrips) {
  CpAlert a = sample_alert();
  a.signature = kNasty;
  a.category = kNasty;
  a.app_proto = "h=t|t\\p";
  a.ml = CpMl{"m|x", "v=1", 0.75, 0.5, kNasty, "end", {}};
  std::string s;
  format_cef(s, a, "0.1|0");
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s.find('\r'), std::string::npos);
  size_t rest = 0;
  auto h = split_header(s, 7, &rest);
  ASSERT_EQ(h.size(), 7u) << s;
  EXPECT_EQ(h[0], "CEF:0");
  EXPECT_EQ(h[1], "InfraSpectre");
  EXPECT_EQ(h[2], "spectre");
  EXPECT_EQ(h[3], "0.1|0");
  EXPECT_EQ(h[4], "1:2019401");
  std::string sig_hdr = kNasty;  // header: CR/LF become spaces
  for (char& c : sig_hdr)
    if (c == '\n' || c == '\r') c = ' ';
  EXPECT_EQ(h[5], sig_hdr);
  EXPECT_EQ(h[6], "7");
  auto kv = cef_ext(s.substr(rest));
  EXPECT_EQ(kv["src"], "10.0.0.1");
  EXPECT_EQ(kv["dst"], "192.168.1.2");
  EXPECT_EQ(kv["spt"], "40000");
  EXPECT_EQ(kv["dpt"], "80");
  EXPECT_EQ(kv["proto"], "TCP");
  EXPECT_EQ(kv["cat"], kNasty);
  EXPECT_EQ(kv["act"], "allowed");
  EXPECT_EQ(kv["rt"], "1700000000123");
  EXPECT_EQ(kv["cs1Label"], "flowId");
  EXPECT_EQ(kv["cs1"], "1234567890123");
  EXPECT_EQ(kv["cs2"], "h=t|t\\p");
  EXPECT_EQ(kv["cs3"], "m|x v=1");
  EXPECT_EQ(kv["cs4"], kNasty);
  EXPECT_EQ(kv["cfp1"], "0.75");
}

TEST(ExportFormat, CefIpv6UsesC6aFields) {
  CpAlert a = sample_alert();
  a.src_ip = "2001:db8::1";
  a.dst_ip = "fe80::2";
  std::string s;
  format_cef(s, a, "1");
  size_t rest = 0;
  split_header(s, 7, &rest);
  auto kv = cef_ext(s.substr(rest));
  EXPECT_EQ(kv["c6a2"], "2001:db8::1");
  EXPECT_EQ(kv["c6a3"], "fe80::2");
  EXPECT_EQ(kv.count("src"), 0u);
}

TEST(ExportFormat, LeefEscapingRoundTrips) {
  CpAlert a = sample_alert();
  a.signature = kNasty;
  a.category = kNasty;
  a.action = "would drop";
  std::string s;
  format_leef(s, a, "2|x");
  EXPECT_EQ(s.find('\n'), std::string::npos);
  size_t rest = 0;
  auto h = split_header(s, 6, &rest);
  ASSERT_EQ(h.size(), 6u) << s;
  EXPECT_EQ(h[0], "LEEF:2.0");
  EXPECT_EQ(h[1], "InfraSpectre");
  EXPECT_EQ(h[2], "spectre");
  EXPECT_EQ(h[3], "2|x");
  EXPECT_EQ(h[4], "1:2019401");
  EXPECT_EQ(h[5], "x09");
  std::map<std::string, std::string> kv;
  std::string attrs = s.substr(rest);
  size_t p = 0;
  int n = 0;
  while (p <= attrs.size()) {
    size_t t = attrs.find('\t', p);
    std::string f = attrs.substr(p, t == std::string::npos ? std::string::npos : t - p);
    size_t eq = f.find('=');
    ASSERT_NE(eq, std::string::npos) << f;
    kv[f.substr(0, eq)] = unescape(f.substr(eq + 1));
    n++;
    if (t == std::string::npos) break;
    p = t + 1;
  }
  EXPECT_EQ(size_t(n), kv.size());  // no key twice, no stray tab
  EXPECT_EQ(kv["src"], "10.0.0.1");
  EXPECT_EQ(kv["dst"], "192.168.1.2");
  EXPECT_EQ(kv["srcPort"], "40000");
  EXPECT_EQ(kv["dstPort"], "80");
  EXPECT_EQ(kv["proto"], "TCP");
  EXPECT_EQ(kv["sev"], "7");
  EXPECT_EQ(kv["cat"], kNasty);
  EXPECT_EQ(kv["sigName"], kNasty);
  EXPECT_EQ(kv["action"], "would drop");
  EXPECT_EQ(kv["devTime"], "1700000000123");
}

TEST(ExportFormat, Rfc5424Header) {
  std::string m;
  format_rfc5424_header(m, 16, 3, 1700000000123456789ull, "my host", "", "42", "alert");
  m += "payload";
  std::smatch r;
  std::regex re(R"(^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-) (.*)$)");
  ASSERT_TRUE(std::regex_match(m, r, re)) << m;
  EXPECT_EQ(r[1], "131");  // 16*8+3
  EXPECT_EQ(r[2], "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(r[3], "my_host");
  EXPECT_EQ(r[4], "-");
  EXPECT_EQ(r[5], "42");
  EXPECT_EQ(r[6], "alert");
  EXPECT_EQ(r[8], "payload");
  std::string f;
  frame_octet_counting(f, "hello world");
  EXPECT_EQ(f, "11 hello world");
}

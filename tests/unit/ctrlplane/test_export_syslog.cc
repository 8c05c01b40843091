// SyslogSink against local listeners: RFC 5424 header fields parsed back,
// UDP datagrams, TCP octet-counting frames, reconnects, unix datagrams,
// CEF/LEEF payloads with nasty strings, overflow and bad addresses.
#include <gtest/gtest.h>
#include <sys/un.h>

#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "ctrlplane/export/syslog_sink.h"
#include "ctrlplane/export/siem_format.h"
#include "ml/json.h"
#include "tests/unit/ctrlplane/test_export_net.h"

using namespace spectre::exporter;
using namespace export_test;

namespace {

const std::string kNasty = "x|y\\z=w\nv\tu \"q\" \\= end\\";

CpAlert alert(int i, uint32_t sev = 1) {
  CpAlert a;
  a.ts_ns = 1700000000000000000ull + uint64_t(i) * 1000;
  a.flow_id = uint64_t(i);
  a.src_ip = "10.1.1.1";
  a.dst_ip = "10.2.2.2";
  a.src_port = 1234;
  a.dst_port = 22;
  a.proto = "TCP";
  a.sid = 1000 + uint32_t(i);
  a.rev = 1;
  a.signature = "sig " + std::to_string(i) + " " + kNasty;
  a.category = kNasty;
  a.severity = sev;
  return a;
}

struct Syslog5424 {
  int pri = -1;
  std::string ts, host, app, procid, msgid, sd, msg;
};

bool parse5424(const std::string& m, Syslog5424* out) {
  static const std::regex re(R"(^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[[^\]]*\]) ([\s\S]*)$)");
  std::smatch r;
  if (!std::regex_match(m, r, re)) return false;
  out->pri = std::stoi(r[1]);
  out->ts = r[2];
  out->host = r[3];
  out->app = r[4];
  out->procid = r[5];
  out->msgid = r[6];
  out->sd = r[7];
  out->msg = r[8];
  return true;
}

// RFC 6587 octet counting: "LEN SP MSG"...; false on a malformed frame.
bool split_frames(const std::string& s, std::vector<std::string>* out) {
  size_t p = 0;
  while (p < s.size()) {
    size_t sp = s.find(' ', p);
    if (sp == std::string::npos || sp == p || sp - p > 6) return false;
    for (size_t i = p; i < sp; i++)
      if (s[i] < '0' || s[i] > '9') return false;
    size_t len = std::stoul(s.substr(p, sp - p));
    if (sp + 1 + len > s.size()) return false;
    out->push_back(s.substr(sp + 1, len));
    p = sp + 1 + len;
  }
  return true;
}

int accept_for(int lfd, int ms) {
  pollfd p{lfd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return -1;
  return ::accept(lfd, nullptr, nullptr);
}

}  // namespace

TEST(ExportSyslog, UdpJsonRfc5424Fields) {
  uint16_t port = 0;
  int fd = bind_loopback(SOCK_DGRAM, &port);
  ASSERT_GE(fd, 0);
  SyslogOptions o;
  o.transport = SyslogTransport::kUdp;
  o.port = port;
  o.hostname = "ids-01";
  o.facility = 16;
  SyslogSink s(o);
  std::string err;
  ASSERT_TRUE(s.start(&err)) << err;
  for (int i = 0; i < 3; i++) s.send(alert(i, uint32_t(i + 1)));
  for (int i = 0; i < 3; i++) {
    std::string dg = read_for(fd, 2000, 1);
    Syslog5424 m;
    ASSERT_TRUE(parse5424(dg, &m)) << dg;
    EXPECT_EQ(m.pri, 16 * 8 + syslog_severity(uint32_t(i + 1)));
    EXPECT_EQ(m.ts, "2023-11-14T22:13:20.00000" + std::to_string(i) + "Z");
    EXPECT_EQ(m.host, "ids-01");
    EXPECT_EQ(m.app, "spectre");
    EXPECT_EQ(m.procid, std::to_string(getpid()));
    EXPECT_EQ(m.msgid, "alert");
    EXPECT_EQ(m.sd, "-");
    std::string want;
    format_eve(want, alert(i, uint32_t(i + 1)));
    want.pop_back();
    EXPECT_EQ(m.msg, want);
    spectre::ml::json::Doc d;
    EXPECT_TRUE(d.parse(m.msg, err)) << err;
  }
  // Pass-through line keeps its bytes; flows use MSGID "flow".
  s.send_line("{\"event_type\":\"stats\"}\n", 1700000000000000000ull);
  CpFlow f;
  f.proto = "UDP";
  s.send(f);
  Syslog5424 m;
  ASSERT_TRUE(parse5424(read_for(fd, 2000, 1), &m));
  EXPECT_EQ(m.msg, "{\"event_type\":\"stats\"}");
  EXPECT_EQ(m.pri, 16 * 8 + 6);
  EXPECT_EQ(m.msgid, "eve");
  ASSERT_TRUE(parse5424(read_for(fd, 2000, 1), &m));
  EXPECT_EQ(m.msgid, "flow");
  s.stop();
  EXPECT_EQ(s.stats().sent, 5u);
  EXPECT_EQ(s.stats().dropped, 0u);
  ::close(fd);
}

TEST(ExportSyslog, TcpOctetCountingCef) {
  uint16_t port = 0;
  int lfd = bind_loopback(SOCK_STREAM, &port);
  SyslogOptions o;
  o.transport = SyslogTransport::kTcp;
  o.port = port;
  o.format = SyslogFormat::kCef;
  o.version = "9.9|9";
  SyslogSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  const int n = 50;
  for (int i = 0; i < n; i++) s.send(alert(i));
  int c = accept_for(lfd, 3000);
  ASSERT_GE(c, 0);
  std::string data;
  std::vector<std::string> frames;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < end) {
    data += read_for(c, 100);
    frames.clear();
    if (split_frames(data, &frames) && frames.size() == size_t(n)) break;
  }
  ASSERT_TRUE(split_frames(data, &(frames = {})));
  ASSERT_EQ(frames.size(), size_t(n));
  for (int i = 0; i < n; i++) {
    Syslog5424 m;
    ASSERT_TRUE(parse5424(frames[size_t(i)], &m)) << frames[size_t(i)];
    EXPECT_EQ(m.pri, 16 * 8 + 2);
    std::string want;
    format_cef(want, alert(i), "9.9|9");
    EXPECT_EQ(m.msg, want);
    EXPECT_EQ(m.msg.rfind("CEF:0|InfraSpectre|spectre|9.9\\|9|1:" + std::to_string(1000 + i) + "|sig ", 0), 0u);
    EXPECT_NE(m.msg.find(" cat=x|y\\\\z\\=w\\nv\tu \"q\" \\\\\\= end\\\\ "), std::string::npos) << m.msg;
  }
  s.stop();
  EXPECT_EQ(s.stats().sent, uint64_t(n));
  ::close(c);
  ::close(lfd);
}

TEST(ExportSyslog, TcpReconnectsAfterPeerClose) {
  uint16_t port = 0;
  int lfd = bind_loopback(SOCK_STREAM, &port);
  SyslogOptions o;
  o.transport = SyslogTransport::kTcp;
  o.port = port;
  o.format = SyslogFormat::kLeef;
  SyslogSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  s.send(alert(1));
  int c1 = accept_for(lfd, 3000);
  ASSERT_GE(c1, 0);
  std::vector<std::string> f1;
  ASSERT_TRUE(split_frames(read_for(c1, 300), &f1));
  ASSERT_EQ(f1.size(), 1u);
  ::close(c1);  // the collector restarts
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  s.send(alert(2));
  int c2 = accept_for(lfd, 3000);
  ASSERT_GE(c2, 0);
  std::vector<std::string> f2;
  ASSERT_TRUE(split_frames(read_for(c2, 300), &f2));
  ASSERT_EQ(f2.size(), 1u);
  Syslog5424 m;
  ASSERT_TRUE(parse5424(f2[0], &m));
  EXPECT_EQ(m.msg.rfind("LEEF:2.0|InfraSpectre|spectre|0.1.0|1:1002|x09|", 0), 0u) << m.msg;
  EXPECT_NE(m.msg.find("\tcat=x|y\\\\z=w\\nv\\tu \"q\" \\\\= end\\\\\t"), std::string::npos) << m.msg;
  s.stop();
  EXPECT_EQ(s.stats().reconnects, 2u);
  EXPECT_EQ(s.stats().sent, 2u);
  ::close(c2);
  ::close(lfd);
}

TEST(ExportSyslog, UnixDatagram) {
  std::string path = "/tmp/export_syslog_" + std::to_string(getpid()) + ".sock";
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.c_str(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
  SyslogOptions o;
  o.transport = SyslogTransport::kUnix;
  o.unix_path = path;
  SyslogSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  s.send_line("{\"a\":1}", 0, 4, "eve");
  Syslog5424 m;
  ASSERT_TRUE(parse5424(read_for(fd, 2000, 1), &m));
  EXPECT_EQ(m.msg, "{\"a\":1}");
  EXPECT_EQ(m.pri, 16 * 8 + 4);
  s.stop();
  ::close(fd);
  ::unlink(path.c_str());
}

TEST(ExportSyslog, QueueOverflowDropsOldestAndStopIsBounded) {
  uint16_t port = 0;
  int lfd = bind_loopback(SOCK_STREAM, &port);
  ::close(lfd);  // nothing listens: connections are refused
  SyslogOptions o;
  o.transport = SyslogTransport::kTcp;
  o.port = port;
  o.queue_max = 5;
  o.drain_ms = 100;
  SyslogSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  for (int i = 0; i < 20; i++) s.send(alert(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto t0 = std::chrono::steady_clock::now();
  s.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  auto st = s.stats();
  EXPECT_EQ(st.sent, 0u);
  EXPECT_EQ(st.dropped, 20u);  // 15 or 14 at enqueue, the rest at stop
  EXPECT_GT(st.send_errors, 0u);
  EXPECT_FALSE(s.send(alert(0)));  // stopped
}

TEST(ExportSyslog, BadDestinationsAreErrors) {
  SyslogOptions o;
  o.host = "no-such-host.invalid";
  SyslogSink s(o);
  std::string err;
  EXPECT_FALSE(s.start(&err));
  EXPECT_NE(err.find("no-such-host.invalid"), std::string::npos);
  SyslogOptions u;
  u.transport = SyslogTransport::kUnix;
  u.unix_path = std::string(200, 'a');
  SyslogSink su(u);
  EXPECT_FALSE(su.start(&err));
  SyslogOptions c;
  c.format = SyslogFormat::kCef;
  c.port = 9;
  SyslogSink sc(c);
  ASSERT_TRUE(sc.start(nullptr));
  EXPECT_FALSE(sc.send(CpFlow{}));  // flows only as JSON
  EXPECT_EQ(sc.stats().skipped, 1u);
}

// Live settings (PUT /api/v1/siem): a running sink moves from one UDP
// receiver in JSON to another in CEF with min_level high; what was sent
// before stays with the first receiver, later alerts below high are filtered.
TEST(ExportSyslog, ReconfigureMovesTargetFormatAndLevel) {
  uint16_t p1 = 0, p2 = 0;
  int fd1 = bind_loopback(SOCK_DGRAM, &p1), fd2 = bind_loopback(SOCK_DGRAM, &p2);
  ASSERT_GE(fd1, 0);
  ASSERT_GE(fd2, 0);
  SyslogOptions o;
  o.port = p1;
  SyslogSink s(o);
  std::string err;
  ASSERT_TRUE(s.start(&err)) << err;
  for (int i = 0; i < 3; i++) EXPECT_TRUE(s.send(alert(i, uint32_t(i + 1))));
  ASSERT_TRUE(configure_syslog(s, "udp://127.0.0.1:" + std::to_string(p2), "cef", "high", err)) << err;
  for (int i = 3; i < 9; i++) s.send(alert(i, uint32_t(1 + i % 3)));  // priorities 1, 2, 3, 1, 2, 3
  for (int i = 0; i < 3; i++) {
    Syslog5424 m;
    ASSERT_TRUE(parse5424(read_for(fd1, 2000, 1), &m));
    EXPECT_EQ(m.msg.front(), '{') << m.msg;
  }
  EXPECT_EQ(read_for(fd1, 200), "");
  std::vector<std::string> cef;
  for (std::string dg; !(dg = read_for(fd2, 500, 1)).empty();) {
    Syslog5424 m;
    ASSERT_TRUE(parse5424(dg, &m)) << dg;
    cef.push_back(m.msg);
  }
  ASSERT_EQ(cef.size(), 2u);
  EXPECT_EQ(cef[0].rfind("CEF:0|InfraSpectre|spectre|", 0), 0u) << cef[0];
  EXPECT_NE(cef[0].find("|1:1003|"), std::string::npos) << cef[0];
  EXPECT_NE(cef[1].find("|1:1006|"), std::string::npos) << cef[1];
  EXPECT_EQ(s.stats().filtered, 4u);
  EXPECT_EQ(s.stats().reconfigured, 1u);
  EXPECT_EQ(s.options().format, SyslogFormat::kCef);
  // Off ("" target), then on again: nothing is sent while off.
  ASSERT_TRUE(configure_syslog(s, "", "json", "info", err));
  EXPECT_FALSE(s.send(alert(20, 1)));
  ASSERT_TRUE(configure_syslog(s, "udp://127.0.0.1:" + std::to_string(p1), "leef", "info", err));
  EXPECT_TRUE(s.send(alert(21, 3)));
  Syslog5424 m;
  ASSERT_TRUE(parse5424(read_for(fd1, 2000, 1), &m));
  EXPECT_EQ(m.msg.rfind("LEEF:2.0|", 0), 0u) << m.msg;
  EXPECT_EQ(read_for(fd2, 200), "");
  s.stop();
  EXPECT_EQ(s.stats().dropped, 0u);
  ::close(fd1);
  ::close(fd2);
}

// Messages queued for a TCP receiver before a change go there first (in the
// format they were built in); the ones built after go to the new receiver.
TEST(ExportSyslog, ReconfigureDrainsQueuedToOldTargetFirst) {
  uint16_t tp = 0, up = 0;
  int lfd = bind_loopback(SOCK_STREAM, &tp), ufd = bind_loopback(SOCK_DGRAM, &up);
  ASSERT_GE(lfd, 0);
  ASSERT_GE(ufd, 0);
  SyslogOptions o;
  o.transport = SyslogTransport::kTcp;
  o.port = tp;
  SyslogSink s(o);
  std::string err;
  ASSERT_TRUE(s.start(&err)) << err;
  for (int i = 0; i < 200; i++) s.send(alert(i));
  ASSERT_TRUE(configure_syslog(s, "udp://127.0.0.1:" + std::to_string(up), "cef", "info", err)) << err;
  for (int i = 200; i < 210; i++) s.send(alert(i));
  int c = accept_for(lfd, 2000);
  ASSERT_GE(c, 0);
  std::string got = read_for(c, 1500);
  std::vector<std::string> frames;
  ASSERT_TRUE(split_frames(got, &frames));
  EXPECT_EQ(frames.size(), 200u);
  for (auto& f : frames) {
    Syslog5424 m;
    ASSERT_TRUE(parse5424(f, &m));
    EXPECT_EQ(m.msg.front(), '{');
  }
  int n_udp = 0;
  for (std::string dg; !(dg = read_for(ufd, 500, 1)).empty(); n_udp++) EXPECT_NE(dg.find("CEF:0|"), std::string::npos);
  EXPECT_EQ(n_udp, 10);
  EXPECT_EQ(s.stats().dropped, 0u);
  ::close(c);
  ::close(lfd);
  ::close(ufd);
}

// A dead TCP receiver with messages waiting: the change moves them to the new
// receiver (counted as rerouted) instead of retrying the old one forever.
TEST(ExportSyslog, ReconfigureReroutesFromADeadTarget) {
  uint16_t dead = 0, up = 0;
  int tmp = bind_loopback(SOCK_STREAM, &dead);
  ::close(tmp);  // nothing listens there now
  int ufd = bind_loopback(SOCK_DGRAM, &up);
  SyslogOptions o;
  o.transport = SyslogTransport::kTcp;
  o.port = dead;
  o.reconnect_max_ms = 200;
  SyslogSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  for (int i = 0; i < 3; i++) s.send(alert(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string err;
  ASSERT_TRUE(configure_syslog(s, "udp://127.0.0.1:" + std::to_string(up), "json", "info", err)) << err;
  s.send(alert(3));
  int n = 0;
  while (!read_for(ufd, 1500, 1).empty()) n++;
  EXPECT_EQ(n, 4);
  EXPECT_GE(s.stats().rerouted, 1u);
  EXPECT_EQ(s.stats().dropped, 0u);
  ::close(ufd);
}

TEST(ExportSyslog, TargetParsingAndBadChanges) {
  SyslogOptions o;
  std::string err;
  ASSERT_TRUE(parse_syslog_target("tcp://[::1]:6514", o, err)) << err;
  EXPECT_EQ(o.transport, SyslogTransport::kTcp);
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 6514);
  ASSERT_TRUE(parse_syslog_target("unix:/dev/log", o, err));
  EXPECT_EQ(o.unix_path, "/dev/log");
  ASSERT_TRUE(parse_syslog_target("", o, err));
  EXPECT_FALSE(o.enabled);
  for (std::string bad : {"udp://h", "udp://h:0", "udp://h:70000", "udp://h:5x", "udp://:514", "udp://a b:514",
                          "http://h:1", "unix:", "tcp//h:1"}) {
    err.clear();
    EXPECT_FALSE(parse_syslog_target(bad, o, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
  uint16_t p = 0;
  int fd = bind_loopback(SOCK_DGRAM, &p);
  SyslogOptions u;
  u.port = p;
  SyslogSink s(u);
  ASSERT_TRUE(s.start(nullptr));
  EXPECT_FALSE(configure_syslog(s, "udp://no-such-host.invalid:514", "json", "info", err));
  EXPECT_NE(err.find("no-such-host.invalid"), std::string::npos) << err;
  EXPECT_FALSE(configure_syslog(s, "udp://127.0.0.1:514", "xml", "info", err));
  EXPECT_FALSE(configure_syslog(s, "udp://127.0.0.1:514", "json", "loud", err));
  EXPECT_EQ(s.stats().reconfigured, 0u);  // nothing changed: still the first receiver
  s.send(alert(1));
  EXPECT_FALSE(read_for(fd, 2000, 1).empty());
  ::close(fd);
}

// One thread sends while another flips the settings between a JSON and a CEF
// receiver: every message arrives, each at the receiver of the settings it
// was built with (JSON at one, CEF at the other), none lost.
TEST(ExportSyslog, ReconfigureWhileSendingKeepsFormatAndTargetTogether) {
  uint16_t pj = 0, pc = 0;
  int fj = bind_loopback(SOCK_DGRAM, &pj), fc = bind_loopback(SOCK_DGRAM, &pc);
  int big = 8 << 20;
  setsockopt(fj, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(fc, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  std::atomic<int> json_ok{0}, cef_ok{0}, wrong{0};
  auto reader = [&](int fd, bool want_json) {
    for (std::string dg; !(dg = read_for(fd, 1500, 1)).empty();) {
      Syslog5424 m;
      bool ok = parse5424(dg, &m) && (want_json ? m.msg.front() == '{' : m.msg.rfind("CEF:0|", 0) == 0);
      (ok ? (want_json ? json_ok : cef_ok) : wrong).fetch_add(1);
    }
  };
  std::thread rj(reader, fj, true), rc(reader, fc, false);
  SyslogOptions o;
  o.port = pj;
  o.queue_max = 100000;
  SyslogSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  std::atomic<bool> done{false};
  std::thread sender([&] {
    for (int i = 0; i < 3000; i++) {
      s.send(alert(i));
      if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    done = true;
  });
  std::string err;
  for (int k = 0; !done; k++) {
    bool cef = k % 2 == 0;
    ASSERT_TRUE(configure_syslog(s, "udp://127.0.0.1:" + std::to_string(cef ? pc : pj), cef ? "cef" : "json", "info", err));
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  sender.join();
  s.stop();
  rj.join();
  rc.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(json_ok.load() + cef_ok.load(), 3000);
  EXPECT_GT(json_ok.load(), 0);
  EXPECT_GT(cef_ok.load(), 0);
  EXPECT_GT(s.stats().reconfigured, 2u);
  EXPECT_EQ(s.stats().dropped, 0u);
  ::close(fj);
  ::close(fc);
}

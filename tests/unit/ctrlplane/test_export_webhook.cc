// WebhookSink against a scripted local HTTP server: HMAC header checked by
// an independent HMAC construction, retries on 5xx with backoff, give-up
// rules, queue overflow accounting, bad URLs; HTTPS against a local TLS server.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "ctrlplane/export/webhook_sink.h"
#include "ml/json.h"
#include "tests/unit/ctrlplane/test_export_net.h"

using namespace spectre::exporter;
using namespace export_test;

namespace {

std::string sha256(const std::string& d) {
  unsigned char md[32];
  unsigned int n = 0;
  EXPECT_EQ(EVP_Digest(d.data(), d.size(), md, &n, EVP_sha256(), nullptr), 1);
  return std::string(reinterpret_cast<char*>(md), n);
}

// HMAC (RFC 2104) built from plain SHA-256, independent of OpenSSL's HMAC().
std::string hmac_hex(std::string key, const std::string& msg) {
  if (key.size() > 64) key = sha256(key);
  key.resize(64, '\0');
  std::string ipad(64, 0), opad(64, 0);
  for (int i = 0; i < 64; i++) {
    ipad[size_t(i)] = char(key[size_t(i)] ^ 0x36);
    opad[size_t(i)] = char(key[size_t(i)] ^ 0x5c);
  }
  std::string mac = sha256(opad + sha256(ipad + msg));
  static const char hx[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : mac) {
    s.push_back(hx[c >> 4]);
    s.push_back(hx[c & 15]);
  }
  return s;
}

template <typename F>
bool wait_for(F pred, int ms = 5000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

CpAlert alert(int i) {
  CpAlert a;
  a.ts_ns = 1700000000000000000ull;
  a.flow_id = uint64_t(i);
  a.src_ip = "10.0.0.1";
  a.dst_ip = "10.0.0.2";
  a.proto = "UDP";
  a.src_port = 53;
  a.dst_port = 5353;
  a.sid = uint32_t(i);
  a.signature = "webhook \"test\" \xe2\x9c\x93";
  return a;
}

WebhookOptions opts(uint16_t port) {
  WebhookOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  o.secret = "s3cr3t-key";
  o.backoff_initial_ms = 50;
  o.backoff_max_ms = 200;
  o.timeout_ms = 3000;
  return o;
}

}  // namespace

TEST(ExportWebhook, HmacMatchesRfc4231AndIndependentModel) {
  EXPECT_EQ(WebhookSink::signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  std::string long_key(131, '\xaa');  // longer than the block: hashed first
  EXPECT_EQ(WebhookSink::signature(long_key, "body"), "sha256=" + hmac_hex(long_key, "body"));
}

TEST(ExportWebhook, RetriesAfterTwo500sThenDelivers) {
  ScriptedHttpServer srv({500, 500, 200});
  WebhookSink s(opts(srv.port()));
  std::string err;
  ASSERT_TRUE(s.start(&err)) << err;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(s.post(alert(7)));
  ASSERT_TRUE(wait_for([&] { return s.stats().delivered == 1; }));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(50 + 100));  // backoff 50 ms then 100 ms
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 3u);
  std::string want;
  format_eve(want, alert(7));
  want.pop_back();
  for (const auto& r : reqs) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hook");
    EXPECT_EQ(r.body, want);
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("x-spectre-signature"), "sha256=" + hmac_hex("s3cr3t-key", r.body));
  }
  spectre::ml::json::Doc d;
  EXPECT_TRUE(d.parse(reqs[0].body, err)) << err;
  s.stop();
  auto st = s.stats();
  EXPECT_EQ(st.retries, 2u);
  EXPECT_EQ(st.http_errors, 2u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(st.last_status, 200);
}

TEST(ExportWebhook, QueueOverflowDropsOldestAndCounts) {
  ScriptedHttpServer srv({200}, 150);  // slow receiver
  WebhookOptions o = opts(srv.port());
  o.queue_max = 3;
  o.drain_ms = 5000;
  WebhookSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; i++) s.post("{\"n\":" + std::to_string(i) + "}");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));  // never blocks
  s.stop();  // drains what is queued
  auto st = s.stats();
  EXPECT_EQ(st.queued, 10u);
  EXPECT_GE(st.dropped, 6u);
  EXPECT_EQ(st.delivered + st.dropped, 10u);
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), st.delivered);
  // The newest entries survive: the last one posted was delivered last.
  EXPECT_EQ(reqs.back().body, "{\"n\":9}");
}

TEST(ExportWebhook, GivesUpAfterMaxAttemptsAndOn4xx) {
  ScriptedHttpServer srv({503});
  WebhookOptions o = opts(srv.port());
  o.max_attempts = 3;
  WebhookSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  s.post("{}");
  ASSERT_TRUE(wait_for([&] { return s.stats().failed == 1; }));
  EXPECT_EQ(srv.requests().size(), 3u);
  s.stop();

  ScriptedHttpServer bad({400});
  WebhookSink s4(opts(bad.port()));
  ASSERT_TRUE(s4.start(nullptr));
  s4.post("{}");
  ASSERT_TRUE(wait_for([&] { return s4.stats().failed == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(bad.requests().size(), 1u);  // 400 is not retried
  s4.stop();
}

TEST(ExportWebhook, TransportErrorsRetriedThenFailed) {
  uint16_t port = 0;
  int fd = bind_loopback(SOCK_STREAM, &port);
  ::close(fd);  // refused
  WebhookOptions o = opts(port);
  o.max_attempts = 2;
  WebhookSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  s.post("{}");
  ASSERT_TRUE(wait_for([&] { return s.stats().failed == 1; }));
  EXPECT_EQ(s.stats().transport_errors, 2u);
  EXPECT_EQ(s.stats().retries, 1u);
  s.stop();
}

TEST(ExportWebhook, NoSecretNoSignatureAndBadUrls) {
  ScriptedHttpServer srv({204});
  WebhookOptions o = opts(srv.port());
  o.secret.clear();
  o.headers = {"Authorization: Bearer abc"};
  WebhookSink s(o);
  ASSERT_TRUE(s.start(nullptr));
  s.post("{\"x\":1}");
  ASSERT_TRUE(wait_for([&] { return s.stats().delivered == 1; }));
  auto r = srv.requests().at(0);
  EXPECT_EQ(r.header("x-spectre-signature"), "");
  EXPECT_EQ(r.header("authorization"), "Bearer abc");
  s.stop();
  EXPECT_FALSE(s.post("{}"));  // stopped

  for (const char* url : {"ftp://127.0.0.1/", "127.0.0.1:80", ""}) {
    WebhookOptions b;
    b.url = url;
    WebhookSink w(b);
    std::string err;
    EXPECT_FALSE(w.start(&err)) << url;
    EXPECT_NE(err.find("http://"), std::string::npos);
  }
}

// HTTPS: a local TLS server (python3 ssl) with a self-signed certificate for
// 127.0.0.1 made by the openssl CLI. The certificate is verified against
// --webhook-ca, refused without it, and accepted unverified with --webhook-insecure.
namespace {

struct TlsServer {
  std::string dir, ca, log;
  uint16_t port = 0;
  pid_t pid = -1;
  std::string skip;

  TlsServer() {
    char tmpl[] = "/tmp/spectre_tls_XXXXXX";
    if (!mkdtemp(tmpl)) { skip = "mkdtemp failed"; return; }
    dir = tmpl;
    ca = dir + "/cert.pem";
    log = dir + "/posts.txt";
    std::string gen = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                      "-addext subjectAltName=IP:127.0.0.1 -keyout " + dir + "/key.pem -out " + ca +
                      " >/dev/null 2>&1";
    if (std::system(gen.c_str()) != 0) { skip = "openssl CLI could not make a certificate"; return; }
    std::ofstream(dir + "/srv.py") <<
        "import http.server, ssl, sys\n"
        "d = sys.argv[1]\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_POST(self):\n"
        "        body = self.rfile.read(int(self.headers['Content-Length']))\n"
        "        with open(d + '/posts.txt', 'a') as f:\n"
        "            f.write(self.headers.get('X-Spectre-Signature', '') + '\\t' + body.decode() + '\\n')\n"
        "        self.send_response(204); self.end_headers()\n"
        "    def log_message(self, *a): pass\n"
        "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
        "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
        "c.load_cert_chain(d + '/cert.pem', d + '/key.pem')\n"
        "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
        "open(d + '/port.tmp', 'w').write(str(s.server_address[1])); __import__('os').rename(d + '/port.tmp', d + '/port')\n"
        "s.serve_forever()\n";
    pid = fork();
    if (pid == 0) {
      execl("/usr/bin/python3", "python3", (dir + "/srv.py").c_str(), dir.c_str(), nullptr);
      _exit(127);
    }
    if (!wait_for([&] { return std::ifstream(dir + "/port").good(); }, 10000)) {
      skip = "python3 TLS server did not start";
      return;
    }
    std::ifstream(dir + "/port") >> port;
  }
  ~TlsServer() {
    if (pid > 0) { kill(pid, SIGTERM); waitpid(pid, nullptr, 0); }
    if (!dir.empty()) std::system(("rm -rf " + dir).c_str());
  }
  std::string posts() const {
    std::ifstream f(log);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
};

}  // namespace

TEST(ExportWebhook, HttpsVerifiedWithCaFileRefusedWithoutAndInsecureOptIn) {
  TlsServer srv;
  if (!srv.skip.empty()) GTEST_SKIP() << srv.skip;
  WebhookOptions o = opts(srv.port);
  o.url = "https://127.0.0.1:" + std::to_string(srv.port) + "/hook";
  o.max_attempts = 1;
  {  // the server's own certificate as the CA: delivered, signed
    WebhookOptions v = o;
    v.ca_file = srv.ca;
    WebhookSink s(v);
    ASSERT_TRUE(s.start(nullptr));
    ASSERT_TRUE(s.post("{\"tls\":1}"));
    ASSERT_TRUE(wait_for([&] { return s.stats().delivered == 1; }));
    s.stop();
    EXPECT_EQ(srv.posts(), "sha256=" + hmac_hex(o.secret, "{\"tls\":1}") + "\t{\"tls\":1}\n");
  }
  {  // the system's CAs do not know it: not delivered
    WebhookSink s(o);
    ASSERT_TRUE(s.start(nullptr));
    ASSERT_TRUE(s.post("{\"tls\":2}"));
    ASSERT_TRUE(wait_for([&] { return s.stats().failed == 1; }));
    EXPECT_EQ(s.stats().delivered, 0u);
    EXPECT_EQ(s.stats().transport_errors, 1u);
    s.stop();
  }
  {  // verification off on request
    WebhookOptions v = o;
    v.verify_tls = false;
    WebhookSink s(v);
    ASSERT_TRUE(s.start(nullptr));
    ASSERT_TRUE(s.post("{\"tls\":3}"));
    ASSERT_TRUE(wait_for([&] { return s.stats().delivered == 1; }));
    s.stop();
  }
  EXPECT_EQ(srv.posts().find("{\"tls\":2}"), std::string::npos);
  EXPECT_NE(srv.posts().find("{\"tls\":3}"), std::string::npos);
  WebhookOptions bad = o;
  bad.ca_file = srv.dir + "/missing.pem";
  WebhookSink s(bad);
  std::string err;
  EXPECT_FALSE(s.start(&err));
  EXPECT_NE(err.find("cannot read CA file"), std::string::npos) << err;
}

// --profile mix: a generated capture of realistic application sessions, held
// in memory like --pcap and replayed through the same path.
//
// Session kinds (share of sessions): HTTP/1.1 38% (1-3 keep-alive
// transactions, varied hosts, URIs, user agents, bodies up to 64 KiB),
// TLS 1.3 30% (ClientHello with SNI/ALPN/key share, ServerHello, then 1-3
// exchanges of random "encrypted" records), DNS 27% (UDP query and answer:
// A, AAAA, HTTPS, TXT), bulk TCP 5% (SSH banners then random data, or raw
// transfers of 8-32 segments).
// TCP sessions have a handshake, exact sequence and acknowledgement numbers,
// MSS-sized segments acknowledged every second segment, and a FIN (or 5% RST)
// close, so reassembly and app parsers see complete streams.
//
// Interleaving: every session gets an interval covering most of the pass
// (start in [0, 0.15), end in [0.85, 1)) and its packets evenly spread over
// it; the capture is all packets sorted by position. So nearly all sessions
// are open at once: --flows is the number of concurrent sessions. Replayed
// passes reopen TCP sessions (SYN on a closed flow) and repeat DNS exchanges.
// Frames are padded to the 60-byte Ethernet minimum.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <random>
#include <string>

#include <fmt/format.h>

#include "bench/bench.h"

namespace spectre::bench {

namespace {

constexpr uint32_t kMss = 1460;

const char* const kUa[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "curl/8.5.0", "python-requests/2.31.0", "Wget/1.21.4", "okhttp/4.12.0", "Go-http-client/1.1",
    "Microsoft-CryptoAPI/10.0",
};
const char* const kHostA[] = {"www", "api", "cdn", "static", "img", "login", "mail", "news", "shop", "update"};
const char* const kHostB[] = {"example", "acme", "contoso", "globex", "initech", "umbrella", "hooli", "vandelay",
                              "tyrell", "soylent", "wonka", "aperture"};
const char* const kTld[] = {"com", "net", "org", "io", "de", "co.uk", "fr", "info"};
const char* const kSeg[] = {"api", "v1", "v2", "users", "items", "search", "static", "js", "css", "images",
                            "assets", "product", "cart", "account", "news", "2024", "article", "download",
                            "files", "wp-content", "uploads", "media"};
const char* const kWords[] = {"the", "network", "data", "packet", "secure", "cloud", "service", "user", "value",
                              "stream", "report", "system", "policy", "update", "content", "server", "request",
                              "session", "client", "market", "price", "order", "river", "light", "green"};
struct Ext { const char* ext; const char* type; bool text; };
const Ext kExt[] = {{".html", "text/html; charset=utf-8", true},   {".js", "application/javascript", true},
                    {".css", "text/css", true},                    {".json", "application/json", true},
                    {".png", "image/png", false},                  {".jpg", "image/jpeg", false},
                    {".php", "text/html; charset=UTF-8", true},    {"", "text/html", true},
                    {".gif", "image/gif", false},                  {".bin", "application/octet-stream", false}};
const char* const kServer[] = {"nginx/1.24.0", "Apache/2.4.57 (Debian)", "cloudflare", "Microsoft-IIS/10.0",
                               "envoy", "gws"};
const uint8_t kPublic8[] = {23, 34, 52, 104, 142, 151, 157, 185, 203, 91, 13, 45};

template <size_t N>
const char* pick(std::mt19937_64& r, const char* const (&a)[N]) { return a[r() % N]; }

struct Conv {
  uint8_t cli[4], srv[4];
  uint16_t sport, dport;
  uint8_t proto;
  uint32_t seq[2];     // next sequence number per direction (0: client)
  uint16_t ipid[2];
  std::vector<uint32_t> pk;  // indices into out.pkts, in send order
};

class Gen {
 public:
  Gen(uint64_t seed, PcapData& out, MixStats& st) : r_(seed), out_(out), st_(st) {}

  void session(uint64_t s);

 private:
  uint64_t rnd(uint64_t n) { return n ? r_() % n : 0; }
  double unif() { return double(r_() >> 11) / double(1ull << 53); }
  bool chance(double p) { return unif() < p; }

  void frame(Conv& c, int dir, uint8_t flags, const uint8_t* pl, uint32_t n, bool syn_opts = false);
  void tcp_open(Conv& c);
  void tcp_send(Conv& c, int dir, const std::string& msg, bool final_ack);
  void tcp_close(Conv& c);
  void place(Conv& c, bool short_span);

  std::string host();
  std::string words(size_t bytes);
  std::string random_bytes(size_t n);
  void http(Conv& c);
  void tls(Conv& c);
  void dns(Conv& c);
  void bulk(Conv& c);
  static std::string tls_record(uint8_t type, const std::string& body);

  std::mt19937_64 r_;
  PcapData& out_;
  MixStats& st_;

 public:
  std::vector<std::pair<double, uint32_t>> order;  // (position, packet index)
};

void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void put32(uint8_t* p, uint32_t v) { put16(p, uint16_t(v >> 16)); put16(p + 2, uint16_t(v)); }
uint32_t csum_add(uint32_t s, const uint8_t* p, uint32_t n) {
  for (uint32_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) s += uint32_t(p[n - 1] << 8);
  return s;
}
uint16_t csum_fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}

void Gen::frame(Conv& c, int dir, uint8_t flags, const uint8_t* pl, uint32_t n, bool syn_opts) {
  const bool tcp = c.proto == 6;
  const uint32_t l4h = tcp ? (syn_opts ? 32 : 20) : 8;
  const uint32_t len = 14 + 20 + l4h + n;
  const uint32_t stored = std::max<uint32_t>(len, 60);
  const size_t off = out_.bytes.size();
  out_.bytes.resize(off + stored, 0);
  uint8_t* p = out_.bytes.data() + off;
  static const uint8_t kMacC[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
  static const uint8_t kMacS[6] = {0x02, 0x00, 0x5e, 0x20, 0x00, 0x01};
  std::memcpy(p, dir ? kMacC : kMacS, 6);
  std::memcpy(p + 6, dir ? kMacS : kMacC, 6);
  put16(p + 12, 0x0800);
  uint8_t* ip = p + 14;
  ip[0] = 0x45;
  put16(ip + 2, uint16_t(20 + l4h + n));
  put16(ip + 4, c.ipid[dir]++);
  put16(ip + 6, 0x4000);
  ip[8] = dir ? 53 : 64;
  ip[9] = c.proto;
  std::memcpy(ip + 12, dir ? c.srv : c.cli, 4);
  std::memcpy(ip + 16, dir ? c.cli : c.srv, 4);
  put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
  uint8_t* l4 = ip + 20;
  put16(l4, dir ? c.dport : c.sport);
  put16(l4 + 2, dir ? c.sport : c.dport);
  if (tcp) {
    put32(l4 + 4, c.seq[dir]);
    put32(l4 + 8, (flags & 0x10) ? c.seq[dir ^ 1] : 0);
    l4[12] = uint8_t((l4h / 4) << 4);
    l4[13] = flags;
    put16(l4 + 14, syn_opts ? 64240 : 502);  // scaled by 2^7 after the handshake
    if (syn_opts) {  // MSS 1460, SACK permitted, NOP, window scale 7
      static const uint8_t kOpt[12] = {2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7, 1, 1};
      std::memcpy(l4 + 20, kOpt, 12);
    }
  } else {
    put16(l4 + 4, uint16_t(8 + n));
  }
  if (n) std::memcpy(l4 + l4h, pl, n);
  uint32_t ps = csum_add(0, ip + 12, 8) + c.proto + l4h + n;
  uint16_t ck = csum_fold(csum_add(ps, l4, l4h + n));
  put16(l4 + (tcp ? 16 : 6), !tcp && ck == 0 ? 0xffff : ck);
  if (tcp) c.seq[dir] += n + ((flags & 0x03) ? 1 : 0);  // SYN and FIN take one number

  PcapPacket pk;
  pk.off = uint32_t(off);
  pk.caplen = pk.stored = stored;
  c.pk.push_back(uint32_t(out_.pkts.size()));
  out_.pkts.push_back(pk);
  st_.bytes += stored;
  uint32_t wire = stored + kFcs;
  st_.size_hist[wire < 128 ? 0 : wire < 512 ? 1 : wire < 1024 ? 2 : 3]++;
}

void Gen::tcp_open(Conv& c) {
  frame(c, 0, 0x02, nullptr, 0, true);
  frame(c, 1, 0x12, nullptr, 0, true);
  frame(c, 0, 0x10, nullptr, 0);
}

// MSS-sized segments; the receiver acknowledges every second one and, when
// `final_ack`, the tail (otherwise its next message carries the ack).
void Gen::tcp_send(Conv& c, int dir, const std::string& msg, bool final_ack) {
  const auto* d = reinterpret_cast<const uint8_t*>(msg.data());
  uint32_t n = uint32_t(msg.size()), seg = 0;
  for (uint32_t o = 0; o < n; o += kMss, seg++) {
    uint32_t k = std::min(kMss, n - o);
    bool last = o + k == n;
    frame(c, dir, last ? 0x18 : 0x10, d + o, k);
    if ((seg & 1) && !last) frame(c, dir ^ 1, 0x10, nullptr, 0);
  }
  if (final_ack) frame(c, dir ^ 1, 0x10, nullptr, 0);
}

void Gen::tcp_close(Conv& c) {
  if (chance(0.05)) {  // abortive close
    frame(c, int(rnd(2)), 0x14, nullptr, 0);
    return;
  }
  int a = chance(0.7) ? 0 : 1;
  frame(c, a, 0x11, nullptr, 0);
  frame(c, a ^ 1, 0x11, nullptr, 0);
  frame(c, a, 0x10, nullptr, 0);
}

void Gen::place(Conv& c, bool short_span) {
  double u0, u1;
  if (short_span) {  // a DNS exchange: answer right after the query
    u0 = unif() * 0.98;
    u1 = u0 + 0.001 + unif() * 0.01;
  } else {
    u0 = unif() * 0.15;
    u1 = 0.85 + unif() * 0.1499;
  }
  const double step = (u1 - u0) / double(c.pk.size());
  for (size_t i = 0; i < c.pk.size(); i++) order.push_back({u0 + step * (double(i) + 0.5 * unif()), c.pk[i]});
}

std::string Gen::host() {
  std::string h = fmt::format("{}.{}{}.{}", pick(r_, kHostA), pick(r_, kHostB),
                              chance(0.5) ? std::to_string(rnd(100)) : std::string(), pick(r_, kTld));
  return h;
}

std::string Gen::words(size_t bytes) {
  std::string s;
  s.reserve(bytes + 16);
  while (s.size() < bytes) {
    s += pick(r_, kWords);
    s += rnd(12) ? ' ' : '\n';
  }
  s.resize(bytes);
  return s;
}

std::string Gen::random_bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = r_();
    std::memcpy(s.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return s;
}

// Body size: 35% < 512 B, 35% < 4 KiB, 22% < 16 KiB, 8% < 64 KiB (mean ~6 KB).
size_t body_size(std::mt19937_64& r) {
  uint64_t b = r() % 100;
  uint64_t cap = b < 35 ? 512 : b < 70 ? 4096 : b < 92 ? 16384 : 65536;
  return size_t(cap / 8 + r() % (cap - cap / 8));
}

void Gen::http(Conv& c) {
  st_.http++;
  tcp_open(c);
  std::string h = host();
  const char* ua = pick(r_, kUa);
  int tx = chance(0.6) ? 1 : chance(0.75) ? 2 : 3;
  for (int t = 0; t < tx; t++) {
    const Ext& e = kExt[rnd(std::size(kExt))];
    std::string uri;
    for (uint64_t k = 0, n = 1 + rnd(4); k < n; k++) uri += fmt::format("/{}", pick(r_, kSeg));
    uri += fmt::format("/{}{}{}", pick(r_, kWords), rnd(1000), e.ext);
    if (chance(0.4))
      uri += fmt::format("?id={}&q={}+{}&page={}", rnd(100000), pick(r_, kWords), pick(r_, kWords), rnd(20));
    bool post = chance(0.15);
    std::string body = post ? (chance(0.5) ? fmt::format("{{\"user\":\"{}\",\"value\":{},\"text\":\"{}\"}}",
                                                         pick(r_, kWords), rnd(99999), words(40 + rnd(800)))
                                           : fmt::format("name={}&token={:016x}&comment={}", pick(r_, kWords),
                                                         r_(), words(20 + rnd(400))))
                              : std::string();
    std::string req = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n", post ? "POST" : "GET", uri, h,
                                  ua);
    req += "Accept: */*\r\nAccept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\n";
    if (chance(0.5)) req += fmt::format("Cookie: session={:016x}{:08x}; pref=dark\r\n", r_(), uint32_t(r_()));
    if (chance(0.4)) req += fmt::format("Referer: https://{}/\r\n", h);
    if (post)
      req += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n",
                         body[0] == '{' ? "application/json" : "application/x-www-form-urlencoded", body.size());
    req += "Connection: keep-alive\r\n\r\n" + body;
    tcp_send(c, 0, req, false);

    uint64_t sc = rnd(100);
    int code = sc < 85 ? 200 : sc < 90 ? 304 : sc < 95 ? 404 : 302;
    const char* msg = code == 200 ? "OK" : code == 304 ? "Not Modified" : code == 404 ? "Not Found" : "Found";
    std::string rb;
    if (code == 200) rb = e.text ? words(body_size(r_)) : random_bytes(body_size(r_));
    else if (code == 404) rb = "<html><head><title>404 Not Found</title></head><body>not found</body></html>";
    if (!e.text && code == 200 && rb.size() >= 8) std::memcpy(rb.data(), "\x89PNG\r\n\x1a\n", 8);
    std::string resp = fmt::format("HTTP/1.1 {} {}\r\nDate: Mon, 01 Jan 2024 00:00:{:02} GMT\r\nServer: {}\r\n", code,
                                   msg, rnd(60), pick(r_, kServer));
    if (code == 302) resp += fmt::format("Location: https://{}/login?next={}\r\n", h, rnd(1000));
    resp += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\nCache-Control: max-age={}\r\n", e.type, rb.size(),
                        rnd(86400));
    if (chance(0.2)) resp += fmt::format("Set-Cookie: sid={:016x}; Path=/; HttpOnly\r\n", r_());
    resp += "Connection: keep-alive\r\n\r\n" + rb;
    tcp_send(c, 1, resp, true);
  }
  tcp_close(c);
  place(c, false);
}

std::string Gen::tls_record(uint8_t type, const std::string& body) {
  std::string r(5, '\0');
  r[0] = char(type);
  r[1] = 3;
  r[2] = 3;
  r[3] = char(body.size() >> 8);
  r[4] = char(body.size());
  return r + body;
}

void Gen::tls(Conv& c) {
  st_.tls++;
  tcp_open(c);
  auto u16 = [](size_t v) { return std::string{char(v >> 8), char(v)}; };
  auto ext = [&](uint16_t type, const std::string& body) { return u16(type) + u16(body.size()) + body; };
  std::string sni = host();
  std::string exts = ext(0, u16(sni.size() + 3) + '\0' + u16(sni.size()) + sni);
  exts += ext(23, "") + ext(0xff01, std::string(1, '\0'));
  exts += ext(10, u16(8) + u16(0x1d) + u16(0x17) + u16(0x18) + u16(0x19));
  exts += ext(11, std::string("\x01\x00", 2));
  exts += ext(35, "");
  std::string alpn = chance(0.7) ? std::string("\x02h2\x08http/1.1", 12) : std::string("\x08http/1.1", 9);
  exts += ext(16, u16(alpn.size()) + alpn);
  exts += ext(13, u16(8) + u16(0x0403) + u16(0x0804) + u16(0x0401) + u16(0x0503));
  exts += ext(51, u16(36) + u16(0x1d) + u16(32) + random_bytes(32));
  exts += ext(43, std::string("\x04\x03\x04\x03\x03", 5));  // supported_versions: 1.3, 1.2
  exts += ext(45, std::string("\x01\x01", 2));               // psk_key_exchange_modes
  if (chance(0.5)) exts += ext(21, std::string(rnd(200), '\0'));  // padding
  std::string suites = u16(0x1301) + u16(0x1302) + u16(0x1303) + u16(0xc02b) + u16(0xc02f) + u16(0xc02c) +
                       u16(0xc030) + u16(0xcca9) + u16(0xcca8);
  std::string ch = std::string("\x03\x03", 2) + random_bytes(32) + '\x20' + random_bytes(32) + u16(suites.size()) +
                   suites + std::string("\x01\x00", 2) + u16(exts.size()) + exts;
  std::string hs = std::string(1, '\x01') + '\0' + u16(ch.size()) + ch;
  std::string rec = tls_record(22, hs);
  rec[2] = 1;  // ClientHello records say TLS 1.0, as browsers send them
  tcp_send(c, 0, rec, false);

  std::string sexts = ext(43, u16(0x0304)) + ext(51, u16(0x1d) + u16(32) + random_bytes(32));
  std::string sh = std::string("\x03\x03", 2) + random_bytes(32) + '\x20' + ch.substr(35, 32) + u16(0x1301) + '\0' +
                   u16(sexts.size()) + sexts;
  std::string shs = std::string(1, '\x02') + '\0' + u16(sh.size()) + sh;
  std::string flight = tls_record(22, shs) + tls_record(20, std::string(1, '\x01'));
  flight += tls_record(23, random_bytes(2000 + rnd(3000)));  // encrypted extensions, certificate, finished
  tcp_send(c, 1, flight, false);
  tcp_send(c, 0, tls_record(20, std::string(1, '\x01')) + tls_record(23, random_bytes(53)), false);
  for (uint64_t k = 0, n = 1 + rnd(3); k < n; k++) {
    tcp_send(c, 0, tls_record(23, random_bytes(100 + rnd(700))), false);
    std::string resp;
    for (size_t left = body_size(r_); left;) {
      size_t m = std::min<size_t>(left, 16384);
      resp += tls_record(23, random_bytes(m + 17));
      left -= m;
    }
    tcp_send(c, 1, resp, true);
  }
  tcp_send(c, 0, tls_record(23, random_bytes(19)), false);  // close_notify
  tcp_close(c);
  place(c, false);
}

void Gen::dns(Conv& c) {
  st_.dns++;
  auto u16 = [](size_t v) { return std::string{char(v >> 8), char(v)}; };
  for (uint64_t q = 0, nq = chance(0.7) ? 1 : 2; q < nq; q++) {
    std::string name = host(), qname;
    if (chance(0.3)) name = fmt::format("{:x}.{}", r_() & 0xffffff, name);
    size_t a = 0;
    for (size_t b; (b = name.find('.', a)) != std::string::npos; a = b + 1) qname += char(b - a) + name.substr(a, b - a);
    qname += char(name.size() - a) + name.substr(a) + '\0';
    uint64_t t = rnd(100);
    uint16_t type = t < 60 ? 1 : t < 85 ? 28 : t < 95 ? 65 : 16;
    bool edns = chance(0.5);
    uint16_t id = uint16_t(r_());
    std::string opt = edns ? std::string("\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", 11) : std::string();
    std::string query = u16(id) + u16(0x0100) + u16(1) + u16(0) + u16(0) + u16(edns) + qname + u16(type) + u16(1) + opt;
    frame(c, 0, 0, reinterpret_cast<const uint8_t*>(query.data()), uint32_t(query.size()));
    std::string ans;
    uint16_t an = 0;
    if (type == 1 && chance(0.4)) {  // CNAME first
      std::string cn = std::string("\x03" "cdn", 4) + std::string("\xc0\x0c", 2);
      ans += std::string("\xc0\x0c", 2) + u16(5) + u16(1) + u16(0) + u16(300) + u16(cn.size()) + cn;
      an++;
    }
    for (uint64_t k = 0, n = type == 1 ? 1 + rnd(4) : type == 28 ? 1 + rnd(2) : 1; k < n; k++, an++) {
      std::string rd = type == 1    ? random_bytes(4)
                       : type == 28 ? random_bytes(16)
                       : type == 65 ? u16(1) + '\0' + std::string("\x00\x01\x00\x06\x02h2\x02h3", 10)
                                    : std::string(1, char(40)) + words(40);
      ans += std::string("\xc0\x0c", 2) + u16(type) + u16(1) + u16(0) + u16(60 + rnd(3600)) + u16(rd.size()) + rd;
    }
    std::string resp = u16(id) + u16(0x8180) + u16(1) + u16(an) + u16(0) + u16(edns) + qname + u16(type) + u16(1) +
                       ans + opt;
    frame(c, 1, 0, reinterpret_cast<const uint8_t*>(resp.data()), uint32_t(resp.size()));
  }
  place(c, true);
}

void Gen::bulk(Conv& c) {
  st_.bulk++;
  bool ssh = chance(0.5);
  c.dport = ssh ? 22 : uint16_t(5001 + rnd(4));
  tcp_open(c);
  if (ssh) {
    tcp_send(c, 1, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n", false);
    tcp_send(c, 0, "SSH-2.0-OpenSSH_9.6\r\n", false);
  }
  int dir = chance(0.6) ? 1 : 0;  // download or upload
  tcp_send(c, dir, random_bytes(kMss * (8 + rnd(24)) + rnd(kMss)), true);
  tcp_close(c);
  place(c, false);
}

void Gen::session(uint64_t s) {
  Conv c{};
  uint64_t h = (s >> 3) + 1;  // eight sessions per client host
  c.cli[0] = 10;
  c.cli[1] = uint8_t(h >> 16);
  c.cli[2] = uint8_t(h >> 8);
  c.cli[3] = uint8_t(h);
  c.sport = uint16_t(32768 + (s & 7) * 4096 + rnd(4096));
  c.seq[0] = uint32_t(r_());
  c.seq[1] = uint32_t(r_());
  c.ipid[0] = uint16_t(r_());
  c.ipid[1] = uint16_t(r_());
  uint64_t k = rnd(100);
  if (k >= 68 && k < 95) {  // DNS: a public resolver
    static const uint8_t kRes[3][4] = {{8, 8, 8, 8}, {1, 1, 1, 1}, {9, 9, 9, 9}};
    std::memcpy(c.srv, kRes[rnd(3)], 4);
    c.proto = 17;
    c.dport = 53;
    dns(c);
    return;
  }
  c.srv[0] = kPublic8[rnd(std::size(kPublic8))];
  c.srv[1] = uint8_t(rnd(256));
  c.srv[2] = uint8_t(rnd(256));
  c.srv[3] = uint8_t(1 + rnd(254));
  c.proto = 6;
  if (k < 38) {
    c.dport = chance(0.9) ? 80 : 8080;
    http(c);
  } else if (k < 68) {
    c.dport = 443;
    tls(c);
  } else {
    bulk(c);
  }
}

}  // namespace

void generate_mix(uint64_t flows, uint64_t seed, PcapData& out, MixStats& st) {
  out = PcapData{};
  out.path = fmt::format("<mix: {} sessions, seed {}>", flows, seed);
  out.linktype = 1;
  st = MixStats{};
  out.bytes.reserve(size_t(flows) * 12000);
  Gen g(seed, out, st);
  g.order.reserve(size_t(flows) * 20);
  for (uint64_t s = 0; s < flows; s++) g.session(s);
  st.sessions = flows;
  std::sort(g.order.begin(), g.order.end());
  std::vector<PcapPacket> sorted;
  sorted.reserve(out.pkts.size());
  for (auto& [pos, i] : g.order) sorted.push_back(out.pkts[i]);
  out.pkts.swap(sorted);
  st.packets = out.pkts.size();
}

bool write_pcap_file(const PcapData& d, const std::string& path, std::string& err) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    err = fmt::format("{}: cannot create: {}", path, std::strerror(errno));
    return false;
  }
  uint32_t gh[6] = {0xa1b2c3d4, 2 | (4u << 16), 0, 0, 262144, d.linktype};
  bool ok = std::fwrite(gh, 4, 6, f) == 6;
  for (size_t i = 0; ok && i < d.pkts.size(); i++) {
    uint64_t us = kTsBase / 1000 + i;  // 1 us apart, like the replay
    uint32_t ph[4] = {uint32_t(us / 1000000), uint32_t(us % 1000000), d.pkts[i].stored, d.pkts[i].caplen};
    ok = std::fwrite(ph, 4, 4, f) == 4 &&
         std::fwrite(d.bytes.data() + d.pkts[i].off, 1, d.pkts[i].stored, f) == d.pkts[i].stored;
  }
  if (std::fclose(f) != 0) ok = false;
  if (!ok) err = fmt::format("{}: write error: {}", path, std::strerror(errno));
  return ok;
}

}  // namespace spectre::bench

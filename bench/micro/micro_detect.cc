// Microbenchmarks: detect_payload on a realistic HTTP request (stream chunk,
// to_server, port 80).
//   detect_payload_synth/<rules>   synthetic rules: 1-3 random word contents,
//                                  30% on port 80, 10% nocase, 5% with a pcre
//   detect_payload_etopen          the ET Open corpus, when present ($SPECTRE_SHARED or
//                                  ../shared beside the source tree)
//   etopen_load_compile/0|1        ET Open parsed and compiled: 0 without the rule cache,
//                                  1 with a warm one (rules.cache_dir); one iteration each
// Counters: compile_ms, db_MiB, candidates and alerts per call.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "dataplane/detect/detect.h"
#include "dataplane/rules/loader.h"

namespace spectre::micro {
namespace {

const std::string& http_payload() {
  static const std::string p =
      "GET /wp-content/plugins/gallery/view.php?id=1234&page=index&lang=en HTTP/1.1\r\n"
      "Host: www.example.com\r\n"
      "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36\r\n"
      "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
      "Accept-Language: en-US,en;q=0.5\r\n"
      "Accept-Encoding: gzip, deflate, br\r\n"
      "Referer: https://www.example.com/blog/2024/01/some-article-title\r\n"
      "Cookie: session=8f2a9c1d7e6b5a4f3e2d1c0b; theme=dark; consent=yes\r\n"
      "Connection: keep-alive\r\n\r\n";
  return p;
}

struct Setup {
  std::shared_ptr<const CompiledRuleset> rs;
  CompileReport rep;
  std::string hit_payload;  // the HTTP request with 10 rules' first contents in a cookie
};

rules::MatchItem content(std::string s, bool nocase) {
  rules::MatchItem m;
  m.content.bytes = std::move(s);
  m.content.nocase = nocase;
  return m;
}

const Setup& synth(uint32_t n) {
  static std::map<uint32_t, std::unique_ptr<Setup>> cache;
  auto& s = cache[n];
  if (s) return *s;
  s = std::make_unique<Setup>();
  std::mt19937 rng(n);
  auto u = [&](uint32_t k) { return std::uniform_int_distribution<uint32_t>(0, k - 1)(rng); };
  auto word = [&]() {
    std::string w;
    uint32_t len = 5 + u(8);
    for (uint32_t i = 0; i < len; i++) w += char('a' + u(26));
    return w;
  };
  rules::RuleSet rset;
  for (uint32_t i = 0; i < n; i++) {
    rules::Rule r;
    r.sid = i + 1;
    r.hdr.proto = rules::Proto::kTcp;
    r.flow = rules::kFlowEstablished | rules::kFlowToServer;
    if (u(10) < 3) {
      r.hdr.dport.any = false;
      r.hdr.dport.include = {{80, 80}};
    }
    uint32_t nc = 1 + u(3);
    for (uint32_t k = 0; k < nc; k++) r.items.push_back(content(word(), u(10) == 0));
    if (u(20) == 0) {
      rules::MatchItem m;
      m.kind = rules::MatchItem::Kind::kPcre;
      m.pcre.pattern = "^[a-z]+\\d{2,}";
      m.pcre.relative = true;
      r.items.push_back(m);
    }
    rset.rules.push_back(std::move(r));
  }
  std::string err;
  s->rs = compile_ruleset(rset, 1, s->rep, err);
  std::string extra = "X-Words:";
  for (uint32_t i = 0; i < 10; i++) extra += " " + rset.rules[i * (n / 10)].items[0].content.bytes;
  s->hit_payload = http_payload();
  s->hit_payload.insert(s->hit_payload.size() - 2, extra + "\r\n");
  return *s;
}

std::string etopen_dir() {
  const char* env = std::getenv("SPECTRE_SHARED");
  std::string shared = env ? env : std::string(SPECTRE_SOURCE_ROOT) + "/../shared";
  return shared + "/corpora/rules/et-open";
}

// ET Open parsed into `rs`; false when the corpus is absent or does not load.
bool load_etopen(rules::RuleSet& rs) {
  std::error_code ec;
  const std::string dir = etopen_dir();
  if (!std::filesystem::is_directory(dir, ec)) return false;
  rules::LoadOptions lo;
  lo.rules_dir = dir;
  rules::LoadReport lrep;
  std::string err;
  return rules::load_rules(lo, rs, lrep, err);
}

const Setup* etopen() {
  static std::unique_ptr<Setup> s;
  static bool tried = false;
  if (tried) return s.get();
  tried = true;
  rules::RuleSet rset;
  if (!load_etopen(rset)) return nullptr;
  std::string err;
  s = std::make_unique<Setup>();
  s->rs = compile_ruleset(rset, 1, s->rep, err);
  if (!s->rs) s.reset();
  return s.get();
}

struct CountSink : AlertSink {
  uint64_t n = 0;
  void alert(const RuleMeta&, const DetectPacket&) override { n++; }
};

void run(benchmark::State& st, const Setup& s, bool hits = false) {
  if (!s.rs) {
    st.SkipWithError("compile failed");
    return;
  }
  DetectCtx ctx(0);
  CountSink sink;
  uint8_t src[16] = {10, 0, 0, 1}, dst[16] = {192, 168, 0, 1};
  DetectPacket p;
  p.src = src;
  p.dst = dst;
  p.proto = 6;
  p.sport = 40000;
  p.dport = 80;
  p.established = true;
  p.app_proto = rules::AppProto::kHttp;
  const std::string& pl = hits ? s.hit_payload : http_payload();
  for (auto _ : st) {
    detect_payload(ctx, *s.rs, p, PayloadMode::kStreamChunk, reinterpret_cast<const uint8_t*>(pl.data()),
                   uint32_t(pl.size()), sink);
  }
  double calls = double(ctx.ctr.inspected);
  st.counters["compile_ms"] = s.rep.compile_ms;
  st.counters["db_MiB"] = double(s.rep.db_bytes) / 1048576.0;
  st.counters["cand_per_call"] = double(ctx.ctr.rules_evaluated) / calls;
  st.counters["alerts_per_call"] = double(sink.n) / calls;
  st.counters["payload_B"] = double(pl.size());
}

void detect_payload_synth(benchmark::State& st) { run(st, synth(uint32_t(st.range(0)))); }
BENCHMARK(detect_payload_synth)->Arg(1000)->Arg(10000);
void detect_payload_synth_hits(benchmark::State& st) { run(st, synth(uint32_t(st.range(0))), true); }
BENCHMARK(detect_payload_synth_hits)->Arg(1000)->Arg(10000);

void detect_payload_etopen(benchmark::State& st) {
  const Setup* s = etopen();
  if (!s) {
    st.SkipWithError("ET Open corpus not present");
    return;
  }
  run(st, *s);
}
BENCHMARK(detect_payload_etopen);

// detect_app with ET Open: one HTTP request's buffers.
void detect_app_etopen(benchmark::State& st) {
  const Setup* s = etopen();
  if (!s) {
    st.SkipWithError("ET Open corpus not present");
    return;
  }
  DetectCtx ctx(0);
  CountSink sink;
  uint8_t src[16] = {10, 0, 0, 1}, dst[16] = {192, 168, 0, 1};
  DetectPacket p;
  p.src = src;
  p.dst = dst;
  p.proto = 6;
  p.sport = 40000;
  p.dport = 80;
  p.established = true;
  p.app_proto = rules::AppProto::kHttp;
  static const std::string uri = "/wp-content/plugins/gallery/view.php?id=1234&page=index&lang=en", meth = "GET",
                           host = "www.example.com",
                           ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0.0.0",
                           proto = "HTTP/1.1";
  BufferSet b;
  auto put = [&](rules::Buf k, const std::string& v) {
    b.set(k, reinterpret_cast<const uint8_t*>(v.data()), uint32_t(v.size()));
  };
  put(rules::kHttpUri, uri);
  put(rules::kHttpUriRaw, uri);
  put(rules::kHttpMethod, meth);
  put(rules::kHttpHost, host);
  put(rules::kHttpUserAgent, ua);
  put(rules::kHttpProtocol, proto);
  put(rules::kHttpHeader, http_payload());
  for (auto _ : st) detect_app(ctx, *s->rs, p, b, sink);
  double calls = double(ctx.ctr.inspected);
  st.counters["cand_per_call"] = double(ctx.ctr.rules_evaluated) / calls;
  st.counters["alerts_per_call"] = double(sink.n) / calls;
}
BENCHMARK(detect_app_etopen);

// Start-up cost of ET Open: parse + compile, without and with a warm rule cache
// (the warm-up compile that fills the cache is not timed).
void etopen_load_compile(benchmark::State& st) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string dir = etopen_dir();
  if (!fs::is_directory(dir, ec)) {
    st.SkipWithError("ET Open corpus not present");
    return;
  }
  char tmpl[] = "/tmp/micro-hscache-XXXXXX";
  const std::string cache = mkdtemp(tmpl) ? tmpl : "";
  CompileOptions co;
  if (st.range(0)) co.cache_dir = cache;
  auto load = [&](double& parse_ms, CompileReport& rep) {
    auto t0 = std::chrono::steady_clock::now();
    rules::RuleSet rset;
    std::string err;
    if (!load_etopen(rset)) return false;
    parse_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return compile_ruleset(rset, 1, co, rep, err) != nullptr;
  };
  double parse_ms = 0;
  CompileReport rep;
  if (st.range(0) && !load(parse_ms, rep)) st.SkipWithError("compile failed");
  for (auto _ : st)
    if (!load(parse_ms, rep)) st.SkipWithError("compile failed");
  st.counters["parse_ms"] = parse_ms;
  st.counters["compile_ms"] = rep.compile_ms;
  st.counters["cache_hits"] = rep.cache_hits;
  st.counters["databases"] = rep.databases;
  fs::remove_all(cache, ec);
}
BENCHMARK(etopen_load_compile)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace spectre::micro

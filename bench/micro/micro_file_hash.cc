// Microbenchmark: streaming file digests (app_file_hash.cc) on the HTTP
// path. A 1 MB response body (Content-Length) fed in 1460-byte segments
// through app_stream, with AppCtx::want_hash = the argument (0 none, 1 md5,
// 2 sha1, 4 sha256, 7 all three): the difference to 0 is the digests' cost
// per byte (the body past the 8 KiB limit is otherwise only counted).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "dataplane/app/app.h"

namespace spectre::micro {
namespace {

struct Null final : AppSink {
  void on_tx(bool, const BufferSet&, const AppMeta&) override {}
};

void file_hash_http(benchmark::State& st) {
  AppCtx ctx(AppConfig{});
  ctx.want_hash = uint8_t(st.range(0));
  std::mt19937 rng(1);
  std::string body(1000000, '\0');
  for (auto& ch : body) ch = char(rng());
  const std::string req = "GET /f HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + body;
  std::vector<uint64_t> mem(app_state_size() / 8 + 1);
  AppState* s = reinterpret_cast<AppState*>(mem.data());
  Null sink;
  for (auto _ : st) {
    app_state_init(s);
    app_stream(ctx, s, true, 40000, 80, reinterpret_cast<const uint8_t*>(req.data()), uint32_t(req.size()), 0, 0, sink);
    for (size_t at = 0; at < resp.size(); at += 1460) {
      const uint32_t n = uint32_t(std::min<size_t>(1460, resp.size() - at));
      app_stream(ctx, s, false, 80, 40000, reinterpret_cast<const uint8_t*>(resp.data()) + at, n, 0, 0, sink);
    }
    app_finish(ctx, s, sink);
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(body.size()));
}
BENCHMARK(file_hash_http)->Arg(0)->Arg(1)->Arg(2)->Arg(4)->Arg(7)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace spectre::micro

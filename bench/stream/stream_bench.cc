// spectre-streambench: the stream hub under load on loopback.
//
// One hub thread (the API server's io_context), one publisher thread paced at
// --rate events/s, and --clients WebSocket clients (Beast, async) on
// --client-threads threads of their own in this process. Client i subscribes to
// alerts with an address filter on group i % (clients / fanout), and each event's
// dest_ip falls in one group, so every event reaches --fanout clients; --firehose
// clients take every event. Each event carries its publish time (steady clock);
// clients record publish -> receive latency. The hub thread's CPU time comes from
// its thread CPU clock. JSON report on stdout. Exit 0 ok, 2 usage, 3 when
// events were lost (gaps, drops or missing deliveries).
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "ctrlplane/stream/hub.h"
#include "ctrlplane/stream/listener.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ss = spectre::stream;
using Clock = std::chrono::steady_clock;

struct Opts {
  int clients = 1000, client_threads = 1, fanout = 10, firehose = 0, payload = 300;
  double rate = 50000, seconds = 10, warmup = 1;
  size_t queue_limit = 4096;
  double batch_ms = 5;
};

int64_t now_ns() { return Clock::now().time_since_epoch() / std::chrono::nanoseconds(1); }

double thread_cpu_s(pthread_t t) {
  clockid_t cid;
  timespec ts{};
  if (pthread_getcpuclockid(t, &cid) != 0 || clock_gettime(cid, &ts) != 0) return -1;
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Latency histogram: 10 us buckets up to 2 s, then one overflow bucket.
struct Hist {
  static constexpr size_t kBuckets = 200000;
  std::vector<uint64_t> b = std::vector<uint64_t>(kBuckets + 1);
  uint64_t n = 0;
  int64_t max_ns = 0;
  void add(int64_t ns) {
    size_t i = ns < 0 ? 0 : std::min<size_t>(static_cast<size_t>(ns / 10000), kBuckets);
    ++b[i];
    ++n;
    max_ns = std::max(max_ns, ns);
  }
  void merge(const Hist& o) {
    for (size_t i = 0; i <= kBuckets; ++i) b[i] += o.b[i];
    n += o.n;
    max_ns = std::max(max_ns, o.max_ns);
  }
  double pct_ms(double p) const {
    uint64_t want = static_cast<uint64_t>(p * static_cast<double>(n)), seen = 0;
    for (size_t i = 0; i <= kBuckets; ++i) {
      seen += b[i];
      if (seen > want) return (i + 1) * 0.01;  // bucket upper edge
    }
    return max_ns / 1e6;
  }
};

struct ClientStats {
  Hist hist;
  uint64_t events = 0, gaps = 0, other = 0, errors = 0;
  std::atomic<int> ready{0};
  std::atomic<bool> measuring{false};
};

class BenchClient : public std::enable_shared_from_this<BenchClient> {
 public:
  BenchClient(net::io_context& io, ClientStats& st, std::string sub) : ws_(io), st_(st), sub_(std::move(sub)) {}

  void start(const net::ip::tcp::endpoint& ep) {
    beast::get_lowest_layer(ws_).async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail();
      beast::get_lowest_layer(self->ws_).socket().set_option(net::ip::tcp::no_delay(true));
      self->ws_.read_message_max(1 << 20);
      self->ws_.async_handshake("127.0.0.1", "/api/v1/stream", [self](beast::error_code ec) {
        if (ec) return self->fail();
        self->ws_.async_write(net::buffer(self->sub_), [self](beast::error_code ec, size_t) {
          if (ec) return self->fail();
          self->read();
        });
      });
    });
  }
  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

 private:
  void fail() { ++st_.errors; }
  void read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        if (ec != net::error::operation_aborted && ec != net::error::bad_descriptor) self->fail();
        return;
      }
      self->on_message();
      self->read();
    });
  }
  // A substring scan, not a JSON parse: the client side should cost little.
  void on_message() {
    auto d = buf_.data();
    std::string_view m(static_cast<const char*>(d.data()), d.size());
    if (m.compare(0, 16, R"({"type":"event",)") == 0) {
      size_t p = m.find(R"("pub_ns":)");
      if (p != std::string_view::npos && st_.measuring.load(std::memory_order_relaxed)) {
        st_.hist.add(now_ns() - std::strtoll(m.data() + p + 9, nullptr, 10));
        ++st_.events;
      }
    } else if (m.find(R"("type":"gap")") != std::string_view::npos) {
      ++st_.gaps;
    } else if (m.find(R"("type":"subscribed")") != std::string_view::npos) {
      st_.ready.fetch_add(1);
    } else {
      ++st_.other;
    }
    buf_.consume(buf_.size());
  }

  beast::websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  ClientStats& st_;
  std::string sub_;
};

std::string group_net(int g) { return "10." + std::to_string(g / 256) + "." + std::to_string(g % 256) + ".0/24"; }

bool parse_args(int argc, char** argv, Opts& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "--clients") o.clients = std::atoi(v);
    else if (a == "--client-threads") o.client_threads = std::atoi(v);
    else if (a == "--fanout") o.fanout = std::atoi(v);
    else if (a == "--firehose") o.firehose = std::atoi(v);
    else if (a == "--payload") o.payload = std::atoi(v);
    else if (a == "--rate") o.rate = std::atof(v);
    else if (a == "--seconds") o.seconds = std::atof(v);
    else if (a == "--warmup") o.warmup = std::atof(v);
    else if (a == "--queue-limit") o.queue_limit = std::strtoull(v, nullptr, 10);
    else if (a == "--batch-ms") o.batch_ms = std::atof(v);
    else return false;
  }
  return o.clients > 0 && o.fanout > 0 && o.fanout <= o.clients && o.client_threads > 0 && o.rate > 0 &&
         o.seconds > 0 && o.firehose >= 0 && o.firehose <= o.clients;
}

}  // namespace

int run(const Opts& o);

int main(int argc, char** argv) {
  Opts o;
  if (!parse_args(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: spectre-streambench [--clients 1000] [--fanout 10] [--firehose 0] [--rate 50000]\n"
                 "       [--seconds 10] [--warmup 1] [--payload 300] [--client-threads 1] [--queue-limit 4096]\n"
                 "       [--batch-ms 5]\n");
    return 2;
  }
  return run(o);
}

namespace {

std::string make_event_json(uint64_t seq, const std::string& dst, const std::string& pad) {
  std::string j = R"({"id":)" + std::to_string(seq) + R"(,"pub_ns":)" + std::to_string(now_ns()) +
                  R"(,"signature":"ET BENCH synthetic","src_ip":"192.0.2.1","dest_ip":")" + dst + R"(","pad":")" +
                  pad + "\"}";
  return j;
}

// Paced publisher: every millisecond, catch up to rate * elapsed.
void publish_loop(ss::StreamHub& hub, const Opts& o, int groups, std::atomic<bool>& stop,
                  std::atomic<uint64_t>& published) {
  std::string pad(static_cast<size_t>(o.payload), 'x');
  auto t0 = Clock::now();
  uint64_t seq = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    double el = std::chrono::duration<double>(Clock::now() - t0).count();
    auto want = static_cast<uint64_t>(el * o.rate);
    while (seq < want) {
      ++seq;
      int g = static_cast<int>(seq % static_cast<uint64_t>(groups));
      ss::StreamEvent ev;
      ev.channel = ss::Channel::kAlerts;
      ev.seq = seq;
      ev.severity = 1 + static_cast<int>(seq % 4);
      ev.signature = "ET BENCH synthetic";
      ev.src_ip = "192.0.2.1";
      ev.dest_ip = "10." + std::to_string(g / 256) + "." + std::to_string(g % 256) + "." +
                   std::to_string(1 + seq % 250);
      ev.json = make_event_json(seq, ev.dest_ip, pad);
      hub.publish(std::move(ev));
    }
    published.store(seq, std::memory_order_relaxed);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Clients on their own io_contexts (one per client thread).
struct ClientSide {
  std::vector<std::unique_ptr<net::io_context>> ios;
  std::vector<std::unique_ptr<ClientStats>> stats;
  std::vector<std::shared_ptr<BenchClient>> clients;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;

  void start(const Opts& o, int filtered, int groups, uint16_t port) {
    for (int t = 0; t < o.client_threads; ++t) {
      ios.push_back(std::make_unique<net::io_context>(1));
      stats.push_back(std::make_unique<ClientStats>());
    }
    net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    for (int i = 0; i < o.clients; ++i) {
      nlohmann::json sub = {{"op", "subscribe"}, {"channels", {"alerts"}}};
      if (i < filtered) sub["filter"] = {{"ip", group_net(i % groups)}};
      int t = i % o.client_threads;
      clients.push_back(std::make_shared<BenchClient>(*ios[t], *stats[t], sub.dump()));
      clients.back()->start(ep);
    }
    for (auto& io : ios) {
      work.push_back(net::make_work_guard(*io));
      threads.emplace_back([&io] { io->run(); });
    }
  }
  int ready() const {
    int r = 0;
    for (auto& s : stats) r += s->ready.load();
    return r;
  }
  void measuring(bool on) {
    for (auto& s : stats) s->measuring = on;
  }
  double cpu() const {
    double c = 0;
    for (auto& th : threads) c += thread_cpu_s(const_cast<std::thread&>(th).native_handle());
    return c;
  }
  void stop() {
    for (size_t t = 0; t < ios.size(); ++t) {
      net::post(*ios[t], [this, t] {
        for (size_t i = t; i < clients.size(); i += ios.size()) clients[i]->close();
      });
      work[t].reset();
    }
    for (auto& th : threads) th.join();
  }
};

struct Window {
  double wall = 0, hub_cpu = 0, pub_cpu = 0, client_cpu = 0;
  uint64_t published = 0;
};

int report(const Opts& o, int connected, int filtered, int groups, const Window& w, const ss::StreamStats& st,
           const ClientSide& cs) {
  Hist all;
  uint64_t gaps = 0, errors = 0;
  for (auto& s : cs.stats) {
    all.merge(s->hist);
    gaps += s->gaps;
    errors += s->errors;
  }
  double per_event = static_cast<double>(filtered / groups) + o.firehose;
  double pub_rate = static_cast<double>(w.published) / w.wall;
  nlohmann::json r = {
      {"bench", "stream"}, {"clients", o.clients}, {"connected", connected}, {"client_threads", o.client_threads},
      {"fanout_per_event", per_event}, {"firehose_clients", o.firehose}, {"payload_bytes", o.payload},
      {"rate_target", o.rate}, {"batch_ms", o.batch_ms}, {"seconds", w.wall}, {"published_per_s", pub_rate},
      {"delivered_per_s", static_cast<double>(all.n) / w.wall},
      {"expected_delivered_per_s", pub_rate * per_event},
      {"latency_ms", {{"p50", all.pct_ms(0.50)}, {"p99", all.pct_ms(0.99)}, {"p999", all.pct_ms(0.999)},
                      {"max", all.max_ns / 1e6}}},
      {"hub_cpu_s", w.hub_cpu}, {"hub_cpu_util", w.hub_cpu / w.wall},
      {"hub_cpu_us_per_delivery", all.n ? w.hub_cpu * 1e6 / static_cast<double>(all.n) : 0.0},
      {"client_cpu_util", w.client_cpu / w.wall}, {"publisher_cpu_util", w.pub_cpu / w.wall},
      {"hub", {{"published", st.published}, {"sent", st.sent}, {"dropped", st.dropped}, {"gaps", st.gaps},
               {"handoff_dropped", st.handoff_dropped}, {"disconnects", st.disconnects}}},
      {"client_gap_notices", gaps}, {"client_errors", errors}, {"cpus", std::thread::hardware_concurrency()},
  };
  std::printf("%s\n", r.dump(2).c_str());
  bool lost = st.dropped || st.gaps || st.handoff_dropped || st.disconnects || gaps || errors || connected < o.clients;
  return lost ? 3 : 0;
}

}  // namespace

int run(const Opts& o) {
  net::io_context hub_io(1);
  auto hub_work = net::make_work_guard(hub_io);
  ss::StreamOptions so;
  so.queue_limit = o.queue_limit;
  so.max_clients = static_cast<size_t>(o.clients) + 16;
  so.batch_delay = std::chrono::microseconds(static_cast<int64_t>(o.batch_ms * 1000));
  ss::StreamHub hub(hub_io, so);
  ss::StreamListener lis(hub_io, hub);
  lis.start();
  std::thread hub_th([&] { hub_io.run(); });

  const int filtered = o.clients - o.firehose;
  const int groups = std::max(1, filtered / o.fanout);
  ClientSide cs;
  cs.start(o, filtered, groups, lis.port());
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (cs.ready() < o.clients && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  int connected = cs.ready();

  std::atomic<bool> stop_pub{false};
  std::atomic<uint64_t> published{0};
  std::thread pub_th(publish_loop, std::ref(hub), std::cref(o), groups, std::ref(stop_pub), std::ref(published));
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));

  // Measured window: thread CPU clocks and counters before and after.
  Window w;
  double hub0 = thread_cpu_s(hub_th.native_handle()), pub0c = thread_cpu_s(pub_th.native_handle()), cl0 = cs.cpu();
  uint64_t pub0 = published.load();
  cs.measuring(true);
  auto w0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  cs.measuring(false);
  w.wall = std::chrono::duration<double>(Clock::now() - w0).count();
  w.published = published.load() - pub0;
  w.hub_cpu = thread_cpu_s(hub_th.native_handle()) - hub0;
  w.pub_cpu = thread_cpu_s(pub_th.native_handle()) - pub0c;
  w.client_cpu = cs.cpu() - cl0;

  stop_pub = true;
  pub_th.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ss::StreamStats st = hub.stats();
  cs.stop();
  hub.stop();
  lis.stop();
  hub_work.reset();
  hub_io.stop();
  hub_th.join();
  return report(o, connected, filtered, groups, w, st, cs);
}

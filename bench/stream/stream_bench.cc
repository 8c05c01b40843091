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
// --client-proc 1 runs the clients in a child process (this binary again, with
// --client-role; commands on its stdin, results as one JSON line on its
// stdout), so that the measuring clients are not threads of the hub's process.
// The hub's own share of the latency (publish -> framed for the socket write)
// comes from StreamOptions::measure_latency.
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
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

extern char** environ;

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
  bool direct_write = true, client_proc = false, raw_client = false;
  bool client_role = false;  // internal: the child of --client-proc 1
  int measure_latency = 1;   // StreamOptions::measure_latency; 2: windows alternately on and off (--rounds pairs)
  int rounds = 2;
  bool latency_cost = false; // --latency-cost: the measuring's own cost per message, no sockets
  uint16_t port = 0;         // internal: the hub's port, for the child
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
  // raw: after the handshake, read the socket in large chunks and parse the
  // (unmasked) server frames here, not with one Beast async_read per message.
  BenchClient(net::io_context& io, ClientStats& st, std::string sub, bool raw)
      : ws_(io), st_(st), sub_(std::move(sub)), raw_(raw) {}

  void start(const net::ip::tcp::endpoint& ep) {
    beast::get_lowest_layer(ws_).async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail();
      beast::get_lowest_layer(self->ws_).socket().set_option(net::ip::tcp::no_delay(true));
      self->ws_.read_message_max(1 << 20);
      self->ws_.async_handshake("127.0.0.1", "/api/v1/stream", [self](beast::error_code ec) {
        if (ec) return self->fail();
        self->ws_.async_write(net::buffer(self->sub_), [self](beast::error_code ec, size_t) {
          if (ec) return self->fail();
          if (self->raw_) return self->raw_read();
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
  void on_message() {
    auto d = buf_.data();
    on_text(std::string_view(static_cast<const char*>(d.data()), d.size()));
    buf_.consume(buf_.size());
  }
  void raw_read() {
    if (rbuf_.size() - have_ < 16384) rbuf_.resize(rbuf_.size() * 2);
    auto& sock = beast::get_lowest_layer(ws_).socket();
    sock.async_read_some(net::buffer(rbuf_.data() + have_, rbuf_.size() - have_),
                         [self = shared_from_this()](beast::error_code ec, size_t n) {
                           if (ec) {
                             if (ec != net::error::operation_aborted && ec != net::error::bad_descriptor &&
                                 ec != net::error::eof)
                               self->fail();
                             return;
                           }
                           self->have_ += n;
                           if (self->parse_frames()) self->raw_read();
                         });
  }
  // Whole frames out of rbuf_; false on a close frame.
  bool parse_frames() {
    size_t pos = 0;
    const auto* b = reinterpret_cast<const unsigned char*>(rbuf_.data());
    while (have_ - pos >= 2) {
      size_t len = b[pos + 1] & 0x7f, hdr = 2;
      if (len == 126) {
        if (have_ - pos < 4) break;
        len = (size_t{b[pos + 2]} << 8) | b[pos + 3];
        hdr = 4;
      } else if (len == 127) {
        if (have_ - pos < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | b[pos + 2 + i];
        hdr = 10;
      }
      if (have_ - pos < hdr + len) break;
      if ((b[pos] & 0x0f) == 0x8) return false;
      if ((b[pos] & 0x0f) == 0x1) on_text(std::string_view(rbuf_.data() + pos + hdr, len));
      pos += hdr + len;
    }
    std::memmove(rbuf_.data(), rbuf_.data() + pos, have_ - pos);
    have_ -= pos;
    return true;
  }
  // A substring scan, not a JSON parse: the client side should cost little.
  void on_text(std::string_view m) {
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
  }

  beast::websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  ClientStats& st_;
  std::string sub_;
  bool raw_ = false;
  std::vector<char> rbuf_ = std::vector<char>(65536);
  size_t have_ = 0;
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
    else if (a == "--direct-write") o.direct_write = std::atoi(v) != 0;
    else if (a == "--client-proc") o.client_proc = std::atoi(v) != 0;
    else if (a == "--raw-client") o.raw_client = std::atoi(v) != 0;
    else if (a == "--client-role") o.client_role = std::atoi(v) != 0;
    else if (a == "--port") o.port = static_cast<uint16_t>(std::atoi(v));
    else if (a == "--measure-latency") o.measure_latency = std::atoi(v);
    else if (a == "--rounds") o.rounds = std::atoi(v);
    else if (a == "--latency-cost") o.latency_cost = std::atoi(v) != 0;
    else return false;
  }
  return o.clients > 0 && o.fanout > 0 && o.fanout <= o.clients && o.client_threads > 0 && o.rate > 0 &&
         o.seconds > 0 && o.firehose >= 0 && o.firehose <= o.clients;
}

}  // namespace

int run(const Opts& o);
int latency_cost();
int alternate(Opts o);
int client_role(const Opts& o);

int main(int argc, char** argv) {
  Opts o;
  if (!parse_args(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: spectre-streambench [--clients 1000] [--fanout 10] [--firehose 0] [--rate 50000]\n"
                 "       [--seconds 10] [--warmup 1] [--payload 300] [--client-threads 1] [--queue-limit 4096]\n"
                 "       [--batch-ms 5] [--direct-write 1] [--client-proc 0] [--raw-client 0]\n"
                 "       [--measure-latency 1|0|2 (alternate on/off windows)] [--rounds 2]\n"
                 "       spectre-streambench --latency-cost 1\n");
    return 2;
  }
  if (o.client_role) return client_role(o);
  if (o.latency_cost) return latency_cost();
  if (o.measure_latency != 2) return run(o);
  return alternate(o);
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
  pthread_setname_np(pthread_self(), "sb-publisher");
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
      clients.push_back(std::make_shared<BenchClient>(*ios[t], *stats[t], sub.dump(), o.raw_client));
      clients.back()->start(ep);
    }
    for (auto& io : ios) {
      work.push_back(net::make_work_guard(*io));
      threads.emplace_back([&io] {
        pthread_setname_np(pthread_self(), "sb-clients");
        io->run();
      });
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

// What the clients measured over the window, wherever they ran.
struct ClientResult {
  Hist hist;
  uint64_t gaps = 0, errors = 0, other = 0;
  double cpu_s = 0;
  int ready = 0;

  void add(const ClientSide& cs) {
    for (auto& st : cs.stats) {
      hist.merge(st->hist);
      gaps += st->gaps;
      errors += st->errors;
      other += st->other;
    }
  }
  // One line for the pipe: the histogram as [bucket, count] pairs.
  std::string to_line() const {
    nlohmann::json h = nlohmann::json::array();
    for (size_t i = 0; i <= Hist::kBuckets; ++i)
      if (hist.b[i]) h.push_back({i, hist.b[i]});
    nlohmann::json j = {{"ready", ready}, {"gaps", gaps}, {"errors", errors}, {"other", other},
                        {"cpu_s", cpu_s}, {"max_ns", hist.max_ns}, {"hist", h}};
    return j.dump() + "\n";
  }
  bool from_line(const std::string& line) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    ready = j.value("ready", 0);
    gaps = j.value("gaps", 0ull);
    errors = j.value("errors", 0ull);
    other = j.value("other", 0ull);
    cpu_s = j.value("cpu_s", 0.0);
    hist.max_ns = j.value("max_ns", int64_t{0});
    for (const auto& e : j["hist"]) {
      size_t i = e[0].get<size_t>();
      uint64_t n = e[1].get<uint64_t>();
      if (i > Hist::kBuckets) return false;
      hist.b[i] += n;
      hist.n += n;
    }
    return true;
  }
};

}  // namespace

// --client-role: the clients of a --client-proc parent. stdin: "start", "stop",
// "quit" lines; stdout: "ready N" once connected (or after 60 s), the result line after "stop".
int client_role(const Opts& o) {
  const int filtered = o.clients - o.firehose;
  const int groups = std::max(1, filtered / o.fanout);
  ClientSide cs;
  cs.start(o, filtered, groups, o.port);
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (cs.ready() < o.clients && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::printf("ready %d\n", cs.ready());
  std::fflush(stdout);
  double cpu0 = 0;
  char line[64];
  while (std::fgets(line, sizeof line, stdin)) {
    std::string cmd(line);
    if (cmd.rfind("start", 0) == 0) {
      cpu0 = cs.cpu();
      cs.measuring(true);
    } else if (cmd.rfind("stop", 0) == 0) {
      cs.measuring(false);
      ClientResult r;
      r.cpu_s = cs.cpu() - cpu0;
      r.ready = cs.ready();
      r.add(cs);
      std::fputs(r.to_line().c_str(), stdout);
      std::fflush(stdout);
    } else {
      break;
    }
  }
  cs.stop();
  return 0;
}

namespace {

// The parent's end of --client-proc: spawn, command, read results.
struct ClientProc {
  pid_t pid = -1;
  FILE* to = nullptr;
  FILE* from = nullptr;

  bool spawn(const Opts& o, uint16_t port) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    for (int fd : {in[0], in[1], out[0], out[1]}) posix_spawn_file_actions_addclose(&fa, fd);
    std::vector<std::string> args = {"spectre-streambench", "--client-role", "1", "--port", std::to_string(port),
                                     "--clients", std::to_string(o.clients), "--fanout", std::to_string(o.fanout),
                                     "--firehose", std::to_string(o.firehose),
                                     "--client-threads", std::to_string(o.client_threads),
                                     "--raw-client", o.raw_client ? "1" : "0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    to = fdopen(in[1], "w");
    from = fdopen(out[0], "r");
    return rc == 0 && to && from;
  }
  void send(const char* cmd) {
    std::fputs(cmd, to);
    std::fflush(to);
  }
  std::string line() {
    std::string l;
    char buf[65536];
    while (std::fgets(buf, sizeof buf, from)) {
      l += buf;
      if (!l.empty() && l.back() == '\n') break;
    }
    return l;
  }
  int ready() {
    std::string l = line();
    return l.rfind("ready ", 0) == 0 ? std::atoi(l.c_str() + 6) : 0;
  }
  void finish() {
    if (pid <= 0) return;
    send("quit\n");
    std::fclose(to);
    std::fclose(from);
    int st = 0;
    waitpid(pid, &st, 0);
    pid = -1;
  }
};

struct Window {
  double wall = 0, hub_cpu = 0, pub_cpu = 0, client_cpu = 0;
  uint64_t published = 0;
  std::vector<uint64_t> hub_lat;  // StreamHub::latency_histogram over the window
  ss::StreamHub::WriteCounts writes;
  std::string load_before, load_after;
};

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

nlohmann::json hub_latency_json(const std::vector<uint64_t>& h) {
  uint64_t n = 0;
  for (uint64_t v : h) n += v;
  auto pct = [&](double p) {
    uint64_t want = static_cast<uint64_t>(p * static_cast<double>(n)), seen = 0;
    for (size_t i = 0; i < h.size(); ++i) {
      seen += h[i];
      if (seen > want) return static_cast<double>((i + 1) * ss::StreamHub::kLatencyBucketUs) / 1000.0;
    }
    return 0.0;
  };
  double max = 0;
  for (size_t i = 0; i < h.size(); ++i)
    if (h[i]) max = static_cast<double>((i + 1) * ss::StreamHub::kLatencyBucketUs) / 1000.0;
  return {{"deliveries", n}, {"p50", pct(0.5)}, {"p99", pct(0.99)}, {"p999", pct(0.999)}, {"max_bucket", max}};
}

nlohmann::json last_report;  // run()'s JSON, for alternate()

int report(const Opts& o, int connected, int filtered, int groups, const Window& w, const ss::StreamStats& st,
           const ClientResult& cr) {
  const Hist& all = cr.hist;
  double per_event = static_cast<double>(filtered / groups) + o.firehose;
  double pub_rate = static_cast<double>(w.published) / w.wall;
  nlohmann::json r = {
      {"bench", "stream"}, {"clients", o.clients}, {"connected", connected}, {"client_threads", o.client_threads},
      {"client_proc", o.client_proc}, {"raw_client", o.raw_client}, {"direct_write", o.direct_write},
      {"fanout_per_event", per_event}, {"firehose_clients", o.firehose}, {"payload_bytes", o.payload},
      {"rate_target", o.rate}, {"batch_ms", o.batch_ms}, {"seconds", w.wall}, {"published_per_s", pub_rate},
      {"delivered", all.n}, {"delivered_per_s", static_cast<double>(all.n) / w.wall},
      {"expected_delivered_per_s", pub_rate * per_event},
      {"latency_ms", {{"p50", all.pct_ms(0.50)}, {"p99", all.pct_ms(0.99)}, {"p999", all.pct_ms(0.999)},
                      {"max", all.max_ns / 1e6}}},
      {"hub_latency_ms", hub_latency_json(w.hub_lat)},
      {"socket_writes_per_s", {{"direct", static_cast<double>(w.writes.direct) / w.wall},
                               {"async", static_cast<double>(w.writes.async) / w.wall}}},
      {"hub_cpu_s", w.hub_cpu}, {"hub_cpu_util", w.hub_cpu / w.wall},
      {"hub_cpu_us_per_delivery", all.n ? w.hub_cpu * 1e6 / static_cast<double>(all.n) : 0.0},
      {"client_cpu_util", w.client_cpu / w.wall}, {"publisher_cpu_util", w.pub_cpu / w.wall},
      {"hub", {{"published", st.published}, {"sent", st.sent}, {"dropped", st.dropped}, {"gaps", st.gaps},
               {"handoff_dropped", st.handoff_dropped}, {"disconnects", st.disconnects}}},
      {"client_gap_notices", cr.gaps}, {"client_errors", cr.errors}, {"cpus", std::thread::hardware_concurrency()},
      {"loadavg_before", w.load_before}, {"loadavg_after", w.load_after}, {"measure_latency", o.measure_latency},
  };
  std::printf("%s\n", r.dump(2).c_str());
  last_report = r;
  // Nothing received at all (e.g. no result from the client process) counts as lost too.
  bool lost = st.dropped || st.gaps || st.handoff_dropped || st.disconnects || cr.gaps || cr.errors ||
              connected < o.clients || (w.published > 0 && all.n == 0);
  return lost ? 3 : 0;
}

// Counters and clocks at the window's edges.
struct Probe {
  double hub = 0, pub = 0, clients = 0;
  uint64_t published = 0;
  std::vector<uint64_t> lat;
  ss::StreamHub::WriteCounts writes;
};

}  // namespace

int run(const Opts& o) {
  net::io_context hub_io(1);
  auto hub_work = net::make_work_guard(hub_io);
  ss::StreamOptions so;
  so.queue_limit = o.queue_limit;
  so.max_clients = static_cast<size_t>(o.clients) + 16;
  so.batch_delay = std::chrono::microseconds(static_cast<int64_t>(o.batch_ms * 1000));
  so.direct_write = o.direct_write;
  so.measure_latency = o.measure_latency != 0;
  ss::StreamHub hub(hub_io, so);
  ss::StreamListener lis(hub_io, hub);
  lis.start();
  std::thread hub_th([&] {
    pthread_setname_np(pthread_self(), "sb-hub");  // perf report --comm sb-hub
    hub_io.run();
  });

  const int filtered = o.clients - o.firehose;
  const int groups = std::max(1, filtered / o.fanout);
  ClientSide cs;
  ClientProc cp;
  int connected = 0;
  if (o.client_proc) {
    if (!cp.spawn(o, lis.port())) std::fprintf(stderr, "streambench: cannot start the client process\n");
    else connected = cp.ready();
  } else {
    cs.start(o, filtered, groups, lis.port());
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (cs.ready() < o.clients && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    connected = cs.ready();
  }

  std::atomic<bool> stop_pub{false};
  std::atomic<uint64_t> published{0};
  std::thread pub_th(publish_loop, std::ref(hub), std::cref(o), groups, std::ref(stop_pub), std::ref(published));
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));

  // Measured window: thread CPU clocks and counters before and after.
  auto probe = [&] {
    Probe p;
    p.hub = thread_cpu_s(hub_th.native_handle());
    p.pub = thread_cpu_s(pub_th.native_handle());
    p.clients = o.client_proc ? 0 : cs.cpu();
    p.published = published.load();
    p.lat = hub.latency_histogram();
    p.writes = hub.write_counts();
    return p;
  };
  Window w;
  w.load_before = loadavg();
  Probe a = probe();
  if (o.client_proc) cp.send("start\n");
  cs.measuring(true);
  auto w0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  cs.measuring(false);
  if (o.client_proc) cp.send("stop\n");
  w.wall = std::chrono::duration<double>(Clock::now() - w0).count();
  Probe b = probe();
  w.load_after = loadavg();
  w.published = b.published - a.published;
  w.hub_cpu = b.hub - a.hub;
  w.pub_cpu = b.pub - a.pub;
  w.client_cpu = b.clients - a.clients;
  w.hub_lat = b.lat;
  for (size_t i = 0; i < w.hub_lat.size() && i < a.lat.size(); ++i) w.hub_lat[i] -= a.lat[i];
  w.writes = {b.writes.direct - a.writes.direct, b.writes.async - a.writes.async};

  ClientResult cr;
  if (o.client_proc) {
    if (!cr.from_line(cp.line())) std::fprintf(stderr, "streambench: no result from the client process\n");
    w.client_cpu = cr.cpu_s;
  }
  stop_pub = true;
  pub_th.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ss::StreamStats st = hub.stats();
  if (o.client_proc) {
    cp.finish();
  } else {
    cs.stop();
    cr.add(cs);
  }
  hub.stop();
  lis.stop();
  hub_work.reset();
  hub_io.stop();
  hub_th.join();
  return report(o, connected, filtered, groups, w, st, cr);
}

// --latency-cost: the measuring's own work per message, on the hub's real code:
// a steady-clock read per publish (StreamHub::publish stamps the event) and per
// pump (session.h), and StreamHub::record_latency per delivered message (its two
// histograms). Fastest of 5 rounds of 4 M calls each; no sockets.
int latency_cost() {
  net::io_context io(1);  // never run: only record_latency is called, on this thread
  ss::StreamOptions so;
  so.measure_latency = true;
  ss::StreamHub hub(io, so);
  constexpr int kCalls = 1 << 22;
  std::vector<int64_t> pub(4096);
  for (size_t i = 0; i < pub.size(); ++i) pub[i] = ss::mono_ns() - static_cast<int64_t>((i * 7919) % 20000000);
  double clock_ns = 1e9, record_ns = 1e9;
  int64_t sink = 0;
  for (int round = 0; round < 5; ++round) {
    auto t0 = Clock::now();
    for (int i = 0; i < kCalls; ++i) sink += ss::mono_ns();
    auto t1 = Clock::now();
    const int64_t now = ss::mono_ns();
    for (int i = 0; i < kCalls; ++i) hub.record_latency(now - pub[static_cast<size_t>(i) & 4095]);
    auto t2 = Clock::now();
    clock_ns = std::min(clock_ns, std::chrono::duration<double, std::nano>(t1 - t0).count() / kCalls);
    record_ns = std::min(record_ns, std::chrono::duration<double, std::nano>(t2 - t1).count() / kCalls);
  }
  // The hub thread pays record_latency per delivery and a clock read per pump (~64 messages
  // framed a pump at the bench's rate); the publishing thread a clock read per event.
  nlohmann::json r = {{"bench", "stream-latency-cost"}, {"steady_clock_read_ns", clock_ns},
                      {"record_latency_ns", record_ns}, {"hub_ns_per_delivery_pump64", record_ns + clock_ns / 64},
                      {"publisher_ns_per_event", clock_ns}, {"loadavg", loadavg()}, {"sink", sink & 1}};
  std::printf("%s\n", r.dump(2).c_str());
  return 0;
}

// --measure-latency 2: the same hub load with the measuring on and off, windows
// alternated (--rounds pairs) in one run; each window's JSON, then a summary.
int alternate(Opts o) {
  struct Sum {
    double cpu_us = 0, delivered_per_s = 0, util = 0;
    int n = 0;
  } sum[2];
  int rc = 0;
  for (int r = 0; r < o.rounds; ++r)
    for (int m : {1, 0}) {
      o.measure_latency = m;
      rc |= run(o);
      Sum& s = sum[m];
      s.cpu_us += last_report.value("hub_cpu_us_per_delivery", 0.0);
      s.delivered_per_s += last_report.value("delivered_per_s", 0.0);
      s.util += last_report.value("hub_cpu_util", 0.0);
      s.n++;
    }
  auto side = [](const Sum& s) {
    const double n = std::max(1, s.n);
    return nlohmann::json{{"windows", s.n}, {"hub_cpu_us_per_delivery", s.cpu_us / n},
                          {"delivered_per_s", s.delivered_per_s / n}, {"hub_cpu_util", s.util / n},
                          {"deliveries_per_hub_cpu_s", s.cpu_us > 0 ? 1e6 * n / s.cpu_us : 0.0}};
  };
  nlohmann::json r = {{"bench", "stream-measure-latency-on-off"}, {"on", side(sum[1])}, {"off", side(sum[0])}};
  r["hub_cpu_on_over_off"] = sum[0].cpu_us > 0 ? sum[1].cpu_us / sum[0].cpu_us : 0.0;
  std::printf("%s\n", r.dump(2).c_str());
  return rc;
}

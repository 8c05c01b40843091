// spectre-ringbench: events per second through one control-plane ring
// (ctrlplane/shm_ring.h) in a real shared-memory segment, one producer thread
// (the data-plane worker side) and one consumer thread (the control plane,
// through its own mapping of the segment).
//   wait mode: the producer waits for room (can_push), nothing is lost;
//              the figure is delivered events/s.
//   drop mode: the producer never waits (the live data plane); reports
//              attempts/s, delivered/s and the drop fraction.
// The consumer checks sequence continuity (gaps == producer drops) and the
// first payload word, so a broken ring fails the run (exit 3).
// Exit: 0 ok, 1 runtime error, 2 usage, 3 inconsistent counts.
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ctrlplane/shm_channel.h"

using spectre::ctrl::Message;
using spectre::ctrl::RingConsumer;
using spectre::ctrl::RingProducer;
using spectre::ctrl::RingSizes;
using spectre::ctrl::ShmChannel;

namespace {

struct Options {
  std::vector<uint32_t> sizes{64, 512};
  uint64_t messages = 20'000'000;
  uint32_t ring_bytes = 1u << 20;
  int reps = 3;
  bool pin = false;
  bool drop_mode = true;
  bool wait_mode = true;
  std::string json;
};

struct Run {
  uint32_t size = 0;
  const char* mode = "";
  uint64_t attempts = 0, delivered = 0, drops = 0, gaps = 0;
  double seconds = 0;
  bool consistent = true;
};

void usage() {
  std::fprintf(stderr,
               "usage: spectre-ringbench [--sizes 64,512] [--messages N] [--ring-bytes B] [--reps R]\n"
               "         [--mode wait|drop|both] [--pin] [--json FILE]\n"
               "  --messages N    push attempts per run (default 20000000)\n"
               "  --ring-bytes B  ring capacity, power of two (default 1048576)\n"
               "  --reps R        runs per size and mode; the median is reported (default 3)\n"
               "  --pin           producer on CPU 0, consumer on CPU 1\n");
}

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Spin briefly, then give the CPU away: on a shared or oversubscribed machine
// the other side may be waiting for this very core.
inline void backoff(uint32_t& spins) {
  if (++spins < 256) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  } else {
    spins = 0;
    sched_yield();
  }
}

bool run_once(const Options& o, uint32_t size, bool wait, Run& r, std::string& err) {
  const std::string name = "ringbench-" + std::to_string(::getpid());
  auto dp = ShmChannel::create(name, 1, RingSizes{o.ring_bytes, 4096, 4096}, err);
  if (!dp) return false;
  auto cp = ShmChannel::attach(name, err);
  ShmChannel::unlink(name, err);
  if (!cp) return false;
  RingProducer p = dp->event_producer(0);
  RingConsumer c = cp->event_consumer(0);
  std::atomic<bool> go{false}, done{false};
  uint64_t bad = 0;
  std::thread consumer([&] {
    if (o.pin) pin_to(1);
    uint32_t spins = 0;
    while (!go.load(std::memory_order_acquire)) backoff(spins);
    const auto& pushed = cp->event_ring(0).pushed;  // the producer's count, shared
    for (;;) {
      const size_t n = c.drain([&](const Message& m) {
        uint64_t first;
        std::memcpy(&first, m.data, 8);
        bad += first != m.seq || m.length != size;
      }, 1024);
      if (n == 0) {
        if (done.load(std::memory_order_acquire) && c.received() == pushed.load(std::memory_order_relaxed)) break;
        backoff(spins);
      } else {
        spins = 0;
      }
    }
  });
  if (o.pin) pin_to(0);
  std::vector<uint8_t> buf(size, 0x5a);
  go.store(true, std::memory_order_release);
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < o.messages; ++i) {
    const uint64_t seq = p.next_seq();
    std::memcpy(buf.data(), &seq, 8);
    if (wait) {
      uint32_t spins = 0;
      while (!p.can_push(size)) backoff(spins);
    }
    p.try_push(1, buf.data(), size);
  }
  done.store(true, std::memory_order_release);
  consumer.join();
  const auto t1 = std::chrono::steady_clock::now();
  r.size = size;
  r.mode = wait ? "wait" : "drop";
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.attempts = o.messages;
  r.delivered = c.received();
  r.drops = p.drops();
  r.gaps = c.gaps();
  // Drops after the last delivered message are not visible as gaps.
  r.consistent = bad == 0 && c.reordered() == 0 && c.corrupt_count() == 0 && r.delivered + r.drops == r.attempts &&
                 r.gaps <= r.drops && (!wait || r.drops == 0);
  return true;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sizes") {
      o.sizes.clear();
      std::string s = val();
      for (size_t pos = 0; pos <= s.size();) {
        const size_t comma = std::min(s.find(',', pos), s.size());
        o.sizes.push_back(static_cast<uint32_t>(std::strtoul(s.substr(pos, comma - pos).c_str(), nullptr, 10)));
        pos = comma + 1;
      }
    } else if (a == "--messages") {
      o.messages = std::strtoull(val(), nullptr, 10);
    } else if (a == "--ring-bytes") {
      o.ring_bytes = static_cast<uint32_t>(std::strtoul(val(), nullptr, 10));
    } else if (a == "--reps") {
      o.reps = std::max(1, std::atoi(val()));
    } else if (a == "--mode") {
      const std::string m = val();
      o.wait_mode = m == "wait" || m == "both";
      o.drop_mode = m == "drop" || m == "both";
      if (!o.wait_mode && !o.drop_mode) {
        usage();
        return 2;
      }
    } else if (a == "--pin") {
      o.pin = true;
    } else if (a == "--json") {
      o.json = val();
    } else {
      usage();
      return 2;
    }
  }
  for (uint32_t s : o.sizes) {
    if (s < 8 || s > o.ring_bytes / 2 - 16) {
      std::fprintf(stderr, "spectre-ringbench: message size %u outside 8..%u\n", s, o.ring_bytes / 2 - 16);
      return 2;
    }
  }
  std::vector<Run> results;
  bool consistent = true;
  for (uint32_t size : o.sizes) {
    for (int mode = 0; mode < 2; ++mode) {
      const bool wait = mode == 0;
      if ((wait && !o.wait_mode) || (!wait && !o.drop_mode)) continue;
      std::vector<Run> runs(o.reps);
      for (auto& r : runs) {
        std::string err;
        if (!run_once(o, size, wait, r, err)) {
          std::fprintf(stderr, "spectre-ringbench: %s\n", err.c_str());
          return 1;
        }
        consistent &= r.consistent;
      }
      std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.seconds < b.seconds; });
      const Run& m = runs[runs.size() / 2];
      results.push_back(m);
      std::printf("%4u B  %s  %6.2f M attempts/s  %6.2f M delivered/s  %7.1f MB/s  drops %5.1f%%%s\n", size, m.mode,
                  m.attempts / m.seconds / 1e6, m.delivered / m.seconds / 1e6,
                  m.delivered * double(size) / m.seconds / 1e6, 100.0 * m.drops / double(m.attempts),
                  m.consistent ? "" : "  INCONSISTENT");
    }
  }
  if (!o.json.empty()) {
    FILE* f = std::fopen(o.json.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "spectre-ringbench: cannot write %s\n", o.json.c_str());
      return 1;
    }
    std::fprintf(f, "{\n  \"bench\": \"spectre-ringbench\",\n  \"cpu\": \"%s\",\n  \"cpus\": %u,\n", cpu_model().c_str(),
                 std::thread::hardware_concurrency());
    std::fprintf(f, "  \"ring_bytes\": %u,\n  \"messages_per_run\": %lu,\n  \"reps\": %d,\n  \"pinned\": %s,\n",
                 o.ring_bytes, (unsigned long)o.messages, o.reps, o.pin ? "true" : "false");
    std::fprintf(f, "  \"results\": [\n");
    for (size_t i = 0; i < results.size(); ++i) {
      const Run& r = results[i];
      std::fprintf(f,
                   "    {\"size\": %u, \"mode\": \"%s\", \"seconds\": %.6f, \"attempts\": %lu, \"delivered\": %lu, "
                   "\"drops\": %lu, \"gaps\": %lu, \"attempts_per_s\": %.0f, \"events_per_s\": %.0f, "
                   "\"consistent\": %s}%s\n",
                   r.size, r.mode, r.seconds, (unsigned long)r.attempts, (unsigned long)r.delivered,
                   (unsigned long)r.drops, (unsigned long)r.gaps, r.attempts / r.seconds, r.delivered / r.seconds,
                   r.consistent ? "true" : "false", i + 1 < results.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
  }
  return consistent ? 0 : 3;
}

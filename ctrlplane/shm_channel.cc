#include "ctrlplane/shm_channel.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace spectre::ctrl {

namespace {

bool valid_ring_bytes(uint32_t b) {
  return b >= kRingMinBytes && b <= kRingMaxBytes && (b & (b - 1)) == 0;
}

std::string errno_text(int e) { return std::strerror(e); }

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t unix_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// /proc/<pid>/stat: state (field 3) and start time (field 22). False if unreadable.
bool proc_stat(int32_t pid, char& state, uint64_t& start) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return false;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces and ')'
  if (!p || p[1] != ' ') return false;
  p += 2;
  state = *p;
  // After ')' : field 3 is state; start time is field 22, i.e. 19 more fields.
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (!p) return false;
    ++p;
  }
  start = std::strtoull(p, nullptr, 10);
  return true;
}

uint64_t proc_start(int32_t pid) {
  char st;
  uint64_t start = 0;
  return proc_stat(pid, st, start) ? start : 0;
}

// Alive and, when start is known, the same process (not a reused pid).
bool pid_alive(int32_t pid, uint64_t start) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  char st;
  uint64_t s = 0;
  if (!proc_stat(pid, st, s)) return true;  // no /proc: trust kill()
  if (st == 'Z' || st == 'X') return false;
  return start == 0 || s == start;
}

struct HeaderBuf {
  alignas(64) unsigned char raw[sizeof(ShmHeader)];
  const ShmHeader& h() const { return *reinterpret_cast<const ShmHeader*>(raw); }
};

bool read_exact(int fd, void* out, size_t n, off_t off) {
  auto* p = static_cast<unsigned char*>(out);
  while (n) {
    const ssize_t r = ::pread(fd, p, n, off);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      return false;
    }
    p += r;
    n -= static_cast<size_t>(r);
    off += r;
  }
  return true;
}

enum class Existing { Stale, Live, Foreign, Error };

// What to do about a segment that already carries our name (create()).
Existing inspect_existing(const std::string& object, const std::string& name, std::string& err) {
  // A creator between shm_open and its last header store: give it 500 ms.
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int fd = ::shm_open(object.c_str(), O_RDONLY, 0);
    if (fd < 0) {
      if (errno == ENOENT) return Existing::Stale;  // gone meanwhile: just retry the create
      err = "cannot open existing /dev/shm" + object + ": " + errno_text(errno);
      return Existing::Error;
    }
    struct stat sb {};
    HeaderBuf hb{};
    const bool ok = ::fstat(fd, &sb) == 0;
    const bool full = ok && static_cast<uint64_t>(sb.st_size) >= sizeof(ShmHeader) &&
                      read_exact(fd, hb.raw, sizeof hb.raw, 0);
    ::close(fd);
    if (!ok) {
      err = "cannot stat /dev/shm" + object + ": " + errno_text(errno);
      return Existing::Error;
    }
    const ShmHeader& h = hb.h();
    if (full && h.magic != 0 && h.magic != kShmMagic) {
      err = "/dev/shm" + object + " exists and is not an InfraSpectre control segment (bad magic); remove it by hand";
      return Existing::Foreign;
    }
    const bool complete = full && h.magic == kShmMagic &&
                          (h.layout_version != kShmLayoutVersion || h.ready.load(std::memory_order_acquire) == kShmReady);
    if (complete || attempt == 49) {
      const int32_t pid = full ? h.creator_pid : 0;
      const uint64_t start = full && h.layout_version == kShmLayoutVersion ? h.creator_start : 0;
      if (pid_alive(pid, start)) {
        err = "instance '" + name + "' is in use by data plane pid " + std::to_string(pid) + " (/dev/shm" + object + ")";
        return Existing::Live;
      }
      return Existing::Stale;
    }
    ::usleep(10000);
  }
  return Existing::Stale;
}

}  // namespace

std::string shm_object_name(const std::string& name) {
  if (name.empty() || name.size() > kShmNameMax) return {};
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return {};
  }
  return "/spectre-" + name;
}

uint64_t shm_segment_bytes(uint32_t workers, const RingSizes& s) {
  if (workers == 0 || workers > kShmMaxWorkers) return 0;
  if (!valid_ring_bytes(s.event_bytes) || !valid_ring_bytes(s.command_bytes) || !valid_ring_bytes(s.response_bytes))
    return 0;
  return kShmHeaderBytes + uint64_t(workers) * (kRingCtlBytes + uint64_t(s.event_bytes)) +
         (kRingCtlBytes + uint64_t(s.command_bytes)) + (kRingCtlBytes + uint64_t(s.response_bytes));
}

std::unique_ptr<ShmChannel> ShmChannel::create(const std::string& name, uint32_t workers, const RingSizes& sizes,
                                               std::string& err, mode_t mode, gid_t group) {
  const std::string object = shm_object_name(name);
  if (object.empty()) {
    err = "invalid instance name '" + name + "' (1-48 characters of A-Z a-z 0-9 _ . -)";
    return nullptr;
  }
  const uint64_t total = shm_segment_bytes(workers, sizes);
  if (total == 0) {
    err = "invalid channel geometry: workers must be 1.." + std::to_string(kShmMaxWorkers) +
          ", ring sizes powers of two from " + std::to_string(kRingMinBytes) + " to " + std::to_string(kRingMaxBytes);
    return nullptr;
  }
  int fd = -1;
  for (int attempt = 0; attempt < 4 && fd < 0; ++attempt) {
    fd = ::shm_open(object.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) break;
    if (errno != EEXIST) {
      err = "cannot create /dev/shm" + object + ": " + errno_text(errno);
      return nullptr;
    }
    switch (inspect_existing(object, name, err)) {
      case Existing::Stale:
        if (::shm_unlink(object.c_str()) != 0 && errno != ENOENT) {
          err = "cannot remove stale /dev/shm" + object + ": " + errno_text(errno);
          return nullptr;
        }
        break;
      default:
        return nullptr;
    }
  }
  if (fd < 0) {
    err = "cannot create /dev/shm" + object + ": it keeps reappearing (another data plane starting?)";
    return nullptr;
  }
  auto fail = [&](const std::string& what) -> std::unique_ptr<ShmChannel> {
    err = what + " /dev/shm" + object + ": " + errno_text(errno);
    ::close(fd);
    ::shm_unlink(object.c_str());
    return nullptr;
  };
  // fchmod after creation: the mode given to shm_open is filtered by the umask.
  if (::fchmod(fd, mode) != 0) return fail("cannot chmod");
  if (group != gid_t(-1) && ::fchown(fd, uid_t(-1), group) != 0) return fail("cannot chgrp");
  if (::ftruncate(fd, static_cast<off_t>(total)) != 0) return fail("cannot size");
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) return fail("cannot stat");
  void* p = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail("cannot map");
  ::close(fd);

  std::unique_ptr<ShmChannel> ch(new ShmChannel());
  ch->base_ = static_cast<uint8_t*>(p);
  ch->bytes_ = total;
  ch->workers_ = workers;
  ch->name_ = name;
  ch->object_ = object;
  ch->inode_ = sb.st_ino;
  ch->dev_ = sb.st_dev;
  ch->creator_ = true;

  // The mapping is zero-filled (fresh ftruncate); atomics start at 0.
  auto* h = reinterpret_cast<ShmHeader*>(ch->base_);
  h->layout_version = kShmLayoutVersion;
  h->header_bytes = kShmHeaderBytes;
  h->total_bytes = total;
  h->creator_pid = static_cast<int32_t>(::getpid());
  h->num_workers = workers;
  h->creator_start = proc_start(h->creator_pid);
  h->event_ring_bytes = sizes.event_bytes;
  h->command_ring_bytes = sizes.command_bytes;
  h->response_ring_bytes = sizes.response_bytes;
  h->ring_ctl_bytes = kRingCtlBytes;
  std::memcpy(h->instance, name.data(), name.size());
  h->created_unix_ns = unix_ns();
  uint64_t off = kShmHeaderBytes;
  for (uint32_t i = 0; i < workers + 2; ++i) {
    const uint32_t cap = i < workers ? sizes.event_bytes : i == workers ? sizes.command_bytes : sizes.response_bytes;
    ch->ring_offset_[i] = off;
    auto* ctl = reinterpret_cast<RingCtl*>(ch->base_ + off);
    ctl->capacity = cap;
    ctl->kind = static_cast<uint32_t>(i < workers ? RingKind::Event : i == workers ? RingKind::Command : RingKind::Response);
    ctl->index = i < workers ? i : 0;
    off += kRingCtlBytes + cap;
  }
  // Magic and ready last: a reader that sees them sees every field above.
  std::atomic_ref<uint64_t>(h->magic).store(kShmMagic, std::memory_order_release);
  h->ready.store(kShmReady, std::memory_order_release);
  return ch;
}

std::unique_ptr<ShmChannel> ShmChannel::attach(const std::string& name, std::string& err, bool exclusive) {
  const std::string object = shm_object_name(name);
  if (object.empty()) {
    err = "invalid instance name '" + name + "'";
    return nullptr;
  }
  const std::string path = "/dev/shm" + object;
  const int fd = ::shm_open(object.c_str(), exclusive ? O_RDWR : O_RDONLY, 0);
  if (fd < 0) {
    if (errno == ENOENT)
      err = "no data plane instance '" + name + "' (" + path + " does not exist)";
    else if (errno == EACCES)
      err = "permission denied on " + path + " (owner or group of the data plane only)";
    else
      err = "cannot open " + path + ": " + errno_text(errno);
    return nullptr;
  }
  struct stat sb {};
  HeaderBuf hb{};
  auto fail = [&](const std::string& what) -> std::unique_ptr<ShmChannel> {
    err = path + ": " + what;
    ::close(fd);
    return nullptr;
  };
  if (::fstat(fd, &sb) != 0) return fail("cannot stat: " + errno_text(errno));
  const uint64_t size = static_cast<uint64_t>(sb.st_size);
  if (size < 12 || !read_exact(fd, hb.raw, 12, 0))
    return fail("truncated segment (" + std::to_string(size) + " bytes)");
  const ShmHeader& h = hb.h();
  if (h.magic != kShmMagic) {
    if (h.magic == 0) return fail("segment not initialised (data plane starting, or it crashed while starting)");
    return fail("not an InfraSpectre control segment (bad magic)");
  }
  if (h.layout_version != kShmLayoutVersion)
    return fail("spectre shm layout version " + std::to_string(h.layout_version) + ", this tool expects " +
                std::to_string(kShmLayoutVersion));
  if (size < sizeof(ShmHeader) || !read_exact(fd, hb.raw, sizeof hb.raw, 0))
    return fail("truncated segment (" + std::to_string(size) + " bytes, header alone needs " +
                std::to_string(sizeof(ShmHeader)) + ")");
  if (h.ready.load(std::memory_order_relaxed) != kShmReady)
    return fail("segment not initialised (data plane starting, or it crashed while starting)");
  if (h.header_bytes != kShmHeaderBytes || h.ring_ctl_bytes != kRingCtlBytes)
    return fail("inconsistent header (header or ring block size differs from layout version 1)");
  const RingSizes sizes{h.event_ring_bytes, h.command_ring_bytes, h.response_ring_bytes};
  const uint64_t expect = shm_segment_bytes(h.num_workers, sizes);
  if (expect == 0)
    return fail("inconsistent header (workers " + std::to_string(h.num_workers) + ", ring sizes " +
                std::to_string(sizes.event_bytes) + "/" + std::to_string(sizes.command_bytes) + "/" +
                std::to_string(sizes.response_bytes) + ")");
  if (h.total_bytes != expect)
    return fail("inconsistent header (total " + std::to_string(h.total_bytes) + " bytes, geometry needs " +
                std::to_string(expect) + ")");
  if (size != expect)
    return fail("truncated or resized segment: header says " + std::to_string(expect) + " bytes, segment has " +
                std::to_string(size));

  void* p = ::mmap(nullptr, expect, exclusive ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail("cannot map: " + errno_text(errno));
  ::close(fd);

  std::unique_ptr<ShmChannel> ch(new ShmChannel());
  ch->base_ = static_cast<uint8_t*>(p);
  ch->bytes_ = expect;
  ch->workers_ = h.num_workers;
  ch->name_ = name;
  ch->object_ = object;
  ch->inode_ = sb.st_ino;
  ch->dev_ = sb.st_dev;
  ch->read_only_ = !exclusive;
  uint64_t off = kShmHeaderBytes;
  for (uint32_t i = 0; i < ch->workers_ + 2; ++i) {
    const uint32_t cap = i < ch->workers_ ? sizes.event_bytes : i == ch->workers_ ? sizes.command_bytes
                                                                                  : sizes.response_bytes;
    const auto kind = i < ch->workers_ ? RingKind::Event : i == ch->workers_ ? RingKind::Command : RingKind::Response;
    ch->ring_offset_[i] = off;
    const RingCtl* ctl = ch->ring_ctl(i);
    const uint64_t used = ctl->tail.load(std::memory_order_acquire) - ctl->head.load(std::memory_order_acquire);
    if (ctl->capacity != cap || ctl->kind != static_cast<uint32_t>(kind) || used > cap) {
      err = path + ": ring " + std::to_string(i) + " control block is corrupt";
      return nullptr;  // the destructor unmaps
    }
    off += kRingCtlBytes + cap;
  }
  if (exclusive) {
    auto& owner = reinterpret_cast<ShmHeader*>(ch->base_)->consumer_pid;
    const int32_t self = static_cast<int32_t>(::getpid());
    int32_t cur = owner.load(std::memory_order_acquire);
    for (;;) {
      // Also refused for this very process: two consumers would corrupt the ring.
      if (cur != 0 && pid_alive(cur, 0)) {
        err = path + ": another control plane (pid " + std::to_string(cur) + ") is attached";
        return nullptr;
      }
      if (owner.compare_exchange_weak(cur, self, std::memory_order_acq_rel)) break;
    }
    ch->claimed_ = true;
  }
  return ch;
}

bool ShmChannel::unlink(const std::string& name, std::string& err) {
  const std::string object = shm_object_name(name);
  if (object.empty()) {
    err = "invalid instance name '" + name + "'";
    return false;
  }
  if (::shm_unlink(object.c_str()) != 0) {
    err = "cannot remove /dev/shm" + object + ": " + errno_text(errno);
    return false;
  }
  return true;
}

ShmChannel::~ShmChannel() { detach(); }

void ShmChannel::detach() {
  if (!base_) return;
  if (claimed_) {
    int32_t self = static_cast<int32_t>(::getpid());
    reinterpret_cast<ShmHeader*>(base_)->consumer_pid.compare_exchange_strong(self, 0, std::memory_order_acq_rel);
    claimed_ = false;
  }
  ::munmap(base_, bytes_);
  base_ = nullptr;
}

RingCtl* ShmChannel::ring_ctl(uint32_t index) const { return reinterpret_cast<RingCtl*>(base_ + ring_offset_[index]); }
uint8_t* ShmChannel::ring_data(uint32_t index) const { return base_ + ring_offset_[index] + kRingCtlBytes; }

RingProducer ShmChannel::event_producer(uint32_t w) const {
  if (read_only_ || !base_ || w >= workers_) return {};
  return RingProducer(ring_ctl(w), ring_data(w));
}
RingConsumer ShmChannel::event_consumer(uint32_t w) const {
  if (read_only_ || !base_ || w >= workers_) return {};
  return RingConsumer(ring_ctl(w), ring_data(w));
}
RingProducer ShmChannel::command_producer() const {
  if (read_only_ || !base_) return {};
  return RingProducer(ring_ctl(workers_), ring_data(workers_));
}
RingConsumer ShmChannel::command_consumer() const {
  if (read_only_ || !base_) return {};
  return RingConsumer(ring_ctl(workers_), ring_data(workers_));
}
RingProducer ShmChannel::response_producer() const {
  if (read_only_ || !base_) return {};
  return RingProducer(ring_ctl(workers_ + 1), ring_data(workers_ + 1));
}
RingConsumer ShmChannel::response_consumer() const {
  if (read_only_ || !base_) return {};
  return RingConsumer(ring_ctl(workers_ + 1), ring_data(workers_ + 1));
}
const RingCtl& ShmChannel::event_ring(uint32_t w) const { return *ring_ctl(w < workers_ ? w : 0); }
const RingCtl& ShmChannel::command_ring() const { return *ring_ctl(workers_); }
const RingCtl& ShmChannel::response_ring() const { return *ring_ctl(workers_ + 1); }

void ShmChannel::heartbeat() {
  if (read_only_ || !base_) return;
  auto* h = reinterpret_cast<ShmHeader*>(base_);
  h->heartbeat_mono_ns.store(mono_ns(), std::memory_order_relaxed);
  h->heartbeat.fetch_add(1, std::memory_order_release);
}

Liveness ShmChannel::liveness() const {
  Liveness l;
  if (!base_) return l;
  const ShmHeader& h = header();
  l.heartbeat = h.heartbeat.load(std::memory_order_acquire);
  l.heartbeat_mono_ns = h.heartbeat_mono_ns.load(std::memory_order_relaxed);
  const uint64_t now = mono_ns();
  l.age_ns = l.heartbeat_mono_ns && now > l.heartbeat_mono_ns ? now - l.heartbeat_mono_ns : 0;
  l.creator_pid = h.creator_pid;
  l.creator_alive = pid_alive(h.creator_pid, h.creator_start);
  return l;
}

bool ShmChannel::replaced() const {
  if (!base_) return true;
  if (!pid_alive(header().creator_pid, header().creator_start)) return true;
  const int fd = ::shm_open(object_.c_str(), O_RDONLY, 0);
  if (fd < 0) return true;
  struct stat sb {};
  const bool same = ::fstat(fd, &sb) == 0 && sb.st_ino == inode_ && sb.st_dev == dev_;
  ::close(fd);
  return !same;
}

}  // namespace spectre::ctrl

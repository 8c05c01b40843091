// Shared-memory channel: creation modes, stale and live segments, refused
// versions / magic / truncated / garbage segments, re-attach, liveness, the
// flatbuffers schema through a ring, and a real two-process channel (fork).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <thread>
#include <vector>

#include "ctrl_generated.h"
#include "ctrlplane/shm_channel.h"
#include "tests/unit/ctrlplane/ring_check.h"

namespace spectre::ctrl {
namespace {

using namespace testing;
namespace fbc = spectre::fb::ctrl;

const RingSizes kSmall{8192, 4096, 4096};

// Writes raw bytes as /spectre-<name> (a segment some other program left).
void write_raw_segment(const std::string& name, const void* bytes, size_t len) {
  const std::string obj = shm_object_name(name);
  const int fd = shm_open(obj.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  if (len) {
    ASSERT_EQ(write(fd, bytes, len), static_cast<ssize_t>(len));
  }
  close(fd);
}

void resize_segment(const std::string& name, off_t len) {
  const int fd = shm_open(shm_object_name(name).c_str(), O_RDWR, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, len), 0);
  close(fd);
}

TEST(ShmChannel, FileModeIs0600AndGroupModeApplies) {
  const mode_t old = umask(0);  // the mode must not depend on the umask
  const std::string name = unique_name("mode");
  ShmGuard guard{name};
  std::string err;
  auto ch = ShmChannel::create(name, 1, kSmall, err);
  ASSERT_TRUE(ch) << err;
  struct stat sb {};
  ASSERT_EQ(stat(("/dev/shm/spectre-" + name).c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0600u);
  EXPECT_EQ(sb.st_uid, getuid());
  ch.reset();
  ASSERT_TRUE(ShmChannel::unlink(name, err)) << err;

  umask(077);
  ch = ShmChannel::create(name, 1, kSmall, err, 0660, getgid());
  ASSERT_TRUE(ch) << err;
  ASSERT_EQ(stat(("/dev/shm/spectre-" + name).c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0660u);
  EXPECT_EQ(sb.st_gid, getgid());
  umask(old);
}

TEST(ShmChannel, HeaderDescribesTheSegment) {
  const std::string name = unique_name("hdr");
  ShmGuard guard{name};
  std::string err;
  RingSizes sizes{1u << 16, 1u << 13, 1u << 14};
  auto ch = ShmChannel::create(name, 3, sizes, err);
  ASSERT_TRUE(ch) << err;
  auto cp = ShmChannel::attach(name, err);
  ASSERT_TRUE(cp) << err;
  const ShmHeader& h = cp->header();
  EXPECT_EQ(h.magic, kShmMagic);
  EXPECT_EQ(h.layout_version, kShmLayoutVersion);
  EXPECT_EQ(h.creator_pid, getpid());
  EXPECT_EQ(h.num_workers, 3u);
  EXPECT_STREQ(h.instance, name.c_str());
  EXPECT_EQ(h.total_bytes, shm_segment_bytes(3, sizes));
  EXPECT_EQ(cp->workers(), 3u);
  EXPECT_EQ(cp->event_ring(2).capacity, sizes.event_bytes);
  EXPECT_EQ(cp->event_ring(2).index, 2u);
  EXPECT_EQ(cp->command_ring().capacity, sizes.command_bytes);
  EXPECT_EQ(cp->response_ring().capacity, sizes.response_bytes);
  EXPECT_FALSE(cp->event_producer(3).valid());
  EXPECT_FALSE(ShmChannel::create("bad/name", 1, kSmall, err));
  EXPECT_NE(err.find("invalid instance name"), std::string::npos) << err;
  EXPECT_FALSE(ShmChannel::create(unique_name("geo"), 1, RingSizes{5000, 4096, 4096}, err));
  EXPECT_NE(err.find("powers of two"), std::string::npos) << err;
  EXPECT_FALSE(ShmChannel::create(unique_name("geo"), 0, kSmall, err));
}

TEST(ShmChannel, VersionAndMagicMismatchRefused) {
  const std::string name = unique_name("ver");
  ShmGuard guard{name};
  std::string err;
  auto ch = ShmChannel::create(name, 1, kSmall, err);
  ASSERT_TRUE(ch) << err;
  auto& h = const_cast<ShmHeader&>(ch->header());
  h.layout_version = 2;
  EXPECT_FALSE(ShmChannel::attach(name, err));
  EXPECT_NE(err.find("spectre shm layout version 2, this tool expects 1"), std::string::npos) << err;
  EXPECT_FALSE(ShmChannel::attach(name, err, false));
  EXPECT_NE(err.find("layout version 2"), std::string::npos) << err;
  h.layout_version = kShmLayoutVersion;
  h.magic = 0x1122334455667788ull;
  EXPECT_FALSE(ShmChannel::attach(name, err));
  EXPECT_NE(err.find("bad magic"), std::string::npos) << err;
  h.magic = kShmMagic;
  EXPECT_TRUE(ShmChannel::attach(name, err)) << err;
}

TEST(ShmChannel, TruncatedAndGarbageSegmentsRefused) {
  const std::string name = unique_name("trunc");
  ShmGuard guard{name};
  std::string err;
  {
    auto ch = ShmChannel::create(name, 2, kSmall, err);
    ASSERT_TRUE(ch) << err;
  }
  const uint64_t full = shm_segment_bytes(2, kSmall);
  resize_segment(name, static_cast<off_t>(full - 4096));
  EXPECT_FALSE(ShmChannel::attach(name, err));
  EXPECT_NE(err.find("header says " + std::to_string(full) + " bytes"), std::string::npos) << err;
  resize_segment(name, 100);
  EXPECT_FALSE(ShmChannel::attach(name, err));
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  resize_segment(name, 5);
  EXPECT_FALSE(ShmChannel::attach(name, err));
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  resize_segment(name, 0);
  EXPECT_FALSE(ShmChannel::attach(name, err));
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;

  std::mt19937_64 rng(7);
  std::vector<uint8_t> junk(1 << 16);
  for (auto& b : junk) b = static_cast<uint8_t>(rng());
  write_raw_segment(name, junk.data(), junk.size());
  EXPECT_FALSE(ShmChannel::attach(name, err));
  EXPECT_NE(err.find("bad magic"), std::string::npos) << err;
  // Our magic and version over junk: the geometry checks refuse it.
  std::memcpy(junk.data(), &kShmMagic, 8);
  std::memcpy(junk.data() + 8, &kShmLayoutVersion, 4);
  std::memcpy(junk.data() + offsetof(ShmHeader, ready), &kShmReady, 4);
  write_raw_segment(name, junk.data(), junk.size());
  EXPECT_FALSE(ShmChannel::attach(name, err));
  EXPECT_NE(err.find("inconsistent header"), std::string::npos) << err;
  EXPECT_FALSE(ShmChannel::attach("no-such-instance-" + name, err));
  EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
}

// Random damage to a valid segment (header fields, ring control blocks, ring
// bytes): attach either refuses or works, and consuming never crashes or reads
// outside the ring (bad records are counted as corrupt).
TEST(ShmChannel, DamagedSegmentsNeverCrash) {
  const std::string name = unique_name("fuzz");
  ShmGuard guard{name};
  std::string err;
  const uint64_t total = shm_segment_bytes(1, kSmall);
  std::vector<uint8_t> good(total);
  {
    auto ch = ShmChannel::create(name, 1, kSmall, err);
    ASSERT_TRUE(ch) << err;
    RingProducer p = ch->event_producer(0);
    std::vector<uint8_t> buf(700);
    for (uint64_t i = 0; i < 40; ++i) {
      const uint32_t len = payload_len(i, 3, 700);
      fill_payload(p.next_seq(), 3, buf.data(), len);
      p.try_push(kData, buf.data(), len);
      if (i % 3 == 0) {  // consume some so that the ring wraps
        RingConsumer c = ch->event_consumer(0);
        c.drain([](const Message&) {}, 4);
      }
    }
    std::memcpy(good.data(), &ch->header(), total);
  }
  std::mt19937_64 rng(11);
  int attached = 0, refused = 0;
  uint64_t corrupt = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<uint8_t> bad = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      // Mostly the header and the first ring's control block and records.
      // The header fields, the ring's control block, the oldest record's
      // header, or anywhere in the ring's data.
      uint64_t at = 0;
      const uint64_t head = reinterpret_cast<const RingCtl*>(good.data() + kShmHeaderBytes)->head.load();
      switch (rng() % 4) {
        case 0: at = 16 + rng() % (sizeof(ShmHeader) - 16); break;
        case 1: at = kShmHeaderBytes + rng() % kRingCtlBytes; break;
        case 2: at = kShmHeaderBytes + kRingCtlBytes + (head & 8191) + rng() % 16; break;
        default: at = kShmHeaderBytes + kRingCtlBytes + rng() % 8192; break;
      }
      bad[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    write_raw_segment(name, bad.data(), bad.size());
    auto cp = ShmChannel::attach(name, err);
    if (!cp) {
      refused++;
      continue;
    }
    attached++;
    RingConsumer c = cp->event_consumer(0);
    Message m;
    for (int i = 0; i < 100 && c.peek(m); ++i) {
      ASSERT_GE(m.data, reinterpret_cast<const uint8_t*>(&cp->header()));
      ASSERT_LE(m.data + m.length, reinterpret_cast<const uint8_t*>(&cp->header()) + total);
      c.pop(m);
    }
    corrupt += c.corrupt_count();
  }
  EXPECT_GT(attached, 0);
  EXPECT_GT(refused, 0);
  EXPECT_GT(corrupt, 0u);
}

TEST(ShmChannel, CreateOverStaleSegmentOfDeadPid) {
  const std::string name = unique_name("stale");
  ShmGuard guard{name};
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::string e;
    auto ch = ShmChannel::create(name, 1, kSmall, e);
    if (ch) ch->event_producer(0).try_push(kData, "x", 1);
    _exit(ch ? 0 : 1);  // dies without unlinking
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::string err;
  auto ro = ShmChannel::attach(name, err, false);
  ASSERT_TRUE(ro) << err;
  EXPECT_EQ(ro->header().creator_pid, child);
  EXPECT_FALSE(ro->liveness().creator_alive);
  EXPECT_TRUE(ro->replaced());
  auto ch = ShmChannel::create(name, 1, kSmall, err);
  ASSERT_TRUE(ch) << err;
  EXPECT_EQ(ch->header().creator_pid, getpid());
  EXPECT_EQ(ch->event_ring(0).tail.load(), 0u);  // a fresh segment, not the old one
  // A half-created segment (size 0, creator died before writing the header)
  // is stale too.
  ch.reset();
  write_raw_segment(name, nullptr, 0);
  ch = ShmChannel::create(name, 1, kSmall, err);
  EXPECT_TRUE(ch) << err;
}

TEST(ShmChannel, CreateOverLiveSegmentRefused) {
  const std::string name = unique_name("live");
  ShmGuard guard{name};
  std::string err;
  auto ch = ShmChannel::create(name, 1, kSmall, err);
  ASSERT_TRUE(ch) << err;
  EXPECT_FALSE(ShmChannel::create(name, 1, kSmall, err));
  EXPECT_NE(err.find("in use by data plane pid " + std::to_string(getpid())), std::string::npos) << err;
  // Not an InfraSpectre segment: refused, left alone.
  ch.reset();
  const uint64_t junk[8] = {0x0102030405060708ull, 1, 2, 3, 4, 5, 6, 7};
  std::vector<uint8_t> raw(4096);
  std::memcpy(raw.data(), junk, sizeof junk);
  write_raw_segment(name, raw.data(), raw.size());
  EXPECT_FALSE(ShmChannel::create(name, 1, kSmall, err));
  EXPECT_NE(err.find("not an InfraSpectre control segment"), std::string::npos) << err;
}

TEST(ShmChannel, ExclusiveConsumerAndReattachContinues) {
  const std::string name = unique_name("reattach");
  ShmGuard guard{name};
  std::string err;
  auto dp = ShmChannel::create(name, 1, kSmall, err);
  ASSERT_TRUE(dp) << err;
  RingProducer p = dp->event_producer(0);
  auto cp1 = ShmChannel::attach(name, err);
  ASSERT_TRUE(cp1) << err;
  EXPECT_FALSE(ShmChannel::attach(name, err));  // also from this process: one consumer per ring
  EXPECT_NE(err.find("another control plane (pid " + std::to_string(getpid())), std::string::npos) << err;
  EXPECT_TRUE(ShmChannel::attach(name, err, false)) << err;  // observers are fine
  uint8_t buf[256];
  for (uint64_t i = 0; i < 10; ++i) {
    fill_payload(i, 5, buf, 100);
    ASSERT_TRUE(p.try_push(kData, buf, 100));
  }
  {
    RingConsumer c = cp1->event_consumer(0);
    EXPECT_EQ(c.drain([](const Message&) {}, 4), 4u);
  }
  cp1.reset();  // control plane gone; the data plane keeps producing until full
  uint64_t accepted = 10;
  for (uint64_t i = 10; i < 200; ++i) {
    fill_payload(i, 5, buf, 100);
    accepted += p.try_push(kData, buf, 100);
  }
  EXPECT_GT(p.drops(), 0u);
  fill_payload(200, 5, buf, 100);
  auto cp2 = ShmChannel::attach(name, err);
  ASSERT_TRUE(cp2) << err;
  RingConsumer c = cp2->event_consumer(0);
  std::vector<uint64_t> seqs;
  c.drain([&](const Message& m) {
    EXPECT_TRUE(check_payload(m.seq, 5, m.data, m.length));
    seqs.push_back(m.seq);
  });
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.front(), 4u);  // continues where the previous consumer stopped
  EXPECT_EQ(seqs.size(), accepted - 4);
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1);
  // The drops made while nobody consumed show up as a gap on the next message.
  ASSERT_TRUE(p.try_push(kData, buf, 100));
  Message m;
  ASSERT_TRUE(c.peek(m));
  c.pop(m);
  EXPECT_EQ(c.gaps(), p.drops());
  EXPECT_EQ(cp2->event_ring(0).gaps.load(), p.drops());
}

TEST(ShmChannel, HeartbeatAndReplacement) {
  const std::string name = unique_name("beat");
  ShmGuard guard{name};
  std::string err;
  auto dp = ShmChannel::create(name, 1, kSmall, err);
  ASSERT_TRUE(dp) << err;
  auto cp = ShmChannel::attach(name, err);
  ASSERT_TRUE(cp) << err;
  EXPECT_EQ(cp->liveness().heartbeat, 0u);
  dp->heartbeat();
  dp->heartbeat();
  const Liveness l = cp->liveness();
  EXPECT_EQ(l.heartbeat, 2u);
  EXPECT_GT(l.heartbeat_mono_ns, 0u);
  EXPECT_LT(l.age_ns, 5'000'000'000ull);
  EXPECT_TRUE(l.creator_alive);
  EXPECT_EQ(l.creator_pid, getpid());
  EXPECT_FALSE(cp->replaced());
  // A restarted data plane: the name now points to a new segment.
  dp.reset();
  ASSERT_TRUE(ShmChannel::unlink(name, err)) << err;
  EXPECT_TRUE(cp->replaced());
  auto dp2 = ShmChannel::create(name, 1, kSmall, err);
  ASSERT_TRUE(dp2) << err;
  EXPECT_TRUE(cp->replaced());
  cp.reset();
  cp = ShmChannel::attach(name, err);
  ASSERT_TRUE(cp) << err;
  EXPECT_FALSE(cp->replaced());
}

TEST(ShmChannel, FlatbufferCommandThroughRing) {
  const std::string name = unique_name("fb");
  ShmGuard guard{name};
  std::string err;
  auto dp = ShmChannel::create(name, 1, kSmall, err);
  ASSERT_TRUE(dp) << err;
  flatbuffers::FlatBufferBuilder b;
  auto args = b.CreateVectorOfStrings({"a.rules", "b.rules"});
  auto user = b.CreateString("alice");
  b.Finish(fbc::CreateCommand(b, 42, fbc::CommandKind::RulesReload, args, 0, user, 1000));
  RingProducer p = dp->command_producer();
  ASSERT_TRUE(p.try_push(static_cast<uint16_t>(fbc::MsgType::Command), b.GetBufferPointer(), b.GetSize()));
  RingConsumer c = dp->command_consumer();
  Message m;
  ASSERT_TRUE(c.peek(m));
  EXPECT_EQ(m.type, static_cast<uint16_t>(fbc::MsgType::Command));
  flatbuffers::Verifier v(m.data, m.length);
  ASSERT_TRUE(fbc::VerifyCommandBuffer(v));
  const fbc::Command* cmd = fbc::GetCommand(m.data);
  EXPECT_EQ(cmd->id(), 42u);
  EXPECT_EQ(cmd->kind(), fbc::CommandKind::RulesReload);
  ASSERT_EQ(cmd->args()->size(), 2u);
  EXPECT_EQ(cmd->args()->Get(1)->str(), "b.rules");
  EXPECT_EQ(cmd->user()->str(), "alice");
  c.pop(m);
}

// Data plane (parent) and control plane (child) in separate processes through
// the real segment: events with drops one way, a command and its response.
TEST(ShmChannel, TwoProcessesProducerConsumer) {
  const std::string name = unique_name("fork");
  ShmGuard guard{name};
  std::string err;
  auto dp = ShmChannel::create(name, 1, RingSizes{32u << 10, 4096, 8192}, err);
  ASSERT_TRUE(dp) << err;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const uint64_t salt = 0xf00d;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    dp.release();  // the child uses its own mapping (leaked copy is harmless)
    std::string e;
    auto cp = ShmChannel::attach(name, e);
    uint64_t out[6] = {};
    if (cp) {
      flatbuffers::FlatBufferBuilder b;
      b.Finish(fbc::CreateCommand(b, 7, fbc::CommandKind::Status));
      RingProducer cmd = cp->command_producer();
      cmd.try_push(static_cast<uint16_t>(fbc::MsgType::Command), b.GetBufferPointer(), b.GetSize());
      RingConsumer ev = cp->event_consumer(0), resp = cp->response_consumer();
      bool end = false, got_resp = false;
      uint64_t mismatches = 0, sum = 0, n = 0;
      while (!end || !got_resp) {
        n = ev.drain([&](const Message& m) {
          if (m.type == kEnd) { end = true; return; }
          if (m.length != payload_len(m.seq, salt, 1500) || !check_payload(m.seq, salt, m.data, m.length))
            mismatches++;
          else
            sum = fold(sum, m.seq, m.data, m.length);
        }, 128);
        resp.drain([&](const Message& m) {
          flatbuffers::Verifier v(m.data, m.length);
          if (!v.VerifyBuffer<fbc::Response>(nullptr)) return;
          auto* r = flatbuffers::GetRoot<fbc::Response>(m.data);
          got_resp = r->seq() == 7 && r->ok() && r->message() && r->message()->str() == "running";
        });
        if (n < 128) usleep(200);  // a slow control plane: the ring fills
      }
      out[0] = 1;
      out[1] = ev.received();
      out[2] = ev.gaps();
      out[3] = mismatches + ev.reordered() + ev.corrupt_count();
      out[4] = sum;
      cp.reset();  // detach: releases the consumer claim
    }
    const bool ok = write(fds[1], out, sizeof out) == sizeof out;
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  // Wait for the control plane to attach, then produce like a worker while
  // the main loop answers commands.
  for (int i = 0; i < 5000 && dp->header().consumer_pid.load() != child; ++i) usleep(1000);
  ASSERT_EQ(dp->header().consumer_pid.load(), child);
  RingProducer ev = dp->event_producer(0), resp = dp->response_producer();
  RingConsumer cmd = dp->command_consumer();
  std::vector<uint8_t> buf(1500);
  uint64_t sum = 0, answered = 0;
  const uint64_t n = 300'000;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t seq = ev.next_seq();
    const uint32_t len = payload_len(seq, salt, 1500);
    fill_payload(seq, salt, buf.data(), len);
    if (ev.try_push(kData, buf.data(), len)) sum = fold(sum, seq, buf.data(), len);
    if ((i & 1023) == 0) {
      cmd.drain([&](const Message& m) {
        flatbuffers::Verifier v(m.data, m.length);
        ASSERT_TRUE(fbc::VerifyCommandBuffer(v));
        const fbc::Command* c = fbc::GetCommand(m.data);
        flatbuffers::FlatBufferBuilder b;
        b.Finish(fbc::CreateResponseDirect(b, c->id(), true, "running", "{}"));
        EXPECT_TRUE(resp.try_push(static_cast<uint16_t>(fbc::MsgType::Response), b.GetBufferPointer(), b.GetSize()));
        answered++;
      });
      dp->heartbeat();
    }
  }
  const uint64_t end = 0;
  while (!ev.can_push(8)) usleep(100);
  ASSERT_TRUE(ev.try_push(kEnd, &end, 8));
  uint64_t out[6] = {};
  ASSERT_EQ(read(fds[0], out, sizeof out), static_cast<ssize_t>(sizeof out));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(out[0], 1u) << "child could not attach";
  EXPECT_EQ(answered, 1u);
  EXPECT_EQ(out[1], ev.pushed());
  EXPECT_EQ(out[2], ev.drops());
  EXPECT_EQ(out[3], 0u);
  EXPECT_EQ(out[4], sum);
  EXPECT_GT(ev.drops(), 0u);
  EXPECT_EQ(out[1] + ev.drops(), n + 1);
  EXPECT_EQ(dp->header().consumer_pid.load(), 0) << "detach releases the consumer claim";
}

}  // namespace
}  // namespace spectre::ctrl

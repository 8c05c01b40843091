// Packet checks besides the header (kHdrExtra, worker thread): ip_proto,
// stream_size and xbits tests before the match items, xbit commands after a
// match; flowint operations.
#include "dataplane/detect/runtime_internal.h"

namespace spectre::detect_internal {
namespace {

// stream_size on the packet's session sizes; false without a TCP session.
bool stream_size_ok(const rules::StreamSize& s, const DetectPacket& p) {
  if (!p.has_stream) return false;
  auto cmp = [&](uint32_t v) {
    using Op = rules::StreamSize::Op;
    switch (s.op) {
      case Op::kLt: return v < s.value;
      case Op::kGt: return v > s.value;
      case Op::kEq: return v == s.value;
      case Op::kNe: return v != s.value;
      case Op::kLe: return v <= s.value;
      case Op::kGe: return v >= s.value;
    }
    return false;
  };
  using Side = rules::StreamSize::Side;
  const bool c = cmp(p.stream_size[0]), sv = cmp(p.stream_size[1]);
  switch (s.side) {
    case Side::kClient: return c;
    case Side::kServer: return sv;
    case Side::kBoth: return c && sv;
    case Side::kEither: return c || sv;
  }
  return false;
}

}  // namespace

bool extra_ok(DetectCtx& c, const CompiledRuleset& rs, const RuleCold& rc, const DetectPacket& p) {
  // A tunnel's outer packet is inspected by itself (core/inspect.cc
  // inspect_tunnel_outer): the inner one answers for its own protocol only.
  if (rc.has_ip_proto && !dsize_ok(rc.ip_proto, p.proto)) return false;
  if ((p.stream_events & rc.stream_events) != rc.stream_events) return false;
  if (rc.has_stream_size && !stream_size_ok(rc.stream_size, p)) return false;
  if (rc.has_stream_size2 && !stream_size_ok(rc.stream_size2, p)) return false;
  using Cmd = rules::Flowbit::Cmd;
  for (uint32_t o = rc.xb_begin; o < rc.xb_begin + rc.xb_count; o++) {
    const XbitOp& x = rs.xbit_ops[o];
    if (x.cmd != uint8_t(Cmd::kIsSet) && x.cmd != uint8_t(Cmd::kIsNotSet)) continue;
    XbitKey k;
    const bool set = xbit_key(x, p, k) && c.impl->xbits.isset(k, p.ts_ns);
    if (set != (x.cmd == uint8_t(Cmd::kIsSet))) return false;
  }
  return true;
}

void xbit_actions(DetectCtx& c, const CompiledRuleset& rs, const RuleCold& rc, const DetectPacket& p) {
  using Cmd = rules::Flowbit::Cmd;
  for (uint32_t o = rc.xb_begin; o < rc.xb_begin + rc.xb_count; o++) {
    const XbitOp& x = rs.xbit_ops[o];
    XbitKey k;
    if (x.cmd == uint8_t(Cmd::kIsSet) || x.cmd == uint8_t(Cmd::kIsNotSet) || !xbit_key(x, p, k)) continue;
    const bool on = x.cmd == uint8_t(Cmd::kSet) ||
                    (x.cmd == uint8_t(Cmd::kToggle) && !c.impl->xbits.isset(k, p.ts_ns));
    if (!on) c.impl->xbits.unset(k);
    else if (!c.impl->xbits.set(k, p.ts_ns, x.expire_ns)) c.ctr.xbits_full++;
  }
}

namespace {
int find_int(const FlowDetectState& f, uint32_t name) {
  for (int i = 0; i < f.nints; i++)
    if (f.int_name[i] == name) return i;
  return -1;
}
}  // namespace

// Unset operands and variables make checks fail (Suricata: no match); + and
// - on an unset variable start from 0; values wrap as uint32.
bool flowint_run(const CompiledRuleset& rs, const RuleCold& rc, FlowDetectState* f, uint64_t* full) {
  if (!f) return false;
  using Op = rules::Flowint::Op;
  for (uint32_t o = rc.fi_begin; o < rc.fi_begin + rc.fi_count; o++) {
    const FlowintOp& x = rs.flowint_ops[o];
    const int i = find_int(*f, x.name);
    const Op op = Op(x.op);
    if (op == Op::kIsSet || op == Op::kNotSet) {
      if ((i >= 0) != (op == Op::kIsSet)) return false;
      continue;
    }
    uint32_t v = x.value;
    if (x.is_var) {
      const int j = find_int(*f, x.var);
      if (j < 0) return false;
      v = f->int_val[j];
    }
    if (op == Op::kSet || op == Op::kAdd || op == Op::kSub) {
      const uint32_t cur = i >= 0 ? f->int_val[i] : 0;
      const uint32_t nv = op == Op::kSet ? v : op == Op::kAdd ? cur + v : cur - v;
      if (i >= 0) {
        f->int_val[i] = nv;
      } else if (f->nints < FlowDetectState::kMaxInts) {
        f->int_name[f->nints] = x.name;
        f->int_val[f->nints++] = nv;
      } else {
        if (full) ++*full;
        return false;
      }
      continue;
    }
    if (i < 0) return false;
    const uint32_t a = f->int_val[i];
    const bool ok = op == Op::kEq ? a == v : op == Op::kNe ? a != v : op == Op::kLt ? a < v
                  : op == Op::kGt ? a > v : op == Op::kLe ? a <= v : a >= v;
    if (!ok) return false;
  }
  return true;
}

}  // namespace spectre::detect_internal

namespace spectre {

uint64_t stream_event_bit(const std::string& name) {
  static const char* const kNames[] = {
#define SPECTRE_X(id, n) n,
      SPECTRE_STREAM_EVENTS(SPECTRE_X)
#undef SPECTRE_X
  };
  for (int i = 0; i < kStreamEventCount; i++)
    if (name == kNames[i]) return sev_bit(StreamEvent(i));
  return 0;
}

// Why a Suricata stream event is not raised here: the part of its TCP state
// machine it needs is not modelled (stream/tcp_track.h says what is).
std::string stream_event_refusal(const std::string& name) {
  static const struct {
    const char* name;
    const char* why;
  } kWhy[] = {
      {"3whs_syn_flood", "the SYN queue (stream.max-syn-queued) is not modelled"},
      {"est_ack_zwp_data", "zero-window probes are not modelled"},
  };
  for (const auto& w : kWhy)
    if (name == w.name) return w.why;
  return "an event this engine does not raise";
}

}  // namespace spectre

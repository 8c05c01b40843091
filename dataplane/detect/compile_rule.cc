// One rule's flat form in the compiled ruleset (see compile.cc for the
// design): header sets, item chains per (buffer, transform chain), flowbit
// operations and the metadata alerts carry.
#include <algorithm>
#include <cstring>

#include "dataplane/detect/compile_internal.h"
#include "dataplane/detect/xbits.h"
#include "dataplane/events/json.h"

namespace spectre::detect_internal {

using rules::MatchItem;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string metadata_json(const std::vector<std::pair<std::string, std::string>>& md) {
  if (md.empty()) return {};
  std::vector<std::pair<std::string, std::vector<std::string>>> keys;
  for (const auto& [k, v] : md) {
    auto it = std::find_if(keys.begin(), keys.end(), [&](const auto& e) { return e.first == k; });
    if (it == keys.end()) {
      keys.push_back({k, {}});
      it = keys.end() - 1;
    }
    it->second.push_back(v);
  }
  std::string out = "{";
  for (size_t i = 0; i < keys.size(); i++) {
    if (i) out += ',';
    out += '"';
    json_escape(out, keys[i].first);
    out += "\":[";
    for (size_t j = 0; j < keys[i].second.size(); j++) {
      if (j) out += ',';
      out += '"';
      json_escape(out, keys[i].second[j]);
      out += '"';
    }
    out += ']';
  }
  out += '}';
  return out;
}

rules::AppProto header_app(rules::Proto p) {
  switch (p) {
    case rules::Proto::kHttp: return rules::AppProto::kHttp;
    case rules::Proto::kDns: return rules::AppProto::kDns;
    case rules::Proto::kTls: return rules::AppProto::kTls;
    case rules::Proto::kSmtp: return rules::AppProto::kSmtp;
    case rules::Proto::kFtp: return rules::AppProto::kFtp;
    case rules::Proto::kFtpData: return rules::AppProto::kFtpData;
    case rules::Proto::kSmb: return rules::AppProto::kSmb;
    case rules::Proto::kQuic: return rules::AppProto::kQuic;
    case rules::Proto::kSip: return rules::AppProto::kSip;
    case rules::Proto::kSsh: return rules::AppProto::kSsh;
    case rules::Proto::kMqtt: return rules::AppProto::kMqtt;
    case rules::Proto::kKrb5: return rules::AppProto::kKrb5;
    case rules::Proto::kDcerpc: return rules::AppProto::kDcerpc;
    case rules::Proto::kHttp2: return rules::AppProto::kHttp2;
    default: return rules::AppProto::kUnknown;
  }
}

SetRef add_ipset(const rules::IpSet& s, std::vector<IpRangeC>& pool) {
  SetRef r;
  r.any = s.any;
  auto put = [&](const rules::IpRange& x) {
    IpRangeC c;
    c.ver = x.ver;
    memcpy(c.lo, x.lo, 16);
    memcpy(c.hi, x.hi, 16);
    pool.push_back(c);
  };
  r.inc_begin = static_cast<uint32_t>(pool.size());
  if (!s.any)
    for (const auto& x : s.include) put(x);
  r.inc_end = r.exc_begin = static_cast<uint32_t>(pool.size());
  for (const auto& x : s.exclude) put(x);
  r.exc_end = static_cast<uint32_t>(pool.size());
  return r;
}

SetRef add_portset(const rules::PortSet& s, std::vector<PortRangeC>& pool) {
  SetRef r;
  r.any = s.any;
  r.inc_begin = static_cast<uint32_t>(pool.size());
  if (!s.any)
    for (const auto& x : s.include) pool.push_back({x.lo, x.hi});
  r.inc_end = r.exc_begin = static_cast<uint32_t>(pool.size());
  for (const auto& x : s.exclude) pool.push_back({x.lo, x.hi});
  r.exc_end = static_cast<uint32_t>(pool.size());
  return r;
}

void add_rule(CompiledRuleset& out, const rules::RuleSet& rs, const Analysis& a) {
  const rules::Rule& r = rs.rules[a.orig];
  HdrQuick h{};
  h.flags = r.flow;
  h.proto_mask = a.classes;
  h.app_hdr = static_cast<uint8_t>(header_app(r.hdr.proto));
  if (r.hdr.bidir) h.flags |= kHdrBidir;
  SetRef s = add_ipset(r.hdr.src, out.ip_pool), d = add_ipset(r.hdr.dst, out.ip_pool);
  SetRef sp = add_portset(r.hdr.sport, out.port_pool), dp = add_portset(r.hdr.dport, out.port_pool);
  if (s.all()) h.flags |= kHdrSrcAll;
  if (d.all()) h.flags |= kHdrDstAll;
  if (sp.all()) h.flags |= kHdrSpAll;
  if (dp.all()) h.flags |= kHdrDpAll;
  if (r.has_dsize) h.flags |= kHdrDsize;
  if (r.has_flags) h.flags |= kHdrFlags;
  if (r.icmp.any()) h.flags |= kHdrIcmp;
  if (r.has_app_proto) {
    h.flags |= kHdrAppKw;
    if (r.app_proto_negated) h.flags |= kHdrAppNeg;
    h.app_kw = static_cast<uint8_t>(r.app_proto);
  }
  if (r.has_threshold) h.flags |= kHdrThreshold;
  if (r.has_detection_filter) h.flags |= kHdrDetFilter;
  if (r.hdr.action == rules::Action::kPass) h.flags |= kHdrPass;
  if (a.not_on_held) h.flags |= kHdrNotOnHeld;

  RuleCold c{};
  c.orig = a.orig;
  c.dsize = r.dsize;
  c.flags_set = r.flags_set;
  c.flags_ignore = r.flags_ignore;
  c.flags_mode = r.flags_mode;
  c.icmp = r.icmp;
  c.threshold = r.threshold;
  c.detection_filter = r.detection_filter;
  c.app_events = r.app_events;
  c.has_ip_proto = r.has_ip_proto;
  c.ip_proto = r.ip_proto;
  c.has_stream_size = r.has_stream_size;
  c.stream_size = r.stream_size;
  c.has_stream_size2 = r.has_stream_size2;
  c.stream_size2 = r.stream_size2;
  c.xb_begin = uint32_t(out.xbit_ops.size());
  for (const auto& x : r.xbits)
    out.xbit_ops.push_back({uint8_t(x.cmd), uint8_t(x.track), xbit_name_hash(x.name.data(), x.name.size()),
                            uint64_t(x.expire) * 1000000000ull});
  c.xb_count = uint32_t(out.xbit_ops.size()) - c.xb_begin;
  c.stream_events = r.stream_event.empty() ? 0 : stream_event_bit(r.stream_event);  // checked in analyze()
  if (c.has_ip_proto || c.has_stream_size || c.xb_count || c.stream_events) h.flags |= kHdrExtra;
  c.fi_begin = uint32_t(out.flowint_ops.size());
  for (const auto& f : r.flowints)
    out.flowint_ops.push_back({uint8_t(f.op), !f.var.empty(), xbit_name_hash(f.name.data(), f.name.size()),
                               xbit_name_hash(f.var.data(), f.var.size()), f.value});
  c.fi_count = uint32_t(out.flowint_ops.size()) - c.fi_begin;
  c.hc_begin = uint32_t(out.hdr_checks.size());
  out.hdr_checks.insert(out.hdr_checks.end(), r.hdr_checks.begin(), r.hdr_checks.end());
  c.hc_count = uint32_t(r.hdr_checks.size());
  if (c.hc_count) h.flags |= kHdrPktHdr;
  // Chains: items grouped by buffer, rule order kept within a buffer.
  c.chain_begin = static_cast<uint32_t>(out.chains.size());
  size_t pcre_seen = 0;
  std::vector<uint32_t> item_pcre(r.items.size(), 0);
  for (size_t i = 0; i < r.items.size(); i++)
    if (r.items[i].kind == MatchItem::Kind::kPcre) item_pcre[i] = a.pcre_ids[pcre_seen++];
  // One chain per (buffer, transform chain): Suricata inspects a transformed
  // buffer as a buffer of its own.
  std::vector<std::pair<uint8_t, uint8_t>> done;
  std::vector<uint16_t> xf_ids(r.xforms.size() + 1, 0);  // rule chain -> CompiledRuleset::xforms index + 1
  for (size_t i = 0; i < r.items.size(); i++) {
    const uint8_t b = r.items[i].buf, xf = r.items[i].xform;
    if (std::find(done.begin(), done.end(), std::make_pair(b, xf)) != done.end()) continue;
    done.emplace_back(b, xf);
    if (xf && !xf_ids[xf]) {
      XformC x;
      build_xform(r.xforms[xf - 1], x);  // checked in analyze()
      out.xforms.push_back(std::move(x));
      xf_ids[xf] = uint16_t(out.xforms.size());
    }
    Chain ch{b, 0, xf_ids[xf], static_cast<uint32_t>(out.items.size()), 0};
    for (size_t j = i; j < r.items.size(); j++) {
      const MatchItem& m = r.items[j];
      if (m.buf != b || m.xform != xf) continue;
      CItem it{};
      it.kind = static_cast<uint8_t>(m.kind);
      if (m.kind == MatchItem::Kind::kContent) {
        const auto& ct = m.content;
        it.flags = (ct.negated ? kItNeg : 0) | (ct.nocase ? kItNocase : 0) | (ct.startswith ? kItStarts : 0) |
                   (ct.endswith ? kItEnds : 0) | (ct.has_offset ? kItOffset : 0) | (ct.has_depth ? kItDepth : 0) |
                   (ct.has_distance ? kItDistance : 0) | (ct.has_within ? kItWithin : 0) |
                   (ct.has_distance || ct.has_within ? kItRel : 0);
        it.var[0] = ct.var_offset, it.var[1] = ct.var_depth, it.var[2] = ct.var_distance, it.var[3] = ct.var_within;
        if (it.var[0] | it.var[1] | it.var[2] | it.var[3]) it.flags |= kItVar;
        it.offset = ct.offset;
        it.depth = ct.depth;
        it.distance = ct.distance;
        it.within = ct.within;
        it.pat_off = static_cast<uint32_t>(out.bytes.size());
        it.pat_len = static_cast<uint32_t>(ct.bytes.size());
        out.bytes += ct.nocase ? lower(ct.bytes) : ct.bytes;
      } else if (m.kind == MatchItem::Kind::kPcre) {
        it.flags = (m.pcre.negated ? kItNeg : 0) | (m.pcre.relative ? kItRel : 0);
        it.pcre = item_pcre[j];
      } else if (m.kind == MatchItem::Kind::kByteTest || m.kind == MatchItem::Kind::kByteJump ||
                 m.kind == MatchItem::Kind::kByteExtract || m.kind == MatchItem::Kind::kByteMath) {
        it.flags = (m.byte.relative ? kItRel : 0) | (m.byte.var_value || m.byte.var_offset ? kItVar : 0);
        it.pcre = static_cast<uint32_t>(out.byteops.size());
        out.byteops.push_back(m.byte);
        ch.nvars = std::max(ch.nvars, m.byte.var_out);
      } else if (m.kind == MatchItem::Kind::kBase64Decode) {
        it.flags = m.byte.relative ? kItRel : 0;
        it.offset = int32_t(m.b64_offset);
        it.depth = int32_t(m.b64_bytes);
        out.has_b64 = true;
      } else if (m.kind == MatchItem::Kind::kBase64Data) {
        it.flags = 0;
      } else if (m.kind == MatchItem::Kind::kDataset) {
        const rules::DatasetUse& u = r.datasets[m.ds - 1];  // resolved: checked before analyze()
        const std::string& nm = rs.datasets[size_t(u.set)]->name();
        it.flags = 0;
        it.pcre = uint32_t(out.ds_ops.size());
        out.ds_ops.push_back({uint32_t(u.set), xbit_name_hash(nm.data(), nm.size()), u.value, uint8_t(u.cmd),
                              uint8_t(u.op), false});
      } else if (m.kind == MatchItem::Kind::kAsn1) {  // checks in dataat, oversize in depth
        it.flags = m.asn1.relative ? kItRel : 0;
        it.offset = m.asn1.offset;
        it.depth = int32_t(m.asn1.oversize_length);
        it.dataat = (m.asn1.bitstring_overflow ? 1 : 0) | (m.asn1.double_overflow ? 2 : 0) |
                    (m.asn1.has_oversize ? 4 : 0);
      } else if (m.kind == MatchItem::Kind::kBsize) {
        it.flags = 0;
        it.offset = m.bsize.op;  // reused fields: op, lo, hi
        it.depth = int32_t(m.bsize.lo);
        it.within = int32_t(m.bsize.hi);
      } else {
        it.flags = (m.isdataat.negated ? kItNeg : 0) | (m.isdataat.relative ? kItRel : 0) |
                   (m.isdataat.var_n ? kItVar : 0);
        it.dataat = m.isdataat.n;
        it.var[0] = m.isdataat.var_n;
      }
      out.items.push_back(it);
      ch.item_count++;
    }
    // kItDep: a later item up to and including the next positive matcher is
    // relative. byte_test/byte_jump are not matchers here: a byte_jump passes
    // the position on, so items after it may still depend on this one.
    auto matcher = [](const CItem& x) {
      using K = MatchItem::Kind;
      return (x.kind == uint8_t(K::kContent) || x.kind == uint8_t(K::kPcre)) && !(x.flags & kItNeg);
    };
    for (uint32_t k = 0; k < ch.item_count; k++) {
      CItem& it = out.items[ch.item_begin + k];
      if (!matcher(it)) continue;
      for (uint32_t j = k + 1; j < ch.item_count; j++) {
        const CItem& nx = out.items[ch.item_begin + j];
        if (nx.flags & (kItRel | kItVar)) {
          it.flags |= kItDep;
          break;
        }
        if (matcher(nx)) break;
      }
    }
    for (uint32_t k = ch.item_count, later = 0; k-- > 0;) {
      CItem& it = out.items[ch.item_begin + k];
      if (later) it.flags |= kItVarLater;
      if (it.flags & kItVar) later = 1;
    }
    if (!rules::is_addr_buf(rules::Buf(b))) c.buf_mask.add(b);  // addresses: always there
    out.chains.push_back(ch);
  }
  c.chain_count = static_cast<uint32_t>(out.chains.size()) - c.chain_begin;
  // Flowbits (ids resolved by the caller's map, stored in flowbit_ids).
  c.fb_begin = static_cast<uint32_t>(out.fb_ops.size());
  for (const auto& fb : r.flowbits) {
    FlowbitOp op{static_cast<uint8_t>(fb.cmd), fb.any_of, static_cast<uint32_t>(out.flowbit_ids.size()), 0};
    for (const auto& n : fb.names) {
      out.flowbit_ids.push_back(static_cast<uint16_t>(ruleset_flowbit_id(out, n)));
      op.id_count++;
    }
    if (fb.cmd == rules::Flowbit::Cmd::kIsSet || fb.cmd == rules::Flowbit::Cmd::kIsNotSet)
      h.flags |= kHdrFlowbitChecks;
    if (fb.cmd == rules::Flowbit::Cmd::kNoAlert) h.flags |= kHdrNoAlert;
    out.fb_ops.push_back(op);
  }
  c.fb_count = static_cast<uint32_t>(out.fb_ops.size()) - c.fb_begin;

  RuleMeta m;
  m.gid = r.gid;
  m.sid = r.sid;
  m.rev = r.rev;
  m.action = r.hdr.action;
  m.msg = r.msg;
  int prio = r.priority;
  auto cls = rs.classes.find(r.classtype);
  if (!r.classtype.empty() && cls != rs.classes.end()) {
    m.category = cls->second.description;
    if (prio <= 0) prio = cls->second.priority;
  }
  if (prio <= 0) prio = 3;
  m.severity = static_cast<uint8_t>(std::min(prio, 255));
  m.metadata_json = metadata_json(r.metadata);
  m.target = r.target;

  out.hdr.push_back(h);
  out.src.push_back(s);
  out.dst.push_back(d);
  out.sport.push_back(sp);
  out.dport.push_back(dp);
  for (int w = 0; w < 2; w++) out.bufs_used.w[w] |= c.buf_mask.w[w];
  out.cold.push_back(c);
  out.meta.push_back(std::move(m));
}

}  // namespace spectre::detect_internal

// YARA scanning and its alerts (worker threads).
#include "dataplane/yaramatch/scan.h"

// libyara declares strlcpy/strlcat itself unless told they exist: DPDK's
// libbsd headers declare them too, with C linkage.
#define HAVE_STRLCPY 1
#define HAVE_STRLCAT 1
#include <yara.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "dataplane/core/fixed_str.h"
#include "dataplane/core/inspect.h"
#include "dataplane/core/snapshot.h"
#include "dataplane/core/worker.h"

namespace spectre::yara {

Scanner::~Scanner() {
  if (sc_) yr_scanner_destroy(sc_);
}

bool Scanner::bind(const std::shared_ptr<const RuleSet>& rs, uint32_t timeout_s) {
  if (rs == rs_ && sc_) return true;
  if (sc_) yr_scanner_destroy(sc_);  // before its rules may go
  sc_ = nullptr;
  rs_ = rs;
  if (!rs_ || !init() || yr_scanner_create(rs_->rules(), &sc_) != ERROR_SUCCESS) {
    sc_ = nullptr;
    ctr.errors++;
    return false;
  }
  ctr.scanners++;
  yr_scanner_set_callback(sc_, reinterpret_cast<YR_CALLBACK_FUNC>(&Scanner::on_msg), this);
  yr_scanner_set_timeout(sc_, int(timeout_s));
  // Our own memory: no SIGSEGV/SIGBUS handlers installed around each scan.
  yr_scanner_set_flags(sc_, SCAN_FLAGS_NO_TRYCATCH);
  return true;
}

int Scanner::on_msg(void* ctx, int msg, void* data, void* user) {
  if (msg != CALLBACK_MSG_RULE_MATCHING) return CALLBACK_CONTINUE;
  auto* self = static_cast<Scanner*>(user);
  auto* context = static_cast<YR_SCAN_CONTEXT*>(ctx);
  auto* rule = static_cast<const YR_RULE*>(data);
  YaraEventMeta& o = *self->out_;
  if (o.n == 4) {
    o.cut = true;
    return CALLBACK_CONTINUE;
  }
  self->hit_rules_[o.n] = rule;
  YaraEventMeta::Hit& h = o.hit[o.n++];
  copy_str(h.rule, std::string_view(rule->identifier));
  copy_str(h.ns, std::string_view(rule->ns->name));
  h.nstr = 0;
  h.str_cut = false;
  const YR_STRING* s;
  yr_rule_strings_foreach(rule, s) {
    // libyara's match notebook leaves YR_MATCHes unaligned (UBSan: misaligned
    // member access in yr_string_matches_foreach): each is copied out first.
    const YR_MATCH* at = context->matches[s->idx].head;
    while (at) {
      YR_MATCH m;
      std::memcpy(&m, at, sizeof m);
      at = m.next;
      if (m.is_private) continue;
      if (h.nstr == 6) {
        h.str_cut = true;
        break;
      }
      YaraEventMeta::Str& x = h.str[h.nstr++];
      copy_str(x.id, std::string_view(s->identifier));
      x.offset = uint32_t(m.base + m.offset);
      x.len = uint32_t(m.match_length);
    }
  }
  return CALLBACK_CONTINUE;
}

int Scanner::scan(const uint8_t* d, uint32_t n, YaraEventMeta& out) {
  out.n = 0;
  out.cut = false;
  out.scanned = n;
  out.tags[0] = out.meta[0] = 0;
  if (!sc_) return ERROR_INTERNAL_FATAL_ERROR;
  out_ = &out;
  const int rc = yr_scanner_scan_mem(sc_, d, n);
  out_ = nullptr;
  ctr.files++;
  ctr.bytes += n;
  if (rc == ERROR_SCAN_TIMEOUT) ctr.timeouts++;
  else if (rc != ERROR_SUCCESS) ctr.errors++;
  return rc;
}

namespace {

// Appends to a fixed buffer; once something does not fit, nothing more is
// added and close() ends the container at the last whole item.
struct FixedJson {
  char* out;
  size_t cap, n = 0, mark = 0;
  bool full = false;
  void raw(const char* s, size_t k) {
    if (full || n + k + 2 > cap) {  // room for the closing bracket and NUL
      full = true;
      return;
    }
    std::memcpy(out + n, s, k);
    n += k;
  }
  void raw(const char* s) { raw(s, std::strlen(s)); }
  void str(const char* s) {
    raw("\"");
    for (; *s && !full; s++) {
      const auto c = static_cast<unsigned char>(*s);
      char e[8];
      if (c == '"' || c == '\\') {
        e[0] = '\\', e[1] = char(c);
        raw(e, 2);
      } else if (c < 0x20) {
        static const char* hex = "0123456789abcdef";
        std::memcpy(e, "\\u00", 4);
        e[4] = hex[c >> 4], e[5] = hex[c & 15];
        raw(e, 6);
      } else {
        raw(s, 1);
      }
    }
    raw("\"");
  }
  void item_done() {
    if (!full) mark = n;
  }
  void close(char c) {
    n = full ? mark : n;
    if (n && out[n - 1] == ',') n--;
    out[n++] = c;
    out[n] = 0;
  }
};

}  // namespace

void rule_tags_json(const YR_RULE* r, char* out, size_t cap) {
  FixedJson j{out, cap};
  j.raw("[");
  j.item_done();
  const char* t;
  yr_rule_tags_foreach(r, t) {
    j.str(t);
    j.raw(",");
    j.item_done();
  }
  j.close(']');
}

void rule_meta_json(const YR_RULE* r, char* out, size_t cap) {
  FixedJson j{out, cap};
  j.raw("{");
  j.item_done();
  const YR_META* m;
  yr_rule_metas_foreach(r, m) {
    j.str(m->identifier);
    j.raw(":");
    char num[24];
    if (m->type == META_TYPE_STRING) {
      j.str(m->string);
    } else if (m->type == META_TYPE_BOOLEAN) {
      j.raw(m->integer ? "true" : "false");
    } else {
      auto res = std::to_chars(num, num + sizeof num, m->integer);
      j.raw(num, size_t(res.ptr - num));
    }
    j.raw(",");
    j.item_done();
  }
  j.close('}');
}

uint32_t rule_sid(const char* ns, const char* rule) {
  uint32_t h = 2166136261u;
  auto mix = [&](const char* s) {
    for (; *s; s++) h = (h ^ static_cast<unsigned char>(*s)) * 16777619u;
  };
  mix(ns);
  mix(":");
  mix(rule);
  h &= 0x7fffffff;
  return h ? h : 1;
}

namespace {

// Severity from the rule's integer meta `severity` (1..4), else 2.
uint8_t rule_severity(const YR_RULE* r) {
  const YR_META* m;
  yr_rule_metas_foreach(r, m) if (m->type == META_TYPE_INTEGER && !std::strcmp(m->identifier, "severity") &&
                                  m->integer >= 1 && m->integer <= 4) return uint8_t(m->integer);
  return 2;
}

// One alert for hit i of `m`, on the file's direction of the flow.
void emit(WorkerCtx& w, Flow& f, bool to_server, const AppMeta& meta, uint64_t ts, const YaraEventMeta& m,
          uint32_t i, const YR_RULE* rule) {
  AlertRecord* a = claim_alert_slot(w);
  if (!a) return;
  fill_flow_alert(*a, f, to_server, uint8_t(w.id), ts);
  a->has_app = true;
  a->app = meta;
  a->app.file_tx = false;
  a->action = uint8_t(rules::Action::kAlert);
  a->severity = rule_severity(rule);
  a->gid = kGid;
  a->sid = rule_sid(m.hit[i].ns, m.hit[i].rule);
  a->rev = 1;
  char msg[sizeof a->msg];
  std::snprintf(msg, sizeof msg, "YARA %s:%s", m.hit[i].ns, m.hit[i].rule);
  copy_str(a->msg, std::string_view(msg));
  copy_str(a->category, std::string_view("YARA match"));
  a->metadata[0] = 0;
  a->has_yara = true;
  YaraEventMeta& y = a->x.yara;
  y.n = 1;
  y.cut = false;
  y.scanned = m.scanned;
  y.hit[0] = m.hit[i];
  rule_tags_json(rule, y.tags, sizeof y.tags);
  rule_meta_json(rule, y.meta, sizeof y.meta);
  w.insp.alerts.commit();
}

// A later record of this flow direction will log the file whose bytes are handed on now.
void keep(Ctx& y, uint64_t flow, bool to_server, const YaraEventMeta& m) {
  Ctx::Pending& p = y.pend[y.pend_next++ % Ctx::kPending];
  p.flow = flow;
  p.dir = to_server;
  p.used = 1;
  p.m = m;
}

// The oldest kept matches of this flow direction, taken.
const YaraEventMeta* take(Ctx& y, uint64_t flow, bool to_server) {
  for (uint32_t k = 0; k < Ctx::kPending; k++) {
    Ctx::Pending& p = y.pend[(y.pend_next + k) % Ctx::kPending];
    if (p.used && p.flow == flow && p.dir == uint8_t(to_server)) {
      p.used = 0;
      return p.m.n ? &p.m : nullptr;
    }
  }
  return nullptr;
}

}  // namespace

const YaraEventMeta* scan_tx(WorkerCtx& w, const Snapshot& s, Flow& f, bool to_server, const BufferSet& b,
                             const AppMeta& meta, uint64_t ts) {
  Ctx& y = *w.insp.yara;
  const uint64_t flow = flow_id_of(f);
  if (!b.has(rules::kFileData)) return meta.file_tx ? take(y, flow, to_server) : nullptr;
  if (!y.sc.bind(s.yara, s.cfg.yara.timeout_s)) return nullptr;
  const bool multi = b.multi && b.multi_buf == rules::kFileData;
  const uint32_t parts = multi ? b.multi_n : 1;
  // Bytes handed on before the file's end record (not an HTTP upload that is no file: POST bodies).
  const bool http_req_body = to_server && (meta.proto == rules::AppProto::kHttp ||
                                           meta.proto == rules::AppProto::kHttp2) &&
                             std::strcmp(meta.http_method, "PUT") != 0;
  const YaraEventMeta* ret = nullptr;
  for (uint32_t i = 0; i < parts; i++) {
    const uint8_t* d = multi ? b.multi[i].data : b.data[rules::kFileData];
    uint32_t n = multi ? b.multi[i].len : b.len[rules::kFileData];
    if (n > s.cfg.yara.max_file_size) {
      n = s.cfg.yara.max_file_size;
      y.sc.ctr.cut++;
    }
    YaraEventMeta& m = i == 0 ? y.cur : y.part;  // cur: what this tx's record may carry
    y.sc.scan(d, n, m);
    y.sc.ctr.hits += m.n;
    for (uint32_t k = 0; k < m.n; k++) emit(w, f, to_server, meta, ts, m, k, y.sc.rule(k));
    if (i == 0 && meta.file_tx) ret = m.n ? &m : nullptr;
    else if (i > 0 || !http_req_body) keep(y, flow, to_server, m);
  }
  return ret;
}

void attach_fileinfo(const YaraEventMeta& m, AlertRecord& a) {
  a.has_yara = true;
  a.x.yara = m;
}

}  // namespace spectre::yara

// Kerberos 5: the DER reader (lengths, tags, truncation, fuzz), AS-REQ,
// AS-REP, TGS-REQ (ticket etype from PA-TGS-REQ), TGS-REP and KRB-ERROR
// built by hand (RFC 4120), over UDP and TCP (record marker, split at every
// byte, records larger than the buffer skipped), the (krb5.hdr) layout the
// keywords test, EVE objects as Suricata writes them, malformed messages
// counted, fuzz.
#include "dataplane/app/app_internal.h"
#include "dataplane/core/der.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

std::string tlv(uint8_t id, const std::string& v) {
  std::string s(1, char(id));
  size_t n = v.size();
  if (n < 128) s += char(n);
  else if (n < 256) s += "\x81", s += char(n);
  else s += "\x82", s += char(n >> 8), s += char(n & 0xff);
  return s + v;
}
std::string ctx(int k, const std::string& v) { return tlv(uint8_t(0xa0 | k), v); }
std::string seq(const std::string& v) { return tlv(0x30, v); }
std::string app(int k, const std::string& v) { return tlv(uint8_t(0x60 | k), v); }
std::string integer(int32_t v) {
  std::string b;
  for (int i = 3; i >= 0; i--) b += char(uint32_t(v) >> (8 * i));
  while (b.size() > 1 && ((b[0] == 0 && !(b[1] & 0x80)) || (b[0] == char(0xff) && (b[1] & 0x80)))) b.erase(0, 1);
  return tlv(0x02, b);
}
std::string gstr(const std::string& s) { return tlv(0x1b, s); }
std::string principal(int type, std::vector<std::string> parts) {
  std::string p;
  for (auto& x : parts) p += gstr(x);
  return seq(ctx(0, integer(type)) + ctx(1, seq(p)));
}
std::string encdata(int32_t etype) { return seq(ctx(0, integer(etype)) + ctx(2, tlv(0x04, "cipher"))); }
std::string ticket(const std::string& realm, const std::string& sname, int32_t etype) {
  return app(1, seq(ctx(0, integer(5)) + ctx(1, gstr(realm)) + ctx(2, sname) + ctx(3, encdata(etype))));
}
std::string kdc_req(int type, const std::string& cname, const std::string& realm, const std::string& sname,
                    const std::string& padata = "") {
  std::string body = ctx(0, tlv(0x03, std::string("\x00\x40\x81\x00\x10", 5)));
  if (!cname.empty()) body += ctx(1, cname);
  body += ctx(2, gstr(realm));
  if (!sname.empty()) body += ctx(3, sname);
  body += ctx(5, tlv(0x18, "20370913024805Z")) + ctx(7, integer(12345)) + ctx(8, seq(integer(18) + integer(23)));
  std::string m = ctx(1, integer(5)) + ctx(2, integer(type));
  if (!padata.empty()) m += ctx(3, seq(padata));
  return app(type, seq(m + ctx(4, seq(body))));
}
std::string kdc_rep(int type, const std::string& crealm, const std::string& cname, const std::string& tkt,
                    int32_t etype) {
  return app(type, seq(ctx(0, integer(5)) + ctx(1, integer(type)) + ctx(3, gstr(crealm)) + ctx(4, cname) +
                       ctx(5, tkt) + ctx(6, encdata(etype))));
}
std::string krb_error(int32_t code, const std::string& realm, const std::string& sname) {
  return app(30, seq(ctx(0, integer(5)) + ctx(1, integer(30)) + ctx(4, tlv(0x18, "20230101000000Z")) +
                     ctx(5, integer(7)) + ctx(6, integer(code)) + ctx(9, gstr(realm)) + ctx(10, sname)));
}
// PA-TGS-REQ: an AP-REQ carrying the TGT.
std::string pa_tgs(const std::string& tkt) {
  std::string ap = app(14, seq(ctx(0, integer(5)) + ctx(1, integer(14)) + ctx(2, tlv(0x03, std::string(5, '\0'))) +
                               ctx(3, tkt) + ctx(4, encdata(18))));
  return seq(ctx(1, integer(1)) + ctx(2, tlv(0x04, ap)));
}

const std::string kAsReq = kdc_req(10, principal(1, {"alice"}), "EXAMPLE.COM", principal(2, {"krbtgt", "EXAMPLE.COM"}));
const std::string kAsRep = kdc_rep(11, "EXAMPLE.COM", principal(1, {"alice"}),
                                   ticket("EXAMPLE.COM", principal(2, {"krbtgt", "EXAMPLE.COM"}), 18), 23);
const std::string kTgsReq = kdc_req(12, "", "EXAMPLE.COM", principal(2, {"host", "srv.example.com"}),
                                    pa_tgs(ticket("EXAMPLE.COM", principal(2, {"krbtgt", "EXAMPLE.COM"}), 23)));
const std::string kTgsRep = kdc_rep(13, "EXAMPLE.COM", principal(1, {"alice"}),
                                    ticket("EXAMPLE.COM", principal(2, {"host", "srv.example.com"}), 18), 18);
const std::string kError = krb_error(25, "EXAMPLE.COM", principal(2, {"krbtgt", "EXAMPLE.COM"}));

std::string rec(const std::string& m) {
  uint32_t n = uint32_t(m.size());
  return std::string{char(n >> 24), char(n >> 16), char(n >> 8), char(n)} + m;
}

std::vector<Tx> run_udp(AppCtx& ctx, const std::vector<Seg>& dg, AppProto* proto = nullptr, uint16_t port = 88) {
  Flow f;
  Rec r;
  for (auto& s : dg)
    if (s.to_server || app_datagram_candidate(port, 50000, nullptr, 0))
      app_datagram(ctx, f.s, s.to_server, s.to_server ? 50000 : port, s.to_server ? port : 50000,
                   reinterpret_cast<const uint8_t*>(s.data.data()), uint32_t(s.data.size()), 0, r);
  app_finish(ctx, f.s, r);
  if (proto) *proto = app_proto(f.s);
  return r.txs;
}

std::string eve(const Tx& t) {
  std::string j;
  format_app_json(t.meta, j);
  return j;
}

TEST(Der, Headers) {
  der::Tlv t;
  const uint8_t shortf[] = {0x30, 0x03, 1, 2, 3};
  ASSERT_EQ(der::read(shortf, 5, t), der::Rc::kOk);
  EXPECT_EQ(t.tag, 16u);
  EXPECT_TRUE(t.constructed);
  EXPECT_EQ(t.len, 3u);
  EXPECT_EQ(t.hdr, 2u);
  const uint8_t longf[] = {0x04, 0x82, 0x01, 0x00, 9};
  ASSERT_EQ(der::read(longf, 5, t), der::Rc::kOk);
  EXPECT_EQ(t.len, 256u);
  EXPECT_EQ(t.avail, 1u);  // declared longer than present: the caller decides
  const uint8_t high[] = {0x7f, 0x81, 0x02, 0x00};  // [APPLICATION 130]
  ASSERT_EQ(der::read(high, 4, t), der::Rc::kOk);
  EXPECT_EQ(t.cls, 1);
  EXPECT_EQ(t.tag, 130u);
  const uint8_t toolong[] = {0x04, 0x85, 1, 1, 1, 1, 1};
  EXPECT_EQ(der::read(toolong, 7, t), der::Rc::kBad);
  const uint8_t indef_prim[] = {0x04, 0x80, 0, 0};
  EXPECT_EQ(der::read(indef_prim, 4, t), der::Rc::kBad);
  const uint8_t indef[] = {0x30, 0x80, 0, 0};
  ASSERT_EQ(der::read(indef, 4, t), der::Rc::kOk);
  EXPECT_TRUE(t.indefinite);
  const uint8_t cut[] = {0x04, 0x82, 0x01};
  EXPECT_EQ(der::read(cut, 3, t), der::Rc::kTruncated);
  EXPECT_EQ(der::read(cut, 1, t), der::Rc::kTruncated);
  const uint8_t tag5[] = {0x1f, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00};  // a 5-byte tag number
  EXPECT_EQ(der::read(tag5, 7, t), der::Rc::kBad);
  int64_t v;
  std::string i = integer(-133);
  ASSERT_EQ(der::read(reinterpret_cast<const uint8_t*>(i.data()), uint32_t(i.size()), t), der::Rc::kOk);
  ASSERT_TRUE(der::integer(t, v));
  EXPECT_EQ(v, -133);
}

// Random and truncated inputs: the reader and the Kerberos parser only read
// inside their bounds (ASan catches the rest) and never loop.
TEST(Der, Fuzz) {
  std::mt19937 rng(12);
  const std::string seeds[] = {kAsReq, kAsRep, kTgsReq, kTgsRep, kError};
  AppCtx ctx(small_cfg());
  uint64_t parsed = 0;
  for (int i = 0; i < 20000; i++) {
    std::string m = mutate(rng, seeds[i % 5]);
    der::Cursor c(reinterpret_cast<const uint8_t*>(m.data()), uint32_t(m.size()));
    der::Tlv t;
    int steps = 0;
    while (c.next(t)) ASSERT_LT(++steps, 100000);
    Flow f;
    Rec r;
    parsed += app::krb5_message(ctx, f.s, 0, reinterpret_cast<const uint8_t*>(m.data()), uint32_t(m.size()), r);
    ASSERT_LE(r.txs.size(), 1u);
  }
  for (auto& s : seeds)
    for (size_t k = 0; k < s.size(); k++) {  // every truncation of a valid message is refused
      Flow f;
      Rec r;
      EXPECT_FALSE(app::krb5_message(ctx, f.s, 0, reinterpret_cast<const uint8_t*>(s.data()), uint32_t(k), r)) << k;
    }
  EXPECT_EQ(ctx.ctr.krb5_messages, parsed);
  EXPECT_GT(ctx.ctr.krb5_malformed, 0u);
}

TEST(AppKrb5, UdpAsExchange) {
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_udp(ctx, {{true, kAsReq}, {false, kError}, {true, kAsReq}, {false, kAsRep}}, &p);
  EXPECT_EQ(p, AppProto::kKrb5);
  ASSERT_EQ(txs.size(), 4u);
  const Tx& req = txs[0];
  EXPECT_TRUE(req.to_server);
  EXPECT_EQ(req.get(kKrb5Cname), "alice");
  EXPECT_EQ(req.multi_buf, int(kKrb5Sname));
  EXPECT_EQ(req.multi, (std::vector<std::string>{"krbtgt", "EXAMPLE.COM"}));
  EXPECT_EQ(req.get(kKrb5Hdr), std::string("\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00", 10));
  EXPECT_FALSE(req.has(kKrb5TicketEtype));
  EXPECT_EQ(eve(req), "\"krb5\":{\"msg_type\":\"KRB_AS_REQ\",\"cname\":\"alice\",\"realm\":\"EXAMPLE.COM\","
                      "\"sname\":\"krbtgt/EXAMPLE.COM\",\"encryption\":\"<none>\",\"weak_encryption\":false}");
  const Tx& err = txs[1];
  EXPECT_FALSE(err.to_server);
  EXPECT_EQ(err.get(kKrb5Hdr), std::string("\x1e\x01\x00\x00\x00\x19\x00\x00\x00\x00", 10));
  EXPECT_FALSE(err.has(kKrb5Cname));
  EXPECT_EQ(eve(err), "\"krb5\":{\"msg_type\":\"KRB_ERROR\",\"failed_request\":\"KRB_AS_REQ\","
                      "\"error_code\":\"KDC_ERR_PREAUTH_REQUIRED\",\"cname\":\"<empty>\",\"realm\":\"<empty>\","
                      "\"sname\":\"krbtgt/EXAMPLE.COM\",\"encryption\":\"<none>\",\"weak_encryption\":false}");
  const Tx& rep = txs[3];
  // reply etype 23 (rc4-hmac, weak), ticket 18 (aes256, not weak)
  EXPECT_EQ(rep.get(kKrb5Hdr), std::string("\x0b\x00\x00\x00\x00\x00\x01\x01\x01\x00", 10));
  EXPECT_EQ(rep.get(kKrb5TicketEtype), "18");
  EXPECT_EQ(eve(rep), "\"krb5\":{\"msg_type\":\"KRB_AS_REP\",\"cname\":\"alice\",\"realm\":\"EXAMPLE.COM\","
                      "\"sname\":\"krbtgt/EXAMPLE.COM\",\"encryption\":\"rc4-hmac\",\"weak_encryption\":true,"
                      "\"ticket_encryption\":\"aes256-cts-hmac-sha1-96\",\"ticket_weak_encryption\":false}");
  EXPECT_EQ(ctx.ctr.krb5_messages, 4u);
  EXPECT_EQ(ctx.ctr.krb5_malformed, 0u);
}

TEST(AppKrb5, ErrorWithoutRequestIsUnknown) {
  AppCtx ctx(small_cfg());
  auto txs = run_udp(ctx, {{true, kTgsReq}, {false, kTgsRep}, {false, kError}});
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_EQ(txs[0].get(kKrb5TicketEtype), "23");  // the TGT in PA-TGS-REQ
  EXPECT_EQ(txs[0].get(kKrb5Hdr)[8], 1);
  EXPECT_EQ(txs[0].get(kKrb5Hdr)[9], 1);  // rc4-hmac: weak
  EXPECT_FALSE(txs[0].has(kKrb5Cname));
  EXPECT_EQ(txs[0].multi, (std::vector<std::string>{"host", "srv.example.com"}));
  EXPECT_NE(eve(txs[2]).find("\"failed_request\":\"UNKNOWN\""), std::string::npos) << eve(txs[2]);
}

TEST(AppKrb5, UdpDetection) {
  AppCtx ctx(small_cfg());
  AppProto p;
  run_udp(ctx, {{true, kAsReq}}, &p, 89);  // off port 88: not Kerberos
  EXPECT_NE(p, AppProto::kKrb5);
  std::string pvno4 = kAsReq;
  size_t at = pvno4.find(std::string("\xa1\x03\x02\x01\x05", 5));
  ASSERT_NE(at, std::string::npos);
  pvno4[at + 4] = 4;
  run_udp(ctx, {{true, pvno4}}, &p);
  EXPECT_NE(p, AppProto::kKrb5);
  run_udp(ctx, {{true, kError}}, &p);  // Suricata's probe: a KRB-ERROR (tag 30) does not start a flow
  EXPECT_NE(p, AppProto::kKrb5);
  EXPECT_TRUE(app_datagram_candidate(50000, 88, nullptr, 0));
}

TEST(AppKrb5, TcpRecordsSplitAnywhere) {
  std::vector<Seg> segs = {{true, rec(kAsReq)}, {false, rec(kError)}, {true, rec(kAsReq) + rec(kTgsReq)},
                           {false, rec(kAsRep) + rec(kTgsRep)}};
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_tcp(ctx, segs, {}, 50000, 88, &p);
  EXPECT_EQ(p, AppProto::kKrb5);
  ASSERT_EQ(txs.size(), 6u);
  EXPECT_EQ(txs[1].meta.krb5.failed_request, 10);
  EXPECT_EQ(txs[5].meta.krb5.msg_type, 13);
  expect_split_invariant(small_cfg(), segs, 50000, 88);
}

TEST(AppKrb5, TcpRecordLargerThanBufferSkipped) {
  AppConfig cfg = small_cfg();
  AppCtx ctx(cfg);
  std::string big = kdc_req(10, principal(1, {std::string(40000, 'a')}), "EXAMPLE.COM", principal(2, {"krbtgt"}));
  auto txs = run_tcp(ctx, {{true, rec(kAsReq)}, {true, rec(big) + rec(kAsReq)}}, {}, 50000, 88);
  ASSERT_EQ(txs.size(), 2u);  // the big one skipped, the record after it read
  EXPECT_EQ(ctx.ctr.krb5_too_large, 1u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppKrb5, TcpMalformedCountedAndFollowingRecordRead) {
  AppCtx ctx(small_cfg());
  std::string bad = kAsRep.substr(0, kAsRep.size() - 3);
  auto txs = run_tcp(ctx, {{true, rec(kAsReq)}, {false, rec(bad) + rec(kAsRep)}}, {}, 50000, 88);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(ctx.ctr.krb5_malformed, 1u);
}

// Suricata's krb5.malformed_data: raised when a message's outer DER header
// cannot be read (cut or malformed), once the flow has had a message; a
// message whose header reads but whose content is bad is only counted. The
// event's tx has (krb5.hdr) all zero and is not logged (msg_type 0).
TEST(AppKrb5, MalformedDataEvent) {
  AppCtx ctx(small_cfg());
  const std::string bad_headers[] = {std::string("\x6b", 1), std::string("\x6b\x84\x01", 3),
                                     std::string("\x7f\x81\x81\x81\x81\x01\x00", 7)};
  for (const std::string& bad : bad_headers) {
    auto txs = run_udp(ctx, {{true, kAsReq}, {false, bad}, {false, kAsRep}});
    ASSERT_EQ(txs.size(), 3u) << bad.size();
    EXPECT_FALSE(txs[1].to_server);
    EXPECT_EQ(txs[1].get(kKrb5Hdr), std::string(10, '\0'));
    EXPECT_EQ(txs[1].meta.krb5.msg_type, 0);
    EXPECT_EQ(txs[2].meta.krb5.msg_type, 11);  // the flow's state is intact
    EXPECT_STREQ(txs[2].meta.http_refer, "alice");
  }
  EXPECT_EQ(ctx.ctr.krb5_malformed_events, 3u);
  // Content that does not parse, the header read: counted, no event.
  auto txs = run_udp(ctx, {{true, kAsReq}, {false, kAsRep.substr(0, kAsRep.size() - 3)}});
  EXPECT_EQ(txs.size(), 1u);
  EXPECT_EQ(ctx.ctr.krb5_malformed_events, 3u);
  // Over TCP: a record of one byte after a request.
  AppCtx tcp(small_cfg());
  auto t2 = run_tcp(tcp, {{true, rec(kAsReq)}, {true, rec("\x6c")}, {true, rec(kTgsReq)}}, {}, 50000, 88);
  ASSERT_EQ(t2.size(), 3u);
  EXPECT_TRUE(t2[1].to_server);
  EXPECT_EQ(t2[1].get(kKrb5Hdr), std::string(10, '\0'));
  EXPECT_EQ(tcp.ctr.krb5_malformed_events, 1u);
}

TEST(AppKrb5, TcpFuzz) {
  std::mt19937 rng(5);
  AppCtx ctx(small_cfg());
  const std::string seeds[] = {rec(kAsReq) + rec(kTgsReq), rec(kAsRep) + rec(kError)};
  for (int i = 0; i < 3000; i++) {
    auto txs = run_tcp(ctx, {{true, mutate(rng, seeds[0])}, {false, mutate(rng, seeds[1])}}, {}, 50000, 88);
    size_t msgs = 0;  // malformed_data txs (message type 0) aside
    for (auto& t : txs) msgs += t.meta.krb5.msg_type != 0;
    ASSERT_LE(msgs, 4u);
  }
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppKrb5, EtypeAndErrorNames) {
  EXPECT_TRUE(app::krb5_weak(23));
  EXPECT_TRUE(app::krb5_weak(1));
  EXPECT_TRUE(app::krb5_weak(-128));
  EXPECT_FALSE(app::krb5_weak(17));
  EXPECT_FALSE(app::krb5_weak(26));
  AppCtx ctx(small_cfg());
  auto txs = run_udp(ctx, {{true, kAsReq}, {false, krb_error(6, "R", principal(1, {"x"}))},
                           {true, kAsReq}, {false, krb_error(99, "R", principal(1, {"x"}))},
                           {true, kAsReq}, {false, kdc_rep(11, "R", principal(1, {"a"}), ticket("R", principal(1, {"b"}), -133), 99)}});
  ASSERT_EQ(txs.size(), 6u);
  EXPECT_NE(eve(txs[1]).find("\"error_code\":\"KDC_ERR_C_PRINCIPAL_UNKNOWN\""), std::string::npos);
  EXPECT_NE(eve(txs[3]).find("\"error_code\":\"ErrorCode(99)\""), std::string::npos);
  EXPECT_NE(eve(txs[5]).find("\"encryption\":\"EncryptionType(99)\",\"weak_encryption\":true,"
                             "\"ticket_encryption\":\"rc4-hmac-OLD\""),
            std::string::npos)
      << eve(txs[5]);
  EXPECT_EQ(txs[5].get(kKrb5TicketEtype), "-133");
}

}  // namespace
}  // namespace spectre

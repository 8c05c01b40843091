// dcerpc.* and smb.* keywords at detection time, on the documented cases of
// Suricata's dcerpc-keywords and smb-keywords pages: rules parsed, compiled
// and run on transactions whose internal buffers carry the layouts of
// rules/smb_opts.cc ((dcerpc.hdr), (smb.hdr)) as the parsers fill them.
// `alert dcerpc` also names SMB flows (DCERPC over named pipes).
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include "dataplane/detect/detect.h"
#include "dataplane/rules/parser.h"

namespace spectre {
namespace {

struct Sink : AlertSink {
  std::vector<uint32_t> sids;
  void alert(const RuleMeta& m, const DetectPacket&) override { sids.push_back(m.sid); }
};

// 367abb81-9844-35f1-ad32-98f038001003 (svcctl) in text order.
const std::string kSvcctl("\x36\x7a\xbb\x81\x98\x44\x35\xf1\xad\x32\x98\xf0\x38\x00\x10\x03", 16);

// (dcerpc.hdr): type, bits, opnum, interface, version.
std::string hdr(uint8_t type, uint8_t bits, uint16_t opnum, const std::string& uuid, uint16_t ver) {
  return std::string{char(type), char(bits), char(opnum >> 8), char(opnum & 0xff)} + uuid +
         std::string{char(ver >> 8), char(ver & 0xff)};
}

struct Fx {
  rules::RuleSet rs;
  std::shared_ptr<const CompiledRuleset> crs;
  std::unique_ptr<DetectCtx> ctx;
  std::deque<std::string> keep;
  uint8_t s[16] = {10, 0, 0, 1}, d[16] = {192, 168, 0, 1};

  explicit Fx(const std::vector<std::string>& rules) {
    uint32_t sid = 1;
    for (const std::string& body : rules) {
      rules::Rule r;
      std::string err;
      bool unsup = false;
      std::string text = body.starts_with("alert") ? body
                         : "alert dcerpc any any -> any any (msg:\"m\"; " + body + " sid:" + std::to_string(sid) + ";)";
      EXPECT_TRUE(rules::parse_rule(text, rules::Vars::suricata_defaults(), r, err, unsup)) << err << ": " << text;
      rs.rules.push_back(std::move(r));
      sid++;
    }
    CompileReport rep;
    std::string err;
    crs = compile_ruleset(rs, 1, rep, err);
    EXPECT_TRUE(crs) << err;
    EXPECT_EQ(rep.rejected, 0u);
    ctx = std::make_unique<DetectCtx>(0);
  }
  void put(BufferSet& b, rules::Buf id, const std::string& v) {
    keep.push_back(v);
    b.set(id, reinterpret_cast<const uint8_t*>(keep.back().data()), uint32_t(keep.back().size()));
  }
  std::vector<uint32_t> run(const BufferSet& b, rules::AppProto ap = rules::AppProto::kDcerpc, bool ts = true) {
    DetectPacket p;
    p.src = s;
    p.dst = d;
    p.proto = 6;
    p.sport = 40000;
    p.dport = 135;
    p.established = true;
    p.to_server = ts;
    p.app_proto = ap;
    Sink k;
    detect_app(*ctx, *crs, p, b, k);
    return k.sids;
  }
  std::vector<uint32_t> dce(const std::string& h, rules::AppProto ap = rules::AppProto::kDcerpc) {
    BufferSet b;
    put(b, rules::kDcerpcHdr, h);
    return run(b, ap);
  }
};

using Sids = std::vector<uint32_t>;

TEST(DetectSmb, DcerpcIfaceDocumentedForms) {
  Fx f({"dcerpc.iface:367abb81-9844-35f1-ad32-98f038001003;",
        "dcerpc.iface:367abb81-9844-35f1-ad32-98f038001003,!10;",
        "dcerpc.iface:367abb81-9844-35f1-ad32-98f038001003,any_frag;",
        "dcerpc.iface:367abb81-9844-35f1-ad32-98f038001003,>1,any_frag;",
        "dce_iface:367ABB81-9844-35F1-AD32-98F038001003;"});
  EXPECT_EQ(f.dce(hdr(0, 7, 0, kSvcctl, 2)), (Sids{1, 2, 3, 4, 5}));
  EXPECT_EQ(f.dce(hdr(0, 7, 0, kSvcctl, 10)), (Sids{1, 3, 4, 5}));     // !10
  EXPECT_EQ(f.dce(hdr(0, 7, 0, kSvcctl, 1)), (Sids{1, 2, 3, 5}));      // not >1
  EXPECT_EQ(f.dce(hdr(0, 6, 0, kSvcctl, 2)), (Sids{3, 4}));            // first fragment not seen: any_frag only
  EXPECT_EQ(f.dce(hdr(2, 7, 0, kSvcctl, 2)), (Sids{1, 2, 3, 4, 5}));   // the response of that request
  EXPECT_EQ(f.dce(hdr(0, 5, 0, kSvcctl, 2)), Sids{});                  // context not bound / accepted
  EXPECT_EQ(f.dce(hdr(11, 3, 0, kSvcctl, 2)), Sids{});                 // a bind is not a request
  std::string other = kSvcctl;
  other[15] = 4;
  EXPECT_EQ(f.dce(hdr(0, 7, 0, other, 2)), Sids{});
  EXPECT_EQ(f.dce(hdr(0, 7, 0, kSvcctl, 2), rules::AppProto::kSmb), (Sids{1, 2, 3, 4, 5}));  // over a pipe
  EXPECT_EQ(f.dce(hdr(0, 7, 0, kSvcctl, 2), rules::AppProto::kHttp), Sids{});
}

TEST(DetectSmb, DcerpcOpnumDocumentedForms) {
  Fx f({"dcerpc.opnum:15;", "dcerpc.opnum:12,24,62,61;", "dcerpc.opnum:12,18-24,5;",
        "dcerpc.opnum:12-14,12,121,62-78;", "dce_opnum:250-300;"});
  auto op = [&](uint16_t n, uint8_t bits = 4) { return f.dce(hdr(0, bits, n, std::string(16, '\0'), 0)); };
  EXPECT_EQ(op(15), Sids{1});
  EXPECT_EQ(op(12), (Sids{2, 3, 4}));
  EXPECT_EQ(op(61), Sids{2});
  EXPECT_EQ(op(18), Sids{3});
  EXPECT_EQ(op(24), (Sids{2, 3}));
  EXPECT_EQ(op(25), Sids{});
  EXPECT_EQ(op(5), Sids{3});
  EXPECT_EQ(op(13), Sids{4});
  EXPECT_EQ(op(70), Sids{4});
  EXPECT_EQ(op(121), Sids{4});
  EXPECT_EQ(op(79), Sids{});
  EXPECT_EQ(op(255), Sids{5});  // a range across the high byte
  EXPECT_EQ(op(256), Sids{5});
  EXPECT_EQ(op(300), Sids{5});
  EXPECT_EQ(op(249), Sids{});
  EXPECT_EQ(op(301), Sids{});
  EXPECT_EQ(op(15, 3), Sids{});  // no request seen: no opnum
}

TEST(DetectSmb, StickyBuffersDocumentedExamples) {
  Fx f({"dcerpc.stub_data; content:\"123456\";",
        "alert smb any any -> any any (msg:\"m\"; smb.named_pipe; content:\"IPC\"; endswith; sid:2;)",
        "alert smb any any -> any any (msg:\"m\"; smb.named_pipe; content:\"strange\"; nocase; pcre:\"/really$/\"; sid:3;)",
        "alert smb any any -> any any (msg:\"m\"; smb.share; content:\"shared\"; endswith; sid:4;)",
        "alert smb any any -> any any (msg:\"m\"; smb.ntlmssp_user; content:\"doe\"; endswith; sid:5;)",
        "alert smb any any -> any any (msg:\"m\"; smb.ntlmssp_user; content:\"doe\"; nocase; pcre:\"/j(ohn|ane).*doe$/\"; sid:6;)",
        "alert smb any any -> any any (msg:\"m\"; smb.ntlmssp_domain; content:\"home\"; endswith; sid:7;)",
        "alert smb $HOME_NET any -> any any (msg:\"SMBv1 version rule\"; smb.version:1; sid:8;)",
        "alert smb $HOME_NET any -> any any (msg:\"SMBv2 version rule\"; smb.version:2; sid:9;)",
        "alert tcp any any -> any any (msg:\"m\"; app-layer-protocol:dcerpc; dce_stub_data; content:\"abc\"; sid:10;)"});
  BufferSet b;
  f.put(b, rules::kDcerpcStubData, "xx123456yy abc");
  EXPECT_EQ(f.run(b), (Sids{1, 10}));
  EXPECT_EQ(f.run(b, rules::AppProto::kSmb), (Sids{1, 10}));
  BufferSet p;
  f.put(p, rules::kSmbNamedPipe, "\\\\host\\IPC");
  f.put(p, rules::kSmbHdr, std::string("\x01\x00\x75\x00", 4));
  EXPECT_EQ(f.run(p, rules::AppProto::kSmb), (Sids{2, 8}));
  EXPECT_EQ(f.run(p, rules::AppProto::kDcerpc), Sids{});  // smb rules need an SMB flow
  BufferSet q;
  f.put(q, rules::kSmbNamedPipe, "a STRANGE pipe, really");
  f.put(q, rules::kSmbShare, "\\\\h\\shared");
  f.put(q, rules::kSmbHdr, std::string("\x02\x00\x03\x00", 4));
  EXPECT_EQ(f.run(q, rules::AppProto::kSmb), (Sids{3, 4, 9}));
  BufferSet u;
  f.put(u, rules::kSmbNtlmsspUser, "jane.doe");
  f.put(u, rules::kSmbNtlmsspDomain, "myhome");
  EXPECT_EQ(f.run(u, rules::AppProto::kSmb), (Sids{5, 6, 7}));
  BufferSet v;
  f.put(v, rules::kSmbNtlmsspUser, "john doe jr");
  EXPECT_EQ(f.run(v, rules::AppProto::kSmb), Sids{});
}

TEST(DetectSmb, ParseErrors) {
  auto bad = [](const std::string& o) {
    rules::Rule r;
    std::string err;
    bool unsup = false;
    bool ok = rules::parse_rule("alert dcerpc any any -> any any (msg:\"m\"; " + o + " sid:1;)",
                                rules::Vars::suricata_defaults(), r, err, unsup);
    return !ok && !unsup;
  };
  EXPECT_TRUE(bad("dcerpc.iface:367abb81-9844-35f1-ad32;"));
  EXPECT_TRUE(bad("dcerpc.iface:367abb81-9844-35f1-ad32-98f038001003,~1;"));
  EXPECT_TRUE(bad("dcerpc.iface:367abb81-9844-35f1-ad32-98f038001003,any_frag,any_frag;"));
  EXPECT_TRUE(bad("dcerpc.opnum:20-10;"));
  EXPECT_TRUE(bad("dcerpc.opnum:70000;"));
  EXPECT_TRUE(bad("dcerpc.opnum;"));
  EXPECT_TRUE(bad("smb.version:x;"));
  EXPECT_TRUE(bad("smb.share; content:\"a\"; http.uri; content:\"b\";"));  // mixes protocols
}

// Snort's byte_test / byte_jump `dce`: the byte order is the PDU's
// ((dcerpc.hdr)[22], 1 little endian); without a sticky buffer the item
// reads the stub data. Outside DCERPC transactions it never matches.
TEST(DetectSmb, ByteTestDceByteOrder) {
  Fx f({"dce_stub_data; byte_test:4,>,256,0,dce;",                        // 1
        "byte_test:2,=,0x0102,4,dce;",                                    // 2: stub data implied
        "dce_stub_data; byte_jump:4,0,dce; content:\"END\"; within:3;",  // 3
        "alert tcp any any -> any any (msg:\"m\"; byte_test:1,=,1,0,dce; sid:4;)"});
  const std::string h = hdr(0, 7, 9, kSvcctl, 1);
  auto run = [&](bool le, const std::string& stub) {
    BufferSet b;
    f.put(b, rules::kDcerpcHdr, h + std::string(1, char(le)));
    f.put(b, rules::kDcerpcStubData, stub);
    return f.run(b);
  };
  // 0x00000200 little endian / 0x00020000 big endian at 0; 0x0102 at 4.
  const std::string le_stub("\x00\x02\x00\x00\x02\x01", 6), be_stub("\x00\x00\x02\x00\x01\x02", 6);
  EXPECT_EQ(run(true, le_stub), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(run(false, be_stub), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(run(false, le_stub), (std::vector<uint32_t>{1}));  // 0x00020000 > 256 too; 0x0201 != 0x0102
  EXPECT_EQ(run(true, std::string("\x01\x00\x00\x00\x00\x00", 6)), (std::vector<uint32_t>{4}));
  // byte_jump 4 little endian: 2 bytes past the 4-byte number -> "END".
  EXPECT_EQ(run(true, std::string("\x02\x00\x00\x00xxEND", 9)), (std::vector<uint32_t>{3}));
  EXPECT_EQ(run(false, std::string("\x02\x00\x00\x00xxEND", 9)), (std::vector<uint32_t>{1}));  // jump past the end
  // A 22-byte header (no byte order): dce items fail.
  BufferSet b;
  f.put(b, rules::kDcerpcHdr, h);
  f.put(b, rules::kDcerpcStubData, le_stub);
  EXPECT_EQ(f.run(b), (std::vector<uint32_t>{}));
}

// Snort's ssl_state / ssl_version on (tls.state): [0] message bits
// (1 client_hello, 2 server_hello, 4 client_keyx, 8 server_keyx, 16 unknown),
// [1] version bits (1 sslv2, 2 sslv3, 4 tls1.0 .. 32 tls1.3); a list
// matches when any plain name is set or any '!' name is not.
TEST(DetectSmb, SslStateAndVersion) {
  auto r = [](int sid, const std::string& o) {
    return "alert tcp any any -> any any (msg:\"m\"; " + o + " sid:" + std::to_string(sid) + ";)";
  };
  Fx f({r(1, "ssl_state:client_hello;"), r(2, "ssl_state:!client_hello;"), r(3, "ssl_state:server_hello,client_keyx;"),
        r(4, "ssl_version:tls1.2;"), r(5, "ssl_version:!sslv3,!tls1.2;"), r(6, "ssl_state:client_hello; ssl_version:sslv2;")});
  auto run = [&](uint8_t st, uint8_t ver) {
    BufferSet b;
    f.put(b, rules::kTlsState, std::string{char(st), char(ver)});
    return f.run(b, rules::AppProto::kTls);
  };
  EXPECT_EQ(run(1, 2 | 16), (std::vector<uint32_t>{1, 4}));  // ClientHello, SSLv3 record + TLS 1.2 hello: not 5
  EXPECT_EQ(run(2, 16 | 4), (std::vector<uint32_t>{2, 3, 4, 5}));  // ServerHello, TLS 1.0 record + TLS 1.2 hello
  EXPECT_EQ(run(1, 1), (std::vector<uint32_t>{1, 5, 6}));
  BufferSet none;
  EXPECT_EQ(f.run(none, rules::AppProto::kTls), (std::vector<uint32_t>{}));  // no TLS hello in the tx
  auto bad = [](const std::string& o) {
    rules::Rule x;
    std::string err;
    bool unsup = false;
    return !rules::parse_rule("alert tcp any any -> any any (" + o + " sid:1;)", rules::Vars::suricata_defaults(), x,
                              err, unsup) && !unsup;
  };
  EXPECT_TRUE(bad("ssl_state:hello;"));
  EXPECT_TRUE(bad("ssl_version:tls2.0;"));
  EXPECT_TRUE(bad("ssl_state;"));
  EXPECT_TRUE(bad("byte_test:4,=,1,0,dce,little;"));
}

// Snort rules mixing ssl_state / ssl_version with payload content: they are
// transaction rules whose content runs on the tx's `payload` (the records
// of the TLS flight, app_tls.cc), as Snort runs them on the PDU whose
// records set the state. Options as in the Snort 3 community rules
// (sids 2656, 56864), headers opened to any.
TEST(DetectSmb, SslStateWithPayloadContent) {
  const std::string any = "alert tcp any any -> any any (msg:\"m\"; ";
  Fx f({any + "flow:to_server,established; ssl_version:sslv2; ssl_state:client_hello; content:\"|01 00 02|\",depth 3,offset 2; "
              "byte_test:1,>,127,0; byte_test:2,>,32,9; service:ssl; sid:2656;)",
        any + "flow:to_client,established; ssl_state:server_hello; content:\"|16 03 03|\",depth 3; content:\"ACME Shell Co.0\"; "
              "content:\"Z\",distance 0; content:\"ACME Shell Co.0\",distance 0; service:ssl; sid:56864;)",
        any + "ssl_state:client_keyx; content:\"|16 03 03|\"; depth:3; sid:3;)",
        any + "ssl_state:!client_hello; content:\"|16 03|\"; depth:2; sid:4;)"});
  auto run = [&](uint8_t st, uint8_t ver, const std::string& payload, bool ts) {
    BufferSet b;
    f.put(b, rules::kTlsState, std::string{char(st), char(ver)});
    if (!payload.empty()) f.put(b, rules::kPayload, payload);
    Sids got = f.run(b, rules::AppProto::kTls, ts);
    std::sort(got.begin(), got.end());
    return got;
  };
  // An SSLv2 CLIENT-HELLO: 2-byte header, type 1, version 0.2, cipher specs
  // 3, session id 0, challenge 64 (> 32: the overflow) or 16.
  auto v2 = [](uint8_t chal) {
    std::string h("\x80\x00\x01\x00\x02\x00\x03\x00\x00\x00", 10);
    h += char(chal);
    h += std::string(3 + chal, 'c');
    h[1] = char(h.size() - 2);
    return h;
  };
  EXPECT_EQ(run(1, 1, v2(64), true), (Sids{2656}));
  EXPECT_EQ(run(1, 1, v2(16), true), (Sids{}));           // a challenge of 16 bytes
  EXPECT_EQ(run(1, 2, v2(64), true), (Sids{}));           // not SSLv2
  EXPECT_EQ(run(2, 1, v2(64), true), (Sids{}));           // not a ClientHello (sid 4: no |16 03| either)
  EXPECT_EQ(run(1, 1, "", true), (Sids{}));               // the state alone: no payload to match
  const std::string cert = "\x16\x03\x03\x00\x51\x02" + std::string(40, 's') + "ACME Shell Co.0 xx Z yy ACME Shell Co.0";
  EXPECT_EQ(run(2 | 8, 16, cert, false), (Sids{4, 56864}));
  EXPECT_EQ(run(1, 16, cert, false), (Sids{}));           // the ClientHello's tx
  EXPECT_EQ(run(2, 16, "\x16\x03\x01" + cert.substr(3), false), (Sids{4}));  // a TLS 1.0 record
  EXPECT_EQ(run(4, 16, "\x16\x03\x03\x00\x46\x10", true), (Sids{3, 4}));
}

}  // namespace
}  // namespace spectre

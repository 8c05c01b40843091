// SMB and DCERPC: detection (445 / 139 / DCERPC by content), SMB2 tree
// connect + NTLMSSP + create + DCERPC bind / request over a named pipe
// (write, read, ioctl), SMB1 tree connect and transactions, DCERPC over
// TCP with fragments reassembled (and cut at the bound), DCERPC over UDP,
// the (smb.hdr) / (dcerpc.hdr) layouts the keywords test, EVE objects,
// malformed and truncated PDUs counted, split at every byte, fuzz; answers
// paired with their requests by message id (pipelined, async pending, the
// table full, SMB1 pid + mid); DCERPC over TCP resynchronised after a gap.
#include <cstdlib>
#include <tuple>

#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

// SMB2 header (64 bytes) + body.
std::string smb2(uint16_t cmd, bool resp, uint32_t tree, const std::string& body, uint32_t status = 0,
                 uint32_t next = 0) {
  std::string h = "\xfeSMB" + le16(64) + le16(0) + le32(status) + le16(cmd) + le16(1) + le32(resp ? 1 : 0) +
                  le32(next) + le64(7) + le32(0) + le32(tree) + le64(0x1122334455667788ull) + std::string(16, '\0');
  return h + body;
}

// The interface of the tests: 12345778-1234-abcd-ef00-0123456789ac (SAMR) v1.0, little endian on the wire.
const std::string kUuidWire("\x78\x57\x34\x12\x34\x12\xcd\xab\xef\x00\x01\x23\x45\x67\x89\xac", 16);
const std::string kUuidText("\x12\x34\x57\x78\x12\x34\xab\xcd\xef\x00\x01\x23\x45\x67\x89\xac", 16);

std::string dce(uint8_t type, uint8_t flags, uint32_t call, const std::string& body) {
  return std::string{5, 0, char(type), char(flags), 0x10, 0, 0, 0} + le16(uint32_t(16 + body.size())) + le16(0) +
         le32(call) + body;
}
std::string bind(uint32_t call) {
  std::string ctx = le16(1) + std::string{1, 0} + kUuidWire + le16(1) + le16(0) + std::string(20, 'T');
  return dce(11, 3, call, le16(4280) + le16(4280) + le32(0) + std::string{1, 0, 0, 0} + ctx);
}
std::string bind_ack(uint32_t call) {
  std::string sec = std::string("\\PIPE\\samr\0", 11);  // 2 + 11 = 13, +3 pad to 4 from PDU start (16+8+13=37 -> 40)
  return dce(12, 3, call, le16(4280) + le16(4280) + le32(0x1234) + le16(uint32_t(sec.size())) + sec +
                              std::string(3, '\0') + std::string{1, 0, 0, 0} + le16(0) + le16(0) + std::string(20, 'T'));
}
std::string request(uint32_t call, uint8_t flags, uint16_t opnum, const std::string& stub, uint16_t ctx = 1) {
  return dce(0, flags, call, le32(uint32_t(stub.size())) + le16(ctx) + le16(opnum) + stub);
}
std::string response(uint32_t call, uint8_t flags, const std::string& stub) {
  return dce(2, flags, call, le32(uint32_t(stub.size())) + le16(1) + std::string{0, 0} + stub);
}

std::string tree_connect_req(const std::string& path) {
  std::string p = utf16(path);
  return smb2(3, false, 0, le16(9) + le16(0) + le16(64 + 8) + le16(uint32_t(p.size())) + p);
}
std::string tree_connect_resp(uint32_t tree, uint8_t type) {
  return smb2(3, true, tree, le16(16) + std::string{char(type), 0} + le32(0) + le32(0) + le32(0x1f01ff));
}
std::string write_req(uint32_t tree, const std::string& data) {
  return smb2(9, false, tree, le16(49) + le16(64 + 48) + le32(uint32_t(data.size())) + std::string(40, '\0') + data);
}
std::string read_resp(uint32_t tree, const std::string& data) {
  return smb2(8, true, tree, le16(17) + std::string{char(64 + 16), 0} + le32(uint32_t(data.size())) + le32(0) +
                                 le32(0) + data);
}
std::string ioctl_req(uint32_t tree, const std::string& in) {
  return smb2(11, false, tree, le16(57) + le16(0) + le32(0x0011C017) + std::string(16, 'F') + le32(64 + 56) +
                                   le32(uint32_t(in.size())) + std::string(24, '\0') + in);
}
std::string ntlm_auth(const std::string& dom, const std::string& user, const std::string& host) {
  std::string d = utf16(dom), u = utf16(user), h = utf16(host);
  uint32_t off = 72;
  std::string m = std::string("NTLMSSP\0", 8) + le32(3) + le16(0) + le16(0) + le32(off) + le16(0) + le16(0) + le32(off);
  m += le16(uint32_t(d.size())) + le16(uint32_t(d.size())) + le32(off);
  m += le16(uint32_t(u.size())) + le16(uint32_t(u.size())) + le32(off + uint32_t(d.size()));
  m += le16(uint32_t(h.size())) + le16(uint32_t(h.size())) + le32(off + uint32_t(d.size() + u.size()));
  m += le16(0) + le16(0) + le32(off) + le32(1) + std::string(8, 'V');  // session key, flags (unicode), version
  return m + d + u + h;
}
std::string session_setup(const std::string& blob) {
  return smb2(1, false, 0, le16(25) + std::string{0, 1} + le32(1) + le32(0) + le16(64 + 24) +
                               le16(uint32_t(blob.size())) + le64(0) + blob);
}

std::vector<Seg> pipe_session() {
  std::string stub = "STUB-" + std::string(40, 'x');
  return {{true, nbss(session_setup(std::string("\xa1\x82\x01\x00", 4) + ntlm_auth("CORP", "alice", "WS1")))},
          {true, nbss(tree_connect_req("\\\\srv\\IPC$"))},
          {false, nbss(tree_connect_resp(5, 2))},
          {true, nbss(write_req(5, bind(1)))},
          {false, nbss(read_resp(5, bind_ack(1)))},
          {true, nbss(ioctl_req(5, request(2, 3, 57, stub)))},
          {true, nbss(tree_connect_req("\\\\srv\\data"))},
          {false, nbss(tree_connect_resp(6, 1))}};
}

const Tx* find(const std::vector<Tx>& t, bool (*f)(const Tx&), int nth = 0) {
  for (const Tx& x : t)
    if (f(x) && nth-- == 0) return &x;
  return nullptr;
}

TEST(AppSmb, Smb2PipeSession) {
  AppCtx ctx(small_cfg());
  AppProto proto;
  auto txs = run_tcp(ctx, pipe_session(), {}, 50000, 445, &proto);
  EXPECT_EQ(proto, AppProto::kSmb);
  const Tx* ss = find(txs, [](const Tx& t) { return t.has(kSmbNtlmsspUser); });
  ASSERT_TRUE(ss);
  EXPECT_EQ(ss->get(kSmbNtlmsspUser), "alice");
  EXPECT_EQ(ss->get(kSmbNtlmsspDomain), "CORP");
  EXPECT_STREQ(ss->meta.smb.host, "WS1");
  const Tx* tc = find(txs, [](const Tx& t) { return t.has(kSmbNamedPipe) && t.to_server; });
  ASSERT_TRUE(tc);
  EXPECT_EQ(tc->get(kSmbNamedPipe), "\\\\srv\\IPC$");
  EXPECT_FALSE(find(txs, [](const Tx& t) { return !t.to_server && (t.has(kSmbNamedPipe) || t.has(kSmbShare)); }));
  const Tx* tcr = find(txs, [](const Tx& t) { return !t.to_server && t.meta.smb.tree_tx; });
  ASSERT_TRUE(tcr);
  EXPECT_EQ(tcr->meta.smb.share_type, 2);
  const Tx* share = find(txs, [](const Tx& t) { return t.has(kSmbShare); });
  ASSERT_TRUE(share);
  EXPECT_EQ(share->get(kSmbShare), "\\\\srv\\data");
  EXPECT_EQ(share->get(kSmbHdr), std::string("\x02\x00\x03\x00", 4));
  // DCERPC: bind, bind_ack, the request with its interface and opnum.
  const Tx* req = find(txs, [](const Tx& t) { return t.has(kDcerpcStubData); });
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->to_server);
  EXPECT_EQ(req->get(kDcerpcStubData), "STUB-" + std::string(40, 'x'));
  std::string h = req->get(kDcerpcHdr);
  ASSERT_EQ(h.size(), 23u);
  EXPECT_EQ(h[0], 0);
  EXPECT_EQ(h[22], 1);  // little endian PDU (byte_test/byte_jump dce)
  EXPECT_EQ(h[1], 7);  // first fragment, bound, a request
  EXPECT_EQ(h.substr(2, 2), std::string("\x00\x39", 2));  // opnum 57
  EXPECT_EQ(h.substr(4, 16), kUuidText);
  EXPECT_EQ(h.substr(20, 2), std::string("\x00\x01", 2));
  EXPECT_FALSE(req->has(kSmbHdr));  // the SMB message's tx has it
  const Tx* ack = find(txs, [](const Tx& t) { return t.meta.smb.dce && t.meta.smb.d_type == 12; });
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->meta.smb.ifs[0].ack, 0);
  std::string j;
  format_app_json(ack->meta, j);
  EXPECT_NE(j.find("\"command\":\"SMB2_COMMAND_READ\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"dcerpc\":{\"request\":\"BIND\",\"response\":\"BINDACK\",\"interfaces\":[{\"uuid\":"
                   "\"12345778-1234-abcd-ef00-0123456789ac\",\"version\":\"1.0\",\"ack_result\":0}]"),
            std::string::npos) << j;
  j.clear();
  format_app_json(ss->meta, j);
  EXPECT_NE(j.find("\"ntlmssp\":{\"domain\":\"CORP\",\"user\":\"alice\",\"host\":\"WS1\"}"), std::string::npos) << j;
  j.clear();
  format_app_json(tcr->meta, j);
  EXPECT_NE(j.find("\"named_pipe\":\"\\\\\\\\srv\\\\IPC$\",\"share_type\":\"PIPE\""), std::string::npos) << j;
  EXPECT_EQ(ctx.ctr.smb_malformed, 0u);
  EXPECT_EQ(ctx.ctr.dcerpc_pdus, 3u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// SMB / DCERPC state shares AppMeta's MQTT place (no growth of the alert
// record) and the direction union (SmbDir no larger than HttpDir's peers).
// The answer to a session setup logs its request's NTLMSSP names (Suricata's
// request/answer pair); the next exchange's answer does not.
TEST(AppSmb, SessionSetupAnswerKeepsTheRequestsNtlmssp) {
  AppCtx ctx(small_cfg());
  std::vector<Seg> segs = {
      {true, nbss(session_setup(std::string("\xa1\x82\x01\x00", 4) + ntlm_auth("CORP", "alice", "WS1")))},
      {false, nbss(smb2(1, true, 0, le16(9) + le16(0) + le16(0) + le16(0)))},
      {true, nbss(tree_connect_req("\\\\srv\\IPC$"))},
      {false, nbss(tree_connect_resp(5, 2))}};
  auto txs = run_tcp(ctx, segs, {}, 50000, 445);
  ASSERT_EQ(txs.size(), 4u);
  EXPECT_FALSE(txs[1].to_server);
  std::string j;
  format_app_json(txs[1].meta, j);
  EXPECT_NE(j.find("\"command\":\"SMB2_COMMAND_SESSION_SETUP\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"ntlmssp\":{\"domain\":\"CORP\",\"user\":\"alice\",\"host\":\"WS1\"}"), std::string::npos) << j;
  EXPECT_FALSE(txs[1].has(kSmbNtlmsspUser));  // the buffer stays the request's (to_server)
  j.clear();
  format_app_json(txs[3].meta, j);
  EXPECT_EQ(j.find("ntlmssp"), std::string::npos) << j;
}

TEST(AppSmb, StateSizes) {
  static_assert(sizeof(AppMeta::Smb) <= sizeof(AppMeta::Mqtt), "smb fields fit MQTT's place");
  static_assert(sizeof(app::SmbDir) <= sizeof(app::HttpDir), "the direction union does not grow");
  RecordProperty("sizeof_AppMeta", int(sizeof(AppMeta)));
  RecordProperty("sizeof_AppMeta_Smb", int(sizeof(AppMeta::Smb)));
  RecordProperty("sizeof_SmbDir", int(sizeof(app::SmbDir)));
  RecordProperty("sizeof_HttpDir", int(sizeof(app::HttpDir)));
  RecordProperty("sizeof_Dir", int(sizeof(app::Dir)));
  RecordProperty("sizeof_AppState", int(app_state_size()));
  EXPECT_LE(sizeof(AppMeta), 6656u);
}

TEST(AppSmb, SplitAtEveryByte) { expect_split_invariant(small_cfg(), pipe_session(), 50000, 445); }

// A TCP gap: the message in progress is dropped and the direction resumes at
// the next session header + SMB magic (a near miss with a length shorter
// than an SMB header is passed over), as Suricata's SMB parser resyncs.
TEST(AppSmb, ResyncAfterGap) {
  std::string lost = nbss(write_req(5, std::string(300, 'w')));
  std::string after = lost.substr(100) + std::string("\x00\x00\x00\x10\xfeSMB", 8) + "junk" +
                      nbss(tree_connect_req("\\\\srv\\data"));
  std::vector<Seg> segs = {{true, nbss(tree_connect_req("\\\\srv\\IPC$"))},
                           {false, nbss(tree_connect_resp(5, 2))},
                           {true, lost.substr(0, 60)},
                           {true, after, 40},  // 40 bytes of the write lost
                           {false, nbss(tree_connect_resp(6, 1))}};
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 50000, 445);
  const Tx* share = find(txs, [](const Tx& t) { return t.has(kSmbShare); });
  ASSERT_TRUE(share);
  EXPECT_EQ(share->get(kSmbShare), "\\\\srv\\data");
  EXPECT_EQ(txs.size(), 4u);  // the write is gone, nothing made of the junk
  EXPECT_EQ(ctx.ctr.truncated, 1u);
  EXPECT_EQ(ctx.ctr.smb_malformed, 0u);
  // The same with the bytes after the gap fed one at a time (the window spans calls).
  std::vector<std::vector<uint32_t>> cuts(segs.size());
  cuts[3] = every_byte(after.size());
  auto bytewise = run_tcp(ctx, segs, cuts, 50000, 445);
  ASSERT_EQ(bytewise.size(), txs.size());
  for (size_t i = 0; i < txs.size(); i++) EXPECT_TRUE(bytewise[i] == txs[i]) << i;
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// A request in three fragments over TCP 135, its response; the stub joined.
TEST(AppDcerpc, TcpFragments) {
  AppCtx ctx(small_cfg());
  AppProto proto;
  std::vector<Seg> segs = {{true, bind(1)}, {false, bind_ack(1)},
                           {true, request(2, 1, 9, "AAAA") + request(2, 0, 9, "BBBB")},
                           {true, request(2, 2, 9, "CCCC")},
                           {false, response(2, 3, "OK")}};
  auto txs = run_tcp(ctx, segs, {}, 50001, 135, &proto);
  EXPECT_EQ(proto, AppProto::kDcerpc);
  const Tx* req = find(txs, [](const Tx& t) { return t.to_server && t.has(kDcerpcStubData); });
  ASSERT_TRUE(req);
  EXPECT_EQ(req->get(kDcerpcStubData), "AAAABBBBCCCC");
  EXPECT_EQ(req->meta.smb.d_frag_cnt, 3);
  const Tx* resp = find(txs, [](const Tx& t) { return !t.to_server && t.has(kDcerpcStubData); });
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->get(kDcerpcStubData), "OK");
  EXPECT_EQ(resp->get(kDcerpcHdr).substr(0, 4), std::string("\x02\x07\x00\x09", 4));  // the request's opnum
  EXPECT_FALSE(resp->has(kSmbHdr));
  std::string j;
  format_app_json(resp->meta, j);
  EXPECT_NE(j.find("\"dcerpc\":{\"request\":\"REQUEST\",\"response\":\"RESPONSE\",\"opnum\":9,\"res\":{\"frag_cnt\":1,"
                   "\"stub_data_size\":2},\"req\":{\"frag_cnt\":3,\"stub_data_size\":12},\"call_id\":2,"
                   "\"rpc_version\":\"5.0\"}"),
            std::string::npos) << j;
  expect_split_invariant(small_cfg(), segs, 50001, 135);
}

// A request fragment whose first fragment was not seen: bit 1 clear (dcerpc.iface without any_frag).
TEST(AppDcerpc, NoFirstFragment) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, bind(1)}, {false, bind_ack(1)}, {true, request(3, 2, 4, "tail")}}, {}, 50002, 135);
  const Tx* req = find(txs, [](const Tx& t) { return t.has(kDcerpcStubData); });
  ASSERT_TRUE(req);
  EXPECT_EQ(req->get(kDcerpcHdr)[1], 6);
}

// Stub data longer than the area: the first part kept, counted, the tx still out.
TEST(AppDcerpc, StubBound) {
  AppConfig cfg = small_cfg();
  cfg.header_limit = 512;
  cfg.request_body_limit = cfg.response_body_limit = 512;  // a 1 KiB buffer: 512 bytes of stub
  AppCtx ctx(cfg);
  std::string big(3000, 'z');
  auto txs = run_tcp(ctx, {{true, bind(1)}, {true, request(2, 3, 1, big)}}, {}, 50003, 135);
  const Tx* req = find(txs, [](const Tx& t) { return t.has(kDcerpcStubData); });
  ASSERT_TRUE(req);
  EXPECT_EQ(req->get(kDcerpcStubData).size(), 512u);
  EXPECT_EQ(req->meta.smb.d_stub_size, 3000u);
  EXPECT_EQ(ctx.ctr.dcerpc_stub_cut, 1u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppDcerpc, Malformed) {
  AppCtx ctx(small_cfg());
  std::string bad = bind(1);
  bad[8] = 4, bad[9] = 0;  // fragment length 4: shorter than the header
  auto txs = run_tcp(ctx, {{true, bind(1) + bad + bind(2)}}, {}, 50004, 135);
  EXPECT_EQ(txs.size(), 1u);  // the direction stops at the bad header
  EXPECT_EQ(ctx.ctr.dcerpc_malformed, 1u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// Interleaved calls (per call id): call 2's fragments around call 3 each
// reassembled alone, the responses answered out of order each with their
// own request's opnum and numbers; responses interleaved likewise.
std::vector<Seg> interleaved_calls() {
  return {{true, bind(1)}, {false, bind_ack(1)},
          {true, request(2, 1, 5, "AAAA") + request(3, 3, 7, "CC")},
          {true, request(2, 2, 5, "BBBB")},
          {false, response(3, 1, "r3a") + response(2, 3, "r2")},
          {false, response(3, 2, "r3b")}};
}

TEST(AppDcerpc, InterleavedCallsByCallId) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, interleaved_calls(), {}, 50006, 135);
  std::vector<std::tuple<bool, uint32_t, int, std::string, int>> got;  // dir, call, opnum, stub, frags
  for (const Tx& t : txs)
    if (t.has(kDcerpcStubData))
      got.emplace_back(t.to_server, t.meta.smb.d_call_id, (t.meta.smb.d_bits & 4) ? t.meta.smb.d_opnum : -1,
                       t.get(kDcerpcStubData), t.meta.smb.d_frag_cnt);
  using G = std::tuple<bool, uint32_t, int, std::string, int>;
  EXPECT_EQ(got, (std::vector<G>{G{true, 3, 7, "CC", 1}, G{true, 2, 5, "AAAABBBB", 2}, G{false, 2, 5, "r2", 1},
                                 G{false, 3, 7, "r3ar3b", 2}}));
  const Tx* r2 = find(txs, [](const Tx& t) { return !t.to_server && t.meta.smb.d_call_id == 2 && t.meta.smb.dce; });
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->meta.smb.req_frag_cnt, 2);  // EVE req: its own request's numbers
  EXPECT_EQ(r2->meta.smb.req_stub_size, 8u);
  EXPECT_EQ(ctx.ctr.dcerpc_calls_dropped, 0u);
  expect_split_invariant(small_cfg(), interleaved_calls(), 50006, 135);
}

// The same over an SMB2 pipe (writes and reads).
TEST(AppDcerpc, InterleavedCallsOverSmbPipe) {
  std::vector<Seg> segs = {{true, nbss(tree_connect_req("\\\\srv\\IPC$"))}, {false, nbss(tree_connect_resp(5, 2))}};
  for (const Seg& x : interleaved_calls())
    segs.push_back({x.to_server, nbss(x.to_server ? write_req(5, x.data) : read_resp(5, x.data))});
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 50007, 445);
  const Tx* r3 = find(txs, [](const Tx& t) { return !t.to_server && t.meta.smb.d_call_id == 3 && t.meta.smb.dce; });
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->get(kDcerpcStubData), "r3ar3b");
  EXPECT_EQ(r3->meta.smb.d_opnum, 7);
  const Tx* q2 = find(txs, [](const Tx& t) { return t.to_server && t.meta.smb.d_call_id == 2 && t.meta.smb.dce; });
  ASSERT_TRUE(q2);
  EXPECT_EQ(q2->get(kDcerpcStubData), "AAAABBBB");
  expect_split_invariant(small_cfg(), segs, 50007, 445);
}

// The bounds: kDcePend requests awaiting responses (the oldest's response
// gets no opnum), kDcePark calls set aside (the oldest dropped); counted,
// every buffer and context returned.
TEST(AppDcerpc, CallTablesBounded) {
  AppCtx ctx(small_cfg());
  std::string reqs, firsts;
  for (uint32_t i = 0; i <= app::kDcePend; i++) reqs += request(10 + i, 3, uint16_t(i), "q");
  for (uint32_t i = 0; i <= app::kDcePark + 1; i++) firsts += request(40 + i, 1, 1, "f");
  auto txs = run_tcp(ctx, {{true, bind(1)}, {false, bind_ack(1)}, {true, reqs}, {false, response(10, 3, "x")},
                           {false, response(10 + app::kDcePend, 3, "y")}, {true, firsts + request(40, 2, 1, "g")}},
                     {}, 50008, 135);
  EXPECT_EQ(ctx.ctr.dcerpc_pend_full, 1u);
  const Tx* x = find(txs, [](const Tx& t) { return t.has(kDcerpcStubData) && t.get(kDcerpcStubData) == "x"; });
  ASSERT_TRUE(x);
  EXPECT_FALSE(x->meta.smb.d_bits & 4);  // its request was dropped
  const Tx* y = find(txs, [](const Tx& t) { return t.has(kDcerpcStubData) && t.get(kDcerpcStubData) == "y"; });
  ASSERT_TRUE(y);
  EXPECT_EQ(y->meta.smb.d_opnum, app::kDcePend);
  // 5 calls' first fragments: each sets the one before aside; the 5th drops
  // call 40 (the oldest), 40's last fragment sets 44 aside and drops 41; 40 alone
  EXPECT_EQ(ctx.ctr.dcerpc_calls_dropped, 2u);
  const Tx* g = find(txs, [](const Tx& t) { return t.has(kDcerpcStubData) && t.meta.smb.d_call_id == 40; });
  ASSERT_TRUE(g);
  EXPECT_EQ(g->get(kDcerpcStubData), "g");
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
  EXPECT_EQ(ctx.impl->smbf_free_n, ctx.impl->smbf_n);
}

TEST(AppSmb, Detection) {
  AppCtx ctx(small_cfg());
  AppProto p;
  run_tcp(ctx, {{true, std::string("\x81\x00\x00\x44", 4) + std::string(0x44, 'A')}, {false, std::string("\x82\0\0\0", 4)},
                {true, nbss(tree_connect_req("\\\\h\\IPC$"))}}, {}, 50005, 139, &p);
  EXPECT_EQ(p, AppProto::kSmb);
  run_tcp(ctx, {{true, bind(1)}}, {}, 50006, 49700, &p);  // DCERPC on a dynamic port
  EXPECT_EQ(p, AppProto::kDcerpc);
  run_tcp(ctx, {{true, std::string("\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50", 10) + std::string(8, 'x')}}, {}, 50007,
          1080, &p);  // SOCKS5 CONNECT: not DCERPC
  EXPECT_NE(p, AppProto::kDcerpc);
}

// SMB1: tree connect AndX (unicode) and a TransactNmPipe carrying a bind.
TEST(AppSmb, Smb1TreeConnectAndTrans) {
  auto smb1 = [](uint8_t cmd, bool resp, uint16_t tid, const std::string& words, const std::string& bytes) {
    return "\xffSMB" + std::string(1, char(cmd)) + le32(0) + std::string(1, char(resp ? 0x98 : 0x18)) + le16(0xc807) +
           std::string(12, '\0') + le16(tid) + le16(0xfeff) + le16(0x800) + le16(1) +
           std::string(1, char(words.size() / 2)) + words + le16(uint32_t(bytes.size())) + bytes;
  };
  std::string path = utf16("\\\\10.0.0.1\\IPC$") + std::string(2, '\0');
  std::string tc = smb1(0x75, false, 0, std::string("\xff\x00\x00\x00", 4) + le16(8) + le16(1),
                        std::string(1, '\0') + path + "?????" + std::string(1, '\0'));
  std::string tcr = smb1(0x75, true, 0x800, std::string("\xff\x00\x00\x00", 4) + le16(1), std::string("IPC\0", 4));
  std::string b = bind(1);
  // TRANS words: 14 + setup count 2; data at offset 32 + 1 + 32 + 2 = 67 (+1 pad) = 68 + name
  std::string name = std::string("\\PIPE\\\0", 7);
  uint32_t data_off = 32 + 1 + 32 + 2 + uint32_t(name.size());
  std::string w = le16(0) + le16(uint32_t(b.size())) + le16(0) + le16(1024) + std::string{0, 0} + le16(0) + le32(0) +
                  le16(0) + le16(0) + le16(0) + le16(uint32_t(b.size())) + le16(data_off) + std::string{2, 0} +
                  le16(0x26) + le16(0x4000);
  std::string tr = smb1(0x25, false, 0x800, w, name + b);
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, nbss(tc)}, {false, nbss(tcr)}, {true, nbss(tr)}}, {}, 50008, 445);
  const Tx* t = find(txs, [](const Tx& x) { return x.has(kSmbNamedPipe) && x.to_server; });
  ASSERT_TRUE(t);
  EXPECT_EQ(t->get(kSmbNamedPipe), "\\\\10.0.0.1\\IPC$");
  EXPECT_EQ(t->get(kSmbHdr)[0], 1);
  const Tx* bd = find(txs, [](const Tx& x) { return x.meta.smb.dce && x.meta.smb.d_type == 11; });
  ASSERT_TRUE(bd);
  EXPECT_EQ(bd->meta.smb.ifs[0].ctx_id, 1);
  EXPECT_EQ(memcmp(bd->meta.smb.ifs[0].uuid, kUuidText.data(), 16), 0);
  EXPECT_EQ(ctx.ctr.smb_malformed, 0u);
}

// Truncated and malformed SMB messages: counted, no crash; SMB3 encrypted skipped.
// smb.version: an SMB2 negotiate answer to the client's SMB1 negotiate
// belongs to that SMB1 transaction (Suricata's smb-keywords page); the
// client's own SMB2 negotiate that follows is SMB2 again.
TEST(AppSmb, VersionTransition) {
  std::string neg1 = "\xffSMB" + std::string(1, '\x72') + std::string(27, '\0') + std::string(1, '\0') + le16(12) +
                     std::string("\x02SMB 2.???\0", 12);
  std::string resp = smb2(0, true, 0, le16(65) + le16(1) + le16(0x2ff) + std::string(58, '\0'));
  std::string neg2 = smb2(0, false, 0, le16(36) + le16(1) + std::string(32, '\0') + le16(0x311));
  std::string resp2 = smb2(0, true, 0, le16(65) + le16(1) + le16(0x311) + std::string(58, '\0'));
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{true, nbss(neg1)}, {false, nbss(resp)}, {true, nbss(neg2)}, {false, nbss(resp2)}}, {},
                     50011, 445);
  ASSERT_EQ(txs.size(), 4u);
  std::string v;
  for (const Tx& t : txs) v += char('0' + t.get(kSmbHdr)[0]);
  EXPECT_EQ(v, "1122");
  std::string j;
  format_app_json(txs[1].meta, j);
  EXPECT_NE(j.find("\"dialect\":\"2.??\""), std::string::npos) << j;
  j.clear();
  format_app_json(txs[3].meta, j);
  EXPECT_NE(j.find("\"dialect\":\"3.11\""), std::string::npos) << j;
}

TEST(AppSmb, MalformedAndEncrypted) {
  AppCtx ctx(small_cfg());
  std::string tc = tree_connect_req("\\\\srv\\IPC$");
  std::string cut = tc;
  cut[64 + 6] = char(0xff);  // path length past the message
  auto txs = run_tcp(ctx, {{true, nbss(cut)}, {true, nbss("\xfdSMB" + std::string(60, 'E'))},
                           {true, nbss("junk")}, {true, nbss(tc.substr(0, 40))}}, {}, 50009, 445);
  EXPECT_EQ(ctx.ctr.smb_encrypted, 1u);
  EXPECT_GE(ctx.ctr.smb_malformed, 3u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppDcerpc, Udp) {
  // Connectionless request header (80 bytes, little endian): interface at 24, if_vers 56, seq 64, opnum 68, len 74.
  std::string h(80, '\0');
  h[0] = 4, h[1] = 0, h[4] = 0x10;
  h.replace(24, 16, kUuidWire);
  h.replace(56, 4, le32(3));
  h.replace(64, 4, le32(77));
  h.replace(68, 2, le16(12));
  h.replace(74, 2, le16(5));
  std::string pdu = h + "hello";
  ASSERT_TRUE(app_datagram_candidate(40000, 40001, reinterpret_cast<const uint8_t*>(pdu.data()), uint32_t(pdu.size())));
  AppCtx ctx(small_cfg());
  Flow f;
  Rec r;
  app_datagram(ctx, f.s, true, 40000, 40001, reinterpret_cast<const uint8_t*>(pdu.data()), uint32_t(pdu.size()), 0, r);
  ASSERT_EQ(r.txs.size(), 1u);
  EXPECT_EQ(app_proto(f.s), AppProto::kDcerpc);
  const Tx& t = r.txs[0];
  EXPECT_EQ(t.get(kDcerpcStubData), "hello");
  std::string hd = t.get(kDcerpcHdr);
  EXPECT_EQ(hd.substr(0, 4), std::string("\x00\x07\x00\x0c", 4));
  EXPECT_EQ(hd.substr(4, 16), kUuidText);
  EXPECT_EQ(hd.substr(20, 2), std::string("\x00\x03", 2));
  EXPECT_EQ(hd[22], 1);  // little endian
  std::string cut = pdu.substr(0, 70);
  app_datagram(ctx, f.s, true, 40000, 40001, reinterpret_cast<const uint8_t*>(cut.data()), uint32_t(cut.size()), 0, r);
  EXPECT_EQ(r.txs.size(), 1u);
  EXPECT_EQ(ctx.ctr.dcerpc_malformed, 1u);
}

// SMB2 with a message id (and the async flag on answers).
std::string smb2m(uint16_t cmd, bool resp, uint64_t mid, const std::string& body, uint32_t status = 0,
                  bool async = false) {
  std::string h = "\xfeSMB" + le16(64) + le16(0) + le32(status) + le16(cmd) + le16(1) +
                  le32((resp ? 1 : 0) | (async ? 2 : 0)) + le32(0) + le64(mid) + le32(0) + le32(async ? 0 : 3) +
                  le64(0x1122334455667788ull) + std::string(16, '\0');
  return h + body;
}
std::string create_req(uint64_t mid, const std::string& name) {
  std::string n = utf16(name);
  return nbss(smb2m(5, false, mid, le16(57) + std::string(42, '\0') + le16(64 + 56) + le16(uint32_t(n.size())) +
                                       le32(0) + le32(0) + n));
}
std::string create_resp(uint64_t mid, uint32_t status = 0, bool async = false) {
  return nbss(smb2m(5, true, mid, le16(89) + std::string(86, '\0'), status, async));
}
std::string filename_of(const Tx& t) {
  std::string j;
  format_app_json(t.meta, j);
  size_t at = j.find("\"filename\":\"");
  if (at == std::string::npos) return "<none>";
  at += 12;
  return j.substr(at, j.find('"', at) - at);
}
// The answers' filenames, in order.
std::vector<std::string> answer_names(const std::vector<Tx>& txs) {
  std::vector<std::string> v;
  for (const Tx& t : txs)
    if (!t.to_server) v.push_back(filename_of(t));
  return v;
}

// Pipelined creates answered out of order: each answer logs its own
// request's file name (paired by message id), not the latest request's; a
// name that is not the latest's keeps its last 37 bytes.
TEST(AppSmb, PipelinedCreatesPairByMessageId) {
  const std::string longname = "projects\\2026\\quarterly-report-final-v2.docx";
  std::vector<Seg> segs = {{true, create_req(10, "alpha.txt") + create_req(11, longname)},
                           {true, create_req(12, "gamma.txt")},
                           {false, create_resp(12) + create_resp(10)},
                           {false, create_resp(11, 0xc0000034)}};
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 50000, 445);
  ASSERT_EQ(txs.size(), 6u);
  EXPECT_EQ(filename_of(txs[1]), "projects\\\\2026\\\\quarterly-report-final-v2.docx");  // the request's own
  EXPECT_EQ(answer_names(txs), (std::vector<std::string>{"gamma.txt", "alpha.txt",
                                                          "s\\\\2026\\\\quarterly-report-final-v2.docx"}));
  EXPECT_EQ(ctx.ctr.smb_unpaired, 0u);
  EXPECT_EQ(ctx.ctr.smb_pair_full, 0u);
  // Pairing state survives any split of the segments.
  expect_split_invariant(small_cfg(), segs, 50000, 445);
}

// An async STATUS_PENDING interim answer makes no tx (Suricata completes
// the tx at the final answer only); the final answer, async, pairs with its
// request by message id, after another request's answer.
TEST(AppSmb, AsyncPendingThenFinal) {
  std::vector<Seg> segs = {{true, create_req(20, "slow.txt") + create_req(21, "fast.txt")},
                           {false, create_resp(20, 0x103, true)},
                           {false, create_resp(21)},
                           {false, create_resp(20, 0, true)}};
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 50000, 445);
  EXPECT_EQ(ctx.ctr.smb_messages, 5u);
  ASSERT_EQ(txs.size(), 4u);
  EXPECT_EQ(answer_names(txs), (std::vector<std::string>{"fast.txt", "slow.txt"}));
  EXPECT_EQ(txs[3].meta.smb.status, 0u);
  EXPECT_EQ(txs[3].meta.smb.tree_id, 0u);  // async: no tree id
  EXPECT_EQ(ctx.ctr.smb_unpaired, 0u);
  expect_split_invariant(small_cfg(), segs, 50000, 445);
}

// Five outstanding creates: the table (4) drops the oldest (counted); its
// answer is logged without a name (EVE leaves it out; counted), the others keep theirs; an
// answer to a request never seen has none either.
TEST(AppSmb, PairTableFull) {
  std::string reqs;
  for (int i = 30; i < 35; i++) reqs += create_req(uint64_t(i), "f" + std::to_string(i));
  std::vector<Seg> segs = {{true, reqs},
                           {false, create_resp(30) + create_resp(34) + create_resp(31) + create_resp(99)},
                           {false, create_resp(33) + create_resp(32)}};
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 50000, 445);
  EXPECT_EQ(answer_names(txs), (std::vector<std::string>{"<none>", "f34", "f31", "<none>", "f33", "f32"}));
  EXPECT_EQ(ctx.ctr.smb_pair_full, 1u);
  EXPECT_EQ(ctx.ctr.smb_unpaired, 2u);
  expect_split_invariant(small_cfg(), segs, 50000, 445);
}

// SMB1 NT_CREATE_ANDX requests answered out of order pair by pid + mid.
TEST(AppSmb, Smb1CreatesPairByMid) {
  auto smb1 = [](bool resp, uint16_t mid, const std::string& words, const std::string& bytes) {
    return nbss("\xffSMB" + std::string(1, '\xa2') + le32(0) + std::string(1, char(resp ? 0x98 : 0x18)) +
                le16(0xc807) + std::string(12, '\0') + le16(0x800) + le16(0xfeff) + le16(0x800) + le16(mid) +
                std::string(1, char(words.size() / 2)) + words + le16(uint32_t(bytes.size())) + bytes);
  };
  auto req = [&](uint16_t mid, const std::string& name) {
    std::string n = utf16(name);
    std::string w = std::string("\xff\x00\x00\x00\x00", 5) + le16(uint32_t(n.size())) + std::string(41, '\0');
    return smb1(false, mid, w, std::string(1, '\0') + n + std::string(2, '\0'));  // bytes at 83: a pad to 84
  };
  auto resp = [&](uint16_t mid) { return smb1(true, mid, std::string("\xff\x00\x00\x00", 4) + std::string(64, '\0'), ""); };
  std::vector<Seg> segs = {{true, req(1, "one.txt") + req(2, "two.txt")}, {false, resp(2) + resp(1)}};
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 50009, 445);
  EXPECT_EQ(answer_names(txs), (std::vector<std::string>{"two.txt", "one.txt"}));
  EXPECT_EQ(ctx.ctr.smb_unpaired, 0u);
  EXPECT_EQ(ctx.ctr.smb_malformed, 0u);
}

// DCERPC over TCP after a gap: the PDU in progress is dropped (truncated),
// a near miss (a header whose fragment is shorter than a request header) is
// passed over, parsing resumes at the next plausible header.
TEST(AppDcerpc, TcpResyncAfterGap) {
  std::string lost = request(2, 3, 9, std::string(100, 'A'));
  std::string after = lost.substr(80) + std::string("\x05\x00\x00\x03\x10\x00\x00\x00\x08\x00\x00\x00", 12) +
                      "xx" + request(3, 3, 9, "BBBB");
  std::vector<Seg> segs = {{true, bind(1)},
                           {false, bind_ack(1)},
                           {true, lost.substr(0, 50)},
                           {true, after, 30},  // 30 bytes of the request lost
                           {false, response(3, 3, "OK")}};
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 50001, 135);
  ASSERT_EQ(txs.size(), 4u);
  EXPECT_EQ(txs[2].get(kDcerpcStubData), "BBBB");
  EXPECT_EQ(txs[2].meta.smb.d_call_id, 3u);
  EXPECT_EQ(txs[3].meta.smb.d_opnum, 9);  // the response pairs with request 3
  EXPECT_EQ(ctx.ctr.truncated, 1u);
  EXPECT_EQ(ctx.ctr.dcerpc_malformed, 0u);
  std::vector<std::vector<uint32_t>> cuts(segs.size());
  cuts[3] = every_byte(after.size());
  auto bytewise = run_tcp(ctx, segs, cuts, 50001, 135);
  ASSERT_EQ(bytewise.size(), txs.size());
  for (size_t i = 0; i < txs.size(); i++) EXPECT_TRUE(bytewise[i] == txs[i]) << i;
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppSmb, MutationFuzz) {
  std::mt19937 rng(1234);
  AppCtx ctx(small_cfg());
  std::vector<std::vector<Seg>> seeds = {
      pipe_session(),
      {{true, bind(1)}, {false, bind_ack(1)}, {true, request(2, 1, 9, "AAAA") + request(2, 2, 9, "BBBB")},
       {false, response(2, 3, "OK")}},
      {{true, nbss(smb2(5, false, 3, std::string(48, 'c')) .substr(0, 64 + 24)) + nbss(write_req(5, request(7, 3, 1, "z")))}},
      {{true, create_req(1, "a") + create_req(2, "b") + create_req(3, "c") + create_req(4, "d") + create_req(5, "e")},
       {false, create_resp(2, 0x103, true) + create_resp(5) + create_resp(2) + create_resp(1)}},
      {{true, bind(1)}, {true, request(2, 3, 9, std::string(60, 'A')).substr(0, 30)},
       {true, request(3, 3, 9, "BB"), 7}, {false, response(3, 3, "OK")}},
      interleaved_calls()};
  // SPECTRE_SMB_FUZZ_ITERS: a longer run (e.g. 100000) by hand.
  const char* env = std::getenv("SPECTRE_SMB_FUZZ_ITERS");
  const int iters = env && *env ? std::atoi(env) : 6000;
  for (int i = 0; i < iters; i++) {
    std::vector<Seg> segs = seeds[size_t(i) % seeds.size()];
    for (auto& s : segs)
      if (rng() % 3 == 0) s.data = mutate(rng, s.data);
    run_tcp(ctx, segs, {}, 50010, uint16_t(i % 2 ? 445 : 135));
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << "iteration " << i;
    ASSERT_EQ(ctx.impl->smbf_free_n, ctx.impl->smbf_n) << "iteration " << i;
  }
}

}  // namespace
}  // namespace spectre

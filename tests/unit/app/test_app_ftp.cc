// FTP parser: commands and replies, multi-line replies, PASV/EPSV/PORT/EPRT
// expectations labelling the data flow ftp-data with file.data, AUTH TLS,
// detection, split invariance and fuzz.
#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

std::vector<Seg> control(const std::string& pasv_cmd, const std::string& pasv_reply) {
  return {{false, "220-Welcome to the test server\r\n220-second line\r\n220 ready\r\n"},
          {true, "USER anonymous\r\n"},
          {false, "331 Please specify the password.\r\n"},
          {true, "PASS guest@\r\n"},
          {false, "230 Login successful.\r\n"},
          {true, pasv_cmd},
          {false, pasv_reply},
          {true, "RETR secret.txt\r\n"},
          {false, "150 Opening BINARY mode data connection.\r\n226 Transfer complete.\r\n"},
          {true, "QUIT\r\n"},
          {false, "221 Goodbye.\r\n"}};
}

TEST(AppFtp, CommandsRepliesAndLog) {
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_tcp(ctx, control("PASV\r\n", "227 Entering Passive Mode (10,0,0,1,195,80).\r\n"), {},
                     40000, 21, &p);
  EXPECT_EQ(p, AppProto::kFtp);
  std::vector<std::string> cmds;
  for (auto& t : txs)
    if (t.to_server) cmds.push_back(t.get(kFtpCommand) + "|" + t.get(kFtpCommandData));
  EXPECT_EQ(cmds, (std::vector<std::string>{"USER|anonymous", "PASS|guest@", "PASV|<absent>", "RETR|secret.txt", "QUIT|<absent>"}));
  // Replies: the banner, one per command, the 150 and 226 of RETR.
  std::vector<uint16_t> codes;
  const Tx* pasv = nullptr;
  for (auto& t : txs)
    if (!t.to_server) {
      codes.push_back(t.meta.ftp_code);
      if (t.meta.ftp_code == 227) pasv = &t;
    }
  EXPECT_EQ(codes, (std::vector<uint16_t>{220, 331, 230, 227, 150, 226, 221}));
  ASSERT_NE(pasv, nullptr);
  EXPECT_EQ(pasv->meta.ftp_dyn_port, 195 * 256 + 80);
  std::string j;
  format_app_json(pasv->meta, j);
  EXPECT_EQ(j, "\"ftp\":{\"command\":\"PASV\",\"completion_code\":[\"227\"],"
               "\"reply\":[\"Entering Passive Mode (10,0,0,1,195,80).\"],\"dynamic_port\":50000,"
               "\"mode\":\"passive\",\"reply_received\":\"yes\"}");
  EXPECT_STREQ(txs[0].meta.ftp_reply, "Welcome to the test server");  // multi-line: first line
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppFtp, SplitAtEveryByte) {
  expect_split_invariant(small_cfg(), control("EPSV\r\n", "229 Entering Extended Passive Mode (|||6446|)\r\n"),
                         40000, 21);
}

// Feeds one flow of a conversation on a shared context (expectations cross flows).
std::vector<Tx> flow(AppCtx& ctx, const std::vector<Seg>& segs, uint16_t sport, uint16_t dport,
                     AppProto* proto, uint64_t ts = 1) {
  Flow f;
  Rec r;
  for (auto& s : segs)
    app_stream(ctx, f.s, s.to_server, s.to_server ? sport : dport, s.to_server ? dport : sport,
               reinterpret_cast<const uint8_t*>(s.data.data()), uint32_t(s.data.size()), 0, ts, r);
  app_finish(ctx, f.s, r);
  *proto = app_proto(f.s);
  return r.txs;
}

TEST(AppFtp, PassiveDataChannelIsFtpData) {
  AppCtx ctx(small_cfg());
  ctx.want_magic = true;  // as when a loaded rule inspects file.magic
  AppProto p;
  flow(ctx, control("EPSV\r\n", "229 Entering Extended Passive Mode (|||6446|)\r\n"), 40000, 21, &p);
  ASSERT_EQ(p, AppProto::kFtp);
  // The server sends the file on the passive port.
  auto txs = flow(ctx, {{false, std::string("MZ\x90\x00 this is the secret file", 28)}}, 40001, 6446, &p);
  EXPECT_EQ(p, AppProto::kFtpData);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_FALSE(txs[0].to_server);
  EXPECT_EQ(txs[0].get(kFileData), std::string("MZ\x90\x00 this is the secret file", 28));
  EXPECT_STREQ(txs[0].meta.file_name, "secret.txt");
  EXPECT_STREQ(txs[0].meta.ftp_command, "RETR");
  EXPECT_TRUE(txs[0].meta.file_tx);
  char md5[33];
  app::md5_hex("MZ\x90\x00 this is the secret file", 28, md5);
  EXPECT_STREQ(txs[0].meta.file_md5, md5);
  std::string j;
  format_fileinfo_json(txs[0].meta, j);
  ASSERT_NE(txs[0].meta.file_magic[0], 0);  // libmagic's description (its wording varies by version)
  EXPECT_EQ(txs[0].get(kFileMagic), txs[0].meta.file_magic);
  EXPECT_EQ(j, std::string("\"fileinfo\":{\"filename\":\"secret.txt\",\"magic\":\"") + txs[0].meta.file_magic +
                   "\",\"gaps\":false,\"state\":\"CLOSED\",\"md5\":\"" + md5 + "\",\"stored\":false,\"size\":28}");
  // Used up: a second flow to the port is not ftp-data.
  flow(ctx, {{false, "again"}}, 40002, 6446, &p);
  EXPECT_NE(p, AppProto::kFtpData);
  EXPECT_EQ(ctx.ctr.ftp_data_flows, 1u);
}

TEST(AppFtp, ActiveModeAndExpiry) {
  AppCtx ctx(small_cfg());
  AppProto p;
  auto segs = control("PORT 10,0,0,2,7,208\r\n", "200 PORT command successful.\r\n");
  segs[7].data = "STOR upload.bin\r\n";
  flow(ctx, segs, 40000, 21, &p);
  // Active mode: the server connects from port 20 to the client's port 2000.
  auto txs = flow(ctx, {{true, "uploaded bytes"}}, 20, 2000, &p);
  EXPECT_EQ(p, AppProto::kFtpData);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].get(kFileData), "uploaded bytes");
  EXPECT_STREQ(txs[0].meta.file_name, "upload.bin");
  // An expectation older than a minute is not used.
  flow(ctx, segs, 40000, 21, &p, 1);
  flow(ctx, {{true, "late"}}, 20, 2000, &p, 61ull * 1000000000ull + 2);
  EXPECT_NE(p, AppProto::kFtpData);
}

TEST(AppFtp, DataBeyondLimitIsCut) {
  AppConfig cfg = small_cfg();
  cfg.response_body_limit = 100;
  AppCtx ctx(cfg);
  AppProto p;
  flow(ctx, control("PASV\r\n", "227 Entering Passive Mode (10,0,0,1,0,99).\r\n"), 40000, 21, &p);
  auto txs = flow(ctx, {{false, std::string(150, 'a')}, {false, std::string(50, 'b')}}, 40001, 99, &p);
  // Inspected when the kept part is full; the whole transfer logged at the end.
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kFileData), std::string(100, 'a'));
  EXPECT_FALSE(txs[0].meta.file_tx);
  EXPECT_EQ(txs[1].bufs.size(), 1u);  // the digest alone
  EXPECT_TRUE(txs[1].meta.file_tx);
  EXPECT_EQ(txs[1].meta.file_size, 200u);
  EXPECT_TRUE(txs[1].meta.file_truncated);
  const std::string whole = std::string(150, 'a') + std::string(50, 'b');
  char md5[33];
  app::md5_hex(whole.data(), whole.size(), md5);
  EXPECT_STREQ(txs[1].meta.file_md5, md5);  // of the whole transfer, streamed
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppFtp, AuthTlsStopsParsing) {
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, {{false, "220 FTP ready\r\n"}, {true, "AUTH TLS\r\n"}, {false, "234 go\r\n"},
                           {true, "\x16\x03\x01 binary USER x\r\n"}},
                     {}, 40000, 21);
  size_t cmds = 0;
  for (auto& t : txs) cmds += t.to_server;
  EXPECT_EQ(cmds, 1u);  // AUTH only
}

TEST(AppFtp, Detection) {
  AppCtx ctx(small_cfg());
  AppProto p;
  run_tcp(ctx, {{true, "USER bob\r\n"}}, {}, 40000, 2121, &p);
  EXPECT_EQ(p, AppProto::kFtp);
  run_tcp(ctx, {{false, "220 ProFTPD Server ready\r\n"}}, {}, 40000, 2121, &p);
  EXPECT_EQ(p, AppProto::kFtp);
  run_tcp(ctx, {{false, "220 service ready\r\n"}}, {}, 40000, 21, &p);
  EXPECT_EQ(p, AppProto::kFtp);
  run_tcp(ctx, {{true, "USERS bob\r\n"}, {false, "999 nothing here at all\r\n"}}, {}, 40000, 2121, &p);
  EXPECT_EQ(p, AppProto::kFailed);
  // POP3 (port 110) also starts with USER: not FTP.
  run_tcp(ctx, {{false, "+OK POP3 server ready\r\n"}, {true, "USER bob\r\n"}}, {}, 40000, 110, &p);
  EXPECT_NE(p, AppProto::kFtp);
}

TEST(AppFtp, LongCommandIsCut) {
  AppCtx ctx(small_cfg());
  std::string arg(3000, 'A');
  auto txs = run_tcp(ctx, {{true, "USER " + arg + "\r\nPASS x\r\n"}}, {}, 40000, 21);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].get(kFtpCommand), "USER");
  EXPECT_EQ(txs[0].get(kFtpCommandData).size(), 1024u - 5);
  EXPECT_EQ(txs[1].get(kFtpCommand), "PASS");
}

TEST(AppFtp, MutationFuzz) {
  AppCtx ctx(small_cfg());
  std::mt19937 rng(99);
  auto seed = control("PASV\r\n", "227 Entering Passive Mode (10,0,0,1,195,80).\r\n");
  uint64_t cmds = 0;
  for (int it = 0; it < 100000; it++) {
    std::vector<Seg> segs;
    std::vector<std::vector<uint32_t>> cuts;
    for (auto& s : seed) {
      std::string m = rng() % 3 ? s.data : mutate(rng, s.data);
      std::vector<uint32_t> c;
      if (!m.empty() && rng() % 2) c.push_back(uint32_t(rng() % m.size()));
      segs.push_back({s.to_server, m, rng() % 50 == 0 ? 7u : 0u});
      cuts.push_back(c);
    }
    for (auto& t : run_tcp(ctx, segs, cuts, 40000, 21)) cmds += t.has(kFtpCommand);
    // Every few iterations a data flow consumes whatever was announced.
    if (it % 7 == 0) run_tcp(ctx, {{false, mutate(rng, "file bytes")}}, {}, 40001, 50000);
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << "iteration " << it;
  }
  EXPECT_GT(cmds, 300000u);
}

// ftpbounce (Suricata's detect-ftpbounce): a PORT command whose address is
// not the flow initiator's carries the internal (ftp.bounce) buffer. The
// first two are Suricata's own unit cases (client 1.2.3.4 and 4.3.2.1 there).
TEST(AppFtp, PortBounce) {
  const uint8_t client[16] = {1, 2, 3, 4};
  struct Case {
    const char* cmd;
    bool bounce;
  } cases[] = {
      {"PORT 80,58,0,33,10,20\r\n", true},   // another host
      {"PORT 1,2,3,4,10,20\r\n", false},     // the client itself
      {"port 10,0,0,9,4,1\r\n", true},       // verbs in any case
      {"PORT 1 ,2\t,3 ,4 ,10,20\r\n", false}, // blanks before a comma: still the client
      {"PORT 5 ,2,3,4,10,20\r\n", true},
      {"PORT 1, 9,3,4,10,20\r\n", false},    // a blank after a comma: not an address
      {"PORT 1,2,3,1000,10,20\r\n", false},  // 4 digits: not an address
      {"PORT 1,2,3,256,10,20\r\n", false},   // above 255
      {"PORT 9,9,9\r\n", false},             // too short
      {"EPRT |1|5.6.7.8|4000|\r\n", false},  // PORT only, as Suricata
      {"NOOP 5,6,7,8,1,1\r\n", false},
  };
  for (const Case& k : cases) {
    AppCtx ctx(small_cfg());
    ctx.flow_src = client;
    std::vector<Seg> segs = {{false, "220 ready\r\n"}, {true, k.cmd}};
    auto txs = run_tcp(ctx, segs, {}, 40000, 21);
    int n = 0;
    for (auto& t : txs) n += t.has(kFtpBounce);
    EXPECT_EQ(n, k.bounce ? 1 : 0) << k.cmd;
    EXPECT_EQ(ctx.ctr.ftp_bounces, k.bounce ? 1u : 0u) << k.cmd;
    for (auto& t : txs) {  // the command line is the payload of mixed rules
      if (t.to_server) {
        EXPECT_EQ(t.get(kPayload) + "\n", k.cmd);
      }
    }
  }
  // Suricata's split case ("PO", "RT", " 80,5", "8,0,33,10,20"), and every other split.
  AppCtx ctx(small_cfg());
  ctx.flow_src = client;
  std::vector<Seg> segs = {{false, "220 ready\r\n"}, {true, "PORT 80,58,0,33,10,20\r\n"}};
  auto txs = run_tcp(ctx, segs, {{}, {2, 4, 9}}, 40000, 21);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_TRUE(txs[1].has(kFtpBounce));
  expect_split_invariant(small_cfg(), segs, 40000, 21);
  // Unknown initiator (no address given): never a bounce.
  AppCtx none(small_cfg());
  for (auto& t : run_tcp(none, segs, {}, 40000, 21)) EXPECT_FALSE(t.has(kFtpBounce));
}

}  // namespace
}  // namespace spectre

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

// SMB over TCP is detected (no parser): NetBIOS session header + SMB1/2/3 magic.
TEST(AppSmb, Detection) {
  AppCtx ctx(small_cfg());
  AppProto p;
  for (char magic : {'\xff', '\xfe', '\xfd'}) {
    std::string smb = std::string("\x00\x00\x00\x45", 4) + magic + "SMB" + std::string(0x41, '\x01');
    run_tcp(ctx, {{true, smb}}, {every_byte(smb.size())}, 40000, 445, &p);
    EXPECT_EQ(p, AppProto::kSmb);
  }
  // Near miss: wrong magic.
  run_tcp(ctx, {{true, std::string("\x00\x00\x00\x45\xfeSMX", 8) + std::string(20, 'a')}}, {}, 40000, 445, &p);
  EXPECT_EQ(p, AppProto::kFailed);
}

}  // namespace
}  // namespace spectre

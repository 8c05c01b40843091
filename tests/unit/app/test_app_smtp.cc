// SMTP parser: envelope buffers, DATA/BDAT, MIME attachments (base64,
// quoted-printable, nested multipart), STARTTLS hand-over, detection, split
// invariance and fuzz.
#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

const char* kBanner = "220 mx.example.org ESMTP Postfix\r\n";
const char* kEhloReply = "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

// "hello attachment world" base64, wrapped over two lines.
const char* kMime =
    "From: \"Alice A\" <alice@example.org>\r\n"
    "To: bob@example.net, \"Carol, C\" <carol@example.net>\r\n"
    "Subject: quarterly report\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed;\r\n"
    "\tboundary=\"==b1==\"\r\n"
    "\r\n"
    "preamble is ignored\r\n"
    "--==b1==\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "body text that is not a file\r\n"
    "--==b1==\r\n"
    "Content-Type: application/octet-stream; name=\"report.exe\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"report.exe\"\r\n"
    "\r\n"
    "aGVsbG8gYXR0YWNo\r\n"
    "bWVudCB3b3JsZA==\r\n"
    "--==b1==\r\n"
    "Content-Type: text/plain; name=notes.txt\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9 soft=\r\n"
    "break\r\n"
    "..dot-stuffed line\r\n"
    "--==b1==--\r\n"
    "epilogue\r\n";

std::vector<Seg> session(const std::string& msg) {
  return {{false, kBanner},
          {true, "EHLO client.example.com\r\n"},
          {false, kEhloReply},
          {true, "MAIL FROM:<alice@example.org> SIZE=1234\r\nRCPT TO:<bob@example.net>\r\n"
                 "RCPT TO:<carol@example.net>\r\nDATA\r\n"},
          {false, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"},
          {true, msg + ".\r\n"},
          {false, "250 2.0.0 Ok: queued as 12345\r\n"},
          {true, "QUIT\r\n"},
          {false, "221 2.0.0 Bye\r\n"}};
}

TEST(AppSmtp, EnvelopeAttachmentsAndLog) {
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_tcp(ctx, session(kMime), {}, 40000, 25, &p);
  EXPECT_EQ(p, AppProto::kSmtp);
  // envelope, second recipient, two attachments, the log record.
  ASSERT_EQ(txs.size(), 5u);
  EXPECT_TRUE(txs[0].to_server);
  EXPECT_EQ(txs[0].get(kSmtpHelo), "client.example.com");
  EXPECT_EQ(txs[0].get(kSmtpMailFrom), "<alice@example.org>");
  EXPECT_EQ(txs[0].get(kSmtpRcptTo), "<bob@example.net>");
  EXPECT_EQ(txs[1].get(kSmtpRcptTo), "<carol@example.net>");
  EXPECT_FALSE(txs[1].has(kSmtpHelo));
  EXPECT_EQ(txs[2].get(kFileData), "hello attachment world");
  EXPECT_STREQ(txs[2].meta.file_name, "report.exe");
  EXPECT_TRUE(txs[2].meta.file_tx);
  EXPECT_STREQ(txs[2].meta.file_md5, "9e74b876c41219ea44f7b527c40f8281");  // md5("hello attachment world")
  EXPECT_EQ(txs[3].get(kFileData), "caf\xC3\xA9 softbreak\r\n.dot-stuffed line");
  EXPECT_STREQ(txs[3].meta.file_name, "notes.txt");
  const Tx& log = txs[4];
  EXPECT_FALSE(log.to_server);
  EXPECT_TRUE(log.bufs.empty());
  EXPECT_TRUE(log.meta.email_done);
  EXPECT_STREQ(log.meta.email_subject, "quarterly report");
  EXPECT_EQ(log.meta.email_attach_n, 2);
  std::string j;
  format_app_json(log.meta, j);
  EXPECT_EQ(j,
            "\"smtp\":{\"helo\":\"client.example.com\",\"mail_from\":\"<alice@example.org>\","
            "\"rcpt_to\":[\"<bob@example.net>\",\"<carol@example.net>\"]},"
            "\"email\":{\"status\":\"PARSE_DONE\",\"from\":\"\\\"Alice A\\\" <alice@example.org>\","
            "\"to\":[\"bob@example.net\",\"\\\"Carol, C\\\" <carol@example.net>\"],"
            "\"subject\":\"quarterly report\",\"attachment\":[\"report.exe\",\"notes.txt\"]}");
  EXPECT_EQ(ctx.ctr.smtp_attachments, 2u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

TEST(AppSmtp, SplitAtEveryByte) { expect_split_invariant(small_cfg(), session(kMime), 40000, 25); }

TEST(AppSmtp, NestedMultipartAndPlainAttachment) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
      "--inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
      "--inner\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n"
      "--inner--\r\n"
      "--outer\r\n"
      "Content-Disposition: attachment; filename=run.bat\r\n\r\n"
      "line one\r\nline two\r\n"
      "--outer--\r\n";
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, session(msg), {}, 40000, 25);
  std::vector<std::string> files;
  for (auto& t : txs)
    if (t.has(kFileData)) files.push_back(t.get(kFileData));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], "line one\r\nline two");  // the CRLF before the boundary belongs to it
}

TEST(AppSmtp, BdatChunks) {
  std::string body =
      "Subject: x\r\nContent-Disposition: attachment; filename=a.bin\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n";
  std::string c1 = body.substr(0, 30), c2 = body.substr(30);
  std::vector<Seg> segs = {
      {false, kBanner},
      {true, "EHLO h\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"},
      {true, "BDAT " + std::to_string(c1.size()) + "\r\n" + c1},
      {true, "BDAT " + std::to_string(c2.size()) + " LAST\r\n" + c2},
      {false, "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 queued\r\n"}};
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 40000, 587);
  ASSERT_GE(txs.size(), 3u);
  EXPECT_EQ(txs[0].get(kSmtpMailFrom), "<a@b>");
  EXPECT_EQ(txs[1].get(kFileData), "ABC");
  EXPECT_STREQ(txs[1].meta.file_name, "a.bin");
  EXPECT_FALSE(txs.back().to_server);
  EXPECT_TRUE(txs.back().meta.email_done);
  expect_split_invariant(small_cfg(), segs, 40000, 587);
}

TEST(AppSmtp, StartTlsHandsOverToTls) {
  // A minimal ClientHello with SNI "mail.example" after the 220 reply.
  std::string sni = "mail.example";
  std::string ext;
  ext += '\0'; ext += '\0';  // server_name
  uint16_t list = uint16_t(sni.size() + 3);
  ext += char((list + 2) >> 8); ext += char((list + 2) & 0xff);
  ext += char(list >> 8); ext += char(list & 0xff);
  ext += '\0';
  ext += char(sni.size() >> 8); ext += char(sni.size() & 0xff);
  ext += sni;
  std::string body;
  body += "\x03\x03"; body += std::string(32, 'r'); body += '\0';
  body += std::string("\x00\x02\x13\x01", 4); body += std::string("\x01\x00", 2);
  body += char(ext.size() >> 8); body += char(ext.size() & 0xff); body += ext;
  std::string hs = std::string("\x01", 1) + '\0' + char(body.size() >> 8) + char(body.size() & 0xff) + body;
  std::string rec = std::string("\x16\x03\x01", 3) + char(hs.size() >> 8) + char(hs.size() & 0xff) + hs;
  std::vector<Seg> segs = {{false, kBanner}, {true, "EHLO h\r\n"}, {false, "250 ok\r\n"},
                           {true, "STARTTLS\r\n"}, {false, "220 2.0.0 Ready to start TLS\r\n"},
                           {true, rec}};
  AppCtx ctx(small_cfg());
  AppProto p;
  auto txs = run_tcp(ctx, segs, {}, 40000, 25, &p);
  EXPECT_EQ(p, AppProto::kTls);
  bool sni_seen = false;
  for (auto& t : txs) sni_seen |= t.get(kTlsSni) == "mail.example";
  EXPECT_TRUE(sni_seen);
  // Refused STARTTLS: still SMTP.
  segs[4].data = "454 TLS not available\r\n";
  segs[5].data = "MAIL FROM:<x@y>\r\n";
  run_tcp(ctx, segs, {}, 40000, 25, &p);
  EXPECT_EQ(p, AppProto::kSmtp);
}

TEST(AppSmtp, Detection) {
  AppCtx ctx(small_cfg());
  AppProto p;
  // Client command on any port.
  run_tcp(ctx, {{true, "EHLO x\r\n"}}, {}, 40000, 10025, &p);
  EXPECT_EQ(p, AppProto::kSmtp);
  // Banner naming ESMTP within the probe, off port 25.
  run_tcp(ctx, {{false, "220 mx ESMTP ready\r\n"}}, {}, 40000, 10025, &p);
  EXPECT_EQ(p, AppProto::kSmtp);
  // Near miss: a 220 banner naming nothing, off the mail ports.
  run_tcp(ctx, {{false, "220 welcome to this service\r\n"}, {true, "hello there friend\r\n"}}, {}, 40000,
          10025, &p);
  EXPECT_EQ(p, AppProto::kFailed);
  // "EHLOX" is not a command.
  run_tcp(ctx, {{true, "EHLOX something\r\n"}, {false, "xxxxxxxxxxxxxxxxxxxxx"}}, {}, 40000, 10025, &p);
  EXPECT_EQ(p, AppProto::kFailed);
}

TEST(AppSmtp, LongLinesAndLimits) {
  // A base64 line far longer than the line area, and an attachment beyond the body limit.
  std::string b64;
  for (int i = 0; i < 3000; i++) b64 += "QUJD";  // 9000 bytes "ABC"...
  std::string msg = "Content-Disposition: attachment; filename=big\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                    b64 + "\r\n";
  AppConfig cfg = small_cfg();
  cfg.response_body_limit = 4096;
  AppCtx ctx(cfg);
  auto txs = run_tcp(ctx, session(msg), {}, 40000, 25);
  const Tx* f = nullptr;
  for (auto& t : txs)
    if (t.has(kFileData)) f = &t;
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->get(kFileData).size(), 4096u);
  EXPECT_EQ(f->get(kFileData).substr(0, 6), "ABCABC");
  EXPECT_EQ(f->meta.file_size, 9000u);
  EXPECT_TRUE(f->meta.file_truncated);
  // Pool empty: the client side only counts, nothing crashes, buffers return.
  AppConfig one = small_cfg();
  one.tx_buffers = 0;
  AppCtx c0(one);
  auto none = run_tcp(c0, session(kMime), {}, 40000, 25);
  EXPECT_GT(c0.ctr.tx_pool_empty, 0u);  // each buffer it could not take is counted
  for (auto& t : none) EXPECT_FALSE(t.has(kFileData));
  EXPECT_EQ(app_pool_free(c0), app_pool_size(c0));
}

TEST(AppSmtp, FlowEndsInsideMessage) {
  auto segs = session(kMime);
  segs.resize(6);
  segs[5].data = std::string(kMime).substr(0, 700);  // cut inside the base64 part
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 40000, 25);
  ASSERT_FALSE(txs.empty());
  EXPECT_FALSE(txs.back().to_server);  // logged at flow end
  EXPECT_EQ(ctx.ctr.smtp_mails, 1u);
}

TEST(AppSmtp, MutationFuzz) {
  AppConfig cfg = small_cfg();
  cfg.response_body_limit = 256;
  AppCtx ctx(cfg);
  std::mt19937 rng(4242);
  auto seed = session(kMime);
  uint64_t files = 0;
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
    for (auto& t : run_tcp(ctx, segs, cuts, 40000, 25)) files += t.has(kFileData);
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << "iteration " << it;
  }
  EXPECT_GT(files, 50000u);  // most mutated sessions still deliver attachments
}

}  // namespace
}  // namespace spectre

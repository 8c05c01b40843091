// SMB2 file transfers as files (app_smb_file.cc): READ answers and WRITE
// requests on a file a CREATE opened give file.data / file.name / file.size
// / file.md5 and the fileinfo record at CLOSE; out-of-order offsets
// reassembled, holes and the flow's end TRUNCATED, files larger than the
// kept part inspected early; the bounded tables and their counters; split
// at every byte; pipe data still DCERPC.
#include "dataplane/app/app_internal.h"
#include "tests/unit/app/app_test_util.h"

namespace spectre {
namespace {

using namespace apptest;
using namespace rules;

std::string smb2(uint16_t cmd, bool resp, uint64_t mid, uint32_t tree, const std::string& body, uint32_t status = 0) {
  return "\xfeSMB" + le16(64) + le16(0) + le32(status) + le16(cmd) + le16(1) + le32(resp ? 1 : 0) + le32(0) +
         le64(mid) + le32(0) + le32(tree) + le64(0x1122334455667788ull) + std::string(16, '\0') + body;
}
// A FileId: persistent and volatile parts from n.
std::string fid(uint32_t n) { return le64(0x100000000ull + n) + le64(0xabc00000ull + n); }

std::string create_req(uint64_t mid, const std::string& name, uint32_t tree = 3) {
  std::string n = utf16(name);
  return nbss(smb2(5, false, mid, tree, le16(57) + std::string(42, '\0') + le16(64 + 56) +
                                            le16(uint32_t(n.size())) + le32(0) + le32(0) + n));
}
std::string create_resp(uint64_t mid, const std::string& f, uint32_t attrs = 0x20, uint32_t tree = 3) {
  return nbss(smb2(5, true, mid, tree, le16(89) + std::string(54, '\0') + le32(attrs) + le32(0) + f + le32(0) + le32(0)));
}
std::string read_req(uint64_t mid, const std::string& f, uint64_t off, uint32_t len) {
  return nbss(smb2(8, false, mid, 3, le16(49) + std::string{0, 0} + le32(len) + le64(off) + f + le32(0) + le32(0) +
                                         le32(0) + le16(0) + le16(0) + std::string(1, '\0')));
}
std::string read_resp(uint64_t mid, const std::string& data, uint32_t status = 0) {
  return nbss(smb2(8, true, mid, 3, le16(17) + std::string{char(64 + 16), 0} + le32(uint32_t(data.size())) + le32(0) +
                                        le32(0) + data, status));
}
std::string write_req(uint64_t mid, const std::string& f, uint64_t off, const std::string& data) {
  return nbss(smb2(9, false, mid, 3, le16(49) + le16(64 + 48) + le32(uint32_t(data.size())) + le64(off) + f +
                                         le32(0) + le32(0) + le16(0) + le16(0) + le32(0) + data));
}
std::string close_req(uint64_t mid, const std::string& f) {
  return nbss(smb2(6, false, mid, 3, le16(24) + le16(0) + le32(0) + f));
}

std::vector<const Tx*> files(const std::vector<Tx>& txs) {
  std::vector<const Tx*> v;
  for (auto& t : txs)
    if (t.meta.file_tx) v.push_back(&t);
  return v;
}
std::string fileinfo(const Tx& t) {
  std::string j;
  format_fileinfo_json(t.meta, j);
  return j;
}

const std::string kText = "The quick brown fox jumps over the lazy dog";  // md5 9e107d9d372bb6826bd81d3542a419d6

// smbclient's `get`: CREATE, READs (the answers' data at the requests'
// offsets), CLOSE.
std::vector<Seg> read_session(bool ooo) {
  const std::string f = fid(1);
  std::vector<Seg> v = {{true, create_req(1, "docs\\fox.txt")}, {false, create_resp(1, f)},
                        {true, read_req(2, f, 0, 16) + read_req(3, f, 16, 27)}};
  if (ooo) v.push_back({false, read_resp(3, kText.substr(16)) + read_resp(2, kText.substr(0, 16))});
  else v.push_back({false, read_resp(2, kText.substr(0, 16)) + read_resp(3, kText.substr(16))});
  v.push_back({true, close_req(4, f)});
  v.push_back({false, nbss(smb2(6, true, 4, 3, le16(60) + std::string(58, '\0')))});
  return v;
}

TEST(AppSmbFile, ReadIsAFile) {
  for (bool ooo : {false, true}) {
    AppCtx ctx(small_cfg());
    auto txs = run_tcp(ctx, read_session(ooo), {}, 50000, 445);
    auto f = files(txs);
    ASSERT_EQ(f.size(), 1u) << "out of order " << ooo;
    EXPECT_FALSE(f[0]->to_server);
    EXPECT_EQ(f[0]->meta.proto, AppProto::kSmb);
    EXPECT_EQ(f[0]->get(kFileData), kText);
    EXPECT_EQ(f[0]->get(kFileName), "docs\\fox.txt");
    EXPECT_EQ(f[0]->get(kFileSize), "43");
    EXPECT_STREQ(f[0]->meta.file_md5, "9e107d9d372bb6826bd81d3542a419d6");
    EXPECT_EQ(f[0]->meta.file_size, 43u);
    EXPECT_NE(fileinfo(*f[0]).find("\"state\":\"CLOSED\""), std::string::npos) << fileinfo(*f[0]);
    EXPECT_EQ(ctx.ctr.smb_files, 1u);
    EXPECT_EQ(ctx.ctr.smb_file_truncated, 0u);
    // the read answers are SMB txs still; their file bytes are not DCERPC
    EXPECT_EQ(ctx.ctr.dcerpc_pdus, 0u);
    EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
  }
}

TEST(AppSmbFile, SplitAtEveryByte) {
  expect_split_invariant(small_cfg(), read_session(false), 50000, 445);
  expect_split_invariant(small_cfg(), read_session(true), 50000, 445);
}

TEST(AppSmbFile, WriteIsAFile) {
  const std::string f = fid(7);
  std::vector<Seg> segs = {{true, create_req(1, "up\\new.bin")}, {false, create_resp(1, f)},
                           {true, write_req(2, f, 10, kText.substr(10)) + write_req(3, f, 0, kText.substr(0, 10))},
                           {true, close_req(4, f)}};
  AppCtx ctx(small_cfg());
  auto all = run_tcp(ctx, segs, {}, 50000, 445);
  auto fs = files(all);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_TRUE(fs[0]->to_server);
  EXPECT_EQ(fs[0]->get(kFileData), kText);
  EXPECT_EQ(fs[0]->get(kFileName), "up\\new.bin");
  EXPECT_STREQ(fs[0]->meta.file_md5, "9e107d9d372bb6826bd81d3542a419d6");
  expect_split_invariant(small_cfg(), segs, 50000, 445);
}

// A hole (a READ answer lost): TRUNCATED, no digest, file.data the bytes
// before it; the size counts the announced lengths.
TEST(AppSmbFile, HoleIsTruncated) {
  const std::string f = fid(2);
  std::vector<Seg> segs = {{true, create_req(1, "a.txt")}, {false, create_resp(1, f)},
                           {true, read_req(2, f, 0, 10) + read_req(3, f, 10, 10) + read_req(4, f, 20, 10)},
                           {false, read_resp(2, std::string(10, 'a')) + read_resp(4, std::string(10, 'c'))},
                           {true, close_req(5, f)}};
  AppCtx ctx(small_cfg());
  auto all = run_tcp(ctx, segs, {}, 50000, 445);
  auto fs = files(all);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]->get(kFileData), std::string(10, 'a'));
  EXPECT_EQ(fs[0]->meta.file_size, 30u);
  EXPECT_STREQ(fs[0]->meta.file_md5, "");
  EXPECT_NE(fileinfo(*fs[0]).find("\"state\":\"TRUNCATED\""), std::string::npos);
  EXPECT_EQ(ctx.ctr.smb_file_truncated, 1u);
}

// No CLOSE before the flow ends: logged TRUNCATED at its end.
TEST(AppSmbFile, FlowEndTruncates) {
  const std::string f = fid(3);
  AppCtx ctx(small_cfg());
  auto all = run_tcp(ctx, {{true, create_req(1, "b.txt")}, {false, create_resp(1, f)},
                                {true, read_req(2, f, 0, 5)}, {false, read_resp(2, "hello")}},
                          {}, 50000, 445);
  auto fs = files(all);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]->get(kFileData), "hello");
  EXPECT_TRUE(fs[0]->meta.file_incomplete);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// A file larger than the kept part, in 20000-byte READs (larger than the
// message area: streamed): file.data inspected once with its first bytes,
// then the record alone at CLOSE with the whole size and digest (streamed).
TEST(AppSmbFile, LargeFileInspectedEarly) {
  const std::string f = fid(4);
  std::string data;
  for (int i = 0; i < 60000; i++) data += char('A' + i % 23);
  std::vector<Seg> segs = {{true, create_req(1, "big.iso")}, {false, create_resp(1, f)}};
  for (uint32_t i = 0; i < 3; i++) {
    segs.push_back({true, read_req(2 + i, f, 20000 * i, 20000)});
    segs.push_back({false, read_resp(2 + i, data.substr(20000 * i, 20000))});
  }
  segs.push_back({true, close_req(9, f)});
  AppCtx ctx(small_cfg());
  auto txs = run_tcp(ctx, segs, {}, 50000, 445);
  const Tx* early = nullptr;
  for (auto& t : txs)
    if (t.has(kFileData)) early = &t;
  ASSERT_TRUE(early);
  EXPECT_FALSE(early->meta.file_tx);
  EXPECT_EQ(early->get(kFileData), data.substr(0, 8192));
  EXPECT_FALSE(early->has(kFileSize));  // the size is known at the end: filesize matches there
  auto fs = files(txs);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_FALSE(fs[0]->has(kFileData));
  EXPECT_EQ(fs[0]->get(kFileSize), "60000");
  EXPECT_EQ(fs[0]->meta.smb.command, 8);  // logged with the READ's smb fields, as Suricata
  EXPECT_STREQ(fs[0]->meta.smb.filename, "big.iso");
  EXPECT_EQ(fs[0]->meta.file_size, 60000u);
  EXPECT_TRUE(fs[0]->meta.file_truncated);
  EXPECT_FALSE(fs[0]->meta.file_incomplete);  // all bytes seen: CLOSED, only not kept whole
  char md5[33];
  app::md5_hex(data.data(), data.size(), md5);
  EXPECT_STREQ(fs[0]->meta.file_md5, md5);
  EXPECT_EQ(fs[0]->get(kFileMd5).size(), 16u);
  std::vector<std::vector<uint32_t>> cuts(segs.size());
  cuts[3] = {7, 100, 8000, 8300, 19999};  // the first answer cut anywhere: same txs
  auto again = run_tcp(ctx, segs, cuts, 50000, 445);
  ASSERT_EQ(again.size(), txs.size());
  for (size_t i = 0; i < txs.size(); i++) EXPECT_TRUE(again[i] == txs[i]) << i;
}

// The bounded tables: an open-file entry dropped when kSmbOpens files are
// open, READs dropped past kSmbReads pending, a second file's data in a
// direction already collecting one.
TEST(AppSmbFile, BoundsCounted) {
  AppCtx ctx(small_cfg());
  std::vector<Seg> segs;
  for (uint32_t i = 0; i <= app::kSmbOpens; i++) {
    segs.push_back({true, create_req(100 + i, "f" + std::to_string(i))});
    segs.push_back({false, create_resp(100 + i, fid(100 + i))});
  }
  std::string reqs;
  for (uint32_t i = 0; i <= app::kSmbReads; i++) reqs += read_req(200 + i, fid(101), i, 1);
  segs.push_back({true, reqs});
  segs.push_back({false, read_resp(216, "x") + read_resp(200, "y")});  // 200 was dropped: not tracked
  segs.push_back({true, write_req(300, fid(102), 0, "w") + write_req(301, fid(100), 0, "z")});  // 100 dropped
  segs.push_back({true, read_req(302, fid(103), 0, 1)});
  segs.push_back({false, read_resp(302, "q")});  // direction 1 busy with fid 101
  auto all = run_tcp(ctx, segs, {}, 50000, 445);
  auto fs = files(all);
  EXPECT_EQ(ctx.ctr.smb_file_table_full, 1u);
  EXPECT_EQ(ctx.ctr.smb_file_reads_full, 1u);
  EXPECT_EQ(ctx.ctr.smb_file_busy, 1u);
  ASSERT_EQ(fs.size(), 2u);  // fid 101 read (offset 16), fid 102 written, both at the flow's end
  EXPECT_EQ(fs[0]->meta.file_size + fs[1]->meta.file_size, 17u + 1u);
  EXPECT_EQ(app_pool_free(ctx), app_pool_size(ctx));
}

// A pipe's data is not a file (DCERPC's); a directory read is one, as in
// Suricata (it tracks any FileId a READ names).
TEST(AppSmbFile, PipesAreNotFilesDirectoriesAre) {
  AppCtx ctx(small_cfg());
  std::string pipe_tree = nbss(smb2(3, true, 1, 3, le16(16) + std::string{2, 0} + le32(0) + le32(0) + le32(0x1f01ff)));
  auto all = run_tcp(ctx, {{false, pipe_tree}, {true, create_req(2, "srvsvc")}, {false, create_resp(2, fid(5))},
                           {true, read_req(3, fid(5), 0, 4)}, {false, read_resp(3, "abcd")},
                           {true, close_req(4, fid(5))}},
                     {}, 50000, 445);
  EXPECT_TRUE(files(all).empty());
  EXPECT_EQ(ctx.impl->smbf_free_n, ctx.impl->smbf_n);  // no context taken for the flow
  auto dir = run_tcp(ctx, {{true, create_req(1, "dir")}, {false, create_resp(1, fid(6), 0x10)},
                           {true, read_req(2, fid(6), 0, 4)}, {false, read_resp(2, "abcd")},
                           {true, close_req(3, fid(6))}},
                     {}, 50000, 445);
  auto fs = files(dir);
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0]->get(kFileName), "dir");
}

// SMB1: NT_CREATE_ANDX's FID, READ_ANDX answers at their requests'
// offsets (paired by pid + mid, out of order), WRITE_ANDX, CLOSE.
std::string smb1(uint8_t cmd, bool resp, uint16_t mid, const std::string& words, const std::string& bytes) {
  std::string h = "\xffSMB" + std::string(1, char(cmd)) + le32(0) + std::string(1, char(resp ? 0x80 : 0)) + le16(0) +
                  le16(0) + std::string(8, '\0') + le16(0) + le16(9) + le16(77) + le16(100) + le16(mid);
  return nbss(h + std::string(1, char(words.size() / 2)) + words + le16(uint32_t(bytes.size())) + bytes);
}
std::vector<Seg> smb1_session() {
  const std::string fidw = le16(0x4001);
  std::string create_w = std::string{char(0xff), 0} + le16(0) + std::string(1, '\0') + le16(11) + std::string(41, '\0');
  std::string read_req1 = std::string{char(0xff), 0} + le16(0) + fidw + le32(0) + le16(20) + le16(0) + le32(0) + le16(0) + le32(0);
  std::string read_req2 = std::string{char(0xff), 0} + le16(0) + fidw + le32(20) + le16(23) + le16(0) + le32(0) + le16(0) + le32(0);
  auto read_resp = [](const std::string& d) {
    return std::string{char(0xff), 0} + le16(0) + le16(0xffff) + le16(0) + le16(0) + le16(uint32_t(d.size())) +
           le16(59) + le16(0) + std::string(8, '\0');
  };
  std::string write_w = std::string{char(0xff), 0} + le16(0) + fidw + le32(43) + le32(0) + le16(0) + le16(0) + le16(0) +
                        le16(4) + le16(63) + le32(0);
  return {{true, smb1(0xa2, false, 1, create_w, "old\\fox.txt")},
          {false, smb1(0xa2, true, 1, std::string{char(0xff), 0} + le16(0) + std::string(1, '\0') + fidw +
                                          std::string(61, '\0'), "")},
          {true, smb1(0x2e, false, 2, read_req1, "") + smb1(0x2e, false, 3, read_req2, "")},
          {false, smb1(0x2e, true, 3, read_resp(kText.substr(20)), kText.substr(20)) +
                      smb1(0x2e, true, 2, read_resp(kText.substr(0, 20)), kText.substr(0, 20))},
          {true, smb1(0x2f, false, 4, write_w, "!!!!")},
          {true, smb1(0x04, false, 5, fidw + le32(0), "")}};
}

TEST(AppSmbFile, Smb1ReadAndWrite) {
  AppCtx ctx(small_cfg());
  auto all = run_tcp(ctx, smb1_session(), {}, 50000, 445);
  auto fs = files(all);
  ASSERT_EQ(fs.size(), 2u);  // both directions' transfers end at the CLOSE request, the WRITE's first
  EXPECT_TRUE(fs[0]->to_server);  // the WRITE at offset 43: bytes 0..43 never written here
  EXPECT_EQ(fs[0]->meta.file_size, 47u);
  EXPECT_TRUE(fs[0]->meta.file_incomplete);
  EXPECT_FALSE(fs[1]->to_server);
  EXPECT_EQ(fs[1]->get(kFileData), kText);
  EXPECT_EQ(fs[1]->get(kFileName), "old\\fox.txt");
  EXPECT_STREQ(fs[1]->meta.file_md5, "9e107d9d372bb6826bd81d3542a419d6");
  EXPECT_FALSE(fs[1]->meta.file_incomplete);
  expect_split_invariant(small_cfg(), smb1_session(), 50000, 445);
}

// Mutated transfers: no crash, every pooled buffer and context returned.
TEST(AppSmbFile, MutationFuzz) {
  std::mt19937 rng(4321);
  AppConfig cfg = small_cfg();
  cfg.smb_flows = 2;
  AppCtx ctx(cfg);
  const std::string f = fid(9);
  std::vector<std::vector<Seg>> seeds = {
      read_session(false), read_session(true), smb1_session(),
      {{true, create_req(1, "w")}, {false, create_resp(1, f)},
       {true, write_req(2, f, 5, std::string(9000, 'q')) + write_req(3, f, 0, "01234")}, {true, close_req(4, f)}}};
  for (int i = 0; i < 4000; i++) {
    std::vector<Seg> segs = seeds[size_t(i) % seeds.size()];
    for (auto& s : segs)
      if (rng() % 3 == 0) s.data = mutate(rng, s.data);
    run_tcp(ctx, segs, {}, 50010, 445);
    ASSERT_EQ(app_pool_free(ctx), app_pool_size(ctx)) << "iteration " << i;
  }
  EXPECT_GT(ctx.ctr.smb_files, 0u);
  EXPECT_EQ(ctx.impl->smbf_free_n, 2u);  // every flow's context returned at its end
}

}  // namespace
}  // namespace spectre

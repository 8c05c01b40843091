// RowIndex (ctrlplane/learn/row_index.h): explain's (flow_id, phase) -> row
// offset. Rows found through the index; the newest row of a key wins; a
// half-written row is not taken until its newline; evicted rows come from the
// bounded scan of the uncovered tail, rows outside it are not found; a
// truncated or replaced file is indexed afresh; the first lookup of a long
// file indexes only its tail.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "ctrlplane/learn/row_index.h"
#include "tests/unit/ctrlplane/test_cp_util.h"

using spectre::learn::RowIndex;

namespace {

std::string row(int flow, const char* phase, int v) {
  return std::to_string(flow) + "," + phase + ",1.0,1700000000.5," + std::to_string(v) + ",pad-pad-pad-pad";
}

void append(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  f << text;
}

}  // namespace

TEST(RowIndex, FindsNewestRowsAndFallsBackToTheUncoveredTail) {
  cp_test::TempDir tmp;
  const std::string p = tmp.path + "/rows.csv";
  append(p, "flow_id,phase,ts_start,ts,x,pad\n");
  for (int i = 1; i <= 20; i++) append(p, row(i, "end", i) + "\n");
  RowIndex ix(8, 1 << 20);  // 8 rows indexed at most; the scan window covers the whole file
  RowIndex::Found f;
  std::string err;
  ASSERT_TRUE(ix.lookup(p, "20", "end", f, err)) << err;
  EXPECT_TRUE(f.from_index);
  EXPECT_EQ(f.line, row(20, "end", 20));
  EXPECT_EQ(f.header, "flow_id,phase,ts_start,ts,x,pad");
  EXPECT_EQ(ix.stats().entries, 8u);
  ASSERT_TRUE(ix.lookup(p, "3", "end", f, err)) << err;  // evicted: the scan of the part not covered
  EXPECT_FALSE(f.from_index);
  EXPECT_EQ(f.line, row(3, "end", 3));
  EXPECT_EQ(ix.stats().scans, 1u);
  EXPECT_FALSE(ix.lookup(p, "3", "k4", f, err));
  EXPECT_NE(err.find("not among the newest"), std::string::npos) << err;
  // A newer row of flow 20 wins; "1" is not a prefix match of "12".
  append(p, row(20, "end", 99) + "\n" + row(21, "end", 21) + "\n" + row(22, "end", 22));  // 22: half written
  ASSERT_TRUE(ix.lookup(p, "20", "end", f, err)) << err;
  EXPECT_TRUE(f.from_index);
  EXPECT_EQ(f.line, row(20, "end", 99));
  EXPECT_FALSE(ix.lookup(p, "22", "end", f, err));  // no newline yet
  append(p, "\n");
  ASSERT_TRUE(ix.lookup(p, "22", "end", f, err)) << err;
  EXPECT_TRUE(f.from_index);
  ASSERT_TRUE(ix.lookup(p, "1", "end", f, err)) << err;
  EXPECT_EQ(f.line, row(1, "end", 1));
  // Replaced by a shorter file: indexed afresh.
  std::remove(p.c_str());
  append(p, "flow_id,phase,ts_start,ts,x,pad\n" + row(7, "end", 70) + "\n");
  ASSERT_TRUE(ix.lookup(p, "7", "end", f, err)) << err;
  EXPECT_TRUE(f.from_index);
  EXPECT_EQ(f.line, row(7, "end", 70));
  EXPECT_FALSE(ix.lookup(p, "20", "end", f, err));
  EXPECT_GE(ix.stats().resets, 2u);  // the first lookup, then the replaced file
}

TEST(RowIndex, IndexesOnlyTheTailOfALongFileAndScansNoFurther) {
  cp_test::TempDir tmp;
  const std::string p = tmp.path + "/rows.csv";
  std::string text = "flow_id,phase,ts_start,ts,x,pad\n";
  for (int i = 1; i <= 2000; i++) text += row(i, "end", i) + "\n";  // ~50 bytes a row, ~100 KB
  append(p, text);
  RowIndex ix(100000, 4096);  // the window: the newest 4 KiB (~80 rows)
  RowIndex::Found f;
  std::string err;
  ASSERT_TRUE(ix.lookup(p, "2000", "end", f, err)) << err;
  EXPECT_TRUE(f.from_index);
  auto s = ix.stats();
  EXPECT_LT(s.entries, 100u);  // the tail only
  EXPECT_GT(s.entries, 60u);
  EXPECT_EQ(s.end, text.size());
  EXPECT_FALSE(ix.lookup(p, "1000", "end", f, err));  // outside the window: not scanned either
  EXPECT_EQ(ix.stats().scans, 0u);  // the index covers the whole window
  ASSERT_TRUE(ix.lookup(p, "1960", "end", f, err)) << err;
  EXPECT_TRUE(f.from_index);
  EXPECT_EQ(f.line, row(1960, "end", 1960));
}

// warm() indexes what the first lookup would: that lookup then indexes nothing
// itself (lookup_indexed) and answers from the index; rows appended after the
// warm-up are indexed by the next lookup as before.
TEST(RowIndex, WarmIndexesBeforeTheFirstLookup) {
  cp_test::TempDir tmp;
  const std::string p = tmp.path + "/rows.csv";
  append(p, "flow_id,phase,ts_start,ts,x,pad\n");
  for (int i = 1; i <= 50; i++) append(p, row(i, "end", i) + "\n");
  RowIndex ix;
  std::string err;
  EXPECT_FALSE(ix.warm(tmp.path + "/none.csv", err));
  ASSERT_TRUE(ix.warm(p, err)) << err;
  EXPECT_EQ(ix.stats().warm_indexed, 50u);
  EXPECT_EQ(ix.stats().warms, 1u);  // the missing file is not counted
  RowIndex::Found f;
  ASSERT_TRUE(ix.lookup(p, "7", "end", f, err)) << err;
  EXPECT_TRUE(f.from_index);
  EXPECT_EQ(f.line, row(7, "end", 7));
  EXPECT_EQ(ix.stats().lookup_indexed, 0u);
  EXPECT_EQ(ix.stats().scans, 0u);
  append(p, row(51, "end", 51) + "\n");
  ASSERT_TRUE(ix.lookup(p, "51", "end", f, err)) << err;
  EXPECT_TRUE(f.from_index);
  EXPECT_EQ(ix.stats().lookup_indexed, 1u);
  // Without a warm-up the first lookup indexes the file itself.
  RowIndex cold;
  ASSERT_TRUE(cold.lookup(p, "7", "end", f, err)) << err;
  EXPECT_EQ(cold.stats().lookup_indexed, 51u);
}

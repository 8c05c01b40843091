// YAML configuration loading: defaults, every key, and file:line errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dataplane/core/config.h"
#include "dataplane/core/yaml_reader.h"

namespace spectre {
namespace {

std::string write_tmp(const std::string& text) {
  static std::atomic<int> n{0};
  std::string path = testing::TempDir() + "spectre_cfg_" + std::to_string(getpid()) + "_" +
                     std::to_string(n++) + ".yaml";
  std::ofstream(path) << text;
  return path;
}

// Loads `text`; returns the error ("" on success) and fills `out`.
std::string load(const std::string& text, Config* out = nullptr, std::string* path_out = nullptr) {
  std::string path = write_tmp(text);
  if (path_out) *path_out = path;
  struct Rm {
    std::string p;
    ~Rm() { std::remove(p.c_str()); }
  } rm{path};
  std::string err;
  std::optional<Config> c = load_config(path, err);
  if (c && out) *out = *c;
  if (c) {
    EXPECT_EQ(err, "");
  }
  return c ? "" : err.empty() ? "<nullopt without error>" : err;
}

// The error for `text` must be exactly "<path><suffix>".
void expect_err(const std::string& text, const std::string& suffix) {
  std::string path;
  std::string err = load(text, nullptr, &path);
  EXPECT_EQ(err, path + suffix) << text;
}

void expect_defaults(const Config& c) {
  const uint32_t tmo[kTmoClassCount] = {60, 1800, 120, 30, 300, 30, 300};
  for (int i = 0; i < kTmoClassCount; i++) EXPECT_EQ(c.timeouts_s[i], tmo[i]) << timeout_class_name(uint8_t(i));
  EXPECT_EQ(c.max_flows, 1000000u);
  EXPECT_EQ(c.expire_budget, 256u);
  EXPECT_EQ(c.defrag_max_datagrams, 128u);
  EXPECT_EQ(c.defrag_max_frags, 1024u);
  EXPECT_EQ(c.defrag_timeout_s, 60u);
  EXPECT_EQ(c.eve_path, "");
  EXPECT_EQ(c.stats_interval_s, 8u);
  EXPECT_EQ(c.workers, 1u);
  EXPECT_EQ(c.burst, 32u);
  EXPECT_EQ(c.rx_ring_size, 4096u);
  EXPECT_EQ(c.event_ring_size, 16384u);
  EXPECT_EQ(c.mbufs, 16383u);
  EXPECT_EQ(c.rx_desc, 1024u);
}

TEST(Config, Defaults) {
  expect_defaults(Config{});
  Config c;
  c.workers = 99;
  EXPECT_EQ(load("", &c), "");
  expect_defaults(c);
  EXPECT_EQ(load("# only a comment\n", &c), "");
  expect_defaults(c);
  // A partial file keeps the other defaults.
  EXPECT_EQ(load("dataplane:\n  workers: 3\n", &c), "");
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.burst, 32u);
  EXPECT_EQ(c.timeouts_s[kTmoUdp], 300u);
}

TEST(Config, FullValidFile) {
  const char* text = R"(# InfraSpectre
flow:
  max_flows: 200000
  expire_budget: 64
  timeouts:
    tcp_new: 11
    tcp_established: 12
    tcp_closing: 13
    tcp_closed: 14
    udp: 15
    icmp: 16
    other: 17
defrag:
  max_datagrams: 256
  max_fragments: 32
  timeout: 20
eve:
  filename: /var/log/spectre/eve.json
  stats_interval: 5
dataplane:
  workers: 4
  burst: 48
  rx_ring_size: 2048
  event_ring_size: 8192
  mbufs: 32767
  rx_desc: 512
)";
  Config c;
  ASSERT_EQ(load(text, &c), "");
  for (int i = 0; i < kTmoClassCount; i++) EXPECT_EQ(c.timeouts_s[i], uint32_t(11 + i)) << i;
  EXPECT_EQ(c.max_flows, 200000u);
  EXPECT_EQ(c.expire_budget, 64u);
  EXPECT_EQ(c.defrag_max_datagrams, 256u);
  EXPECT_EQ(c.defrag_max_frags, 32u);
  EXPECT_EQ(c.defrag_timeout_s, 20u);
  EXPECT_EQ(c.eve_path, "/var/log/spectre/eve.json");
  EXPECT_EQ(c.stats_interval_s, 5u);
  EXPECT_EQ(c.workers, 4u);
  EXPECT_EQ(c.burst, 48u);
  EXPECT_EQ(c.rx_ring_size, 2048u);
  EXPECT_EQ(c.event_ring_size, 8192u);
  EXPECT_EQ(c.mbufs, 32767u);
  EXPECT_EQ(c.rx_desc, 512u);
}

TEST(Config, RangeLimitsInclusive) {
  Config c;
  EXPECT_EQ(load("flow:\n  max_flows: 134217728\n  timeouts:\n    udp: 4000000000\n", &c), "");
  EXPECT_EQ(c.max_flows, 134217728u);
  EXPECT_EQ(c.timeouts_s[kTmoUdp], 4000000000u);
  EXPECT_EQ(load("dataplane:\n  burst: 1\n  workers: 128\n", &c), "");
  EXPECT_EQ(c.burst, 1u);
  EXPECT_EQ(c.workers, 128u);
}

TEST(Config, UnknownKeysRejectedWithFileAndLine) {
  expect_err("flow:\n  max_flows: 10\nbogus: 1\n", ":3: unknown key 'bogus' in 'top level'");
  expect_err("flow:\n  timeouts:\n    udp: 5\n    tcp_neww: 5\n", ":4: unknown key 'tcp_neww' in 'flow.timeouts'");
  expect_err("\n\ndefrag:\n  max_fragment: 10\n", ":4: unknown key 'max_fragment' in 'defrag'");
  expect_err("eve:\n  file: x\n", ":2: unknown key 'file' in 'eve'");
  expect_err("eve:\n  alert:\n    payloads: yes\n", ":3: unknown key 'payloads' in 'eve.alert'");
  expect_err("dataplane:\n  worker: 2\n", ":2: unknown key 'worker' in 'dataplane'");
}

TEST(Config, OutOfRangeAndBadValues) {
  std::string path;
  expect_err("dataplane:\n  workers: 0\n", ":2: value 0 out of range [1, 128]");
  expect_err("dataplane:\n  burst: 65\n", ":2: value 65 out of range [1, 64]");
  expect_err("flow:\n  max_flows: 134217729\n", ":2: value 134217729 out of range [1, 134217728]");
  expect_err("defrag:\n  max_datagrams: 63\n", ":2: value 63 out of range [64, 65536]");
  expect_err("flow:\n  timeouts:\n    icmp: 0\n", ":3: value 0 out of range [1, 4000000000]");
  expect_err("dataplane:\n  burst: lots\n", ":2: expected a non-negative integer");
  expect_err("dataplane:\n  burst: 1.5\n", ":2: expected a non-negative integer");
  std::string neg = load("dataplane:\n  burst: -1\n", nullptr, &path);
  EXPECT_EQ(neg.rfind(path + ":2: ", 0), 0u) << neg;
  // The first error wins.
  expect_err("dataplane:\n  burst: 99\n  workers: 0\n", ":2: value 99 out of range [1, 64]");
}

TEST(Config, StructureErrors) {
  std::string path;
  expect_err("flow: 5\n", ":1: 'flow' must be a map");
  expect_err("flow:\n  timeouts: [1, 2]\n", ":2: 'flow.timeouts' must be a map");
  expect_err("- a\n- b\n", ":1: 'top level' must be a map");
  std::string syn = load("flow: {max_flows: 1\n", nullptr, &path);
  EXPECT_EQ(syn.rfind(path + ":", 0), 0u) << syn;
  EXPECT_GT(syn.size(), path.size() + 2);
  EXPECT_TRUE(isdigit(static_cast<unsigned char>(syn[path.size() + 1]))) << syn;
}

TEST(Config, MissingFile) {
  std::string err;
  std::string path = testing::TempDir() + "spectre_no_such_dir/none.yaml";
  EXPECT_FALSE(load_config(path, err).has_value());
  EXPECT_EQ(err, path + ": cannot open configuration file");
}

// The shared loader (yaml_reader.h) of the data plane's and the control
// plane's YAML files: each caller's message format rests on these.
TEST(YamlLoad, ErrorsNamePlaceAndLine) {
  YAML::Node root;
  std::string err;
  EXPECT_FALSE(parse_yaml("a: 1\nb: [1, 2\n", "x.yaml", root, err));
  EXPECT_EQ(err.rfind("x.yaml:", 0), 0u) << err;
  EXPECT_TRUE(isdigit(static_cast<unsigned char>(err[7]))) << err;
  EXPECT_FALSE(parse_yaml("a: 1\nb: [1, 2\n", "", root, err));  // a text without a name
  EXPECT_EQ(err.rfind("line ", 0), 0u) << err;
  std::vector<YAML::Node> docs;
  EXPECT_FALSE(parse_yaml_all("a: 1\n---\nb: {\n", "m.yaml", docs, err));
  EXPECT_EQ(err.rfind("m.yaml:", 0), 0u) << err;
  ASSERT_TRUE(parse_yaml_all("a: 1\n---\nb: 2\n", "m.yaml", docs, err)) << err;
  EXPECT_EQ(docs.size(), 2u);
  // A conversion the caller did not check: false with the node's line, not an exception.
  ASSERT_TRUE(parse_yaml("a: 1\nb: x\n", "c.yaml", root, err));
  EXPECT_FALSE(yaml_try("c.yaml", err, [&] { return root["b"].as<int>() > 0; }));
  EXPECT_EQ(err.rfind("c.yaml:2: ", 0), 0u) << err;
  EXPECT_TRUE(yaml_try("c.yaml", err, [&] { return root["a"].as<int>() == 1; }));
}

TEST(YamlLoad, Files) {
  YAML::Node root;
  std::string err;
  std::string path = write_tmp("a: 7\n");
  ASSERT_TRUE(load_yaml_file(path, root, err)) << err;
  EXPECT_EQ(root["a"].as<int>(), 7);
  std::remove(path.c_str());
  EXPECT_FALSE(load_yaml_file(path, root, err, "cannot open"));
  EXPECT_EQ(err, path + ": cannot open");
  EXPECT_FALSE(load_yaml_file(path, root, err));  // yaml-cpp's own words, as the callers had them
  EXPECT_EQ(err, path + ":0: bad file: " + path);
  path = write_tmp("a: 1\nb: [1, 2\n");
  EXPECT_FALSE(load_yaml_file(path, root, err, "cannot open"));
  EXPECT_EQ(err.rfind(path + ":", 0), 0u) << err;
  EXPECT_EQ(err.find("cannot open"), std::string::npos) << err;  // a syntax error, with its line
  std::remove(path.c_str());
}

TEST(Config, TimeoutClassNames) {
  EXPECT_STREQ(timeout_class_name(kTmoTcpNew), "tcp_new");
  EXPECT_STREQ(timeout_class_name(kTmoTcpEstablished), "tcp_established");
  EXPECT_STREQ(timeout_class_name(kTmoOther), "other");
  EXPECT_STREQ(timeout_class_name(kTmoClassCount), "?");
}

// A non-scalar where a string is expected must be a config error, not an
// exception escaping load_config (it would terminate spectre-dp, including
// on a SIGHUP reload).
TEST(Config, NonScalarValuesAreErrorsNotExceptions) {
  std::string path, err;
  EXPECT_NO_THROW(err = load("eve:\n  filename: [a, b]\n", nullptr, &path));
  EXPECT_EQ(err.rfind(path + ":2: ", 0), 0u) << err;
  EXPECT_NO_THROW(err = load("eve:\n  filename: {x: 1}\n", nullptr, &path));
  EXPECT_EQ(err.rfind(path + ":2: ", 0), 0u) << err;
  EXPECT_NO_THROW(err = load("? [a, b]\n: 1\n", nullptr, &path));
  EXPECT_EQ(err.rfind(path + ":1: ", 0), 0u) << err;
}

// `filename:` with no value is YAML null; it must not become a file named "null".
TEST(Config, NullFilenameIsNotLiteralNull) {
  Config c;
  std::string err = load("eve:\n  filename:\n", &c);
  if (err.empty()) {
    EXPECT_EQ(c.eve_path, "");
  }
}

}  // namespace
}  // namespace spectre

namespace spectre {
namespace {

TEST(Config, RulesVarsStreamAndChecksum) {
  Config c;
  ASSERT_EQ(load("rules:\n  files: [a.rules, b.rules]\n  dir: /r\n  classification: c.config\n  strict: true\n"
                 "vars:\n  address: {HOME_NET: \"[198.18.0.0/15]\", $EXTERNAL_NET: any}\n"
                 "  port: {HTTP_PORTS: \"[80,8080]\"}\n"
                 "stream: {depth: 4096, max_ooo_bytes: 1000, midstream: false, sessions: 100}\n"
                 "app_layer: {enabled: false, http_body_limit: 100, http_decompress_limit: 5000,"
                 " http_decompress_streams: 3, file_hash_states: 7}\n"
                 "checksum: all\n", &c), "");
  // Input paths are relative to the configuration file's directory.
  const std::string d = testing::TempDir();
  EXPECT_EQ(c.rule_files, (std::vector<std::string>{d + "a.rules", d + "b.rules"}));
  EXPECT_EQ(c.rules_dir, "/r");
  EXPECT_EQ(c.classification_file, d + "c.config");
  EXPECT_FALSE(c.rules_dir_optional);
  EXPECT_TRUE(c.rules_strict);
  EXPECT_EQ(c.address_vars.at("HOME_NET"), "[198.18.0.0/15]");
  EXPECT_EQ(c.address_vars.at("EXTERNAL_NET"), "any");
  EXPECT_EQ(c.port_vars.at("HTTP_PORTS"), "[80,8080]");
  EXPECT_EQ(c.stream_depth, 4096u);
  EXPECT_EQ(c.stream_max_ooo, 1000u);
  EXPECT_FALSE(c.midstream);
  EXPECT_EQ(c.sessions, 100u);
  EXPECT_FALSE(c.app_layer);
  EXPECT_EQ(c.http_body_limit, 100u);
  EXPECT_EQ(c.http_decompress_limit, 5000u);
  EXPECT_EQ(c.http_decompress_streams, 3u);
  EXPECT_EQ(c.file_hash_states, 7u);
  EXPECT_TRUE(c.checksum_validate);
  ASSERT_EQ(load("fast: {filename: /tmp/fast.log}\n", &c), "");
  EXPECT_EQ(c.fast_path, "/tmp/fast.log");
  ASSERT_EQ(load("eve: {app_events: false}\n", &c), "");
  EXPECT_FALSE(c.eve_app_events);
  EXPECT_FALSE(c.eve_alert_payload);
  EXPECT_FALSE(c.eve_alert_packet);
  ASSERT_EQ(load("eve: {alert: {payload: yes, packet: true}}\n", &c), "");
  EXPECT_TRUE(c.eve_alert_payload);
  EXPECT_TRUE(c.eve_alert_packet);
  // A single file is accepted as a scalar.
  ASSERT_EQ(load("rules: {files: one.rules}\n", &c), "");
  EXPECT_EQ(c.rule_files, std::vector<std::string>{d + "one.rules"});
  ASSERT_EQ(load("rules: {dir: ../x/./r, dir_optional: true}\n", &c), "");
  EXPECT_EQ(c.rules_dir, std::filesystem::path(d + "../x/r").lexically_normal().string());
  EXPECT_TRUE(c.rules_dir_optional);
  // dataset state/save files: a directory relative to the configuration file.
  ASSERT_EQ(load("rules: {data_dir: state/sets}\n", &c), "");
  EXPECT_EQ(c.rules_data_dir, d + "state/sets");
}

TEST(Config, SourcePathAndOutputPathsStayAsGiven) {
  Config c;
  std::string path;
  ASSERT_EQ(load("eve: {filename: out.json}\nfast: {filename: f.log}\n", &c, &path), "");
  EXPECT_EQ(c.source_path, path);
  EXPECT_EQ(c.eve_path, "out.json");  // outputs: relative to the working directory, as before
  EXPECT_EQ(c.fast_path, "f.log");
  ASSERT_EQ(load("", &c, &path), "");
  EXPECT_EQ(c.source_path, path);
  EXPECT_EQ(Config{}.source_path, "");
}

TEST(Config, DefaultConfigDiscovery) {
  const char* old = std::getenv("SPECTRE_CONFIG");
  std::string saved = old ? old : "";
  setenv("SPECTRE_CONFIG", "none", 1);
  EXPECT_EQ(find_default_config(), "");
  setenv("SPECTRE_CONFIG", "/some/where.yaml", 1);
  EXPECT_EQ(find_default_config(), "/some/where.yaml");
  unsetenv("SPECTRE_CONFIG");
  // Without the variable: /etc/spectre/spectre.yaml or the checkout's
  // config/spectre.yaml beside this build tree (build/tests/unit/unit-tests
  // is one level deeper than spectre-dp, so only /etc may be found here).
  std::string found = find_default_config();
  if (!found.empty()) EXPECT_TRUE(std::filesystem::exists(found)) << found;
  if (old) setenv("SPECTRE_CONFIG", saved.c_str(), 1);
}

TEST(Config, ShippedConfigurationLoadsAndNamesExistingInputs) {
  // __FILE__ is relative to the build root; the binary is <build>/tests/unit/.
  namespace fs = std::filesystem;
  fs::path src = __FILE__;
  if (src.is_relative()) src = fs::read_symlink("/proc/self/exe").parent_path() / ".." / ".." / src;
  std::string shipped = (src.parent_path() / ".." / ".." / ".." / "config" / "spectre.yaml").lexically_normal();
  std::string err;
  auto c = load_config(shipped, err);
  ASSERT_TRUE(c) << err;
  ASSERT_FALSE(c->rule_files.empty());
  for (const auto& f : c->rule_files) EXPECT_TRUE(std::filesystem::exists(f)) << f;
  EXPECT_TRUE(std::filesystem::exists(c->ml_model)) << c->ml_model;
  EXPECT_TRUE(std::filesystem::exists(c->classification_file)) << c->classification_file;
  EXPECT_TRUE(c->rules_dir_optional);
  EXPECT_EQ(c->address_vars.count("HOME_NET"), 1u);
}

TEST(Config, RulesSectionErrors) {
  EXPECT_NE(load("checksum: sometimes\n").find("checksum: expected none or all"), std::string::npos);
  EXPECT_NE(load("rules: {strict: maybe}\n").find("expected true or false"), std::string::npos);
  EXPECT_NE(load("rules: {fils: [a]}\n").find("unknown key 'fils' in 'rules'"), std::string::npos);
  EXPECT_NE(load("stream: {midstream: true, depht: 1}\n").find("unknown key 'depht'"), std::string::npos);
}

}  // namespace
}  // namespace spectre

namespace spectre {
namespace {

TEST(Config, MlSection) {
  Config c;
  EXPECT_EQ(load("ml: {model: m.spm, points: [2, 8, 32], hosts: 1024, host_window: 30, dump_features: r.csv}\n", &c), "");
  EXPECT_EQ(c.ml_model, testing::TempDir() + "m.spm");
  EXPECT_EQ(c.dump_features, "r.csv");
  EXPECT_EQ(c.ml_points, (std::vector<uint32_t>{2, 8, 32}));
  EXPECT_EQ(c.ml_hosts, 1024u);
  EXPECT_EQ(c.ml_host_window_s, 30u);
  Config d;
  EXPECT_EQ(load("ml: {points: []}\n", &d), "");
  EXPECT_TRUE(d.ml_points.empty());
  EXPECT_EQ(Config{}.ml_points, (std::vector<uint32_t>{4, 16}));
  EXPECT_NE(load("ml: {points: [0]}\n").find("ml"), std::string::npos);
  EXPECT_NE(load("ml: {points: [1, 2, 3, 4]}\n").find("at most 3"), std::string::npos);
  EXPECT_NE(load("ml: {points: 4}\n").find("ml.points"), std::string::npos);
  EXPECT_NE(load("ml: {modle: x}\n").find("unknown key 'modle' in 'ml'"), std::string::npos);
  EXPECT_NE(load("ml: {hosts: 2}\n"), "");
}


TEST(Config, ThresholdFileStreamOptionsExceptionPolicy) {
  Config c;
  EXPECT_TRUE(c.threshold_file.empty());
  EXPECT_TRUE(c.midstream);
  EXPECT_FALSE(c.async_oneside);
  ASSERT_EQ(load("threshold-file: t/threshold.config\nstream: {async-oneside: true, midstream: false}\n"
                 "exception-policy: auto\n", &c), "");
  EXPECT_EQ(c.threshold_file, testing::TempDir() + "t/threshold.config");  // relative to the file
  EXPECT_TRUE(c.async_oneside);
  EXPECT_FALSE(c.midstream);
  ASSERT_EQ(load("stream: {async_oneside: false}\nexception-policy: ignore\n", &c), "");
  EXPECT_FALSE(c.async_oneside);
  expect_err("exception-policy: drop-flow\n", ":1: exception-policy: drop-flow is not supported (this IDS honours auto and ignore: "
                                              "at a memcap it keeps inspecting what it can and counts the loss)");
  expect_err("exception-policy: sometimes\n", ":1: exception-policy: expected auto or ignore");
}

}  // namespace
}  // namespace spectre

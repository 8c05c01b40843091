// ML output formatting: the alert "ml" object and --dump-features CSV rows.
// Writer thread only.
#include <cmath>
#include <iterator>

#include "dataplane/events/eve.h"
#include "dataplane/events/json.h"
#include "dataplane/features/scoring.h"
#include "ml/feature_schema.h"

namespace spectre {

namespace {
void put_phase(fmt::memory_buffer& out, uint16_t phase) {
  char b[8];
  out.append(std::string_view(ml_phase_name(phase, b)));
}
// Shortest exact float; non-finite values as an empty cell / null.
void put_float(fmt::memory_buffer& out, float v, bool json) {
  if (std::isfinite(v)) fmt::format_to(std::back_inserter(out), "{}", v);
  else if (json) out.append(std::string_view("null"));
}
}  // namespace

void format_ml_object(fmt::memory_buffer& out, const AlertRecord& a) {
  auto o = std::back_inserter(out);
  const MlAlertMeta& m = a.ml;
  out.append(std::string_view("\"ml\":{\"model\":\""));
  json_escape(out, m.model);
  out.append(std::string_view("\",\"version\":\""));
  json_escape(out, m.version);
  out.append(std::string_view("\",\"score\":"));
  put_float(out, m.score, true);
  out.append(std::string_view(",\"threshold\":"));
  put_float(out, m.threshold, true);
  if (m.guarded) {
    out.append(std::string_view(",\"guard\":{\"score\":"));
    put_float(out, m.guard_score, true);
    out.append(std::string_view(",\"threshold\":"));
    put_float(out, m.guard_threshold, true);
    out.push_back('}');
  }
  out.append(std::string_view(",\"class\":\""));
  json_escape(out, m.cls);
  out.append(std::string_view("\",\"phase\":\""));
  put_phase(out, m.phase);
  out.append(std::string_view("\",\"top_features\":["));
  for (uint8_t i = 0; i < m.ntop && i < 3; i++) {
    uint16_t f = m.top[i].feature;
    fmt::format_to(o, "{}{{\"name\":\"{}\",\"value\":", i ? "," : "",
                   f < ml::kNumFeatures ? ml::kFeatureNames[f] : "?");
    put_float(out, m.top[i].value, true);
    out.append(std::string_view(",\"contribution\":"));
    put_float(out, m.top[i].contribution, true);
    out.push_back('}');
  }
  out.append(std::string_view("]}"));
}

void write_feature_header(FILE* f) {
  std::fputs("flow_id,phase,ts_start,ts,src_ip,src_port,dst_ip,dst_port,proto", f);
  for (uint32_t i = 0; i < ml::kNumFeatures; i++) {
    std::fputc(',', f);
    std::fputs(ml::kFeatureNames[i], f);
  }
  std::fputc('\n', f);
}

void format_feature_row(fmt::memory_buffer& out, const AlertRecord& a) {
  auto o = std::back_inserter(out);
  fmt::format_to(o, "{},", a.flow_id);
  put_phase(out, a.ml.phase);
  fmt::format_to(o, ",{}.{:06},{}.{:06},", a.flow_start / 1000000000ull, a.flow_start / 1000 % 1000000,
                 a.ts_ns / 1000000000ull, a.ts_ns / 1000 % 1000000);
  put_ip(out, a.src, a.ip_ver);
  fmt::format_to(o, ",{},", a.sport);
  put_ip(out, a.dst, a.ip_ver);
  fmt::format_to(o, ",{},{}", a.dport, a.proto);
  for (uint32_t i = 0; i < ml::kNumFeatures; i++) {
    out.push_back(',');
    put_float(out, a.features[i], false);
  }
  out.push_back('\n');
}

}  // namespace spectre

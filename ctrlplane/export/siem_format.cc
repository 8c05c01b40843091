// CEF, LEEF and syslog framing (see siem_format.h for the formats).
#include "ctrlplane/export/siem_format.h"

#include <ctime>
#include <iterator>

#include <fmt/format.h>

namespace spectre::exporter {

int syslog_severity(uint32_t p) {
  switch (p) {
    case 1: return 2;
    case 2: return 3;
    case 3: return 4;
    default: return 5;
  }
}

int cef_severity(uint32_t p) {
  switch (p) {
    case 1: return 10;
    case 2: return 7;
    case 3: return 5;
    default: return 3;
  }
}

int leef_severity(uint32_t p) { return cef_severity(p); }

void cef_escape_header(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\' || c == '|') out.push_back('\\');
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  }
}

void cef_escape_value(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '=': out += "\\="; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out.push_back(c);
    }
  }
}

void leef_escape_header(std::string& out, std::string_view s) { cef_escape_header(out, s); }

void leef_escape_value(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out.push_back(c);
    }
  }
}

namespace {

bool is_v6(std::string_view ip) { return ip.find(':') != std::string_view::npos; }

void cef_kv(std::string& out, std::string_view k, std::string_view v) {
  if (out.back() != '|') out.push_back(' ');
  out += k;
  out.push_back('=');
  cef_escape_value(out, v);
}

void leef_kv(std::string& out, std::string_view k, std::string_view v) {
  if (out.back() != '|') out.push_back('\t');
  out += k;
  out.push_back('=');
  leef_escape_value(out, v);
}

std::string num(uint64_t v) { return fmt::format("{}", v); }
std::string dbl(double v) { return fmt::format("{}", v); }

}  // namespace

void format_cef(std::string& out, const CpAlert& a, std::string_view version) {
  out += "CEF:0|InfraSpectre|spectre|";
  cef_escape_header(out, version);
  fmt::format_to(std::back_inserter(out), "|{}:{}|", a.gid, a.sid);
  cef_escape_header(out, a.signature);
  fmt::format_to(std::back_inserter(out), "|{}|", cef_severity(a.severity));
  cef_kv(out, "rt", num(a.ts_ns / 1000000));
  bool v6 = is_v6(a.src_ip) || is_v6(a.dst_ip);
  if (v6) {
    cef_kv(out, "c6a2", a.src_ip);
    cef_kv(out, "c6a2Label", "Source IPv6 Address");
  } else {
    cef_kv(out, "src", a.src_ip);
  }
  if (a.src_port) cef_kv(out, "spt", num(a.src_port));
  if (v6) {
    cef_kv(out, "c6a3", a.dst_ip);
    cef_kv(out, "c6a3Label", "Destination IPv6 Address");
  } else {
    cef_kv(out, "dst", a.dst_ip);
  }
  if (a.dst_port) cef_kv(out, "dpt", num(a.dst_port));
  cef_kv(out, "proto", a.proto);
  cef_kv(out, "act", a.action);
  cef_kv(out, "cat", a.category);
  cef_kv(out, "cs1Label", "flowId");
  cef_kv(out, "cs1", num(a.flow_id));
  if (!a.app_proto.empty()) {
    cef_kv(out, "cs2Label", "appProto");
    cef_kv(out, "cs2", a.app_proto);
  }
  if (a.ml) {
    cef_kv(out, "cs3Label", "mlModel");
    cef_kv(out, "cs3", a.ml->model + " " + a.ml->version);
    cef_kv(out, "cs4Label", "mlClass");
    cef_kv(out, "cs4", a.ml->cls);
    cef_kv(out, "cfp1Label", "mlScore");
    cef_kv(out, "cfp1", dbl(a.ml->score));
  }
}

void format_leef(std::string& out, const CpAlert& a, std::string_view version) {
  out += "LEEF:2.0|InfraSpectre|spectre|";
  leef_escape_header(out, version);
  fmt::format_to(std::back_inserter(out), "|{}:{}|x09|", a.gid, a.sid);
  leef_kv(out, "devTime", num(a.ts_ns / 1000000));
  leef_kv(out, "devTimeFormat", "epoch");  // QRadar: milliseconds since the epoch
  leef_kv(out, "src", a.src_ip);
  leef_kv(out, "dst", a.dst_ip);
  if (a.src_port) leef_kv(out, "srcPort", num(a.src_port));
  if (a.dst_port) leef_kv(out, "dstPort", num(a.dst_port));
  leef_kv(out, "proto", a.proto);
  leef_kv(out, "sev", num(uint64_t(leef_severity(a.severity))));
  leef_kv(out, "cat", a.category);
  leef_kv(out, "sigName", a.signature);
  leef_kv(out, "gid", num(a.gid));
  leef_kv(out, "sid", num(a.sid));
  leef_kv(out, "rev", num(a.rev));
  leef_kv(out, "action", a.action);
  leef_kv(out, "flowId", num(a.flow_id));
  if (!a.app_proto.empty()) leef_kv(out, "appProto", a.app_proto);
  if (a.ml) {
    leef_kv(out, "mlModel", a.ml->model + " " + a.ml->version);
    leef_kv(out, "mlClass", a.ml->cls);
    leef_kv(out, "mlScore", dbl(a.ml->score));
  }
}

namespace {
// PRINTUSASCII (33..126) only, at most max bytes; "-" when empty.
void put_field(std::string& out, std::string_view s, size_t max) {
  if (s.empty()) {
    out.push_back('-');
    return;
  }
  for (size_t i = 0; i < s.size() && i < max; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(c >= 33 && c <= 126 ? char(c) : '_');
  }
}
}  // namespace

void format_rfc5424_header(std::string& out, int facility, int severity, uint64_t ts_ns, std::string_view host,
                           std::string_view app, std::string_view procid, std::string_view msgid) {
  if (facility < 0 || facility > 23) facility = 1;  // user
  if (severity < 0 || severity > 7) severity = 5;
  time_t sec = time_t(ts_ns / 1000000000ull);
  struct tm tm;
  gmtime_r(&sec, &tm);
  fmt::format_to(std::back_inserter(out), "<{}>1 {:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z ", facility * 8 + severity,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (ts_ns / 1000) % 1000000);
  put_field(out, host, 255);
  out.push_back(' ');
  put_field(out, app, 48);
  out.push_back(' ');
  put_field(out, procid, 128);
  out.push_back(' ');
  put_field(out, msgid, 32);
  out += " - ";
}

void frame_octet_counting(std::string& out, std::string_view msg) {
  fmt::format_to(std::back_inserter(out), "{} ", msg.size());
  out += msg;
}

}  // namespace spectre::exporter

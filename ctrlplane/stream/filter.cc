#include "ctrlplane/stream/filter.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <nlohmann/json.hpp>

namespace spectre::stream {

const char* channel_name(Channel ch) {
  switch (ch) {
    case Channel::kAlerts: return "alerts";
    case Channel::kIncidents: return "incidents";
    case Channel::kFlows: return "flows";
    case Channel::kStats: return "stats";
  }
  return "?";
}

bool parse_channel(std::string_view name, Channel& out) {
  for (size_t i = 0; i < kChannels; ++i) {
    if (name == channel_name(static_cast<Channel>(i))) {
      out = static_cast<Channel>(i);
      return true;
    }
  }
  return false;
}

bool parse_ip(std::string_view text, IpAddr& out) {
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  out = IpAddr{};
  if (inet_pton(AF_INET, buf, out.b.data() + 12) == 1) {
    out.b[10] = out.b[11] = 0xff;
    out.valid = true;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out.b.data()) == 1) {
    out.valid = true;
    return true;
  }
  return false;
}

IpAddr mask(const IpAddr& a, uint8_t bits) {
  IpAddr m = a;
  for (size_t i = 0; i < 16; ++i) {
    int keep = static_cast<int>(bits) - static_cast<int>(i) * 8;
    if (keep >= 8) continue;
    m.b[i] = keep <= 0 ? 0 : static_cast<uint8_t>(m.b[i] & (0xff << (8 - keep)));
  }
  return m;
}

bool Cidr::contains(const IpAddr& a) const {
  return a.valid && mask(a, bits).b == net.b;
}

bool parse_cidr(std::string_view text, Cidr& out) {
  size_t slash = text.find('/');
  IpAddr a;
  if (!parse_ip(text.substr(0, slash), a)) return false;
  bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  unsigned bits = 128;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
    if (p.empty() || ec != std::errc{} || ptr != p.data() + p.size() || bits > (v4 ? 32u : 128u)) return false;
    if (v4) bits += 96;
  }
  out.bits = static_cast<uint8_t>(bits);
  out.net = mask(a, out.bits);
  return true;
}

bool Filter::match_rest(const StreamEvent& ev) const {
  if (min_severity > 0 && ev.severity > min_severity) return false;
  if (!signature.empty() && ev.signature.find(signature) == std::string::npos) return false;
  if (!category.empty() && ev.category != category) return false;
  if (!level.empty() && ev.level != level) return false;
  return true;
}

static bool parse_severity(int64_t v, Filter& out, std::string& reason) {
  if (v < 1 || v > 4) {
    reason = "min_severity must be 1..4";
    return false;
  }
  out.min_severity = static_cast<int>(v);
  return true;
}

static bool parse_ip_field(std::string_view v, Filter& out, std::string& reason) {
  if (!parse_cidr(v, out.ip)) {
    reason = "ip is not an address or CIDR: " + std::string(v.substr(0, 64));
    return false;
  }
  out.has_ip = true;
  return true;
}

bool parse_filter(const nlohmann::json& j, Filter& out, std::string& reason) {
  out = Filter{};
  if (j.is_null()) return true;
  if (!j.is_object()) {
    reason = "filter must be an object";
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    if (k == "min_severity") {
      if (!v.is_number_integer()) {
        reason = "min_severity must be an integer";
        return false;
      }
      if (!parse_severity(v.get<int64_t>(), out, reason)) return false;
      continue;
    }
    if (!v.is_string()) {
      reason = "filter." + k.substr(0, 32) + " must be a string";
      return false;
    }
    const std::string& s = v.get_ref<const std::string&>();
    if (k == "signature") out.signature = s;
    else if (k == "category") out.category = s;
    else if (k == "level") out.level = s;
    else if (k == "ip") {
      if (!parse_ip_field(s, out, reason)) return false;
    } else {
      reason = "unknown filter field: " + k.substr(0, 32);
      return false;
    }
  }
  return true;
}

bool filter_param(std::string_view name, std::string_view value, Filter& out, std::string& reason) {
  if (name == "min_severity") {
    int v = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || ptr != value.data() + value.size()) v = 0;
    parse_severity(v, out, reason);
    return true;
  }
  if (name == "signature") out.signature = value;
  else if (name == "category") out.category = value;
  else if (name == "level") out.level = value;
  else if (name == "ip") parse_ip_field(value, out, reason);
  else return false;
  return true;
}

}  // namespace spectre::stream

// Rule AST helpers: names, set membership and Suricata's default variables.
#include <cstring>

#include "dataplane/rules/rule.h"

namespace spectre::rules {

const char* app_proto_name(AppProto p) {
  switch (p) {
    case AppProto::kHttp: return "http";
    case AppProto::kDns: return "dns";
    case AppProto::kTls: return "tls";
    case AppProto::kFailed: return "failed";
    case AppProto::kSmtp: return "smtp";
    case AppProto::kFtp: return "ftp";
    case AppProto::kFtpData: return "ftp-data";
    case AppProto::kSmb: return "smb";
    case AppProto::kQuic: return "quic";
    case AppProto::kSip: return "sip";
    case AppProto::kSsh: return "ssh";
    case AppProto::kMqtt: return "mqtt";
    case AppProto::kKrb5: return "krb5";
    case AppProto::kDcerpc: return "dcerpc";
    case AppProto::kHttp2: return "http2";
    case AppProto::kUnknown: break;
  }
  return "unknown";
}

const char* buf_name(Buf b) {
  static const char* const kNames[] = {
#define SPECTRE_X(id, name) name,
      SPECTRE_BUFFERS(SPECTRE_X)
#undef SPECTRE_X
  };
  return b < kBufCount ? kNames[b] : "?";
}

namespace {
bool in_range(const IpRange& r, const uint8_t* a, uint8_t ver) {
  if (r.ver != ver) return false;
  const size_t n = ver == 4 ? 4 : 16;
  return std::memcmp(r.lo, a, n) <= 0 && std::memcmp(a, r.hi, n) <= 0;
}
}  // namespace

// Linear in the number of ranges; the compiler is expected to turn sets into
// something faster for the packet path.
bool IpSet::contains(const uint8_t* addr, uint8_t ver) const {
  bool in = any;
  for (size_t i = 0; !in && i < include.size(); ++i) in = in_range(include[i], addr, ver);
  if (!in) return false;
  for (const IpRange& r : exclude)
    if (in_range(r, addr, ver)) return false;
  return true;
}

bool PortSet::contains(uint16_t port) const {
  bool in = any;
  for (size_t i = 0; !in && i < include.size(); ++i)
    in = include[i].lo <= port && port <= include[i].hi;
  if (!in) return false;
  for (const PortRange& r : exclude)
    if (r.lo <= port && port <= r.hi) return false;
  return true;
}

// The address-groups and port-groups of Suricata's default suricata.yaml.
Vars Vars::suricata_defaults() {
  Vars v;
  v.address = {
      {"HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"},
      {"EXTERNAL_NET", "!$HOME_NET"},
      {"HTTP_SERVERS", "$HOME_NET"},
      {"SMTP_SERVERS", "$HOME_NET"},
      {"SQL_SERVERS", "$HOME_NET"},
      {"DNS_SERVERS", "$HOME_NET"},
      {"TELNET_SERVERS", "$HOME_NET"}, {"SIP_SERVERS", "$HOME_NET"},  // SIP_*: Snort 3 defaults
      {"AIM_SERVERS", "$EXTERNAL_NET"},
      {"DC_SERVERS", "$HOME_NET"},
      {"DNP3_SERVER", "$HOME_NET"},
      {"DNP3_CLIENT", "$HOME_NET"},
      {"MODBUS_CLIENT", "$HOME_NET"},
      {"MODBUS_SERVER", "$HOME_NET"},
      {"ENIP_CLIENT", "$HOME_NET"},
      {"ENIP_SERVER", "$HOME_NET"},
  };
  v.port = {
      {"HTTP_PORTS", "80"},
      {"SHELLCODE_PORTS", "!80"},
      {"ORACLE_PORTS", "1521"},
      {"SSH_PORTS", "22"},
      {"DNP3_PORTS", "20000"},
      {"MODBUS_PORTS", "502"},
      {"FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"},
      {"FTP_PORTS", "21"},
      {"GENEVE_PORTS", "6081"},
      {"VXLAN_PORTS", "4789"},
      {"TEREDO_PORTS", "3544"}, {"SIP_PORTS", "[5060,5061,5600]"},
  };
  return v;
}

}  // namespace spectre::rules

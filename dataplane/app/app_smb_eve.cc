// EVE `smb` and `dcerpc` objects (Suricata's field names, eve-json-format
// "Event type: SMB" and its DCERPC fields). Writer thread only.
#include <cstdio>
#include <cstring>
#include <string>

#include "dataplane/app/app_internal.h"
#include "dataplane/app/app_json.h"
#include "dataplane/events/json.h"

namespace spectre {
namespace app {

namespace {

const char* pdu_name(uint8_t t) {
  static const char* const k[] = {"REQUEST", "PING", "RESPONSE", "FAULT", "WORKING", "NOCALL", "REJECT",
                                  "ACK", "CL_CANCEL", "FACK", "CANCEL_ACK", "BIND", "BINDACK", "BINDNAK",
                                  "ALTER_CONTEXT", "ALTER_CONTEXT_RESP", "AUTH3", "SHUTDOWN", "CO_CANCEL",
                                  "ORPHANED", "RTS"};
  return t < sizeof k / sizeof k[0] ? k[t] : "UNKNOWN";
}

void uuid_str(const uint8_t* u, char out[37]) {
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
           u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

// The "dcerpc" object: the PDU of this tx, with its request's numbers.
void dce_obj(const AppMeta::Smb& m, std::string& out) {
  out += "\"dcerpc\":{";
  JsonObj o{out};
  const bool resp = m.d_type == 2 || m.d_type == 3 || m.d_type == 12 || m.d_type == 13 || m.d_type == 15;
  if (resp && !m.d_udp) o.str("request", m.req_type ? pdu_name(uint8_t(m.req_type - 1)) : "REQUEST_LOST");
  o.str(resp ? "response" : "request", pdu_name(m.d_type));
  if (m.d_type == 11 || m.d_type == 12 || m.d_type == 14 || m.d_type == 15) {
    o.key("interfaces");
    out += '[';
    for (uint32_t i = 0; i < m.nifs && i < 4; i++) {
      if (i) out += ',';
      out += '{';
      JsonObj f{out};
      char u[37], v[16];
      uuid_str(m.ifs[i].uuid, u);
      snprintf(v, sizeof v, "%u.%u", m.ifs[i].ver, m.ifs[i].ver_minor);
      f.str("uuid", u);
      f.str("version", v);
      if (m.ifs[i].ack != 0xffff) f.num("ack_result", m.ifs[i].ack);
      out += '}';
    }
    out += ']';
  }
  if (m.d_type == 0 || m.d_type == 2) {
    if (m.d_bits & 4) o.num("opnum", m.d_opnum);
    o.key(m.d_type == 0 ? "req" : "res");
    out += '{';
    JsonObj r{out};
    r.num("frag_cnt", m.d_frag_cnt);
    r.num("stub_data_size", m.d_stub_size);
    out += '}';
    if (m.d_type == 2 && (m.d_bits & 4)) {  // the request it answers
      o.key("req");
      out += '{';
      JsonObj q{out};
      q.num("frag_cnt", m.req_frag_cnt);
      q.num("stub_data_size", m.req_stub_size);
      out += '}';
    }
  }
  if (m.d_udp) {
    char u[37];
    uuid_str(m.ifs[0].uuid, u);
    o.key("interface");
    out += "{\"uuid\":\"";
    out += u;
    out += "\"}";
    o.num("seqnum", m.d_call_id);
  } else {
    o.num("call_id", m.d_call_id);
  }
  if (!m.version) {  // the dcerpc event (TCP, UDP); Suricata's smb.dcerpc object has no version
    char v[8];
    snprintf(v, sizeof v, "%u.%u", m.d_udp ? 4u : 5u, unsigned(m.d_minor));
    o.str("rpc_version", v);
  }
  out += '}';
}

const char* smb2_cmd(uint16_t c) {
  static const char* const k[] = {"NEGOTIATE_PROTOCOL", "SESSION_SETUP", "SESSION_LOGOFF", "TREE_CONNECT",
                                  "TREE_DISCONNECT", "CREATE", "CLOSE", "FLUSH", "READ", "WRITE", "LOCK", "IOCTL",
                                  "CANCEL", "KEEPALIVE", "FIND", "CHANGE_NOTIFY", "GET_INFO", "SET_INFO",
                                  "OPLOCK_BREAK"};
  return c < sizeof k / sizeof k[0] ? k[c] : nullptr;
}

const char* smb1_cmd(uint16_t c) {
  switch (c) {
    case 0x04: return "CLOSE";
    case 0x06: return "DELETE";
    case 0x25: return "TRANS";
    case 0x2e: return "READ_ANDX";
    case 0x2f: return "WRITE_ANDX";
    case 0x32: return "TRANS2";
    case 0x71: return "TREE_DISCONNECT";
    case 0x72: return "NEGOTIATE_PROTOCOL";
    case 0x73: return "SESSION_SETUP_ANDX";
    case 0x74: return "LOGOFF_ANDX";
    case 0x75: return "TREE_CONNECT_ANDX";
    case 0xa0: return "NT_TRANS";
    case 0xa2: return "NT_CREATE_ANDX";
    default: return nullptr;
  }
}

const char* status_name(uint32_t s) {
  switch (s) {
    case 0: return "STATUS_SUCCESS";
    case 0x103: return "STATUS_PENDING";
    case 0x80000005: return "STATUS_BUFFER_OVERFLOW";
    case 0x80000006: return "STATUS_NO_MORE_FILES";
    case 0xc000000d: return "STATUS_INVALID_PARAMETER";
    case 0xc0000010: return "STATUS_INVALID_DEVICE_REQUEST";
    case 0xc0000016: return "STATUS_MORE_PROCESSING_REQUIRED";
    case 0xc0000022: return "STATUS_ACCESS_DENIED";
    case 0xc0000034: return "STATUS_OBJECT_NAME_NOT_FOUND";
    case 0xc0000035: return "STATUS_OBJECT_NAME_COLLISION";
    case 0xc0000043: return "STATUS_SHARING_VIOLATION";
    case 0xc000006d: return "STATUS_LOGON_FAILURE";
    case 0xc00000ba: return "STATUS_FILE_IS_A_DIRECTORY";
    case 0xc00000cc: return "STATUS_BAD_NETWORK_NAME";
    case 0xc0000101: return "STATUS_DIRECTORY_NOT_EMPTY";
    case 0xc0000120: return "STATUS_CANCELLED";
    default: return "";
  }
}

}  // namespace

void smb_json(const AppMeta& a, std::string& out) {
  const AppMeta::Smb& m = a.smb;
  if (!m.version) {  // DCERPC over TCP / UDP
    dce_obj(m, out);
    return;
  }
  out += "\"smb\":{";
  JsonObj o{out};
  char b[64];
  if (m.dialect == 1) o.str("dialect", "NT LM 0.12");
  else if (m.dialect == 0x02ff) o.str("dialect", "2.??");
  else if (m.dialect) snprintf(b, sizeof b, "%x.%02x", m.dialect >> 8, m.dialect & 0xff), o.str("dialect", b);
  else o.str("dialect", "unknown");
  const char* cn = m.version == 1 ? smb1_cmd(m.command) : smb2_cmd(m.command);
  if (cn) snprintf(b, sizeof b, "SMB%u_COMMAND_%s", m.version, cn);
  else snprintf(b, sizeof b, "SMB%u_COMMAND_UNKNOWN_0x%x", m.version, m.command);
  o.str("command", b);
  o.str("status", status_name(m.status));
  snprintf(b, sizeof b, "0x%x", m.status);
  o.str("status_code", b);
  o.num("session_id", m.session_id);
  o.num("tree_id", m.tree_id);
  if ((m.version == 2 && m.command == 5) || (m.version == 1 && m.command == 0xa2)) o.str("filename", m.filename);
  if (m.tree_tx) {
    o.str(m.share_type == 2 || (!m.share_type && strstr(m.share, "IPC$")) ? "named_pipe" : "share", m.share);
    if (m.share_type) o.str("share_type", m.share_type == 2 ? "PIPE" : m.share_type == 3 ? "PRINT" : "FILE");
  }
  if (m.ntlmssp) {
    o.key("ntlmssp");
    out += '{';
    JsonObj n{out};
    n.str("domain", m.domain, true);
    n.str("user", m.user, true);
    n.str("host", m.host, true);
    out += '}';
  }
  if (m.dce) {
    out += ',';  // after "command" and more: never the first member
    dce_obj(m, out);
  }
  out += '}';
}

}  // namespace app
}  // namespace spectre

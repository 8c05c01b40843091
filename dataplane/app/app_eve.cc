// EVE objects of the app-layer meta (Suricata's field names). Runs in the
// writer thread, not on the packet path.
#include <cstdio>
#include <cstring>

#include "dataplane/app/app_http2.h"
#include "dataplane/app/app_internal.h"
#include "dataplane/app/app_json.h"
#include "dataplane/events/json.h"

namespace spectre {

namespace {

const char* rrtype_name(uint16_t t) {
  switch (t) {
    case 1: return "A"; case 2: return "NS"; case 5: return "CNAME"; case 6: return "SOA";
    case 12: return "PTR"; case 13: return "HINFO"; case 15: return "MX"; case 16: return "TXT";
    case 17: return "RP"; case 18: return "AFSDB"; case 24: return "SIG"; case 25: return "KEY";
    case 28: return "AAAA"; case 29: return "LOC"; case 33: return "SRV"; case 35: return "NAPTR";
    case 37: return "CERT"; case 39: return "DNAME"; case 41: return "OPT"; case 43: return "DS";
    case 44: return "SSHFP"; case 46: return "RRSIG"; case 47: return "NSEC"; case 48: return "DNSKEY";
    case 50: return "NSEC3"; case 51: return "NSEC3PARAM"; case 52: return "TLSA";
    case 64: return "SVCB"; case 65: return "HTTPS"; case 99: return "SPF";
    case 249: return "TKEY"; case 250: return "TSIG"; case 251: return "IXFR";
    case 252: return "AXFR"; case 255: return "ANY"; case 257: return "CAA";
    default: return nullptr;
  }
}

const char* rcode_name(uint8_t r) {
  static const char* const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                      "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                      "NOTZONE"};
  return r < sizeof(names) / sizeof(names[0]) ? names[r] : nullptr;
}

// Suricata's `smtp` and `email` objects: addresses as written, To and Cc split
// at commas into arrays, attachment names.
void smtp_json(const AppMeta& m, std::string& out) {
  out += "\"smtp\":{";
  JsonObj o{out};
  o.str("helo", m.smtp_helo);
  o.str("mail_from", m.smtp_mail_from);
  if (m.smtp_rcpt_n) {
    o.key("rcpt_to");
    out += '[';
    for (int i = 0; i < m.smtp_rcpt_n && i < 4; i++) {
      if (i) out += ',';
      jstr(out, m.smtp_rcpt_to[i]);
    }
    out += ']';
  }
  out += '}';
  if (!m.email_done && !m.email_from[0] && !m.email_attach_n) return;
  out += ",\"email\":{";
  JsonObj e{out};
  e.str("status", m.email_done ? "PARSE_DONE" : "PARSE_ERROR");
  e.str("from", m.email_from);
  // A value cut at its field's size loses its last, partial address.
  auto list = [&](const char* k, const char* v, size_t cap) {
    if (!v[0]) return;
    bool cut = strlen(v) + 1 >= cap;
    e.key(k);
    out += '[';
    bool first = true;
    for (const char* p = v; *p;) {
      while (*p == ' ' || *p == '\t') p++;
      const char* q = p;
      bool quoted = false;
      while (*q && (quoted || *q != ',')) {
        if (*q == '"') quoted = !quoted;
        q++;
      }
      const char* t = q;
      while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
      if (cut && !*q) break;
      if (t > p) {
        if (!first) out += ',';
        first = false;
        out += '"';
        json_escape(out, std::string_view(p, size_t(t - p)));
        out += '"';
      }
      p = *q ? q + 1 : q;
    }
    out += ']';
  };
  list("to", m.email_to, sizeof m.email_to);
  list("cc", m.email_cc, sizeof m.email_cc);
  e.str("subject", m.email_subject);
  if (m.email_attach_n) {
    e.key("attachment");
    out += '[';
    for (int i = 0; i < m.email_attach_n && i < 4; i++) {
      if (i) out += ',';
      jstr(out, m.email_attach[i]);
    }
    out += ']';
  }
  out += '}';
}

// Suricata's `ftp` object: command, command_data, completion_code and reply
// (arrays; we keep the final code and the first line of text), dynamic_port.
void ftp_json(const AppMeta& m, std::string& out) {
  out += "\"ftp\":{";
  JsonObj o{out};
  o.str("command", m.ftp_command);
  o.str("command_data", m.ftp_command_data);
  if (m.ftp_code) {
    o.key("completion_code");
    out += "[\"" + std::to_string(m.ftp_code) + "\"]";
    o.key("reply");
    out += '[';
    jstr(out, m.ftp_reply);
    out += ']';
  }
  if (m.ftp_dyn_port) {
    o.num("dynamic_port", m.ftp_dyn_port);
    o.str("mode", m.ftp_passive ? "passive" : "active");
  }
  o.str("reply_received", m.ftp_code ? "yes" : "no");
  out += '}';
}

// Suricata's `ssh` object: client and server, each with proto_version,
// software_version and hassh {hash, string} when seen.
void ssh_json(const AppMeta& m, std::string& out, const char* const* hassh) {
  out += "\"ssh\":{";
  JsonObj o{out};
  static const char* const kSide[2] = {"client", "server"};
  for (int d = 0; d < 2; d++) {
    if (!m.ssh_proto[d][0] && !m.ssh_hassh[d][0]) continue;
    o.key(kSide[d]);
    out += '{';
    JsonObj s{out};
    s.str("proto_version", m.ssh_proto[d]);
    s.str("software_version", m.ssh_software[d]);
    if (m.ssh_hassh[d][0]) {
      s.key("hassh");
      out += '{';
      JsonObj h{out};
      h.str("hash", m.ssh_hassh[d]);
      if (hassh && hassh[d]) h.str("string", hassh[d]);
      out += '}';
    }
    out += '}';
  }
  out += '}';
}

// Kerberos names as Suricata's EVE prints them (kerberos-parser's names):
// message types, RFC 4120 7.5.9 error codes, RFC 3961/3962/4757/6803/8009
// encryption types; others as "ErrorCode(n)" / "EncryptionType(n)".
std::string krb5_msg_name(uint8_t t) {
  switch (t) {
    case 10: return "KRB_AS_REQ";
    case 11: return "KRB_AS_REP";
    case 12: return "KRB_TGS_REQ";
    case 13: return "KRB_TGS_REP";
    case 30: return "KRB_ERROR";
    default: return "MessageType(" + std::to_string(t) + ")";
  }
}

std::string krb5_error_name(int32_t e) {
  static const char* const kLow[] = {
      "KDC_ERR_NONE", "KDC_ERR_NAME_EXP", "KDC_ERR_SERVICE_EXP", "KDC_ERR_BAD_PVNO", "KDC_ERR_C_OLD_MAST_KVNO",
      "KDC_ERR_S_OLD_MAST_KVNO", "KDC_ERR_C_PRINCIPAL_UNKNOWN", "KDC_ERR_S_PRINCIPAL_UNKNOWN",
      "KDC_ERR_PRINCIPAL_NOT_UNIQUE", "KDC_ERR_NULL_KEY", "KDC_ERR_CANNOT_POSTDATE", "KDC_ERR_NEVER_VALID",
      "KDC_ERR_POLICY", "KDC_ERR_BADOPTION", "KDC_ERR_ETYPE_NOSUPP", "KDC_ERR_SUMTYPE_NOSUPP",
      "KDC_ERR_PADATA_TYPE_NOSUPP", "KDC_ERR_TRTYPE_NOSUPP", "KDC_ERR_CLIENT_REVOKED", "KDC_ERR_SERVICE_REVOKED",
      "KDC_ERR_TGT_REVOKED", "KDC_ERR_CLIENT_NOTYET", "KDC_ERR_SERVICE_NOTYET", "KDC_ERR_KEY_EXPIRED",
      "KDC_ERR_PREAUTH_FAILED", "KDC_ERR_PREAUTH_REQUIRED", "KDC_ERR_SERVER_NOMATCH",
      "KDC_ERR_MUST_USE_USER2USER", "KDC_ERR_PATH_NOT_ACCEPTED", "KDC_ERR_SVC_UNAVAILABLE", nullptr,
      "KRB_AP_ERR_BAD_INTEGRITY", "KRB_AP_ERR_TKT_EXPIRED", "KRB_AP_ERR_TKT_NYV", "KRB_AP_ERR_REPEAT",
      "KRB_AP_ERR_NOT_US", "KRB_AP_ERR_BADMATCH", "KRB_AP_ERR_SKEW", "KRB_AP_ERR_BADADDR",
      "KRB_AP_ERR_BADVERSION", "KRB_AP_ERR_MSG_TYPE", "KRB_AP_ERR_MODIFIED", "KRB_AP_ERR_BADORDER", nullptr,
      "KRB_AP_ERR_BADKEYVER", "KRB_AP_ERR_NOKEY", "KRB_AP_ERR_MUT_FAIL", "KRB_AP_ERR_BADDIRECTION",
      "KRB_AP_ERR_METHOD", "KRB_AP_ERR_BADSEQ", "KRB_AP_ERR_INAPP_CKSUM", "KRB_AP_PATH_NOT_ACCEPTED",
      "KRB_ERR_RESPONSE_TOO_BIG", nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
      "KRB_ERR_GENERIC", "KRB_ERR_FIELD_TOOLONG", "KDC_ERROR_CLIENT_NOT_TRUSTED", "KDC_ERROR_KDC_NOT_TRUSTED",
      "KDC_ERROR_INVALID_SIG", "KDC_ERR_KEY_TOO_WEAK", "KDC_ERR_CERTIFICATE_MISMATCH", "KRB_AP_ERR_NO_TGT",
      "KDC_ERR_WRONG_REALM", "KRB_AP_ERR_USER_TO_USER_REQUIRED", "KDC_ERR_CANT_VERIFY_CERTIFICATE",
      "KDC_ERR_INVALID_CERTIFICATE", "KDC_ERR_REVOKED_CERTIFICATE", "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
      "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE", "KDC_ERR_CLIENT_NAME_MISMATCH", "KDC_ERR_KDC_NAME_MISMATCH"};
  if (e >= 0 && e < int32_t(sizeof kLow / sizeof kLow[0]) && kLow[e]) return kLow[e];
  return "ErrorCode(" + std::to_string(e) + ")";
}

std::string krb5_etype_name(int32_t e) {
  static const std::pair<int32_t, const char*> kNames[] = {
      {1, "des-cbc-crc"}, {2, "des-cbc-md4"}, {3, "des-cbc-md5"}, {5, "des3-cbc-md5"}, {7, "des3-cbc-sha1"},
      {9, "dsaWithSHA1-CmsOID"}, {10, "md5WithRSAEncryption-CmsOID"}, {11, "sha1WithRSAEncryption-CmsOID"},
      {12, "rc2CBC-EnvOID"}, {13, "rsaEncryption-EnvOID"}, {14, "rsaES-OAEP-ENV-OID"},
      {15, "des-ede3-cbc-Env-OID"}, {16, "des3-cbc-sha1-kd"}, {17, "aes128-cts-hmac-sha1-96"},
      {18, "aes256-cts-hmac-sha1-96"}, {19, "aes128-cts-hmac-sha256-128"}, {20, "aes256-cts-hmac-sha384-192"},
      {23, "rc4-hmac"}, {24, "rc4-hmac-exp"}, {25, "camellia128-cts-cmac"}, {26, "camellia256-cts-cmac"},
      {65, "subkey-keymaterial"}, {-128, "rc4-md4"}, {-129, "rc4-plain2"}, {-130, "rc4-lm"}, {-131, "rc4-sha"},
      {-132, "des-plain"}, {-133, "rc4-hmac-OLD"}, {-134, "rc4-plain-OLD"}, {-135, "rc4-hmac-OLD-exp"},
      {-136, "rc4-plain-OLD-exp"}, {-140, "rc4-plain"}, {-141, "rc4-plain-exp"}};
  for (auto& [v, n] : kNames)
    if (v == e) return n;
  return "EncryptionType(" + std::to_string(e) + ")";
}

// Suricata's `krb5` object: absent names are "<empty>", an absent reply
// encryption "<none>" (as Suricata prints them); a KRB-ERROR adds
// failed_request (the flow's latest request, "UNKNOWN" when none was seen)
// and error_code; the ticket's encryption when known.
void krb5_json(const AppMeta& m, std::string& out) {
  const AppMeta::Krb5& k = m.krb5;
  out += "\"krb5\":{";
  JsonObj o{out};
  auto put = [&](const char* key, const std::string& v) {
    o.key(key);
    jstr(out, v.c_str());
  };
  auto flag = [&](const char* key, bool v) {
    o.key(key);
    out += v ? "true" : "false";
  };
  put("msg_type", krb5_msg_name(k.msg_type));
  if (k.has_error) {
    put("failed_request", k.failed_request ? krb5_msg_name(k.failed_request) : "UNKNOWN");
    put("error_code", krb5_error_name(k.error_code));
  }
  put("cname", k.has_cname ? m.http_refer : "<empty>");
  put("realm", k.has_realm ? m.http_user_agent : "<empty>");
  put("sname", k.has_sname ? m.http_url : "<empty>");
  put("encryption", k.has_etype ? krb5_etype_name(k.etype) : "<none>");
  flag("weak_encryption", k.has_etype && app::krb5_weak(k.etype));
  if (k.has_ticket_etype) {
    put("ticket_encryption", krb5_etype_name(k.ticket_etype));
    flag("ticket_weak_encryption", app::krb5_weak(k.ticket_etype));
  }
  out += '}';
}

// Suricata's `mqtt` object, one message per event: {"<type>": {qos, retain,
// dup, the type's fields}} (Suricata merges a request and its reply into one
// tx; here each message is its own). Passwords are not logged (Suricata's
// default); a message cut at the buffer logs Suricata's truncated form.
void mqtt_json(const AppMeta::Mqtt& m, std::string& out) {
  static const char* const kName[16] = {"unassigned", "connect", "connack", "publish", "puback", "pubrec",
                                        "pubrel", "pubcomp", "subscribe", "suback", "unsubscribe", "unsuback",
                                        "pingreq", "pingresp", "disconnect", "auth"};
  out += "\"mqtt\":{\"";
  out += kName[m.type & 15];
  out += "\":{";
  JsonObj o{out};
  o.num("qos", (m.flags >> 1) & 3);
  auto flag = [&](const char* k, bool v) {
    o.key(k);
    out += v ? "true" : "false";
  };
  flag("retain", m.flags & 1);
  flag("dup", m.flags & 8);
  if (m.truncated) {
    flag("truncated", true);
    o.num("skipped_length", m.length);
    out += "}}";
    return;
  }
  switch (m.type) {
    case 1: {
      o.str("protocol_string", m.protocol_string);
      o.num("protocol_version", m.version);
      o.key("flags");
      out += '{';
      JsonObj f{out};
      const std::pair<const char*, uint8_t> bits[] = {
          {"username", 0x80}, {"password", 0x40}, {"will_retain", 0x20}, {"will", 0x04}, {"clean_session", 0x02}};
      for (auto [k, b] : bits) {
        f.key(k);
        out += m.connect_flags & b ? "true" : "false";
      }
      out += '}';
      o.key("client_id");
      jstr(out, m.client_id);
      o.str("username", m.username);
      if (m.connect_flags & 0x04) {
        o.key("will");
        out += '{';
        JsonObj w{out};
        w.str("topic", m.will_topic);
        w.str("message", m.will_message);
        out += '}';
      }
      break;
    }
    case 2:
      flag("session_present", m.session_present);
      o.num("return_code", m.reason);
      break;
    case 3:
      o.key("topic");
      jstr(out, m.topic);
      if (m.has_id) o.num("message_id", m.message_id);
      o.key("message");
      jstr(out, m.message);
      break;
    case 8: case 10:  // subscribe: [{topic, qos}]; unsubscribe: [topic]
      if (m.has_id) o.num("message_id", m.message_id);
      o.key("topics");
      out += '[';
      for (int i = 0; i < m.ntopics && i < 4; i++) {
        if (i) out += ',';
        if (m.type == 10) {
          jstr(out, m.topics[i]);
          continue;
        }
        out += "{\"topic\":";
        jstr(out, m.topics[i]);
        out += ",\"qos\":" + std::to_string(m.topic_qos[i]) + "}";
      }
      out += ']';
      break;
    case 9:
      if (m.has_id) o.num("message_id", m.message_id);
      o.key("qos_granted");
      out += '[';
      for (int i = 0; i < m.ntopics && i < 4; i++) out += (i ? "," : "") + std::to_string(m.topic_qos[i]);
      out += ']';
      break;
    case 4: case 5: case 6: case 7: case 11:
      if (m.has_id) o.num("message_id", m.message_id);
      if (m.has_reason && m.type != 11) o.num("reason_code", m.reason);
      break;
    case 14: case 15:
      if (m.has_reason) o.num("reason_code", m.reason);
      break;
    default:
      break;
  }
  out += "}}";
}

}  // namespace

namespace app {
void h2_headers_json(std::string& out, const uint8_t* p, uint32_t n) {
  if (n < 2) return;
  const uint32_t split = std::min<uint32_t>(n, 2u + (p[0] | p[1] << 8));
  const char* const keys[2] = {"request_headers", "response_headers"};
  JsonObj lists{out};
  for (int d = 0; d < 2; d++) {
    uint32_t at = d ? split : 2, end = d ? n : split;
    if (at >= end) continue;
    lists.key(keys[d]);
    out += '[';
    for (bool first = true; at + 4 <= end; first = false) {  // entries as h2 HeadWriter::log_entry writes them
      uint32_t nl = p[at] | p[at + 1] << 8;
      const bool upd = nl == 0xffff;
      if (upd) nl = 0;
      if (at + 4 + nl > end) break;
      const uint8_t* nm = p + at + 2;
      const uint32_t vl = p[at + 2 + nl] | p[at + 3 + nl] << 8;
      const uint8_t* v = p + at + 4 + nl;
      if (at + 4 + nl + vl > end || (upd && vl != 4)) break;
      out += first ? "{" : ",{";
      JsonObj e{out};
      if (upd) {
        e.num("table_size_update", v[0] | v[1] << 8 | v[2] << 16 | uint32_t(v[3]) << 24);
      } else {
        e.key("name");
        jstr(out, std::string_view(reinterpret_cast<const char*>(nm), nl));
        e.key("value");
        jstr(out, std::string_view(reinterpret_cast<const char*>(v), vl));
      }
      out += '}';
      at += 4 + nl + vl;
    }
    out += ']';
  }
}
}  // namespace app

void format_app_json(const AppMeta& m, std::string& out, const char* const* hassh, std::string_view h2_headers) {
  switch (m.proto) {
    case rules::AppProto::kHttp: case rules::AppProto::kHttp2: {
      out += "\"http\":{";
      JsonObj o{out};
      o.str("hostname", m.http_hostname);
      o.str("url", m.http_url);
      o.str("http_user_agent", m.http_user_agent);
      o.str("http_content_type", m.http_content_type);
      o.str("http_refer", m.http_refer);
      o.str("http_method", m.http_method);
      o.str("protocol", m.http_protocol);
      if (m.http_status) o.num("status", m.http_status);
      if (m.http_status) o.num("length", m.http_length);
      if (m.proto == rules::AppProto::kHttp2) {  // Suricata's http2 logger: "version" and the stream
        o.str("version", "2");
        if (h2_headers.size() > 2) {
          out += ',';
          app::h2_headers_json(out, reinterpret_cast<const uint8_t*>(h2_headers.data()), uint32_t(h2_headers.size()));
        }
        o.key("http2");
        out += "{\"stream_id\":" + std::to_string(m.h2_stream) + "}";
      }
      out += '}';
      break;
    }
    case rules::AppProto::kDns: {
      out += "\"dns\":{";
      JsonObj o{out};
      o.str("type", m.dns_is_response ? "answer" : "query");
      o.num("id", m.dns_id);
      o.key("rrname");
      jstr(out, m.dns_rrname);
      if (const char* t = rrtype_name(m.dns_rrtype)) o.str("rrtype", t);
      else o.num("rrtype", m.dns_rrtype);
      if (m.dns_is_response) {
        if (const char* r = rcode_name(m.dns_rcode)) o.str("rcode", r);
        else o.num("rcode", m.dns_rcode);
      }
      out += '}';
      break;
    }
    case rules::AppProto::kTls: {
      out += "\"tls\":{";
      JsonObj o{out};  // Suricata's order
      o.str("subject", m.tls_subject);
      o.str("issuerdn", m.tls_issuerdn);
      o.str("serial", m.tls_serial);
      o.str("fingerprint", m.tls_fingerprint);
      o.str("sni", m.tls_sni);
      o.str("version", m.tls_version);
      o.str("notbefore", m.tls_notbefore);
      o.str("notafter", m.tls_notafter);
      o.hash_obj("ja3", m.ja3_hash, m.ja3_string);
      o.str("ja4", m.ja4);
      o.hash_obj("ja3s", m.ja3s_hash, m.ja3s_string);
      out += '}';
      break;
    }
    case rules::AppProto::kSmtp:
      smtp_json(m, out);
      break;
    case rules::AppProto::kFtp:
      ftp_json(m, out);
      break;
    case rules::AppProto::kQuic: {  // Suricata's quic object (the client's hello fields on its tx)
      out += "\"quic\":{";
      JsonObj o{out};
      o.str("version", m.quic_version);
      if (m.quic_client) {
        o.str("sni", m.tls_sni);
        o.str("ua", m.http_user_agent);
        if (m.quic_cyu_hash[0]) {  // Suricata writes cyu as a list of one
          o.key("cyu");
          out += '[';
          JsonObj y{out};
          y.hash_obj(nullptr, m.quic_cyu_hash, m.ja3s_string);
          out += ']';
        }
        o.hash_obj("ja3", m.ja3_hash, m.ja3_string);
        o.str("ja4", m.ja4);
      }
      out += '}';
      break;
    }
    case rules::AppProto::kSip: {  // Suricata's sip object of one message
      out += "\"sip\":{";
      JsonObj o{out};
      if (!m.http_status) {  // SIP fields in the http_* ones (see AppMeta)
        o.str("method", m.http_method);
        o.str("uri", m.http_url);
        o.str("version", m.http_protocol);
        std::string line = std::string(m.http_method) + " " + m.http_url + " " + m.http_protocol;
        o.str("request_line", line.c_str());
      } else {
        o.str("version", m.http_protocol);
        std::string code = std::to_string(m.http_status);
        o.str("code", code.c_str());
        o.str("reason", m.sip_reason);
        std::string line = std::string(m.http_protocol) + " " + code + " " + m.sip_reason;
        o.str("response_line", line.c_str());
      }
      out += '}';
      break;
    }
    case rules::AppProto::kSsh:
      ssh_json(m, out, hassh);
      break;
    case rules::AppProto::kMqtt:
      mqtt_json(m.mqtt, out);
      break;
    case rules::AppProto::kKrb5:
      krb5_json(m, out);
      break;
    case rules::AppProto::kSmb: case rules::AppProto::kDcerpc:
      app::smb_json(m, out);
      break;
    case rules::AppProto::kFtpData: {
      out += "\"ftp_data\":{";
      JsonObj o{out};
      o.str("filename", m.file_name);
      o.str("command", m.ftp_command);
      out += '}';
      break;
    }
    default:
      break;
  }
}

void format_fileinfo_json(const AppMeta& m, std::string& out) {
  out += "\"fileinfo\":{";
  JsonObj o{out};
  o.key("filename");
  jstr(out, m.file_name);
  o.str("magic", m.file_magic);
  o.key("gaps");
  out += "false";
  o.str("state", m.file_incomplete ? "TRUNCATED" : "CLOSED");
  o.str("md5", m.file_md5);
  o.str("sha1", m.file_sha1);
  o.str("sha256", m.file_sha256);
  o.key("stored");
  out += "false";
  o.num("size", m.file_size);
  if (m.file_has_tx_id) o.num("tx_id", m.file_tx_id);
  out += '}';
}

}  // namespace spectre

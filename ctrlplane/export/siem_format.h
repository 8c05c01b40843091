// SIEM payloads and syslog framing: CEF (ArcSight), LEEF 2.0 (QRadar),
// RFC 5424 headers and RFC 6587 octet counting. Pure functions (tested alone).
//
// Severity mapping (Suricata priority: 1 = highest):
//   priority   syslog severity (RFC 5424)   CEF severity (0-10)   LEEF sev (1-10)
//   1          2 Critical                   10                    10
//   2          3 Error                      7                     7
//   3          4 Warning                    5                     5
//   >= 4, 0    5 Notice                     3                     3
//   flow / stats records: syslog 6 Informational, CEF/LEEF 1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ctrlplane/export/event.h"

namespace spectre::exporter {

int syslog_severity(uint32_t priority);
int cef_severity(uint32_t priority);
int leef_severity(uint32_t priority);

// CEF escaping: header fields escape '\' and '|' (CR/LF become a space: the
// header is one line); extension values escape '\' and '=' and write CR/LF
// as \r and \n.
void cef_escape_header(std::string& out, std::string_view s);
void cef_escape_value(std::string& out, std::string_view s);
// LEEF escaping: header fields as CEF's; attribute values write a backslash as two
// and the tab delimiter, CR and LF as \t, \r, \n (values stay on one line and
// never contain the delimiter).
void leef_escape_header(std::string& out, std::string_view s);
void leef_escape_value(std::string& out, std::string_view s);

// CEF:0|InfraSpectre|spectre|<version>|<gid>:<sid>|<signature>|<sev>|rt=<ms> src=.. spt=.. dst=.. dpt=..
// proto=.. act=.. cat=.. cs1Label=flowId cs1=.. [cs2Label=appProto cs2=..] [ML: cs3Label=mlModel cs3=..
// cs4Label=mlClass cs4=.. cfp1Label=mlScore cfp1=..]. IPv6 addresses go to c6a2/c6a3 (ArcSight's
// IPv6 source/destination fields) instead of src/dst. Appends no newline.
void format_cef(std::string& out, const CpAlert& a, std::string_view version);
// LEEF:2.0|InfraSpectre|spectre|<version>|<gid>:<sid>|x09|devTime=<ms>\tdevTimeFormat=.. (epoch ms)
// \tsrc=..\tdst=..\tsrcPort=..\tdstPort=..\tproto=..\tsev=..\tcat=..\tsigName=..\tgid=..\tsid=..
// \trev=..\taction=..\tflowId=..[\tappProto=..][\tmlModel=..\tmlClass=..\tmlScore=..].
// The delimiter field "x09" names the tab explicitly (LEEF 2.0 allows xHH).
void format_leef(std::string& out, const CpAlert& a, std::string_view version);

// RFC 5424 header "<PRI>1 TIMESTAMP HOST APP PROCID MSGID - " (no structured
// data). Fields that are empty become "-"; non-printable or space bytes in
// HOST/APP/MSGID become '_' and they are cut to the RFC's lengths.
// TIMESTAMP is "YYYY-MM-DDThh:mm:ss.uuuuuuZ" from ts_ns (UTC).
void format_rfc5424_header(std::string& out, int facility, int severity, uint64_t ts_ns,
                           std::string_view host, std::string_view app, std::string_view procid,
                           std::string_view msgid);
// RFC 6587 octet counting: "<len> <msg>".
void frame_octet_counting(std::string& out, std::string_view msg);

}  // namespace spectre::exporter

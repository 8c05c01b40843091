// spectrectl commands: the request a command line parses into, its JSON form
// on the control socket, and the reply. Shared by spectrectl (parsing) and
// spectre-cp (dispatch in controller.h), so both see one command table.
//
// Socket protocol (unix stream socket, UTF-8, one JSON object per line):
//   request : {"cmd":"model load","file":"/abs/x.spm","json":false}
//             fields: cmd (required), file, clear, files[], n, follow,
//             min_severity (1..4), interval_ms, json (reply without "text")
//   reply   : {"ok":true,"code":0,"result":{...},"text":"human output"}
//             {"ok":false,"code":1,"error":"why","text":"..."}
//             code = spectrectl's exit code: 0 ok, 1 command failed, 2 wrong
//             use, 3 data plane unreachable ("text" is absent when json was set)
//   stream  : a reply with "stream":true (alerts tail -f) is followed by one
//             line per alert until the client closes: the EVE object itself
//             when json was set, else {"text":"one-line rendering"}.
// Several requests may be sent on one connection; replies come in order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spectre::cp {

enum ExitCode : int { kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitUnreachable = 3 };

inline constexpr size_t kMaxRequestLine = 64 * 1024;  // longer lines are refused (wrong use)

struct Request {
  std::string cmd;                 // "model load", "model list", "model rollback", "model shadow",
                                   // "rules reload", "config reload", "stats", "flows top",
                                   // "alerts tail", "status", "incidents list|show|set"
  std::string file;                // model load / model shadow (absolute on the socket)
  bool clear = false;              // model shadow --clear
  std::vector<std::string> files;  // rules reload (empty: the configured files)
  int64_t n = -1;                  // flows top N; alerts tail -n N (-1: default 20)
  bool follow = false;             // alerts tail -f
  int min_severity = 0;            // alerts tail --min-severity: 1 (high) .. 4, 0 = any
  int64_t interval_ms = 1000;      // stats --interval: rate window (0: counters only)
  bool json = false;               // reply for scripts (no "text")
  int64_t id = -1;                 // incidents show / set: the incident id
  std::string status;              // incidents set --status: new, investigating, resolved, false_positive
  bool all = false;                // incidents list --all: closed ones too
};

struct CommandSpec {
  const char* name;   // canonical words
  const char* usage;  // arguments
  const char* help;
};
const std::vector<CommandSpec>& command_specs();
std::string commands_help();  // one line per command, for --help

// Parses the command words (argv after spectrectl's global options), e.g.
// {"alerts","tail","-f","--min-severity","high"}. Paths are kept as given.
// False with a message naming the problem (spectrectl exits 2).
bool parse_command(const std::vector<std::string>& words, Request& out, std::string& err);

std::string request_to_json(const Request& r);
// Type-checks every field; unknown fields are ignored (newer clients).
bool request_from_json(std::string_view line, Request& out, std::string& err);
// Arguments as recorded in the audit log (only those the command uses).
std::vector<std::pair<std::string, std::string>> request_args(const Request& r);

struct Reply {
  int code = kExitOk;
  std::string error;         // code != 0
  std::string result;        // serialised JSON value, empty: none
  std::string text;          // human output (may be set with an error, e.g. status)
  bool stream = false;       // alerts tail -f: event lines follow
  uint64_t stream_after = 0; // alert sequence number the stream continues after
  std::string audit_model;   // not sent: sha256 of the model concerned, for the audit line
};
std::string reply_to_json(const Reply& r, bool with_text);
// For the CLI: code, error, text, stream (result stays raw in the line).
bool reply_from_json(std::string_view line, Reply& out, std::string& err);

// The "text" of a human-mode stream line ({"text":"..."}).
bool stream_line_text(std::string_view line, std::string& text);

Reply usage_error(std::string msg);
Reply failure(int code, std::string msg);

}  // namespace spectre::cp

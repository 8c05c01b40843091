// Test harness for the stream hub: a real io_context on its own thread, the
// test listener on loopback, and blocking Beast WebSocket / raw SSE clients.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "ctrlplane/stream/hub.h"
#include "ctrlplane/stream/listener.h"

namespace spectre::stream::test {

using json = nlohmann::json;
using tcp = net::ip::tcp;

inline bool wait_for(const std::function<bool()>& pred, int ms = 5000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

inline StreamEvent event(uint64_t seq, int sev = 3, std::string sig = "SIG", std::string src = "192.0.2.1",
                         std::string dst = "198.51.100.1", std::string key = "", size_t pad = 0,
                         Channel ch = Channel::kAlerts) {
  StreamEvent ev;
  ev.channel = ch;
  ev.seq = seq;
  ev.severity = sev;
  ev.signature = sig;
  ev.src_ip = src;
  ev.dest_ip = dst;
  ev.key = key;
  ev.category = "cat" + std::to_string(sev);
  ev.level = sev == 1 ? "high" : "low";
  json j = {{"id", seq}, {"signature", sig}, {"src_ip", src}, {"dest_ip", dst}, {"severity", sev}};
  if (pad) j["pad"] = std::string(pad, 'x');
  ev.json = j.dump();
  return ev;
}

struct Hub {
  explicit Hub(StreamOptions o = quiet(), ReplaySource* rs = nullptr)
      : work(net::make_work_guard(io)), hub(std::make_unique<StreamHub>(io, o)) {
    hub->set_replay_source(rs);
    lis = std::make_unique<StreamListener>(io, *hub);
    lis->start();
    th = std::thread([this] { io.run(); });
  }
  ~Hub() {
    hub->stop();
    lis->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    work.reset();
    io.stop();
    th.join();
    lis.reset();
    hub.reset();
  }
  static StreamOptions quiet() {
    StreamOptions o;
    o.heartbeat = std::chrono::milliseconds(0);
    return o;
  }
  uint16_t port() const { return lis->port(); }

  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::unique_ptr<StreamHub> hub;
  std::unique_ptr<StreamListener> lis;
  std::thread th;
};

struct WsClient {
  explicit WsClient(uint16_t port, int timeout_ms = 5000) : timeout(timeout_ms) {
    tcp::socket& s = ws.next_layer();
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws.read_message_max(1 << 24);
    ws.handshake("127.0.0.1", "/api/v1/stream");
  }
  void send(const json& j) { ws.write(net::buffer(j.dump())); }
  void send_raw(const std::string& s, bool text = true) {
    ws.text(text);
    ws.binary(!text);
    ws.write(net::buffer(s));
    ws.text(true);
  }
  // Throws boost::system::system_error on timeout (the socket is closed then) or close.
  json recv() {
    buf.consume(buf.size());
    boost::system::error_code ec = net::error::timed_out;
    ws.async_read(buf, [&](boost::system::error_code e, size_t) { ec = e; });
    io.restart();
    io.run_for(std::chrono::milliseconds(timeout));
    if (!io.stopped()) {  // timed out: abandon the connection
      boost::system::error_code ignored;
      ws.next_layer().close(ignored);
      io.restart();
      io.run();
      ec = net::error::timed_out;
    }
    if (ec) throw boost::system::system_error(ec);
    auto d = buf.data();
    return json::parse(std::string_view(static_cast<const char*>(d.data()), d.size()));
  }
  json recv_type(const std::string& type) {
    for (;;) {
      json j = recv();
      if (j.value("type", "") == type) return j;
    }
  }
  json subscribe(json msg) {
    msg["op"] = "subscribe";
    send(msg);
    return recv_type("subscribed");
  }
  int timeout;
  net::io_context io;
  websocket::stream<tcp::socket> ws{io};
  boost::beast::flat_buffer buf;
};

struct SseEvent {
  std::string id;
  json data;
};

// Minimal SSE reader: status line, headers, then blank-line separated events.
struct SseClient {
  SseClient(uint16_t port, const std::string& target, const std::string& last_id = "") : sock(io) {
    sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n";
    if (!last_id.empty()) req += "Last-Event-ID: " + last_id + "\r\n";
    req += "\r\n";
    net::write(sock, net::buffer(req));
    status = line();
    while (!line().empty()) {
    }
  }
  std::string line() {
    boost::system::error_code ec = net::error::timed_out;
    net::async_read_until(sock, sb, '\n', [&](boost::system::error_code e, size_t) { ec = e; });
    io.restart();
    io.run_for(std::chrono::seconds(5));
    if (!io.stopped()) {
      boost::system::error_code ignored;
      sock.close(ignored);
      io.restart();
      io.run();
      ec = net::error::timed_out;
    }
    if (ec) throw boost::system::system_error(ec);
    std::istream is(&sb);
    std::string l;
    std::getline(is, l);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    return l;
  }
  std::string body() {  // after an error status: the rest until close
    boost::system::error_code ec;
    net::read(sock, sb, ec);
    return std::string(net::buffers_begin(sb.data()), net::buffers_end(sb.data()));
  }
  SseEvent next() {
    SseEvent e;
    std::string data;
    for (std::string l = line(); !l.empty(); l = line()) {
      if (l.rfind("id: ", 0) == 0) e.id = l.substr(4);
      if (l.rfind("data: ", 0) == 0) data += l.substr(6);
    }
    e.data = json::parse(data);
    return e;
  }
  SseEvent next_event() {
    for (;;) {
      SseEvent e = next();
      if (e.data.value("type", "") == "event") return e;
    }
  }
  net::io_context io;
  tcp::socket sock;
  net::streambuf sb;
  std::string status;
};

// The store's side of resume, in memory.
struct FakeReplay : ReplaySource {
  std::vector<StreamEvent> events;  // oldest first
  uint64_t oldest_kept = 0;         // positions before this are "out of retention"
  int calls = 0;
  bool replay(Channel ch, uint64_t after, size_t max, std::vector<StreamEvent>& out) override {
    ++calls;
    if (after + 1 < oldest_kept) return false;
    for (const auto& e : events) {
      if (e.channel == ch && e.seq > after && out.size() < max) out.push_back(e);
    }
    return true;
  }
};

}  // namespace spectre::stream::test

// Transport sessions of the stream hub: WebSocket (Beast) and Server-Sent
// Events over plain HTTP/1.1, each for a tcp_stream or an ssl_stream. Both
// write through a Coalescer: the session frames what its Client pops into the
// pending buffer (up to write_buffer bytes) and writes once; the next batch
// is framed when that write completes, so a slow socket stops the framing and
// the client's bounded queue (and its slow-consumer policy) takes over.
// Included at the end of hub.h.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "ctrlplane/stream/coalesce.h"

namespace spectre::stream {

namespace websocket = boost::beast::websocket;

// RFC 6455 server frame (FIN, text, unmasked).
template <class Co>
void append_ws_frame(Co& co, std::string_view body) {
  char h[10];
  size_t n = 2, len = body.size();
  h[0] = static_cast<char>(0x81);
  if (len < 126) {
    h[1] = static_cast<char>(len);
  } else if (len < 65536) {
    h[1] = 126;
    h[2] = static_cast<char>(len >> 8);
    h[3] = static_cast<char>(len);
    n = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<char>(static_cast<uint64_t>(len) >> (56 - 8 * i));
    n = 10;
  }
  co.append(std::string_view(h, n));
  co.append(body);
}

// SSE: one data line per line of the body; id only on events.
template <class Co>
void append_sse(Co& co, std::string_view id, std::string_view body) {
  if (!id.empty()) {
    co.append("id: ");
    co.append(id);
    co.append("\n");
  }
  while (true) {
    size_t nl = body.find('\n');
    co.append("data: ");
    co.append(body.substr(0, nl));
    co.append("\n");
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
  co.append("\n");
}

inline std::string http_error(int status, const char* text, std::string_view reason) {
  std::string body = R"({"error":")";
  for (char c : reason) body += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  body += "\"}";
  return "HTTP/1.1 " + std::to_string(status) + " " + text +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Shared by both transports: the write pump and the close path.
template <class Derived, class Co>
class SessionCore : public Client {
 protected:
  using Client::Client;
  Derived& self() { return static_cast<Derived&>(*this); }

  void setup(Co& co) {
    boost::beast::get_lowest_layer(co.next_layer()).expires_never();
    co.set_owner([this] { return shared_from_this(); });
    co.on_drained([this] { pump(); });
  }

  // Frames what the client has (up to write_buffer bytes) and flushes. When
  // the socket took a full buffer in place and more may be queued, the next
  // buffer is framed from a posted pump (other clients get the strand in between).
  void pump() {
    Co& co = self().out();
    if (co.failed()) return finish();
    if (!started_ || closed) return;
    OutMsg m;
    size_t limit = hub_.options().write_buffer;
    int64_t now = hub_.options().measure_latency ? mono_ns() : 0;
    while (co.pending() < limit && pop(m)) {
      self().frame(m);
      if (now && m.seq && !m.replay) hub_.record_latency(now - m.item->ev.published_ns);
    }
    this->flush_sent_count();
    bool more = co.pending() >= limit;
    co.flush();
    this->set_backed_up(co.busy() && this->queued() > 0);
    if (more && !co.busy() && !co.failed() && !repump_) {
      repump_ = true;
      net::post(hub_.strand(), [self = this->shared_from_this(), this] {
        repump_ = false;
        pump();
      });
    }
  }

  void finish() {
    if (detached) return;
    closed = true;
    cancel_timers();
    self().out().close();
    hub_.detach(this);
  }

 public:
  void wake() override { pump(); }
  std::pair<uint64_t, uint64_t> writes() const override {
    const Co& co = const_cast<SessionCore*>(this)->self().out();
    return {co.direct_writes(), co.async_writes()};
  }
  void close_now() override {
    if (closed) return;
    closed = true;
    cancel_timers();
    self().out().close();  // pending reads fail and the session detaches
  }
  void reject() {
    self().out().append(http_error(503, "Service Unavailable", "too many stream clients"));
    self().out().close_after_flush();
  }

 protected:
  bool started_ = false;
  bool repump_ = false;
};

template <class S>
class WsSession final : public SessionCore<WsSession<S>, Coalescer<S>> {
  using Core = SessionCore<WsSession<S>, Coalescer<S>>;
  friend Core;

 public:
  WsSession(StreamHub& hub, S&& s, Request req)
      : Core(hub, false), ws_(hub.strand(), std::move(s), hub.options().direct_write), req_(std::move(req)) {
    this->setup(out());
  }

  void start() {
    ws_.auto_fragment(false);
    ws_.read_message_max(this->hub_.options().max_message);
    ws_.set_option(websocket::stream_base::timeout{std::chrono::seconds(30), websocket::stream_base::none(), false});
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& r) { r.set(boost::beast::http::field::server, "spectre-cp"); }));
    ws_.async_accept(req_, net::bind_executor(this->hub_.strand(),
                                              [self = this->shared_from_this(), this](boost::system::error_code ec) {
                                                if (ec) return this->finish();
                                                this->started_ = true;
                                                read();
                                                this->pump();
                                              }));
  }

 private:
  Coalescer<S>& out() { return ws_.next_layer(); }
  void frame(const OutMsg& m) { append_ws_frame(out(), m.body()); }

  void read() {
    ws_.async_read(rbuf_, net::bind_executor(this->hub_.strand(), [self = this->shared_from_this(), this](
                                                                       boost::system::error_code ec, size_t) {
      if (ec || this->closed) return this->finish();
      if (!ws_.got_text()) {
        this->error("binary messages are not accepted");
      } else {
        auto d = rbuf_.data();
        this->handle_text(std::string_view(static_cast<const char*>(d.data()), d.size()));
      }
      rbuf_.consume(rbuf_.size());
      read();
    }));
  }

  websocket::stream<Coalescer<S>> ws_;
  Request req_;
  boost::beast::flat_buffer rbuf_;
};

template <class S>
class SseSession final : public SessionCore<SseSession<S>, Coalescer<S>> {
  using Core = SessionCore<SseSession<S>, Coalescer<S>>;
  friend Core;

 public:
  SseSession(StreamHub& hub, S&& s, Request req)
      : Core(hub, true), co_(hub.strand(), std::move(s), hub.options().direct_write), req_(std::move(req)) {
    this->setup(co_);
  }

  void start() {
    std::string reason;
    auto last_id = req_["Last-Event-ID"];
    if (!this->subscribe_query(std::string_view(req_.target().data(), req_.target().size()),
                               std::string_view(last_id.data(), last_id.size()), reason)) {
      this->closed = true;
      co_.append(http_error(400, "Bad Request", reason));
      co_.close_after_flush();
      this->hub_.detach(this);
      return;
    }
    co_.append(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Server: spectre-cp\r\nConnection: close\r\n\r\n");
    this->started_ = true;
    read();
    this->pump();
  }

 private:
  Coalescer<S>& out() { return co_; }
  void frame(const OutMsg& m) { append_sse(co_, m.seq ? std::string_view(this->sse_id()) : std::string_view(), m.body()); }

  // The client sends nothing after its request; a read completes on close.
  void read() {
    co_.async_read_some(net::buffer(rbuf_), net::bind_executor(this->hub_.strand(),
                                                              [self = this->shared_from_this(), this](
                                                                  boost::system::error_code ec, size_t) {
                                                                if (ec || this->closed) return this->finish();
                                                                read();
                                                              }));
  }

  Coalescer<S> co_;
  Request req_;
  char rbuf_[512];
};

template <class S>
void StreamHub::accept_websocket(S&& stream, Request req) {
  auto s = std::make_shared<WsSession<std::decay_t<S>>>(*this, std::forward<S>(stream), std::move(req));
  net::dispatch(strand_, [this, s] {
    if (admit(s)) s->start();
    else s->reject();
  });
}

template <class S>
void StreamHub::accept_sse(S&& stream, Request req) {
  auto s = std::make_shared<SseSession<std::decay_t<S>>>(*this, std::forward<S>(stream), std::move(req));
  net::dispatch(strand_, [this, s] {
    if (admit(s)) s->start();
    else s->reject();
  });
}

}  // namespace spectre::stream

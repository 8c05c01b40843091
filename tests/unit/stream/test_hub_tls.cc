// The hub over TLS: the API server hands over ssl_stream<tcp_stream> after the
// handshake and its HTTP read; here a small synchronous front does the same.
// The certificate is made with the openssl tool (skipped when it is missing).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl.hpp>

#include "tests/unit/stream/hub_util.h"

namespace spectre::stream::test {
namespace {

namespace ssl = net::ssl;
namespace beast = boost::beast;

struct Cert {
  std::filesystem::path dir;
  bool ok = false;
  Cert() {
    dir = std::filesystem::temp_directory_path() / ("spectre-stream-tls-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
                      (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
  }
  ~Cert() { std::filesystem::remove_all(dir); }
};

// Accepts n connections: TLS handshake, one HTTP request, then the hub.
void tls_front(Hub& h, tcp::acceptor& acc, ssl::context& ctx, int n) {
  for (int i = 0; i < n; ++i) {
    beast::ssl_stream<beast::tcp_stream> s(beast::tcp_stream(h.io.get_executor()), ctx);
    acc.accept(beast::get_lowest_layer(s).socket());
    s.handshake(ssl::stream_base::server);
    beast::flat_buffer buf;
    Request req;
    beast::http::read(s, buf, req);
    std::string_view target(req.target().data(), req.target().size());
    if (target.rfind("/api/v1/stream/sse", 0) == 0) h.hub->accept_sse(std::move(s), std::move(req));
    else h.hub->accept_websocket(std::move(s), std::move(req));
  }
}

struct TlsWsClient {
  TlsWsClient(uint16_t port, ssl::context& ctx) : ws(io, ctx) {
    beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws.next_layer().handshake(ssl::stream_base::client);
    ws.handshake("127.0.0.1", "/api/v1/stream");
  }
  json recv() {
    buf.consume(buf.size());
    boost::system::error_code ec = net::error::timed_out;
    ws.async_read(buf, [&](boost::system::error_code e, size_t) { ec = e; });
    io.restart();
    io.run_for(std::chrono::seconds(5));
    if (!io.stopped()) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws).close(ignored);
      io.restart();
      io.run();
      throw boost::system::system_error(net::error::timed_out);
    }
    if (ec) throw boost::system::system_error(ec);
    auto d = buf.data();
    return json::parse(std::string_view(static_cast<const char*>(d.data()), d.size()));
  }
  net::io_context io;
  websocket::stream<ssl::stream<tcp::socket>> ws;
  beast::flat_buffer buf;
};

TEST(StreamTls, WebSocketSubscribeResumeAndClose) {
  Cert cert;
  if (!cert.ok) GTEST_SKIP() << "openssl tool not available";
  ssl::context sctx(ssl::context::tls_server), cctx(ssl::context::tls_client);
  sctx.use_certificate_chain_file((cert.dir / "cert.pem").string());
  sctx.use_private_key_file((cert.dir / "key.pem").string(), ssl::context::pem);
  cctx.set_verify_mode(ssl::verify_none);
  Hub h;
  tcp::acceptor acc(h.io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  std::thread front([&] { tls_front(h, acc, sctx, 2); });
  {
    TlsWsClient c(acc.local_endpoint().port(), cctx);
    c.ws.write(net::buffer(std::string(R"({"op":"subscribe","channels":["alerts"]})")));
    EXPECT_EQ(c.recv()["type"], "subscribed");
    for (uint64_t s = 1; s <= 200; ++s) h.hub->publish(event(s, 3, "T", "10.0.0.1", "10.0.0.2", "", 2000));
    for (uint64_t s = 1; s <= 200; ++s) ASSERT_EQ(c.recv()["seq"], s);
    c.ws.close(websocket::close_code::normal);  // the close handshake through the coalescer
  }
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().clients == 0; }));
  TlsWsClient r(acc.local_endpoint().port(), cctx);
  r.ws.write(net::buffer(std::string(R"({"op":"subscribe","channels":["alerts"],"resume":{"alerts":150}})")));
  EXPECT_EQ(r.recv()["type"], "subscribed");
  for (uint64_t s = 151; s <= 200; ++s) ASSERT_EQ(r.recv()["seq"], s);
  front.join();
}

}  // namespace
}  // namespace spectre::stream::test

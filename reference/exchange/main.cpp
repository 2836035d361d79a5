// mock-exchange: a REST order API with per-IP rate limiting and a WebSocket market-data stream,
// the reference target's counterparty. See reference/README.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "net.h"
#include "order_book.h"
#include "order_log.h"
#include "ready_file.h"
#include "rest_api.h"
#include "rest_server.h"
#include "tls.h"
#include "token_bucket.h"
#include "ws_server.h"

using namespace refnet;

int main(int argc, char** argv) {
  CLI::App app{"mock-exchange: REST orders (rate limited) and a WebSocket market-data stream"};
  std::string listen = "127.0.0.1";
  uint16_t rest_port = 8080;
  uint16_t ws_port = 8081;
  double rate = 50;
  double burst = 100;
  int tick_ms = 50;
  int threads = 2;
  std::string order_log_path;
  std::string ready_file;
  std::string symbol = "BTCUSDT";
  int conflate_ms = 1000;
  refexchange::FaultConfig faults;
  int ws_skip_every = 0;
  std::string tls_cert, tls_key;
  app.add_option("--listen", listen, "address to listen on")->capture_default_str();
  app.add_option("--rest-port", rest_port, "REST port (0 = any free one)")->capture_default_str();
  app.add_option("--ws-port", ws_port, "WebSocket port (0 = any free one)")->capture_default_str();
  app.add_option("--rate", rate, "REST requests per second per client IP (<= 0: unlimited)")
      ->capture_default_str();
  app.add_option("--burst", burst, "token-bucket size per client IP")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--tick-ms", tick_ms, "market-data message interval")
      ->capture_default_str()
      ->check(CLI::Range(1, 60000));
  app.add_option("--order-log", order_log_path, "append a JSON line per order request here");
  app.add_option("--ready-file", ready_file,
                 "write {\"rest_port\",\"ws_port\",\"pid\"} here once listening");
  app.add_option("--threads", threads, "io threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 2));
  app.add_option("--symbol", symbol, "symbol of the market-data stream")->capture_default_str();
  app.add_option("--ws-conflate-ms", conflate_ms,
                 "a WS client this far behind loses the missed ticks (seq gap)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--latency-ms", faults.latency_ms,
                 "hold every REST answer this long (a real exchange's processing and distance)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  auto* cert_opt =
      app.add_option("--tls-cert", tls_cert, "serve HTTPS and WSS with this PEM certificate chain");
  auto* key_opt = app.add_option("--tls-key", tls_key, "the PEM private key of --tls-cert");
  cert_opt->needs(key_opt)->check(CLI::ExistingFile);
  key_opt->needs(cert_opt)->check(CLI::ExistingFile);
  auto* hooks = "Test hooks";
  app.add_option("--slow-place-every", faults.slow_place_every,
                 "every Nth place is answered only after --slow-ms (the order is created)")
      ->group(hooks)
      ->check(CLI::NonNegativeNumber);
  app.add_option("--slow-ms", faults.slow_ms, "delay for --slow-place-every")
      ->group(hooks)
      ->check(CLI::NonNegativeNumber);
  app.add_option("--fail-every", faults.fail_every, "every Nth admitted REST request gets 503")
      ->group(hooks)
      ->check(CLI::NonNegativeNumber);
  app.add_option("--ws-skip-every", ws_skip_every, "leave out every Nth WS seq")
      ->group(hooks)
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);

  try {
    const auto address = asio::ip::make_address(listen);
    refexchange::OrderLog order_log;
    std::string err;
    if (!order_log_path.empty() && !order_log.open(order_log_path, &err)) {
      std::cerr << "mock-exchange: --order-log " << err << "\n";
      return 2;
    }
    refexchange::OrderBook book;
    refexchange::RateLimiter limiter(rate, burst);
    refexchange::RestApi api(book, limiter, order_log, faults);

    std::unique_ptr<ssl::context> tls;
    if (!tls_cert.empty()) tls = refcommon::server_tls_context(tls_cert, tls_key);

    asio::io_context ioc(threads);
    refexchange::RestServer rest(ioc, tcp::endpoint(address, rest_port), api, tls.get());
    refexchange::FeedConfig feed;
    feed.tick = std::chrono::milliseconds(tick_ms);
    feed.conflate_after = std::chrono::milliseconds(conflate_ms);
    feed.symbol = symbol;
    feed.skip_every = ws_skip_every;
    refexchange::WsServer ws(ioc, tcp::endpoint(address, ws_port), feed, tls.get());

    asio::signal_set signals(ioc, SIGTERM, SIGINT);
    signals.async_wait([&](const error_code& ec, int sig) {
      if (ec) return;
      std::cerr << "mock-exchange: signal " << sig << ", stopping\n";
      rest.stop();
      ws.stop();
      ioc.stop();
    });
    rest.start();
    ws.start();
    const char* s = tls ? "s" : "";
    std::cerr << "mock-exchange: rest http" << s << "://" << listen << ":" << rest.port()
              << " ws ws" << s << "://" << listen << ":" << ws.port() << feed.path << " rate "
              << rate << "/s burst " << burst << " tick " << tick_ms << " ms\n";
    if (!ready_file.empty() &&
        !refcommon::write_json_atomically(
            ready_file, {{"rest_port", rest.port()}, {"ws_port", ws.port()}, {"pid", getpid()}},
            &err)) {
      std::cerr << "mock-exchange: --ready-file " << err << "\n";
      return 2;
    }

    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
  } catch (const std::exception& e) {
    std::cerr << "mock-exchange: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

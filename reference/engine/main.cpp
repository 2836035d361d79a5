// ref-engine: a reference market-making engine (tick loop over REST with deadlines and backoff,
// WebSocket market data, periodic name resolution, reconciliation) that exports Prometheus
// metrics. See reference/README.md.
#include <prometheus/exposer.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "dns_probe.h"
#include "market_state.h"
#include "metrics.h"
#include "net.h"
#include "options.h"
#include "ready_file.h"
#include "stats_json.h"
#include "tls.h"
#include "trader.h"
#include "url.h"
#include "ws_consumer.h"

using namespace refnet;

int main(int argc, char** argv) {
  refengine::EngineOptions o;
  CLI::App app{"ref-engine: a reference market-making engine for mmchaos experiments"};
  app.add_option("--rest-url", o.rest_url, "exchange REST base, http(s)://host:port")
      ->capture_default_str();
  app.add_option("--ws-url", o.ws_url, "exchange market data, ws(s)://host:port/path")
      ->capture_default_str();
  app.add_option("--ca-file", o.ca_file,
                 "https/wss: verify the exchange against this PEM CA (default: the system's)")
      ->check(CLI::ExistingFile);
  app.add_option("--tick-ms", o.tick_ms, "tick period")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  app.add_option("--deadline-ms", o.deadline_ms, "per-request deadline")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  app.add_option("--max-open", o.max_open, "orders to keep resting")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--reconcile-every-ticks", o.reconcile_every_ticks,
                 "reconcile with the exchange every N ticks")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--resolve-every-sec", o.resolve_every_sec,
                 "resolve the exchange host names every N s")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  app.add_option("--resolve-timeout-ms", o.resolve_timeout_ms, "name resolution timeout")
      ->capture_default_str()
      ->check(CLI::Range(1, 60000));
  app.add_option("--backoff-base-ms", o.backoff_base_ms, "first backoff step (5xx, errors)")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  app.add_option("--backoff-max-ms", o.backoff_max_ms, "backoff cap")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  app.add_option("--retry-after-max-ms", o.retry_after_max_ms, "cap on honouring Retry-After")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000));
  app.add_option("--ws-idle-ms", o.ws_idle_ms,
                 "a WS connection silent this long is dropped and reopened")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  app.add_option("--symbol", o.symbol, "symbol to quote")->capture_default_str();
  app.add_option("--client-prefix", o.client_prefix, "prefix of client order ids")
      ->capture_default_str();
  app.add_option("--qty", o.qty, "order quantity")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--metrics-listen", o.metrics_listen,
                 "Prometheus endpoint IP:PORT (port 0 = any free one)")
      ->capture_default_str();
  app.add_option("--stats-json", o.stats_json, "write a JSON summary here on exit");
  app.add_option("--ready-file", o.ready_file,
                 "write {\"metrics_port\",\"pid\"} here once serving metrics");
  CLI11_PARSE(app, argc, argv);

  std::string err;
  auto rest = refcommon::parse_url(o.rest_url, &err);
  if (!rest || rest->plain_scheme() != "http") {
    std::cerr << "ref-engine: --rest-url: " << (rest ? "must be http:// or https://" : err) << "\n";
    return 2;
  }
  auto ws = refcommon::parse_url(o.ws_url, &err);
  if (!ws || ws->plain_scheme() != "ws") {
    std::cerr << "ref-engine: --ws-url: " << (ws ? "must be ws:// or wss://" : err) << "\n";
    return 2;
  }
  if (!refcommon::parse_host_port(o.metrics_listen)) {
    std::cerr << "ref-engine: --metrics-listen must be IP:PORT\n";
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);

  refengine::Metrics metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(o.metrics_listen, /*num_threads=*/1);
    exposer->RegisterCollectable(metrics.registry());
  } catch (const std::exception& e) {
    std::cerr << "ref-engine: metrics endpoint " << o.metrics_listen << ": " << e.what() << "\n";
    return 2;
  }
  const auto ports = exposer->GetListeningPorts();
  const int metrics_port = ports.empty() ? 0 : ports.front();
  std::cerr << "ref-engine: rest " << o.rest_url << " ws " << o.ws_url << " tick " << o.tick_ms
            << " ms deadline " << o.deadline_ms << " ms metrics port " << metrics_port << "\n";
  if (!o.ready_file.empty() &&
      !refcommon::write_json_atomically(
          o.ready_file, {{"metrics_port", metrics_port}, {"pid", getpid()}}, &err)) {
    std::cerr << "ref-engine: --ready-file " << err << "\n";
    return 2;
  }

  const auto started = std::chrono::steady_clock::now();
  int rc = 0;
  try {
    std::unique_ptr<ssl::context> tls;
    if (rest->tls() || ws->tls()) tls = refcommon::client_tls_context(o.ca_file);
    asio::io_context ioc(1);
    refengine::MarketState market;
    refengine::Trader trader(ioc.get_executor(), o, *rest, metrics, market,
                             rest->tls() ? tls.get() : nullptr);
    refengine::WsConsumer consumer(ioc.get_executor(), o, *ws, metrics, market,
                                   ws->tls() ? tls.get() : nullptr);
    std::vector<std::string> hosts{rest->host};
    if (ws->host != rest->host) hosts.push_back(ws->host);
    refengine::DnsProbe dns(ioc.get_executor(), hosts, std::chrono::seconds(o.resolve_every_sec),
                            std::chrono::milliseconds(o.resolve_timeout_ms), metrics);

    auto on_done = [&](const char* what) {
      return [&ioc, what](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::cerr << "ref-engine: " << what << " failed: " << ex.what() << "\n";
        }
        ioc.stop();
      };
    };
    asio::co_spawn(ioc, trader.run(), on_done("trader"));
    asio::co_spawn(ioc, consumer.run(), on_done("ws consumer"));
    asio::co_spawn(ioc, dns.run(), on_done("dns probe"));

    asio::signal_set signals(ioc, SIGTERM, SIGINT);
    signals.async_wait([&](const error_code& ec, int sig) {
      if (ec) return;
      std::cerr << "ref-engine: signal " << sig << ", stopping\n";
      ioc.stop();
    });
    ioc.run();
  } catch (const std::exception& e) {
    std::cerr << "ref-engine: " << e.what() << "\n";
    rc = 1;
  }
  const double duration =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!o.stats_json.empty() &&
      !refcommon::write_json_atomically(o.stats_json,
                                        refengine::stats_document(metrics, o, duration), &err)) {
    std::cerr << "ref-engine: --stats-json " << err << "\n";
    rc = rc ? rc : 1;
  }
  // The metrics server (civetweb) takes up to 2 s to join its listener thread; nothing is left
  // to flush, so leave at once to keep SIGTERM-to-exit well under a second.
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(rc);
}

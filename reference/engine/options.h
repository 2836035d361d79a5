// Everything the reference engine can be told on its command line.
#pragma once

#include <string>

namespace refengine {

struct EngineOptions {
  std::string rest_url = "http://127.0.0.1:8080";
  std::string ws_url = "ws://127.0.0.1:8081/ws";
  std::string ca_file;  // https/wss: the CA that signed the exchange's certificate (else system)
  int tick_ms = 100;
  int deadline_ms = 200;
  int max_open = 4;
  int reconcile_every_ticks = 10;
  int resolve_every_sec = 5;
  int resolve_timeout_ms = 2000;
  int backoff_base_ms = 100;
  int backoff_max_ms = 5000;
  int retry_after_max_ms = 10000;
  int ws_idle_ms = 2000;
  std::string symbol = "BTCUSDT";
  std::string client_prefix = "ref";
  double qty = 0.01;
  std::string metrics_listen = "127.0.0.1:9470";
  std::string stats_json;
  std::string ready_file;
};

}  // namespace refengine

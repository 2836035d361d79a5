// Starting the reference binaries for the end-to-end tests: mock-exchange on 127.0.0.1 with
// ports it picks itself (reported in its ready file), ref-engine against it, and reading back
// the order log and the engine's --stats-json.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "process.h"
#include "scrape.h"

namespace reftest {

struct ExchangeProc {
  std::unique_ptr<Process> proc;
  uint16_t rest_port = 0;
  uint16_t ws_port = 0;
  std::string order_log;
  std::string stderr_path;
  bool tls = false;  // started with --tls-cert: https:// and wss://
};

struct EngineProc {
  std::unique_ptr<Process> proc;
  uint16_t metrics_port = 0;
  std::string stats_path;
  std::string stderr_path;
};

// Starts mock-exchange (fails the test and returns no process when it does not come up in 5 s).
// rest_port/ws_port 0: any free ones. `name` keeps the files of several exchanges apart.
ExchangeProc start_exchange(const TempDir& dir, const std::vector<std::string>& extra_args,
                            const std::string& name = "exchange", uint16_t rest_port = 0,
                            uint16_t ws_port = 0);

// Starts ref-engine against http(s)://<host>:rest_port and ws(s)://<host>:ws_port/ws (TLS when
// the exchange serves it) with metrics on a free loopback port.
EngineProc start_engine(const TempDir& dir, const ExchangeProc& ex,
                        const std::vector<std::string>& extra_args,
                        const std::string& host = "127.0.0.1");

// Stops the engine with SIGTERM (expecting exit 0 within `timeout_ms`) and reads its stats.
nlohmann::json stop_engine(EngineProc& engine, int timeout_ms = 1000);

// Stops the engine (stop_engine), then the exchange (SIGTERM, 2 s): the engine's stats.
nlohmann::json stop_both(EngineProc& engine, ExchangeProc& ex);

// Starts ref-engine against ex with extra_args, lets it run run_ms, then stops the engine and the
// exchange: the engine's stats (null when it did not start: start_engine failed the test).
nlohmann::json run_engine(const TempDir& dir, ExchangeProc& ex,
                          const std::vector<std::string>& extra_args, int run_ms);

std::vector<nlohmann::json> read_json_lines(const std::string& path);
size_t count_op(const std::vector<nlohmann::json>& lines, const std::string& op);
// requests[op][code] of a stats document, 0 when absent.
uint64_t requests(const nlohmann::json& stats, const std::string& op, const std::string& code);
uint64_t requests_with_code(const nlohmann::json& stats, const std::string& code);
std::string read_file(const std::string& path);

void sleep_ms(int ms);

// A throwaway CA and a server certificate for localhost and 127.0.0.1 in dir (scripts/make-pki.sh):
// dir/ca.pem, dir/server.pem, dir/server.key. Fails the test when openssl does.
void make_pki(const TempDir& dir);

}  // namespace reftest

#include "harness.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace reftest {

namespace {
// The binaries under test; REF_EXCHANGE_BIN / REF_ENGINE_BIN in the environment override the
// built ones (e.g. sanitizer builds).
std::string binary(const char* env, const char* built) {
  const char* v = std::getenv(env);
  return v && *v ? v : built;
}
}  // namespace

void make_pki(const TempDir& dir) {
  const std::string cmd =
      std::string(MAKE_PKI_SH) + " " + dir.path() + " localhost 127.0.0.1 >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
// The ready file a binary writes once it serves (5 s at the most), when it names `key`; else fails
// the test with the binary's log and resets proc.
nlohmann::json await_ready(const std::string& ready, const char* key, const char* who,
                           std::unique_ptr<Process>& proc, const std::string& stderr_path) {
  const std::string text = wait_for_file(ready, std::chrono::seconds(5));
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.contains(key)) {
    ADD_FAILURE() << who << " did not come up: " << read_file(stderr_path);
    proc.reset();
  }
  return doc;
}
}  // namespace

ExchangeProc start_exchange(const TempDir& dir, const std::vector<std::string>& extra_args,
                            const std::string& name, uint16_t rest_port, uint16_t ws_port) {
  ExchangeProc ex;
  ex.order_log = dir.file(name + "-orders.jsonl");
  ex.stderr_path = dir.file(name + ".log");
  const std::string ready = dir.file(name + "-ready.json");
  std::vector<std::string> argv{binary("REF_EXCHANGE_BIN", REF_EXCHANGE_BIN),
                                "--listen",
                                "127.0.0.1",
                                "--rest-port",
                                std::to_string(rest_port),
                                "--ws-port",
                                std::to_string(ws_port),
                                "--order-log",
                                ex.order_log,
                                "--ready-file",
                                ready};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  ex.tls = std::find(extra_args.begin(), extra_args.end(), "--tls-cert") != extra_args.end();
  ex.proc = std::make_unique<Process>(argv, ex.stderr_path);
  const nlohmann::json doc =
      await_ready(ready, "rest_port", "mock-exchange", ex.proc, ex.stderr_path);
  if (!ex.proc) return ex;
  ex.rest_port = doc["rest_port"].get<uint16_t>();
  ex.ws_port = doc["ws_port"].get<uint16_t>();
  return ex;
}

EngineProc start_engine(const TempDir& dir, const ExchangeProc& ex,
                        const std::vector<std::string>& extra_args, const std::string& host) {
  EngineProc en;
  en.stats_path = dir.file("engine-stats.json");
  en.stderr_path = dir.file("engine.log");
  const std::string ready = dir.file("engine-ready.json");
  std::vector<std::string> argv{
      binary("REF_ENGINE_BIN", REF_ENGINE_BIN),
      "--rest-url",
      (ex.tls ? "https://" : "http://") + host + ":" + std::to_string(ex.rest_port),
      "--ws-url",
      (ex.tls ? "wss://" : "ws://") + host + ":" + std::to_string(ex.ws_port) + "/ws",
      "--metrics-listen",
      "127.0.0.1:0",
      "--stats-json",
      en.stats_path,
      "--ready-file",
      ready};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  en.proc = std::make_unique<Process>(argv, en.stderr_path);
  const nlohmann::json doc =
      await_ready(ready, "metrics_port", "ref-engine", en.proc, en.stderr_path);
  if (!en.proc) return en;
  en.metrics_port = doc["metrics_port"].get<uint16_t>();
  return en;
}

nlohmann::json stop_engine(EngineProc& engine, int timeout_ms) {
  if (!engine.proc) return nullptr;
  auto rc = engine.proc->stop(SIGTERM, std::chrono::milliseconds(timeout_ms));
  EXPECT_TRUE(rc.has_value()) << "ref-engine did not exit within " << timeout_ms
                              << " ms of SIGTERM";
  if (rc) {
    EXPECT_EQ(*rc, 0) << read_file(engine.stderr_path);
  }
  auto doc = nlohmann::json::parse(read_file(engine.stats_path), nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << "no --stats-json written";
  return doc.is_discarded() ? nlohmann::json(nullptr) : doc;
}

nlohmann::json stop_both(EngineProc& engine, ExchangeProc& ex) {
  nlohmann::json stats = stop_engine(engine);
  ex.proc->stop(SIGTERM, std::chrono::milliseconds(2000));
  return stats;
}

nlohmann::json run_engine(const TempDir& dir, ExchangeProc& ex,
                          const std::vector<std::string>& extra_args, int run_ms) {
  EngineProc en = start_engine(dir, ex, extra_args);
  if (!en.proc) return nullptr;
  sleep_ms(run_ms);
  return stop_both(en, ex);
}

std::vector<nlohmann::json> read_json_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

size_t count_op(const std::vector<nlohmann::json>& lines, const std::string& op) {
  size_t n = 0;
  for (const auto& l : lines) n += l.value("op", "") == op ? 1 : 0;
  return n;
}

uint64_t requests(const nlohmann::json& stats, const std::string& op, const std::string& code) {
  if (!stats.is_object() || !stats.contains("requests")) return 0;
  const auto& r = stats["requests"];
  if (!r.contains(op) || !r[op].contains(code)) return 0;
  return r[op][code].get<uint64_t>();
}

uint64_t requests_with_code(const nlohmann::json& stats, const std::string& code) {
  if (!stats.is_object() || !stats.contains("requests")) return 0;
  uint64_t n = 0;
  for (const auto& [op, codes] : stats["requests"].items())
    if (codes.contains(code)) n += codes[code].get<uint64_t>();
  return n;
}

}  // namespace reftest

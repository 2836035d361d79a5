// The TLS faults' two pure parts: following a response's status line through reads of any size
// (userspace/preload/http_stream.h) and the decision for one response (bpf/tls.h), both compiled
// here exactly as in the preload.
#include "tls.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "preload/http_stream.h"

namespace {

struct Decider {
  int calls = 0;
  bool act = true;
  std::string code = "429";
  static int Fn(void* ctx, uint8_t code[3]) {
    auto* d = static_cast<Decider*>(ctx);
    d->calls++;
    std::memcpy(code, d->code.data(), 3);
    return d->act ? 1 : 0;
  }
};

// Feeds `response` in reads of the given sizes (the rest in one) after a request was written.
std::string Read(mmc_http_stream& s, std::string response, const std::vector<size_t>& cuts,
                 Decider& d) {
  size_t at = 0;
  for (size_t i = 0; at < response.size(); ++i) {
    size_t n = i < cuts.size() ? std::min(cuts[i], response.size() - at) : response.size() - at;
    mmc_http_read(&s, reinterpret_cast<uint8_t*>(response.data()) + at, n, Decider::Fn, &d);
    at += n;
  }
  return response;
}

void Request(mmc_http_stream& s, const std::string& req) {
  mmc_http_wrote(&s, reinterpret_cast<const uint8_t*>(req.data()), req.size());
}

// A stream on which the engine has just written `req`.
mmc_http_stream Requested(const std::string& req) {
  mmc_http_stream s{};
  Request(s, req);
  return s;
}

const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST(HttpStream, RewritesTheStatusOfTheResponseToARequest) {
  Decider d;
  mmc_http_stream s = Requested("GET /api/v3/ticker HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(Read(s, kOk, {}, d), "HTTP/1.1 429 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(d.calls, 1);
}

TEST(HttpStream, StatusLineCutAnywhereAcrossReads) {
  for (size_t cut = 1; cut < 14; ++cut) {
    SCOPED_TRACE(cut);
    Decider d{.code = "503"};
    mmc_http_stream s = Requested("POST /api/v3/order HTTP/1.1\r\n");
    EXPECT_EQ(Read(s, kOk, {cut}, d), "HTTP/1.1 503 OK\r\nContent-Length: 2\r\n\r\nok");
    EXPECT_EQ(d.calls, 1);
  }
  Decider d;
  mmc_http_stream s = Requested("GET / HTTP/1.1\r\n");
  EXPECT_EQ(Read(s, kOk, std::vector<size_t>(kOk.size(), 1), d),
            "HTTP/1.1 429 OK\r\nContent-Length: 2\r\n\r\nok")
      << "one byte per read";
}

TEST(HttpStream, KeepAliveEveryResponseOnceAndNothingElse) {
  mmc_http_stream s{};
  Decider d;
  // A chunked body holding a status-line look-alike, then a second request and response.
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nHTTP/1.1 200 OK!\r\n0\r\n\r\n";
  Request(s, "GET /a HTTP/1.1\r\n\r\n");
  std::string got = Read(s, chunked, {20, 7}, d);
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 429");
  EXPECT_EQ(got.substr(12), chunked.substr(12)) << "the body is never touched";
  // Bytes read with no request outstanding (server push, a late body) are not looked at.
  EXPECT_EQ(Read(s, kOk, {}, d), kOk);
  Request(s, "GET /b HTTP/1.1\r\n\r\n");
  EXPECT_EQ(Read(s, kOk, {3}, d).substr(0, 12), "HTTP/1.1 429");
  EXPECT_EQ(d.calls, 2);
}

TEST(HttpStream, LeavesAloneWhatItCannotFollow) {
  Decider d;
  for (const std::string& resp :
       {std::string("HTTP/1.1 101 Switching Protocols\r\n\r\n"),  // WebSocket upgrade
        std::string("\x00\x00\x12\x04\x00\x00\x00\x00\x00", 9),   // an HTTP/2 frame
        std::string("HTTP/2 200\r\n\r\n")}) {
    mmc_http_stream s = Requested("GET /ws HTTP/1.1\r\n");
    EXPECT_EQ(Read(s, resp, {}, d), resp);
  }
  EXPECT_EQ(d.calls, 0);
  // Body writes (JSON) do not arm; only request lines do.
  mmc_http_stream s = Requested("{\"symbol\":\"BTCUSDT\"}");
  EXPECT_EQ(Read(s, kOk, {}, d), kOk);
  EXPECT_EQ(d.calls, 0);
}

TEST(HttpStream, ShadowDecidesAndChangesNoByte) {
  Decider d{.act = false};
  mmc_http_stream s = Requested("GET / HTTP/1.1\r\n");
  EXPECT_EQ(Read(s, kOk, {10}, d), kOk);
  EXPECT_EQ(d.calls, 1);
}

// The REST accounting's status: what the engine gets (after a rewrite, not what the server
// sent), once the three digits have passed, however the line is cut; 0 when nothing was
// followed to the end.
TEST(HttpStream, StatusAsTheEngineGetsItForTheAccounting) {
  for (size_t cut = 1; cut < 14; ++cut) {
    SCOPED_TRACE(cut);
    Decider d{.code = "503"};
    mmc_http_stream s = Requested("GET / HTTP/1.1\r\n");
    Read(s, kOk, {cut}, d);
    EXPECT_EQ(s.pos, 12);
    EXPECT_EQ(s.status, 503);
    Decider off{.act = false};
    mmc_http_stream shadow = Requested("GET / HTTP/1.1\r\n");
    Read(shadow, kOk, {cut}, off);
    EXPECT_EQ(shadow.status, 200) << "shadow: the server's status";
  }
  Decider d;
  mmc_http_stream s = Requested("GET / HTTP/1.1\r\n");
  Read(s, "HTTP/1.1 100 Continue\r\n\r\n", {}, d);
  EXPECT_TRUE(s.expect) << "a 1xx is not a final status: the final one is still to come";
  Request(s, "GET / HTTP/1.1\r\n");
  EXPECT_EQ(s.status, 0) << "a new request starts from nothing";
  EXPECT_EQ(s.interim, 0);
}

// Interim answers (100 Continue, 103 Early Hints with headers, one after another) pass untouched
// and undecided; the final response after them is decided once, wherever the reads cut them.
TEST(HttpStream, InterimAnswersPassAndTheFinalOneIsDecided) {
  const std::string interim =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
  const std::string in = interim + kOk, want = interim + "HTTP/1.1 429" + kOk.substr(12);
  auto check = [&](const std::vector<size_t>& cuts) {
    mmc_http_stream s{};
    Decider d;
    Request(s, "POST /api/v3/order HTTP/1.1\r\nExpect: 100-continue\r\n\r\n");
    EXPECT_EQ(Read(s, in, cuts, d), want);
    EXPECT_EQ(d.calls, 1);
    EXPECT_FALSE(s.expect);
    EXPECT_EQ(s.pos, 12);
    EXPECT_EQ(s.status, 429) << "the accounting's status is the final one's";
  };
  for (size_t cut = 1; cut < in.size(); ++cut) {
    SCOPED_TRACE(cut);
    check({cut});
  }
  check(std::vector<size_t>(in.size(), 1));
  // A bare LF ends lines too; a CR alone does not end the head.
  mmc_http_stream s{};
  Decider d;
  Request(s, "GET / HTTP/1.1\r\n");
  EXPECT_EQ(Read(s, "HTTP/1.1 100 Continue\n\n" + kOk, {}, d).substr(23, 12), "HTTP/1.1 429");
  mmc_http_stream cr{};
  Request(cr, "GET / HTTP/1.1\r\n");
  EXPECT_EQ(Read(cr, "HTTP/1.1 100 Continue\r\rHTTP/1.1 200 OK\r\n", {}, d),
            "HTTP/1.1 100 Continue\r\rHTTP/1.1 200 OK\r\n");
  EXPECT_TRUE(cr.expect) << "still in the interim head";
}

// 101 (a WebSocket upgrade) is the last HTTP answer on the connection: never decided, and what
// follows it (the WebSocket's frames) is not looked at; the request ends with status 101.
TEST(HttpStream, AnUpgradeEndsTheAnswerAndNothingAfterIsLookedAt) {
  const std::string in = "HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\n";
  for (size_t cut = 1; cut < in.size(); ++cut) {
    SCOPED_TRACE(cut);
    mmc_http_stream s{};
    Decider d;
    Request(s, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
    EXPECT_EQ(Read(s, in, {cut}, d), in);
    EXPECT_EQ(d.calls, 0);
    EXPECT_FALSE(s.expect);
    EXPECT_EQ(s.status, 101);
  }
}

TEST(HttpStream, RequestHostAsTheEngineNamesIt) {
  auto host = [](const std::string& req, std::string* h, uint16_t* port) {
    char buf[64];
    int ok = mmc_http_request_host(reinterpret_cast<const uint8_t*>(req.data()), req.size(), buf,
                                   sizeof(buf), port, 443);
    if (ok) *h = buf;
    return ok;
  };
  std::string h;
  uint16_t port = 0;
  ASSERT_TRUE(host("GET / HTTP/1.1\r\nHost: API.Binance.com\r\n\r\n", &h, &port));
  EXPECT_EQ(h, "api.binance.com");
  EXPECT_EQ(port, 443);
  ASSERT_TRUE(host("POST /o HTTP/1.1\r\nUser-Agent: x\r\nhost:10.77.1.2:8443\r\n\r\n", &h, &port));
  EXPECT_EQ(h, "10.77.1.2");
  EXPECT_EQ(port, 8443);
  ASSERT_TRUE(host("GET / HTTP/1.1\r\nHost: [fd77:1::2]:9443\r\n\r\n", &h, &port));
  EXPECT_EQ(h, "fd77:1::2");
  EXPECT_EQ(port, 9443);
  EXPECT_FALSE(host("GET / HTTP/1.1\r\nX-Host: a\r\n\r\nHost: b\r\n", &h, &port))
      << "only in the head";
  EXPECT_FALSE(host("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", &h, &port));
  EXPECT_FALSE(host("GET / HTTP/1.1\r\nHost: " + std::string(80, 'a') + "\r\n\r\n", &h, &port));
}

// --- the decision ------------------------------------------------------------------------------

constexpr uint64_t kS = 1000000000ULL;

mmc_tls_view View() {
  mmc_tls_view v{};
  v.armed = 1;
  v.seed = 7;
  v.epoch_ns = 10 * kS;
  v.on_ns = 2 * kS;
  v.off_ns = 2 * kS;
  v.heartbeat_timeout_ns = kS;
  v.heartbeat_ns = 10 * kS;
  v.rollout_threshold = MMC_P_ONE;
  std::memcpy(v.status_5xx, "503", 3);
  return v;
}

struct Decided {
  int act;
  std::string code;
  enum mmc_tls_verdict verdicts[MMC_TLS_SCENARIOS];
};

Decided Decide(const mmc_tls_view& v, uint64_t now, uint32_t draw = 0, uint64_t flow = 1) {
  Decided d{};
  uint32_t draws[MMC_TLS_SCENARIOS] = {draw, draw, draw};
  uint8_t code[3] = {'2', '0', '0'};
  d.act = mmc_tls_decide(&v, flow, now, draws, d.verdicts, code);
  d.code.assign(reinterpret_cast<char*>(code), 3);
  return d;
}

TEST(TlsDecision, ProbabilityScheduleHeartbeatAndOrder) {
  mmc_tls_view v = View();
  v.prob[1] = MMC_P_ONE / 2;  // exch_429 0.5
  v.prob[2] = MMC_P_ONE;      // exch_5xx 1.0
  const uint64_t on = 10 * kS + kS / 2;
  Decided d = Decide(v, on, 0);
  EXPECT_EQ(d.act, 1);
  EXPECT_EQ(d.code, "429") << "exch_429 comes before exch_5xx";
  EXPECT_EQ(d.verdicts[1], MMC_TLS_LIVE);
  EXPECT_EQ(d.verdicts[2], MMC_TLS_SKIP) << "not asked once one acted";
  d = Decide(v, on, 0x90000000u);  // above 0.5: no 429, then the 5xx
  EXPECT_EQ(d.code, "503");
  EXPECT_EQ(d.verdicts[1], MMC_TLS_SKIP);
  EXPECT_EQ(Decide(v, 12 * kS + kS / 2).act, 0) << "off-phase";
  EXPECT_EQ(Decide(v, 9 * kS).act, 0) << "before the epoch";
  v.heartbeat_ns = on - 2 * kS;
  EXPECT_EQ(Decide(v, on).act, 0) << "a dead controller";
  v = View();
  v.prob[1] = MMC_P_ONE;
  v.armed = 0;
  EXPECT_EQ(Decide(v, 10 * kS + 1).act, 0);
}

TEST(TlsDecision, ShadowCountsEveryScenarioAndActsOnNone) {
  mmc_tls_view v = View();
  v.dry_run = 1;
  v.prob[1] = MMC_P_ONE;
  v.prob[2] = MMC_P_ONE;
  Decided d = Decide(v, 10 * kS + 1);
  EXPECT_EQ(d.act, 0);
  EXPECT_EQ(d.code, "200");
  EXPECT_EQ(d.verdicts[1], MMC_TLS_SHADOW);
  EXPECT_EQ(d.verdicts[2], MMC_TLS_SHADOW) << "as the data plane's else-if chain in shadow mode";
}

// A storm burst turns every response into 429, or none: drawn once per burst (the data plane's
// hash of the burst index and the run's seed), whatever the per-response draw.
TEST(TlsDecision, StormIsOneDrawPerBurst) {
  mmc_tls_view v = View();
  v.prob[0] = MMC_P_ONE / 2;
  v.heartbeat_timeout_ns = 0;  // no dead-man check: 200 bursts of simulated time
  int storms = 0;
  for (uint64_t burst = 0; burst < 200; ++burst) {
    const uint64_t start = v.epoch_ns + burst * 4 * kS;
    const int first = Decide(v, start + 1, 0xffffffffu).act;
    for (uint64_t t = 0; t < 10; ++t)
      ASSERT_EQ(Decide(v, start + t * kS / 5, static_cast<uint32_t>(t * 0x1999999u)).act, first);
    storms += first;
    const uint32_t h = mmc_flow_hash(burst, v.seed ^ 0x5743u);
    EXPECT_EQ(first, h < MMC_P_ONE / 2 ? 1 : 0);
  }
  EXPECT_GT(storms, 60);
  EXPECT_LT(storms, 140);
}

TEST(TlsDecision, RolloutByFlowAsTheDataPlane) {
  mmc_tls_view v = View();
  v.prob[1] = MMC_P_ONE;
  v.rollout_threshold = MMC_P_ONE / 4;
  int in = 0;
  for (uint64_t flow = 1; flow <= 400; ++flow) {
    int act = Decide(v, 10 * kS + 1, 0, flow).act;
    EXPECT_EQ(act, mmc_flow_hash(flow, v.seed) < MMC_P_ONE / 4 ? 1 : 0);
    in += act;
  }
  EXPECT_GT(in, 60);
  EXPECT_LT(in, 140);
}

// reconcile_mismatch on TLS: per order request, the same steps as the response scenarios (its own
// threshold, schedule, dead-man, shadow), and order requests told by the configured line prefixes.
TEST(TlsDecision, ReconcilePerOrderRequest) {
  mmc_tls_view v = View();
  const uint64_t on = 10 * kS + kS / 2;
  EXPECT_EQ(mmc_tls_decide_reconcile(&v, 1, on, 0), MMC_TLS_SKIP) << "not configured";
  v.prob_reconcile = MMC_P_ONE / 4;
  EXPECT_EQ(mmc_tls_decide_reconcile(&v, 1, on, 0), MMC_TLS_LIVE);
  EXPECT_EQ(mmc_tls_decide_reconcile(&v, 1, on, 0x50000000u), MMC_TLS_SKIP) << "above 0.25";
  EXPECT_EQ(mmc_tls_decide_reconcile(&v, 1, 12 * kS + kS / 2, 0), MMC_TLS_SKIP) << "off-phase";
  v.dry_run = 1;
  EXPECT_EQ(mmc_tls_decide_reconcile(&v, 1, on, 0), MMC_TLS_SHADOW);
  v.heartbeat_ns = on - 2 * kS;
  EXPECT_EQ(mmc_tls_decide_reconcile(&v, 1, on, 0), MMC_TLS_SKIP) << "a dead controller";
  v = View();
  v.prob[1] = MMC_P_ONE;
  EXPECT_EQ(mmc_tls_decide_reconcile(&v, 1, on, 0), MMC_TLS_SKIP)
      << "exch_429's threshold is not its";
}

TEST(TlsDecision, OrderLinesArePrefixesOfTheRequestLine) {
  __u8 lines[MMC_TLS_ORDER_LINES][MMC_TLS_ORDER_LEN] = {};
  auto is = [&](const std::string& req) {
    return mmc_tls_order_line(lines, reinterpret_cast<const __u8*>(req.data()), req.size());
  };
  EXPECT_EQ(is("POST /api/v3/order HTTP/1.1\r\n"), -1) << "no line configured";
  std::strcpy(reinterpret_cast<char*>(lines[0]), "POST /api/v3/order");
  std::strcpy(reinterpret_cast<char*>(lines[2]), "DELETE /api/v3/order");
  EXPECT_EQ(is("POST /api/v3/order HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  EXPECT_EQ(is("POST /api/v3/orderList HTTP/1.1\r\n"), 0) << "a prefix, as the data plane";
  EXPECT_EQ(is("DELETE /api/v3/order?id=1 HTTP/1.1\r\n"), 2);
  EXPECT_EQ(is("GET /api/v3/order HTTP/1.1\r\n"), -1);
  EXPECT_EQ(is("POST /api/v3/ord"), -1) << "a request cut short of the line";
  std::memset(lines[3], 'A', MMC_TLS_ORDER_LEN);  // no NUL: bounded by the slot
  EXPECT_EQ(is(std::string(MMC_TLS_ORDER_LEN + 5, 'A')), 3);
}

}  // namespace

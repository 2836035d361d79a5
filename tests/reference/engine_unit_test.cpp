// The engine's logic without sockets: URLs, backoff, percentiles, seq checks, reconciliation,
// the summary, and name resolution of local names.
#include <gtest/gtest.h>

#include <cmath>

#include "backoff.h"
#include "metrics.h"
#include "name_resolver.h"
#include "order_view.h"
#include "percentile.h"
#include "seq_tracker.h"
#include "url.h"

namespace refengine {
namespace {
using namespace std::chrono_literals;

TEST(Url, ParsesHttpAndWs) {
  auto u = refcommon::parse_url("http://exchange.test:8080");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "exchange.test");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/");
  auto w = refcommon::parse_url("ws://[::1]:9001/ws?x=1");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->host, "::1");
  EXPECT_EQ(w->target, "/ws?x=1");
  EXPECT_EQ(w->host_header(), "[::1]:9001");
  EXPECT_EQ(refcommon::parse_url("ws://h/ws")->port, 80);
}

TEST(Url, TlsSchemesDefaultTo443) {
  auto u = refcommon::parse_url("https://api.exchange.test");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls());
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->plain_scheme(), "http");
  auto w = refcommon::parse_url("wss://stream.exchange.test:9443/ws");
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->tls());
  EXPECT_EQ(w->port, 9443);
  EXPECT_EQ(w->plain_scheme(), "ws");
  EXPECT_FALSE(refcommon::parse_url("ws://h/ws")->tls());
}

TEST(Url, RejectsWhatIsNotAnExchangeUrl) {
  std::string err;
  EXPECT_FALSE(refcommon::parse_url("ftp://h:1", &err));
  EXPECT_NE(err.find("scheme"), std::string::npos);
  EXPECT_FALSE(refcommon::parse_url("h:1"));
  EXPECT_FALSE(refcommon::parse_url("http://:1"));
  EXPECT_FALSE(refcommon::parse_url("http://h:99999"));
  EXPECT_FALSE(refcommon::parse_url("http://h:0"));
  EXPECT_FALSE(refcommon::parse_url("http://h:x"));
}

TEST(Url, HostPort) {
  auto hp = refcommon::parse_host_port("127.0.0.1:0");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->first, "127.0.0.1");
  EXPECT_EQ(hp->second, 0);
  EXPECT_FALSE(refcommon::parse_host_port("127.0.0.1"));
}

TEST(Backoff, DoublesUpToTheCapAndResets) {
  Backoff b(100ms, 1000ms);
  EXPECT_EQ(b.next(), 100ms);
  EXPECT_EQ(b.next(), 200ms);
  EXPECT_EQ(b.next(), 400ms);
  EXPECT_EQ(b.next(), 800ms);
  EXPECT_EQ(b.next(), 1000ms);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.next(), 1000ms);
  b.reset();
  EXPECT_EQ(b.next(), 100ms);
}

TEST(RetryAfter, DeltaSecondsOnly) {
  EXPECT_EQ(parse_retry_after("3"), 3000ms);
  EXPECT_EQ(parse_retry_after(" 0 "), 0ms);
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(parse_retry_after("-1"));
  EXPECT_FALSE(parse_retry_after(""));
}

TEST(Percentile, NearestRank) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 95), 95);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile(v, 0), 1);
  EXPECT_EQ(percentile({7}, 99), 7);
  EXPECT_EQ(percentile({3, 1, 2}, 50), 2);
  EXPECT_TRUE(std::isnan(percentile({}, 50)));
}

TEST(SampleSet, ExactUntilCapacityThenBounded) {
  SampleSet s(1000);
  for (int i = 1; i <= 1000; ++i) s.add(i);
  EXPECT_EQ(s.percentile(50), 500);
  for (int i = 0; i < 100000; ++i) s.add(1000);
  EXPECT_EQ(s.count(), 101000u);
  EXPECT_EQ(s.max(), 1000);
  EXPECT_EQ(s.percentile(50), 1000);  // a uniform sample is dominated by the later values
}

TEST(SeqTracker, GapsAndRegressions) {
  SeqTracker t;
  EXPECT_EQ(t.on_message(10).missed, 0u);  // baseline
  EXPECT_EQ(t.on_message(11).missed, 0u);
  EXPECT_EQ(t.on_message(14).missed, 2u);
  auto r = t.on_message(14);
  EXPECT_TRUE(r.out_of_order);
  EXPECT_TRUE(t.on_message(3).out_of_order);
  EXPECT_EQ(t.on_message(15).missed, 0u);
  t.reset();  // a new connection starts over
  EXPECT_EQ(t.on_message(1).missed, 0u);
  EXPECT_FALSE(t.on_message(1).missed);
}

TEST(OrderView, ReconcileCountsBothKindsAndAdopts) {
  OrderView view;
  view.add({1, "a", false});
  view.add({2, "b", false});
  view.add({3, "c", false});
  view.mark_cancel_pending(3);
  EXPECT_EQ(view.active(), 2u);
  EXPECT_EQ(view.oldest_active(), 1u);
  // The exchange has 2 and 4 (a place whose answer was lost); 1 and 3 are gone.
  ReconcileDiff d = view.reconcile({{2, "b", false}, {4, "d", false}});
  EXPECT_EQ(d.missing_on_engine, std::vector<uint64_t>{4});
  EXPECT_EQ(d.missing_on_exchange, (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(view.size(), 2u);
  EXPECT_EQ(view.active(), 2u);
  EXPECT_EQ(view.oldest_active(), 2u);
  EXPECT_TRUE(view.reconcile({{2, "b", false}, {4, "d", false}}).missing_on_engine.empty());
}

TEST(OrderView, AgreementIsNoDiscrepancy) {
  OrderView view;
  view.add({5, "x", false});
  ReconcileDiff d = view.reconcile({{5, "x", false}});
  EXPECT_TRUE(d.missing_on_engine.empty());
  EXPECT_TRUE(d.missing_on_exchange.empty());
}

TEST(Metrics, SummaryCountsAndPercentiles) {
  Metrics m;
  for (int i = 1; i <= 100; ++i) m.request("place", "200", i / 1000.0);
  m.request("place", "timeout", std::nullopt);
  m.deadline_miss("place");
  m.request("cancel", "429", 0.001);
  m.reconnect_attempt("ws");
  m.ws_message(std::nullopt, 0.5);
  m.ws_message(50.0, 0.5);
  m.ws_seq_gap(3);
  m.discrepancies("missing_on_engine", 2);
  m.dns_lookup(false, 0.01);
  m.tick();
  auto s = m.summary();
  EXPECT_EQ(s["requests"]["place"]["200"], 100);
  EXPECT_EQ(s["requests"]["place"]["timeout"], 1);
  EXPECT_EQ(s["requests_total"], 102);
  EXPECT_EQ(s["deadline_miss"]["place"], 1);
  EXPECT_NEAR(s["latency_ms"]["place"]["p50"].get<double>(), 50, 1e-9);
  EXPECT_NEAR(s["latency_ms"]["place"]["p95"].get<double>(), 95, 1e-9);
  EXPECT_NEAR(s["latency_ms"]["place"]["p99"].get<double>(), 99, 1e-9);
  EXPECT_EQ(s["reconnect_attempts"]["ws"], 1);
  EXPECT_EQ(s["reconnect_attempts"]["rest"], 0);
  EXPECT_EQ(s["ws"]["messages"], 2);
  EXPECT_EQ(s["ws"]["seq_gaps"], 1);
  EXPECT_EQ(s["ws"]["missed_messages"], 3);
  EXPECT_EQ(s["reconcile"]["discrepancies"]["missing_on_engine"], 2);
  EXPECT_EQ(s["reconcile"]["discrepancies"]["missing_on_exchange"], 0);
  EXPECT_EQ(s["dns"]["failures"], 1);
  EXPECT_EQ(s["ticks"], 1);
}

TEST(NameResolver, ResolvesLocalNamesAndAddresses) {
  refnet::asio::io_context ioc;
  Resolution by_name, by_addr;
  refnet::asio::co_spawn(
      ioc,
      [&]() -> refnet::asio::awaitable<void> {
        by_name = co_await resolve("localhost", 80, 2000ms);  // /etc/hosts, no DNS server
        by_addr = co_await resolve("127.0.0.1", 81, 2000ms);
      },
      refnet::asio::detached);
  ioc.run();
  ASSERT_TRUE(by_name.ok()) << by_name.error;
  EXPECT_FALSE(by_name.endpoints.empty());
  ASSERT_TRUE(by_addr.ok()) << by_addr.error;
  ASSERT_EQ(by_addr.endpoints.size(), 1u);
  EXPECT_EQ(by_addr.endpoints[0].address().to_string(), "127.0.0.1");
  EXPECT_EQ(by_addr.endpoints[0].port(), 81);
}

}  // namespace
}  // namespace refengine

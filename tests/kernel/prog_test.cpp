// The real entry points (mmc_egress, mmc_ingress, mmc_tc_ingress) packet by packet through
// BPF_PROG_TEST_RUN, with their config, heartbeat, endpoint and socket-tag maps seeded: verdict,
// bytes out and counters per case. Modelled on Cilium's bpf/tests (seed maps, run the real
// program, check) and katran's lib/testing (a table of packets and expectations). No topology and
// no traffic: one scratch netns holds a veth (BPF_PROG_TEST_RUN needs an ifindex other than
// loopback's) and the loopback sockets the tc hook looks up.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>

#include "common/fd.h"
#include "fixture.h"
#include "loader/counters.h"
#include "mmchaos_bpf.skel.h"
#include "packet.h"
#include "tc/netns.h"

namespace mmchaos::testing {
namespace {

constexpr uint64_t kMs = 1000000ULL;

uint64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

struct RunResult {
  uint32_t retval = 0;
  Bytes out;
  uint32_t mark = 0, priority = 0;
  uint64_t tstamp = 0;
};

class Prog : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_.emplace("mmcprog" + std::to_string(getpid()));
    ASSERT_EQ(Sh("ip -n " + ns_->name() + " link set lo up && ip -n " + ns_->name() +
                 " link add mmcp0 type veth peer name mmcp1 && ip -n " + ns_->name() +
                 " link set mmcp0 up"),
              0);
    auto g = NetnsGuard::Enter(ns_->path());
    ASSERT_TRUE(g) << g.error().message();
    guard_.emplace(std::move(*g));
    ifindex_ = if_nametoindex("mmcp0");
    ASSERT_GT(ifindex_, 1u);
    skel_ = mmchaos_bpf__open_and_load();
    ASSERT_NE(skel_, nullptr) << "loading the data plane (root needed): " << strerror(errno);
    cfg_.armed = 1;
    cfg_.on_ns = 3600ULL * 1000 * kMs;  // always on from epoch 0
    cfg_.rollout_threshold = MMC_P_ONE;
    cfg_.events_per_sec = 1000;
    cfg_.tag_sockets = 1;
    cfg_.status_5xx[0] = '5', cfg_.status_5xx[1] = '0', cfg_.status_5xx[2] = '3';
  }

  void TearDown() override {
    if (skel_) mmchaos_bpf__destroy(skel_);
    guard_.reset();
    ns_.reset();
  }

  void Apply() {
    uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_cfg), &zero, &cfg_, BPF_ANY), 0);
  }

  void Heartbeat(uint64_t ns) {
    uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_hb), &zero, &ns, BPF_ANY), 0);
  }

  Counters Count() {
    auto c = ReadCounters(bpf_map__fd(skel_->maps.mmc_counters));
    EXPECT_TRUE(c) << c.error().message();
    return c ? *c : Counters{};
  }

  // mark: what the packet carries in (someone's mark, or ours from an earlier hook).
  RunResult Run(bpf_program* prog, const Bytes& in, uint32_t mark = 0) {
    RunResult r;
    r.out.resize(in.size() + 64);
    __sk_buff ctx{};
    ctx.ifindex = ifindex_;
    ctx.mark = mark;
    __sk_buff ctx_out{};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
                .data_size_in = static_cast<uint32_t>(in.size()),
                .data_size_out = static_cast<uint32_t>(r.out.size()), .ctx_in = &ctx,
                .ctx_out = &ctx_out, .ctx_size_in = sizeof(ctx), .ctx_size_out = sizeof(ctx_out),
                .repeat = 1);
    int err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
    EXPECT_EQ(err, 0) << strerror(-err);
    r.retval = opts.retval;
    r.out.resize(opts.data_size_out);
    r.mark = ctx_out.mark;
    r.priority = ctx_out.priority;
    r.tstamp = ctx_out.tstamp;
    return r;
  }

  std::optional<NetNs> ns_;
  std::optional<NetnsGuard> guard_;
  uint32_t ifindex_ = 0;
  mmchaos_bpf* skel_ = nullptr;
  mmc_config cfg_{};
};

// ---- net_loss in the cgroup hooks: the decision's every branch, both directions ----

struct LossCase {
  const char* name;
  double p;
  bool dry_run, armed;
  // heartbeat relative to now (ns); nullopt: no heartbeat check (timeout 0)
  std::optional<int64_t> heartbeat;
  bool dropped;
  uint64_t live, shadow;
};

void PrintTo(const LossCase& c, std::ostream* os) { *os << c.name; }

class ProgNetLoss : public Prog, public ::testing::WithParamInterface<LossCase> {};

TEST_P(ProgNetLoss, VerdictAndCountsPerDirection) {
  const LossCase& c = GetParam();
  cfg_.prob[MMC_SCN_NET_LOSS] = c.p >= 1 ? MMC_P_ONE : 0;
  cfg_.dry_run = c.dry_run;
  cfg_.armed = c.armed;
  cfg_.tag_sockets = 0;
  if (c.heartbeat) cfg_.heartbeat_timeout_ns = 200 * kMs;
  Apply();
  Packet p;
  p.payload = "x";
  for (auto [prog, drop_rc, name] : {std::tuple{skel_->progs.mmc_egress, 2u, "egress"},
                                     std::tuple{skel_->progs.mmc_ingress, 0u, "ingress"}}) {
    // Set just before the run: "slightly ahead" is ahead of the coarse clock the program reads.
    if (c.heartbeat)
      Heartbeat(static_cast<uint64_t>(static_cast<int64_t>(MonoNs()) + *c.heartbeat));
    auto r = Run(prog, p.Build());
    EXPECT_EQ(r.retval, c.dropped ? drop_rc : 1u) << name;
  }
  Counters k = Count();
  EXPECT_EQ(Injections(k, MMC_SCN_NET_LOSS, MMC_MODE_LIVE), 2 * c.live);
  EXPECT_EQ(Injections(k, MMC_SCN_NET_LOSS, MMC_MODE_SHADOW), 2 * c.shadow);
  EXPECT_EQ(k[MMC_STAT_PKTS_EGRESS], 1u);
  EXPECT_EQ(k[MMC_STAT_PKTS_INGRESS], 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ProgNetLoss,
    ::testing::Values(
        LossCase{"P0", 0, false, true, std::nullopt, false, 0, 0},
        LossCase{"P1Live", 1, false, true, std::nullopt, true, 1, 0},
        LossCase{"P1Shadow", 1, true, true, std::nullopt, false, 0, 1},
        LossCase{"Disarmed", 1, false, false, std::nullopt, false, 0, 0},
        LossCase{"FreshHeartbeat", 1, false, true, -50 * static_cast<int64_t>(kMs), true, 1, 0},
        // The controller beats with the precise clock, the program reads the coarse one: a
        // heartbeat just ahead of "now" is the normal case right after every beat.
        LossCase{"HeartbeatSlightlyAhead", 1, false, true, 3 * static_cast<int64_t>(kMs), true, 1,
                 0},
        LossCase{"StaleHeartbeat", 1, false, true, -10000 * static_cast<int64_t>(kMs), false, 0,
                 0}),
    [](const ::testing::TestParamInfo<LossCase>& i) { return std::string(i.param.name); });

// ---- tc ingress: exchange faults on a socket the cgroup hook tagged ----

// A loopback TCP connection in the scratch netns: the tc hook's socket lookup finds `client`,
// the engine's socket, and reads the tag seeded on it.
class ProgTcIngress : public Prog {
 protected:
  explicit ProgTcIngress(bool v6 = false) : v6_(v6) {}

  void SetUp() override {
    Prog::SetUp();
    if (HasFatalFailure()) return;
    const int family = v6_ ? AF_INET6 : AF_INET;
    sockaddr_storage a{};
    socklen_t len = v6_ ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (v6_) {
      auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
      a6->sin6_family = AF_INET6;
      a6->sin6_addr = in6addr_loopback;
    } else {
      auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
      a4->sin_family = AF_INET;
      a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    auto* sa = reinterpret_cast<sockaddr*>(&a);
    auto port = [&] {
      return ntohs(v6_ ? reinterpret_cast<sockaddr_in6*>(&a)->sin6_port
                       : reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    };
    listener_ = UniqueFd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(bind(listener_.get(), sa, len), 0) << strerror(errno);
    ASSERT_EQ(listen(listener_.get(), 1), 0);
    ASSERT_EQ(getsockname(listener_.get(), sa, &len), 0);
    server_port_ = port();
    client_ = UniqueFd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(connect(client_.get(), sa, len), 0);
    ASSERT_EQ(getsockname(client_.get(), sa, &len), 0);
    client_port_ = port();
    accepted_ = UniqueFd(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(accepted_);
    Endpoint(MMC_FLOW_REST);
  }

  // The exchange's end of the connection is an endpoint of this class.
  void Endpoint(uint8_t cls) {
    mmc_endpoint_key key{};
    key.family = v6_ ? AF_INET6 : AF_INET;
    key.port = htons(server_port_);
    if (v6_)
      std::memcpy(key.addr, &in6addr_loopback, 16);
    else
      key.addr[0] = htonl(INADDR_LOOPBACK);
    mmc_endpoint_val val{};
    val.cls = cls;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_endpoints), &key, &val, BPF_ANY), 0);
  }

  void Tag(const mmc_sk_tag& t) {
    int fd = client_.get();
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_sk_tag), &fd, &t, BPF_ANY), 0)
        << strerror(errno);
  }

  // The engine's WebSocket flow (cookie 7) to this endpoint: its tag as the egress hook writes it.
  mmc_sk_tag WsFlow() {
    Endpoint(MMC_FLOW_WS);
    mmc_sk_tag t{};
    t.cls = MMC_FLOW_WS;
    t.cookie = 7;
    Tag(t);
    return t;
  }

  // The interface's mmc_ifaces entry: the ifb inbound delays go to (tcx), 0 on clsact.
  void SetIfb(uint32_t ifb) {
    mmc_iface iface{};
    iface.ifb = ifb;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_ifaces), &ifindex_, &iface, BPF_ANY),
              0);
  }

  mmc_sk_tag ReadTag() {
    int fd = client_.get();
    mmc_sk_tag t{};
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.mmc_sk_tag), &fd, &t), 0);
    return t;
  }

  // A response segment from the exchange to the engine's socket.
  Packet Response(const std::string& payload, uint32_t seq = 1000) const {
    Packet p;
    p.v6 = v6_;
    p.src4[0] = p.dst4[0] = 127, p.src4[1] = p.dst4[1] = 0, p.src4[2] = p.dst4[2] = 0;
    p.src4[3] = p.dst4[3] = 1;
    std::memcpy(p.src6, &in6addr_loopback, 16);
    std::memcpy(p.dst6, &in6addr_loopback, 16);
    p.sport = server_port_;
    p.dport = client_port_;
    p.seq = seq;
    p.payload = payload;
    return p;
  }

  // The status digits of a response as the program left them.
  static std::string Status(const Packet& shape, const Bytes& out) {
    return std::string(out.begin() + static_cast<long>(shape.PayloadOffset()) + 9,
                       out.begin() + static_cast<long>(shape.PayloadOffset()) + 12);
  }

  static mmc_sk_tag RestTag(bool request_pending) {
    mmc_sk_tag t{};
    t.cookie = 42;
    t.cls = MMC_FLOW_REST;
    t.req_pending = request_pending ? 1 : 0;
    return t;
  }

  bool v6_;
  UniqueFd listener_, client_, accepted_;
  uint16_t server_port_ = 0, client_port_ = 0;
};

TEST_F(ProgTcIngress, StatusOfAPendingRequestsResponseBecomes429AndCountsLive) {
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  Apply();
  Tag(RestTag(true));
  Packet p = Response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  auto r = Run(skel_->progs.mmc_tc_ingress, p.Build());
  EXPECT_EQ(r.retval, static_cast<uint32_t>(-1)) << "TC_ACT_UNSPEC: the next filter runs";
  EXPECT_EQ(Status(p, r.out), "429");
  EXPECT_TRUE(L4ChecksumValid(p, r.out));
  Counters k = Count();
  EXPECT_EQ(Injections(k, MMC_SCN_EXCH_429, MMC_MODE_LIVE), 1u);
  EXPECT_EQ(FailedActions(k, MMC_SCN_EXCH_429), 0u);
}

// A retransmission of a judged status line gets the same fate and no new decision, even when a
// new draw would say otherwise (here: the config now says 5xx).
TEST_F(ProgTcIngress, RetransmittedResponseKeepsItsOriginalFate) {
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  Apply();
  Tag(RestTag(true));
  Packet p = Response("HTTP/1.1 200 OK\r\n\r\n", 7000);
  EXPECT_EQ(Status(p, Run(skel_->progs.mmc_tc_ingress, p.Build()).out), "429");
  cfg_.prob[MMC_SCN_EXCH_429] = 0;
  cfg_.prob[MMC_SCN_EXCH_5XX] = MMC_P_ONE;
  Apply();
  auto again = Run(skel_->progs.mmc_tc_ingress, p.Build());
  EXPECT_EQ(Status(p, again.out), "429");
  EXPECT_TRUE(L4ChecksumValid(p, again.out));
  Counters k = Count();
  EXPECT_EQ(Injections(k, MMC_SCN_EXCH_429, MMC_MODE_LIVE), 1u) << "one response, one injection";
  EXPECT_EQ(Injections(k, MMC_SCN_EXCH_5XX, MMC_MODE_LIVE), 0u);
  // Left alone the first time: left alone when retransmitted.
  Packet q = Response("HTTP/1.1 200 OK\r\n\r\n", 9000);
  Tag(RestTag(true));
  cfg_.prob[MMC_SCN_EXCH_5XX] = 0;
  Apply();
  EXPECT_EQ(Status(q, Run(skel_->progs.mmc_tc_ingress, q.Build()).out), "200");
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  Apply();
  EXPECT_EQ(Status(q, Run(skel_->progs.mmc_tc_ingress, q.Build()).out), "200");
}

TEST_F(ProgTcIngress, BodySegmentThatLooksLikeAStatusLineIsLeftAlone) {
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  Apply();
  Tag(RestTag(false));  // the response already started: this is body
  Packet p = Response("HTTP/1.1 200 OK\r\n(a body quoting a response)");
  Bytes in = p.Build();
  auto r = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(r.out, in);
  EXPECT_EQ(Injections(Count(), MMC_SCN_EXCH_429, MMC_MODE_LIVE), 0u);
}

TEST_F(ProgTcIngress, InterimResponsesAreLeftAloneAndTheFinalOneIsJudged) {
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  Apply();
  Tag(RestTag(true));
  for (const char* interim :
       {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 101 Switching Protocols\r\n"}) {
    Packet p = Response(interim, 100);
    Bytes in = p.Build();
    EXPECT_EQ(Run(skel_->progs.mmc_tc_ingress, in).out, in) << interim;
  }
  EXPECT_EQ(Injections(Count(), MMC_SCN_EXCH_429, MMC_MODE_LIVE), 0u);
  Packet final_response = Response("HTTP/1.1 200 OK\r\n\r\n", 125);
  EXPECT_EQ(Status(final_response, Run(skel_->progs.mmc_tc_ingress, final_response.Build()).out),
            "429");
}

TEST_F(ProgTcIngress, ShadowAndStaleHeartbeatLeaveTheBytes) {
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  cfg_.dry_run = 1;
  Apply();
  Tag(RestTag(true));
  Packet p = Response("HTTP/1.1 200 OK\r\n\r\n", 100);
  Bytes in = p.Build();
  EXPECT_EQ(Run(skel_->progs.mmc_tc_ingress, in).out, in);
  EXPECT_EQ(Injections(Count(), MMC_SCN_EXCH_429, MMC_MODE_SHADOW), 1u);

  cfg_.dry_run = 0;
  cfg_.heartbeat_timeout_ns = 200 * kMs;
  Apply();
  Heartbeat(MonoNs() - 1000 * kMs);  // the controller died a second ago
  Tag(RestTag(true));
  Packet q = Response("HTTP/1.1 200 OK\r\n\r\n", 500);
  Bytes in_q = q.Build();
  EXPECT_EQ(Run(skel_->progs.mmc_tc_ingress, in_q).out, in_q);
  Heartbeat(MonoNs() + 2 * kMs);  // just beat (precise clock ahead of the coarse one)
  Tag(RestTag(true));
  Packet s = Response("HTTP/1.1 200 OK\r\n\r\n", 900);
  EXPECT_EQ(Status(s, Run(skel_->progs.mmc_tc_ingress, s.Build()).out), "429");
  Counters k = Count();
  EXPECT_EQ(Injections(k, MMC_SCN_EXCH_429, MMC_MODE_LIVE), 1u);
}

// A status line the packet claims but does not hold (IP length beyond the buffer): the rewrite
// fails, and the decision is counted as a failed action, not as a live injection.
TEST_F(ProgTcIngress, RewriteOutsideThePacketCountsAsFailedNotLive) {
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  Apply();
  Tag(RestTag(true));
  Packet p = Response("HTTP/1.1 200 OK\r\n\r\n");
  Bytes in = p.Build();
  in.resize(p.PayloadOffset() + 9);  // cut right after "HTTP/1.1 "
  auto r = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(r.out, in);
  Counters k = Count();
  EXPECT_EQ(Injections(k, MMC_SCN_EXCH_429, MMC_MODE_LIVE), 0u);
  EXPECT_EQ(FailedActions(k, MMC_SCN_EXCH_429), 1u);
}

TEST_F(ProgTcIngress, WsDisconnectTurnsTheSegmentIntoAReset) {
  Endpoint(MMC_FLOW_WS);
  cfg_.prob[MMC_SCN_WS_DISCONNECT] = MMC_P_ONE;
  Apply();
  mmc_sk_tag t{};
  t.cls = MMC_FLOW_WS;
  Tag(t);
  // A WebSocket payload that happens to begin like an HTTP response: no status rewrite here.
  Packet p = Response("HTTP/1.1 200 as text frame");
  Bytes in = p.Build();
  auto r = Run(skel_->progs.mmc_tc_ingress, in);
  const size_t flags = p.L4Offset() + 13;
  EXPECT_EQ(r.out[flags] & 0x04, 0x04) << "RST";
  EXPECT_EQ(r.out[flags] & 0x09, 0) << "no PSH/FIN";
  EXPECT_EQ(std::string(r.out.begin() + static_cast<long>(p.PayloadOffset()), r.out.end()),
            p.payload);
  EXPECT_TRUE(L4ChecksumValid(p, r.out));
  EXPECT_EQ(Injections(Count(), MMC_SCN_WS_DISCONNECT, MMC_MODE_LIVE), 1u);
}

// ---- every exchange scenario's verdict at the real tc ingress entry point ----

TEST_F(ProgTcIngress, Exch5xxStormAndReconcileEachActOnce) {
  // exch_5xx: the configured 5xx code.
  cfg_.prob[MMC_SCN_EXCH_5XX] = MMC_P_ONE;
  Apply();
  Tag(RestTag(true));
  Packet a = Response("HTTP/1.1 200 OK\r\n\r\n", 100);
  auto ra = Run(skel_->progs.mmc_tc_ingress, a.Build());
  EXPECT_EQ(Status(a, ra.out), "503");
  EXPECT_TRUE(L4ChecksumValid(a, ra.out));
  // rate_limit_storm: this burst is a storm (p = 1), every response in it a 429, and it wins
  // over exch_5xx.
  cfg_.prob[MMC_SCN_RATE_LIMIT_STORM] = MMC_P_ONE;
  Apply();
  for (uint32_t seq : {200u, 300u}) {
    Tag(RestTag(true));
    Packet b = Response("HTTP/1.1 200 OK\r\n\r\n", seq);
    EXPECT_EQ(Status(b, Run(skel_->progs.mmc_tc_ingress, b.Build()).out), "429") << seq;
  }
  // reconcile_mismatch: the egress hook chose this order request's response: it becomes a RST.
  mmc_sk_tag t = RestTag(true);
  t.lose_response = 1;
  Tag(t);
  Packet c = Response("HTTP/1.1 200 OK\r\n\r\n", 400);
  auto rc = Run(skel_->progs.mmc_tc_ingress, c.Build());
  EXPECT_EQ(rc.out[c.L4Offset() + 13] & 0x04, 0x04) << "RST";
  EXPECT_EQ(Status(c, rc.out), "200") << "a reset, not also a rewrite";
  EXPECT_TRUE(L4ChecksumValid(c, rc.out));
  EXPECT_EQ(ReadTag().lose_response, 0) << "one response lost per choice";
  Counters k = Count();
  EXPECT_EQ(Injections(k, MMC_SCN_EXCH_5XX, MMC_MODE_LIVE), 1u);
  EXPECT_EQ(Injections(k, MMC_SCN_RATE_LIMIT_STORM, MMC_MODE_LIVE), 2u);
  EXPECT_EQ(Injections(k, MMC_SCN_RECONCILE_MISMATCH, MMC_MODE_LIVE), 1u);
}

// dns_flap on a UDP socket of the engine's, tagged as its DNS socket: SERVFAIL in place, or the
// answer dropped (timeout); a query (QR clear) is never touched.
class ProgDns : public Prog {
 protected:
  void SetUp() override {
    Prog::SetUp();
    if (HasFatalFailure()) return;
    sock_ = UniqueFd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(53);
    ASSERT_EQ(connect(sock_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    ASSERT_EQ(getsockname(sock_.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    mmc_sk_tag t{};
    t.cls = MMC_FLOW_DNS;
    t.cookie = 9;
    int fd = sock_.get();
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_sk_tag), &fd, &t, BPF_ANY), 0);
    cfg_.prob[MMC_SCN_DNS_FLAP] = MMC_P_ONE;
    cfg_.dns_ports[0] = htons(53);
  }

  Packet Answer(bool response) const {
    Packet p;
    p.proto = IPPROTO_UDP;
    p.src4[0] = p.dst4[0] = 127, p.src4[1] = p.dst4[1] = 0, p.src4[2] = p.dst4[2] = 0;
    p.src4[3] = p.dst4[3] = 1;
    p.sport = 53;
    p.dport = port_;
    // id 0x1234, flags (QR, RD, RA) or a query's, 1 question: "a." A IN.
    p.payload = std::string("\x12\x34", 2) +
                (response ? std::string("\x81\x80", 2) : std::string("\x01\x00", 2)) +
                std::string("\x00\x01\x00\x00\x00\x00\x00\x00\x01\x61\x00\x00\x01\x00\x01", 15);
    return p;
  }

  UniqueFd sock_;
  uint16_t port_ = 0;
};

TEST_F(ProgDns, ServfailInPlaceOrDroppedAndQueriesUntouched) {
  cfg_.dns_rcode = 2;
  Apply();
  Packet p = Answer(true);
  auto r = Run(skel_->progs.mmc_tc_ingress, p.Build());
  EXPECT_EQ(r.retval, static_cast<uint32_t>(-1));
  EXPECT_EQ(r.out[p.PayloadOffset() + 3] & 0x0f, 2) << "SERVFAIL";
  EXPECT_TRUE(L4ChecksumValid(p, r.out));
  Packet q = Answer(false);
  const Bytes query = q.Build();
  EXPECT_EQ(Run(skel_->progs.mmc_tc_ingress, query).out, query);
  cfg_.dns_rcode = MMC_DNS_DROP;
  Apply();
  const Bytes in = p.Build();
  auto d = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(d.retval, 2u) << "TC_ACT_SHOT: the resolver times out";
  EXPECT_EQ(d.out, in);
  EXPECT_EQ(Injections(Count(), MMC_SCN_DNS_FLAP, MMC_MODE_LIVE), 2u);
}

// ---- headers the parser must walk, and packets it must refuse ----

// IPv4 options move the TCP header: the rewrite follows it, and the IP header is left as it was.
TEST_F(ProgTcIngress, Ipv4OptionsAreSkippedAndTheRewriteFollows) {
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  Apply();
  Tag(RestTag(true));
  Packet p = Response("HTTP/1.1 200 OK\r\n\r\n");
  p.ip_options = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};  // router alert, NOPs, EOL
  Bytes in = p.Build();
  auto r = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(Status(p, r.out), "429");
  EXPECT_TRUE(L4ChecksumValid(p, r.out));
  EXPECT_TRUE(std::equal(in.begin(), in.begin() + static_cast<long>(p.L4Offset()), r.out.begin()))
      << "the IP header and its options are not touched";
  EXPECT_EQ(Injections(Count(), MMC_SCN_EXCH_429, MMC_MODE_LIVE), 1u);
}

// Packets cut short anywhere before the bytes a decision needs pass untouched and count nothing
// (no decision, no failed action), in every entry point that parses.
TEST_F(ProgTcIngress, TruncatedPacketsPassUntouchedAndCountNothing) {
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  cfg_.prob[MMC_SCN_LAT_SPIKE] = MMC_P_ONE;
  cfg_.egress_mark = 0x6d6d0001;
  cfg_.egress_class = 0x10010;
  Apply();
  Tag(RestTag(true));
  Packet p = Response("HTTP/1.1 200 OK\r\n\r\n");
  const Bytes whole = p.Build();
  // (BPF_PROG_TEST_RUN itself refuses a packet whose IP header is cut: EINVAL.)
  for (size_t cut : {p.L4Offset(), p.L4Offset() + 12, p.PayloadOffset() - 1}) {
    Bytes in(whole.begin(), whole.begin() + static_cast<long>(cut));
    auto r = Run(skel_->progs.mmc_tc_ingress, in);
    EXPECT_EQ(r.retval, static_cast<uint32_t>(-1)) << "cut at " << cut;
    EXPECT_EQ(r.out, in) << "cut at " << cut;
    // The cgroup hooks see the same bytes from the network header on.
    auto e = Run(skel_->progs.mmc_egress, in);
    EXPECT_EQ(e.retval, 1u) << "cut at " << cut;
    EXPECT_EQ(e.mark, 0u) << "cut at " << cut;
    EXPECT_EQ(Run(skel_->progs.mmc_ingress, in).retval, 1u) << "cut at " << cut;
  }
  Counters k = Count();
  EXPECT_EQ(Injections(k, MMC_SCN_EXCH_429, MMC_MODE_LIVE), 0u);
  EXPECT_EQ(FailedActions(k, MMC_SCN_EXCH_429), 0u);
  EXPECT_EQ(Injections(k, MMC_SCN_LAT_SPIKE, MMC_MODE_LIVE), 0u);
}

// IPv6 extension headers (RFC 8200): hop-by-hop, routing, destination options and an atomic
// fragment are walked to the TCP header; a real fragment, or a chain longer than the parser
// walks, is left alone (no L4 header to trust there) and decides nothing.
Ipv6Ext HopByHop() { return {0, {0, 0, 0x01, 0x04, 0, 0, 0, 0}}; }   // PadN
Ipv6Ext DestOpts() { return {60, {0, 0, 0x01, 0x04, 0, 0, 0, 0}}; }  // PadN
Ipv6Ext Routing() {                                                  // type 2, segments left 0
  Ipv6Ext e{43, Bytes(24, 0)};
  e.bytes[1] = 2, e.bytes[2] = 2;
  return e;
}
Ipv6Ext Fragment(uint16_t offset_and_m) {
  Ipv6Ext e{44, Bytes(8, 0)};
  e.bytes[2] = static_cast<uint8_t>(offset_and_m >> 8), e.bytes[3] = offset_and_m & 0xff;
  e.bytes[7] = 0x2a;  // identification
  return e;
}

struct ExtCase {
  const char* name;
  std::vector<Ipv6Ext> ext;
  bool rewritten;
};
void PrintTo(const ExtCase& c, std::ostream* os) { *os << c.name; }

class ProgTcIngress6 : public ProgTcIngress, public ::testing::WithParamInterface<ExtCase> {
 protected:
  ProgTcIngress6() : ProgTcIngress(true) {}
};

TEST_P(ProgTcIngress6, ExtensionHeadersAreWalkedToTheTcpHeader) {
  const ExtCase& c = GetParam();
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  Apply();
  Tag(RestTag(true));
  Packet p = Response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  p.v6_ext = c.ext;
  Bytes in = p.Build();
  auto r = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(r.retval, static_cast<uint32_t>(-1));
  Counters k = Count();
  if (c.rewritten) {
    EXPECT_EQ(Status(p, r.out), "429");
    EXPECT_TRUE(L4ChecksumValid(p, r.out));
    EXPECT_EQ(Injections(k, MMC_SCN_EXCH_429, MMC_MODE_LIVE), 1u);
  } else {
    EXPECT_EQ(r.out, in);
    EXPECT_EQ(Injections(k, MMC_SCN_EXCH_429, MMC_MODE_LIVE), 0u);
    EXPECT_EQ(FailedActions(k, MMC_SCN_EXCH_429), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ProgTcIngress6,
    ::testing::Values(ExtCase{"NoExtensionHeader", {}, true},
                      ExtCase{"HopByHop", {HopByHop()}, true},
                      ExtCase{"Routing", {Routing()}, true},
                      ExtCase{"DestinationOptions", {DestOpts()}, true},
                      ExtCase{"AtomicFragment", {Fragment(0)}, true},
                      ExtCase{"HopByHopRoutingDestOpts", {HopByHop(), Routing(), DestOpts()}, true},
                      ExtCase{"FirstFragment", {Fragment(0x0001)}, false},
                      ExtCase{"LaterFragment", {Fragment(0x00b8)}, false},
                      ExtCase{"ChainLongerThanWalked",
                              {HopByHop(), DestOpts(), Routing(), DestOpts(), DestOpts()},
                              false}),
    [](const ::testing::TestParamInfo<ExtCase>& i) { return std::string(i.param.name); });

// A truncated extension header chain: refused, not read past.
TEST_F(ProgTcIngress, Ipv6CutInsideAnExtensionHeaderPassesUntouched) {
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  Apply();
  Packet p = Response("HTTP/1.1 200 OK\r\n\r\n");
  p.v6 = true;
  p.v6_ext = {HopByHop(), Routing()};
  const Bytes whole = p.Build();
  Bytes in(whole.begin(), whole.begin() + 14 + 40 + 8 + 12);  // inside the routing header
  EXPECT_EQ(Run(skel_->progs.mmc_tc_ingress, in).out, in);
  EXPECT_EQ(Run(skel_->progs.mmc_egress, in).retval, 1u);
  EXPECT_EQ(FailedActions(Count(), MMC_SCN_EXCH_429), 0u);
}

// ---- the delay scenarios' verdicts: what the data plane hands to netem ----

// lat_spike at the cgroup egress hook: the engine's request segments to a REST endpoint get the
// mark and the netem class; pure ACKs, SYNs, a TLS handshake, someone else's mark, shadow mode
// and a dead controller get nothing.
struct SpikeCase {
  const char* name;
  bool tls = false, v6 = false, dry_run = false, stale = false;
  uint8_t flags = 0x18;
  std::string payload;
  uint32_t mark_in = 0;
  uint16_t dport = 8080;
  bool delayed = false;
};
void PrintTo(const SpikeCase& c, std::ostream* os) { *os << c.name; }

class ProgLatSpike : public Prog, public ::testing::WithParamInterface<SpikeCase> {};

TEST_P(ProgLatSpike, RequestSegmentsAreMarkedForNetemAndNothingElse) {
  const SpikeCase& c = GetParam();
  constexpr uint32_t kMark = 0x6d6d0001, kClass = 0x10010;
  cfg_.prob[MMC_SCN_LAT_SPIKE] = MMC_P_ONE;
  cfg_.egress_mark = kMark;
  cfg_.egress_class = kClass;
  cfg_.dry_run = c.dry_run;
  cfg_.heartbeat_timeout_ns = 200 * kMs;
  Apply();
  Heartbeat(c.stale ? MonoNs() - 1000 * kMs : MonoNs());
  Packet p;
  p.v6 = c.v6;
  if (c.v6) p.v6_ext = {HopByHop()};
  p.sport = 50000, p.dport = c.dport;  // the engine (src) to the exchange (dst) on 8080
  p.tcp_flags = c.flags;
  p.payload = c.payload;
  mmc_endpoint_key key{};
  key.family = c.v6 ? AF_INET6 : AF_INET;
  key.port = htons(8080);
  if (c.v6)
    std::memcpy(key.addr, p.dst6, 16);
  else
    std::memcpy(key.addr, p.dst4, 4);
  mmc_endpoint_val val{};
  val.cls = MMC_FLOW_REST;
  val.tls = c.tls;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_endpoints), &key, &val, BPF_ANY), 0);
  mmc_iface iface{};  // clsact: the filter redirects; the entry says "steer on this interface"
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_ifaces), &ifindex_, &iface, BPF_ANY),
            0);
  Bytes in = p.Build();
  auto r = Run(skel_->progs.mmc_egress, in, c.mark_in);
  EXPECT_EQ(r.retval, 1u) << "always passes";
  // From the network header on: a cgroup program's run does not hand the Ethernet header back.
  EXPECT_TRUE(std::equal(in.begin() + 14, in.end(), r.out.begin() + 14, r.out.end()))
      << "bytes untouched";
  EXPECT_EQ(r.mark, c.delayed ? kMark : c.mark_in);
  if (c.delayed) {
    EXPECT_EQ(r.priority, kClass);
  }
  Counters k = Count();
  EXPECT_EQ(Injections(k, MMC_SCN_LAT_SPIKE, MMC_MODE_LIVE), c.delayed ? 1u : 0u);
  EXPECT_EQ(Injections(k, MMC_SCN_LAT_SPIKE, MMC_MODE_SHADOW),
            c.dry_run && !c.payload.empty() ? 1u : 0u);
}

const std::string kClientHello = std::string("\x16\x03\x01\x00\x04\x01\x00\x00\x00", 9);
const std::string kCcsFinished =
    std::string("\x14\x03\x03\x00\x01\x01\x17\x03\x03\x00\x04\xaa\xbb\xcc\xdd", 15);
const std::string kAppData = std::string("\x17\x03\x03\x00\x04\xaa\xbb\xcc\xdd", 9);

INSTANTIATE_TEST_SUITE_P(
    Table, ProgLatSpike,
    ::testing::Values(
        SpikeCase{
            .name = "Request", .payload = "GET /api/v3/time HTTP/1.1\r\n\r\n", .delayed = true},
        SpikeCase{.name = "RequestBody", .payload = "{\"qty\":1}", .delayed = true},
        SpikeCase{.name = "RequestOverIpv6HopByHop",
                  .v6 = true,
                  .payload = "GET / HTTP/1.1\r\n\r\n",
                  .delayed = true},
        SpikeCase{.name = "PureAck", .flags = 0x10, .payload = ""},
        SpikeCase{.name = "Syn", .flags = 0x02, .payload = ""},
        SpikeCase{.name = "BareFin", .flags = 0x11, .payload = ""},
        SpikeCase{.name = "TlsClientHello", .tls = true, .payload = kClientHello},
        SpikeCase{.name = "TlsChangeCipherSpecAndFinished", .tls = true, .payload = kCcsFinished},
        SpikeCase{.name = "TlsApplicationData", .tls = true, .payload = kAppData, .delayed = true},
        SpikeCase{.name = "NotAnEndpoint", .payload = "GET / HTTP/1.1\r\n\r\n", .dport = 9090},
        SpikeCase{.name = "SomeoneElsesMark", .payload = "GET / HTTP/1.1\r\n\r\n", .mark_in = 7},
        SpikeCase{.name = "Shadow", .dry_run = true, .payload = "GET / HTTP/1.1\r\n\r\n"},
        SpikeCase{.name = "StaleHeartbeat", .stale = true, .payload = "GET / HTTP/1.1\r\n\r\n"}),
    [](const ::testing::TestParamInfo<SpikeCase>& i) { return std::string(i.param.name); });

// ws_lag at tc ingress: the exchange's messages on the engine's WS socket go to the WS netem,
// redirected into the ifb (tcx) or marked for the u32 + mirred filter (clsact); the exchange's
// pure ACKs of the engine's own sends do not; a message that begins like an HTTP response is a
// message, never a status line to rewrite.
TEST_F(ProgTcIngress, WsLagRedirectsMessagesIntoTheIfbAndLeavesAcks) {
  constexpr uint32_t kMark = 0x6d6d0002, kClass = 0x10020, kIfb = 4242;
  cfg_.prob[MMC_SCN_WS_LAG] = MMC_P_ONE;
  cfg_.prob[MMC_SCN_EXCH_429] = MMC_P_ONE;
  cfg_.ingress_mark = kMark;
  cfg_.ingress_class = kClass;
  Apply();
  WsFlow();
  SetIfb(kIfb);
  Packet msg = Response("HTTP/1.1 200 OK, said the order book");
  Bytes in = msg.Build();
  auto r = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(r.retval, 7u) << "TC_ACT_REDIRECT into the ifb";
  EXPECT_EQ(r.priority, kClass);
  EXPECT_EQ(r.out, in) << "a WS message is never rewritten";
  Packet ack = Response("");
  ack.tcp_flags = 0x10;
  Bytes ack_in = ack.Build();
  auto a = Run(skel_->progs.mmc_tc_ingress, ack_in);
  EXPECT_EQ(a.retval, static_cast<uint32_t>(-1));
  EXPECT_EQ(a.priority, 0u);
  Counters k = Count();
  EXPECT_EQ(Injections(k, MMC_SCN_WS_LAG, MMC_MODE_LIVE), 1u);
  EXPECT_EQ(Injections(k, MMC_SCN_EXCH_429, MMC_MODE_LIVE), 0u);

  // clsact (no ifb in the map): marked for the filter, which redirects.
  SetIfb(0);
  auto m = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(m.retval, static_cast<uint32_t>(-1));
  EXPECT_EQ(m.mark, kMark);
  EXPECT_EQ(m.priority, kClass);
  // Someone else's mark on clsact: left alone (the filter matches marks), not counted.
  auto other = Run(skel_->progs.mmc_tc_ingress, in, 99);
  EXPECT_EQ(other.mark, 99u);
  EXPECT_EQ(Injections(Count(), MMC_SCN_WS_LAG, MMC_MODE_LIVE), 2u);
}

// ws_lag at a burst's end: the flow's messages still in the netem must not be overtaken (the
// exchange would take them for lost, and the engine's TCP would drop the late originals as old).
// Until the last delayed one leaves, the flow's packets go to the drain class with that moment as
// their delivery time (EDT), on tcx and on clsact; after it, they pass. Never in shadow.
TEST_F(ProgTcIngress, WsLagHoldsAFlowBehindItsDelayedMessagesOnceTheBurstIsOver) {
  constexpr uint32_t kMark = 0x6d6d0002, kClass = 0x10020, kDrain = 0x10021, kIfb = 4242;
  constexpr uint64_t kHold = 201 * kMs;
  cfg_.prob[MMC_SCN_WS_LAG] = MMC_P_ONE;
  cfg_.ingress_mark = kMark;
  cfg_.ingress_class = kClass;
  cfg_.ingress_drain_class = kDrain;
  cfg_.ws_lag_hold_ns = kHold;
  Apply();
  mmc_sk_tag t = WsFlow();
  SetIfb(kIfb);
  const Bytes in = Response("{\"bids\":[]}").Build();
  const uint64_t before = MonoNs();
  auto delayed = Run(skel_->progs.mmc_tc_ingress, in);
  const uint64_t after = MonoNs();
  ASSERT_EQ(delayed.retval, 7u);
  EXPECT_EQ(delayed.priority, kClass);
  EXPECT_EQ(delayed.tstamp, 0u) << "netem sets its own time";
  const uint64_t until = ReadTag().delay_until_ns;
  EXPECT_GE(until, before + kHold);
  EXPECT_LE(until, after + kHold);

  // The burst is over (it ended 9 s ago and the next is an hour away).
  cfg_.epoch_ns = MonoNs() - 10000 * kMs;
  cfg_.on_ns = 1000 * kMs;
  cfg_.off_ns = 3600ULL * 1000 * kMs;
  Apply();
  auto held = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(held.retval, 7u) << "TC_ACT_REDIRECT into the ifb";
  EXPECT_EQ(held.priority, kDrain);
  EXPECT_EQ(held.tstamp, until) << "released when the flow's last delayed packet leaves";
  EXPECT_EQ(held.out, in);
  Packet ack = Response("");
  ack.tcp_flags = 0x10;
  EXPECT_EQ(Run(skel_->progs.mmc_tc_ingress, ack.Build()).retval, static_cast<uint32_t>(-1))
      << "a pure ACK never waits";

  // clsact: marked for the filter, into the drain class.
  SetIfb(0);
  auto marked = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(marked.retval, static_cast<uint32_t>(-1));
  EXPECT_EQ(marked.mark, kMark);
  EXPECT_EQ(marked.priority, kDrain);
  EXPECT_EQ(marked.tstamp, until);
  Counters k = Count();
  EXPECT_EQ(k[MMC_STAT_WS_LAG_HELD], 2u);
  EXPECT_EQ(Injections(k, MMC_SCN_WS_LAG, MMC_MODE_LIVE), 1u) << "held is not a new injection";

  // Just past that moment, a packet still queues behind the held ones (the fq's timer may be
  // late), due at once; well past it (the grace is 5 ms), nothing waits.
  t.delay_until_ns = MonoNs() - 1 * kMs;
  Tag(t);
  auto grace = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(grace.priority, kDrain);
  EXPECT_EQ(grace.tstamp, t.delay_until_ns);
  t.delay_until_ns = MonoNs() - 10 * kMs;
  Tag(t);
  auto passed = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(passed.mark, 0u);
  EXPECT_EQ(passed.priority, 0u);
  EXPECT_EQ(passed.tstamp, 0u);
  EXPECT_EQ(ReadTag().delay_until_ns, 0u) << "cleared: later packets read no clock";

  // Shadow mode in a burst decides and counts, and leaves nothing to wait for.
  t.delay_until_ns = 0;
  Tag(t);
  cfg_.dry_run = 1;
  cfg_.epoch_ns = 0;
  cfg_.on_ns = 3600ULL * 1000 * kMs;
  cfg_.off_ns = 0;
  Apply();
  auto shadow = Run(skel_->progs.mmc_tc_ingress, in);
  EXPECT_EQ(shadow.mark, 0u);
  EXPECT_EQ(shadow.priority, 0u);
  EXPECT_EQ(ReadTag().delay_until_ns, 0u);
  EXPECT_EQ(Count()[MMC_STAT_WS_LAG_HELD], 3u);
}

// The tcx egress detour: the interface's program sends lat_spike's marked packets into the
// bounce veth with the bounce mark; the veth's far end sends them back out of the interface
// with no mark, and drops anything that did not come this way.
TEST_F(Prog, TcxEgressDetourThroughTheBounceVeth) {
  constexpr uint32_t kMark = 0x6d6d0001, kBounceIn = 31, kIface = 17;
  cfg_.egress_mark = kMark;
  Apply();
  mmc_iface iface{};
  iface.bounce_in = kBounceIn;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_ifaces), &ifindex_, &iface, BPF_ANY),
            0);
  Packet p;
  p.payload = "GET / HTTP/1.1\r\n\r\n";
  const Bytes in = p.Build();
  auto marked = Run(skel_->progs.mmc_tc_egress, in, kMark);
  EXPECT_EQ(marked.retval, 7u) << "TC_ACT_REDIRECT into the bounce veth";
  EXPECT_EQ(marked.mark, MMC_MARK_BOUNCE);
  EXPECT_EQ(marked.out, in);
  for (uint32_t mark : {0u, 7u, MMC_MARK_BOUNCE}) {
    auto r = Run(skel_->progs.mmc_tc_egress, in, mark);
    EXPECT_EQ(r.retval, static_cast<uint32_t>(-1)) << "mark " << mark;
    EXPECT_EQ(r.mark, mark);
  }
  // The far end (this test's interface stands for it) knows where its packets go back out.
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_bounce), &ifindex_, &kIface, BPF_ANY),
            0);
  auto back = Run(skel_->progs.mmc_tc_bounce, in, MMC_MARK_BOUNCE);
  EXPECT_EQ(back.retval, 7u) << "TC_ACT_REDIRECT out of the interface";
  EXPECT_EQ(back.mark, 0u) << "our mark never leaves";
  EXPECT_EQ(back.out, in);
  for (uint32_t mark : {0u, kMark}) {
    EXPECT_EQ(Run(skel_->progs.mmc_tc_bounce, in, mark).retval, 2u) << "TC_ACT_SHOT, mark " << mark;
  }
  EXPECT_EQ(Count()[MMC_STAT_PKTS_TC_EGRESS], 4u);
}

}  // namespace
}  // namespace mmchaos::testing

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

  RunResult Run(bpf_program* prog, const Bytes& in) {
    RunResult r;
    r.out.resize(in.size() + 64);
    __sk_buff ctx{};
    ctx.ifindex = ifindex_;
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
  void SetUp() override {
    Prog::SetUp();
    if (HasFatalFailure()) return;
    listener_ = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ASSERT_EQ(bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(listen(listener_.get(), 1), 0);
    ASSERT_EQ(getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    server_port_ = ntohs(a.sin_port);
    client_ = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(connect(client_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(getsockname(client_.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    client_port_ = ntohs(a.sin_port);
    accepted_ = UniqueFd(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(accepted_);

    mmc_endpoint_key key{};
    key.family = AF_INET;
    key.port = htons(server_port_);
    key.addr[0] = htonl(INADDR_LOOPBACK);
    mmc_endpoint_val val{};
    val.cls = MMC_FLOW_REST;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_endpoints), &key, &val, BPF_ANY), 0);
  }

  void Tag(const mmc_sk_tag& t) {
    int fd = client_.get();
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_sk_tag), &fd, &t, BPF_ANY), 0)
        << strerror(errno);
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
    p.src4[0] = p.dst4[0] = 127, p.src4[1] = p.dst4[1] = 0, p.src4[2] = p.dst4[2] = 0;
    p.src4[3] = p.dst4[3] = 1;
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
  mmc_endpoint_key key{};
  key.family = AF_INET;
  key.port = htons(server_port_);
  key.addr[0] = htonl(INADDR_LOOPBACK);
  mmc_endpoint_val val{};
  val.cls = MMC_FLOW_WS;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.mmc_endpoints), &key, &val, BPF_ANY), 0);
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

}  // namespace
}  // namespace mmchaos::testing

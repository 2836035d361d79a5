// Golden-packet tests of every in-place rewrite: crafted packets through BPF_PROG_TEST_RUN, the
// bytes that come out compared with the expected ones, and checksums verified by an independent
// routine (RFC 1071 over the pseudo header and segment).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "mmchaos_test_bpf.skel.h"

namespace {

using Bytes = std::vector<uint8_t>;

uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

struct Packet {
  bool v6 = false;
  uint8_t proto = IPPROTO_TCP;
  uint32_t seq = 1000;
  uint8_t tcp_flags = 0x18;  // PSH|ACK
  Bytes tcp_options;         // multiple of 4
  std::string payload;

  Bytes Build() const {
    Bytes l4;
    if (proto == IPPROTO_TCP) {
      size_t hl = 20 + tcp_options.size();
      l4.assign(hl, 0);
      l4[0] = 0x1f, l4[1] = 0x90;  // sport 8080
      l4[2] = 0xc3, l4[3] = 0x50;  // dport 50000
      uint32_t s = htonl(seq);
      std::memcpy(&l4[4], &s, 4);
      l4[12] = static_cast<uint8_t>((hl / 4) << 4);
      l4[13] = tcp_flags;
      l4[14] = 0xff, l4[15] = 0xff;
      std::copy(tcp_options.begin(), tcp_options.end(), l4.begin() + 20);
    } else {
      l4.assign(8, 0);
      l4[0] = 0, l4[1] = 53;
      l4[2] = 0xc3, l4[3] = 0x50;
      uint16_t len = htons(static_cast<uint16_t>(8 + payload.size()));
      std::memcpy(&l4[4], &len, 2);
    }
    l4.insert(l4.end(), payload.begin(), payload.end());

    Bytes ip;
    if (!v6) {
      ip.assign(20, 0);
      ip[0] = 0x45;
      uint16_t tot = htons(static_cast<uint16_t>(20 + l4.size()));
      std::memcpy(&ip[2], &tot, 2);
      ip[8] = 64, ip[9] = proto;
      uint8_t src[4] = {10, 20, 0, 2}, dst[4] = {10, 20, 0, 1};
      std::memcpy(&ip[12], src, 4), std::memcpy(&ip[16], dst, 4);
      uint16_t c = htons(Fold(Sum16(ip.data(), 20)));
      std::memcpy(&ip[10], &c, 2);
    } else {
      ip.assign(40, 0);
      ip[0] = 0x60;
      uint16_t pl = htons(static_cast<uint16_t>(l4.size()));
      std::memcpy(&ip[4], &pl, 2);
      ip[6] = proto, ip[7] = 64;
      ip[8] = 0xfd, ip[23] = 2;   // src fd00::2
      ip[24] = 0xfd, ip[39] = 1;  // dst fd00::1
    }
    size_t csum_at = proto == IPPROTO_TCP ? 16 : 6;
    l4[csum_at] = l4[csum_at + 1] = 0;
    uint16_t c = htons(Fold(PseudoSum(ip, l4.size()) + Sum16(l4.data(), l4.size())));
    std::memcpy(&l4[csum_at], &c, 2);

    Bytes eth(14, 0);
    eth[12] = v6 ? 0x86 : 0x08, eth[13] = v6 ? 0xdd : 0x00;
    eth.insert(eth.end(), ip.begin(), ip.end());
    eth.insert(eth.end(), l4.begin(), l4.end());
    return eth;
  }

  uint32_t PseudoSum(const Bytes& ip, size_t l4len) const {
    uint32_t s = 0;
    if (!v6) {
      s = Sum16(&ip[12], 8);
      s += proto + static_cast<uint32_t>(l4len);
    } else {
      s = Sum16(&ip[8], 32);
      s += proto + static_cast<uint32_t>(l4len);
    }
    return s;
  }

  size_t L4Offset() const { return 14 + (v6 ? 40 : 20); }
  size_t PayloadOffset() const {
    return L4Offset() + (proto == IPPROTO_TCP ? 20 + tcp_options.size() : 8);
  }
};

// True when the packet's L4 checksum verifies from scratch.
bool L4ChecksumValid(const Packet& shape, const Bytes& pkt) {
  size_t l4 = shape.L4Offset();
  Bytes ip(pkt.begin() + 14, pkt.begin() + static_cast<long>(l4));
  size_t len = pkt.size() - l4;
  return Fold(shape.PseudoSum(ip, len) + Sum16(&pkt[l4], len)) == 0;
}

class Golden : public ::testing::Test {
 protected:
  void SetUp() override {
    skel_ = mmchaos_test_bpf__open_and_load();
    ASSERT_NE(skel_, nullptr) << "loading the test BPF object (root needed): " << strerror(errno);
  }
  void TearDown() override { mmchaos_test_bpf__destroy(skel_); }

  void Command(uint32_t op, const char* code = "429", uint8_t rcode = 2) {
    uint8_t cmd[8] = {};
    std::memcpy(cmd, &op, 4);
    std::memcpy(cmd + 4, code, 3);
    cmd[7] = rcode;
    uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.test_cmd), &zero, cmd, BPF_ANY), 0);
  }

  Bytes Run(const Bytes& in, uint32_t want_retval = 0) {
    Bytes out(in.size() + 64);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(in.size()),
                .data_size_out = static_cast<uint32_t>(out.size()), .repeat = 1);
    int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.test_rewrite), &opts);
    EXPECT_EQ(err, 0) << strerror(-err);
    EXPECT_NE(opts.retval, 2u) << "the program could not parse the packet";
    EXPECT_EQ(opts.retval, want_retval);
    out.resize(opts.data_size_out);
    return out;
  }

  // in with payload bytes at [from, from+n) replaced, and the L4 checksum field ignored.
  static void ExpectSameBut(const Packet& shape, const Bytes& in, const Bytes& out, size_t from,
                            const std::string& with) {
    ASSERT_EQ(in.size(), out.size());
    size_t base = shape.PayloadOffset() + from;
    size_t csum = shape.L4Offset() + (shape.proto == IPPROTO_TCP ? 16 : 6);
    for (size_t i = 0; i < in.size(); ++i) {
      if (i == csum || i == csum + 1) continue;
      if (i >= base && i < base + with.size())
        EXPECT_EQ(out[i], static_cast<uint8_t>(with[i - base])) << "byte " << i;
      else
        EXPECT_EQ(out[i], in[i]) << "byte " << i << " must not change";
    }
  }

  mmchaos_test_bpf* skel_ = nullptr;
};

TEST_F(Golden, Ipv4StatusLineBecomes429) {
  Packet p;
  p.payload = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  Bytes in = p.Build();
  ASSERT_TRUE(L4ChecksumValid(p, in));
  Command(1, "429");
  Bytes out = Run(in);
  ExpectSameBut(p, in, out, 9, "429");
  EXPECT_TRUE(L4ChecksumValid(p, out));
}

TEST_F(Golden, Ipv6WithTcpOptionsBecomes503) {
  Packet p;
  p.v6 = true;
  p.tcp_options = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};  // NOP NOP timestamps
  p.payload = "HTTP/1.0 201 Created\r\n\r\n";
  Bytes in = p.Build();
  ASSERT_TRUE(L4ChecksumValid(p, in));
  Command(1, "503");
  Bytes out = Run(in);
  ExpectSameBut(p, in, out, 9, "503");
  EXPECT_TRUE(L4ChecksumValid(p, out));
}

TEST_F(Golden, StatusLineSplitAcrossSegments) {
  Command(1, "429");
  Packet a;
  a.seq = 5000;
  a.payload = "HTTP/1.1 2";  // the code's first digit ends the segment
  Bytes in_a = a.Build();
  Bytes out_a = Run(in_a);
  ExpectSameBut(a, in_a, out_a, 9, "4");
  EXPECT_TRUE(L4ChecksumValid(a, out_a));

  Packet b;
  b.seq = 5010;
  b.payload = "00 OK\r\nContent-Length: 0\r\n\r\n";
  Bytes in_b = b.Build();
  Bytes out_b = Run(in_b);
  ExpectSameBut(b, in_b, out_b, 0, "29");
  EXPECT_TRUE(L4ChecksumValid(b, out_b));

  // Done: the next segment of the same flow is left alone.
  Packet c;
  c.seq = 5010 + static_cast<uint32_t>(b.payload.size());
  c.payload = "200 body bytes";
  Bytes in_c = c.Build();
  EXPECT_EQ(Run(in_c), in_c);
}

TEST_F(Golden, NonResponsesAreUntouched) {
  Command(1, "429");
  Packet p;
  p.payload = "GET / HTTP/1.1\r\n\r\n";
  Bytes in = p.Build();
  EXPECT_EQ(Run(in), in);
}

TEST_F(Golden, SegmentBecomesAReset) {
  Command(2);
  for (bool v6 : {false, true}) {
    Packet p;
    p.v6 = v6;
    p.tcp_flags = 0x19;  // FIN|PSH|ACK
    p.payload = "{\"seq\":1}";
    Bytes in = p.Build();
    Bytes out = Run(in);
    EXPECT_EQ(out[p.L4Offset() + 13], 0x14) << "RST|ACK, FIN and PSH cleared";
    EXPECT_TRUE(L4ChecksumValid(p, out)) << (v6 ? "v6" : "v4");
  }
}

TEST_F(Golden, DnsResponseGetsServfailAndQueriesAreUntouched) {
  Command(3, "429", 2);
  Packet r;
  r.proto = IPPROTO_UDP;
  // id 0x1234, flags: QR RD RA, rcode 0; 1 question, 1 answer.
  r.payload = std::string("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00", 12) +
              std::string("\x04test\x00\x00\x01\x00\x01", 10);
  Bytes in = r.Build();
  ASSERT_TRUE(L4ChecksumValid(r, in));
  Bytes out = Run(in);
  EXPECT_EQ(out[r.PayloadOffset() + 3], 0x82);
  EXPECT_TRUE(L4ChecksumValid(r, out));

  Packet q = r;
  q.payload[2] = 0x01;  // QR clear: a query
  q.payload[3] = 0x00;
  Bytes qin = q.Build();
  EXPECT_EQ(Run(qin), qin);
}

TEST_F(Golden, DnsTimeoutDropsResponsesOnlyAndChangesNoByte) {
  constexpr uint32_t kDropped = 1;  // tests/bpf/rewrite_test.bpf.c: TEST_DROPPED
  Packet r;
  r.proto = IPPROTO_UDP;
  r.payload = std::string("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00", 12) +
              std::string("\x04test\x00\x00\x01\x00\x01", 10);
  for (bool v6 : {false, true}) {
    r.v6 = v6;
    Bytes in = r.Build();
    Command(4, "429", 0xff);  // MMC_DNS_DROP
    EXPECT_EQ(Run(in, kDropped), in) << "dropped as is, not rewritten";
    Packet q = r;
    q.payload[2] = 0x01;  // QR clear: a query passes
    Bytes qin = q.Build();
    EXPECT_EQ(Run(qin), qin);
    Command(4, "429", 3);  // nxdomain: the same entry point rewrites instead
    Bytes out = Run(in);
    EXPECT_EQ(out[r.PayloadOffset() + 3], 0x83);
    EXPECT_TRUE(L4ChecksumValid(r, out));
  }
}

}  // namespace

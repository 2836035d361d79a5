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
#include "packet.h"

namespace {

using mmchaos::testing::Bytes;
using mmchaos::testing::L4ChecksumValid;
using mmchaos::testing::Packet;

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

// Crafted Ethernet + IPv4/IPv6 + TCP/UDP packets for BPF_PROG_TEST_RUN tests, with checksums
// computed here and verified by an independent routine (RFC 1071 over pseudo header + segment).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace mmchaos::testing {

using Bytes = std::vector<uint8_t>;

inline uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  return sum;
}

inline uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// An IPv6 extension header: its type and its bytes (a multiple of 8; the first, the next
// header, is filled in by Packet::Build).
struct Ipv6Ext {
  uint8_t type;
  Bytes bytes;
};

struct Packet {
  bool v6 = false;
  Bytes ip_options;             // IPv4 options (a multiple of 4)
  std::vector<Ipv6Ext> v6_ext;  // in order, before the TCP/UDP header
  uint8_t proto = IPPROTO_TCP;
  uint32_t seq = 1000;
  uint8_t tcp_flags = 0x18;  // PSH|ACK
  Bytes tcp_options;         // multiple of 4
  std::string payload;
  uint16_t sport = 0, dport = 50000;  // sport 0: 8080 for TCP, 53 for UDP
  uint8_t src4[4] = {10, 20, 0, 2}, dst4[4] = {10, 20, 0, 1};
  uint8_t src6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};  // fd00::2
  uint8_t dst6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};  // fd00::1

  Bytes Build() const {
    const uint16_t sp = sport ? sport : proto == IPPROTO_TCP ? 8080 : 53;
    Bytes l4;
    if (proto == IPPROTO_TCP) {
      size_t hl = 20 + tcp_options.size();
      l4.assign(hl, 0);
      l4[0] = static_cast<uint8_t>(sp >> 8), l4[1] = static_cast<uint8_t>(sp);
      l4[2] = static_cast<uint8_t>(dport >> 8), l4[3] = static_cast<uint8_t>(dport);
      uint32_t s = htonl(seq);
      std::memcpy(&l4[4], &s, 4);
      l4[12] = static_cast<uint8_t>((hl / 4) << 4);
      l4[13] = tcp_flags;
      l4[14] = 0xff, l4[15] = 0xff;
      std::copy(tcp_options.begin(), tcp_options.end(), l4.begin() + 20);
    } else {
      l4.assign(8, 0);
      l4[0] = static_cast<uint8_t>(sp >> 8), l4[1] = static_cast<uint8_t>(sp);
      l4[2] = static_cast<uint8_t>(dport >> 8), l4[3] = static_cast<uint8_t>(dport);
      uint16_t len = htons(static_cast<uint16_t>(8 + payload.size()));
      std::memcpy(&l4[4], &len, 2);
    }
    l4.insert(l4.end(), payload.begin(), payload.end());

    Bytes ip;
    if (!v6) {
      const size_t hl = 20 + ip_options.size();
      ip.assign(hl, 0);
      ip[0] = static_cast<uint8_t>(0x40 | (hl / 4));
      uint16_t tot = htons(static_cast<uint16_t>(hl + l4.size()));
      std::memcpy(&ip[2], &tot, 2);
      ip[8] = 64, ip[9] = proto;
      std::memcpy(&ip[12], src4, 4), std::memcpy(&ip[16], dst4, 4);
      std::copy(ip_options.begin(), ip_options.end(), ip.begin() + 20);
      uint16_t c = htons(Fold(Sum16(ip.data(), hl)));
      std::memcpy(&ip[10], &c, 2);
    } else {
      ip.assign(40, 0);
      ip[0] = 0x60;
      ip[6] = v6_ext.empty() ? proto : v6_ext.front().type, ip[7] = 64;
      std::memcpy(&ip[8], src6, 16);
      std::memcpy(&ip[24], dst6, 16);
      for (size_t i = 0; i < v6_ext.size(); ++i) {
        Bytes e = v6_ext[i].bytes;
        e[0] = i + 1 < v6_ext.size() ? v6_ext[i + 1].type : proto;
        ip.insert(ip.end(), e.begin(), e.end());
      }
      uint16_t pl = htons(static_cast<uint16_t>(ip.size() - 40 + l4.size()));
      std::memcpy(&ip[4], &pl, 2);
    }
    size_t csum_at = proto == IPPROTO_TCP ? 16 : 6;
    l4[csum_at] = l4[csum_at + 1] = 0;
    uint16_t c = htons(Fold(PseudoSum(ip, l4.size()) + Sum16(l4.data(), l4.size())));
    std::memcpy(&l4[csum_at], &c, 2);

    // Sized once and copied into (g++ 12 at -O3 misreads growing a 14-byte vector by insert
    // as -Warray-bounds).
    Bytes eth(14 + ip.size() + l4.size(), 0);
    eth[12] = v6 ? 0x86 : 0x08, eth[13] = v6 ? 0xdd : 0x00;
    std::copy(ip.begin(), ip.end(), eth.begin() + 14);
    std::copy(l4.begin(), l4.end(), eth.begin() + 14 + static_cast<std::ptrdiff_t>(ip.size()));
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

  size_t L3Length() const {
    if (!v6) return 20 + ip_options.size();
    size_t n = 40;
    for (const Ipv6Ext& e : v6_ext) n += e.bytes.size();
    return n;
  }
  size_t L4Offset() const { return 14 + L3Length(); }
  size_t PayloadOffset() const {
    return L4Offset() + (proto == IPPROTO_TCP ? 20 + tcp_options.size() : 8);
  }
};

// True when the packet's L4 checksum verifies from scratch.
inline bool L4ChecksumValid(const Packet& shape, const Bytes& pkt) {
  size_t l4 = shape.L4Offset();
  Bytes ip(pkt.begin() + 14, pkt.begin() + static_cast<long>(l4));
  size_t len = pkt.size() - l4;
  return Fold(shape.PseudoSum(ip, len) + Sum16(&pkt[l4], len)) == 0;
}

}  // namespace mmchaos::testing

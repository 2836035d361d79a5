// common/url.cpp: the one URL parser (config's URLs and listen address, the engine scrape's GET).
#include "common/url.h"

#include <gtest/gtest.h>

namespace mmchaos {
namespace {

TEST(Url, PartsOfAUrl) {
  auto u = ParseUrl("HTTP://[fd00::2]:9470/metrics?x=1#top", "http", "https");
  ASSERT_TRUE(u.has_value()) << u.error().message();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "fd00::2");
  EXPECT_EQ(u->port, 9470);
  EXPECT_EQ(u->path, "/metrics?x=1");
  EXPECT_FALSE(u->tls);
  u = ParseUrl("wss://stream.example.com", "ws", "wss");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/");
  EXPECT_TRUE(u->tls);
  u = ParseUrl("http://h?q", "http", "https");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "h");
  EXPECT_EQ(u->path, "/?q");
}

TEST(Url, WhatIsWrongIsSaid) {
  auto why = [](const std::string& url) {
    auto u = ParseUrl(url, "http", "https");
    EXPECT_FALSE(u.has_value()) << url;
    return u ? std::string() : u.error().call;
  };
  EXPECT_EQ(why("h:1"), "expected http://HOST[:PORT][/PATH] or https://...");
  EXPECT_EQ(why("ftp://h"), "scheme 'ftp' is not http or https");
  EXPECT_EQ(why("http://u@h"), "user information (user@host) is not supported");
  EXPECT_EQ(why("http://h /x"), "whitespace in URL");
  EXPECT_EQ(why("http://[::1"), "unterminated '[' in IPv6 address");
  EXPECT_EQ(why("http://::1:80"), "an IPv6 address must be in brackets, e.g. [::1]:9464");
  EXPECT_EQ(why("http://h:0"), "port '0' is not in 1..65535");
  EXPECT_EQ(why("http://h:"), "empty port after ':'");
  EXPECT_EQ(why("http://[zz]"), "'zz' is not an IPv6 address");
}

TEST(Url, HostPortAndAddresses) {
  auto hp = SplitHostPort("[::1]:9464");
  ASSERT_TRUE(hp.has_value());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, "9464");
  EXPECT_TRUE(hp->bracketed);
  EXPECT_TRUE(IsLoopback(hp->host, hp->bracketed));
  EXPECT_TRUE(IsLoopback("127.8.0.1", false));
  EXPECT_TRUE(IsLoopback("localhost", false));
  EXPECT_FALSE(IsLoopback("0.0.0.0", false));
  EXPECT_TRUE(IsIpLiteral("2001:db8::7"));
  EXPECT_FALSE(IsIpLiteral("api.example.com"));
  EXPECT_EQ(ParsePort("65535"), 65535);
  EXPECT_FALSE(ParsePort("65536").has_value());
  EXPECT_FALSE(ParsePort("+80").has_value());
}

}  // namespace
}  // namespace mmchaos

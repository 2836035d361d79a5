// chaos.yaml's `target:` section: where the engine runs and the exchanges it talks to (their
// URLs, order requests and pinned addresses).
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/url.h"
#include "config/section.h"

namespace mmchaos {
namespace {

// Linux dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or whitespace.
bool ValidIfname(const std::string& s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c));
  });
}

std::vector<Endpoint> Urls(const Field& f, const std::string& plain, const std::string& tls) {
  std::vector<Endpoint> eps;
  Reader::ForEachItem(f, "URLs", kMaxListItems, [&](const YAML::Node& item) {
    std::string url = Reader::ItemString(item, f.name, "URLs");
    auto u = ParseUrl(url, plain, tls);
    if (!u) Throw(item.Mark(), f.name + ": bad URL " + Shown(url) + ": " + u.error().call);
    eps.push_back(Endpoint{url, u->scheme, u->host, u->port, u->tls});
  });
  return eps;
}

void EmitUrls(YAML::Emitter& e, const std::vector<Endpoint>& eps) {
  e << YAML::Flow << YAML::BeginSeq;
  for (const Endpoint& ep : eps) EmitQuoted(e, ep.url);
  e << YAML::EndSeq;
}

std::string OrderRequest(const YAML::Node& item, const std::string& name) {
  std::string s = Reader::ItemString(item, name, "\"METHOD /path\" strings");
  size_t space = s.find(' ');
  bool ok = space != std::string::npos && space > 0 && space + 1 < s.size() && s[space + 1] == '/';
  if (ok) {
    ok = std::all_of(s.begin(), s.begin() + static_cast<ptrdiff_t>(space),
                     [](char c) { return c >= 'A' && c <= 'Z'; }) &&
         std::none_of(s.begin() + static_cast<ptrdiff_t>(space) + 1, s.end(),
                      [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  }
  if (!ok) {
    Throw(item.Mark(), name + ": " + Shown(s) +
                           " is not \"METHOD /path\" (an uppercase method, one space, a path "
                           "starting with '/')");
  }
  return s;
}

// resolve: {NAME: [ADDRESS, ...]}: each NAME a host name of the exchange's URLs, each ADDRESS
// an IPv4 or IPv6 literal.
std::map<std::string, std::vector<std::string>> Resolve(const Field& f, const Exchange& ex) {
  const YAML::Node& v = f.v;
  const std::string& w = f.name;
  std::map<std::string, std::vector<std::string>> out;
  if (v.IsNull()) return out;
  if (!v.IsMap())
    Throw(f.value_mark(), w + ": expected a map of host name -> [addresses], got " + Got(v));
  if (v.size() > kMaxListItems)
    Throw(v.Mark(),
          w + ": " + std::to_string(v.size()) + " names, at most " + std::to_string(kMaxListItems));
  Reader::ForEachKey(v, w, {}, [&](const Field& h) {
    const std::string& host = h.k.Scalar();
    const auto is_host = [&](const Endpoint& e) { return e.host == host; };
    if (std::none_of(ex.rest.begin(), ex.rest.end(), is_host) &&
        std::none_of(ex.ws.begin(), ex.ws.end(), is_host))
      Throw(h.k.Mark(), h.name + ": " + Shown(host) +
                            " is not the host of one of this exchange's " +
                            "rest or ws URLs (names are matched as the URL writes them)");
    if (IsIpLiteral(host))
      Throw(h.k.Mark(), h.name + ": " + Shown(host) + " is an address already; list host names");
    std::vector<std::string> addrs;
    Reader::ForEachItem(h, "IPv4 or IPv6 addresses", kMaxListItems, [&](const YAML::Node& i) {
      std::string a = Reader::ItemString(i, h.name, "IPv4 or IPv6 addresses");
      if (!IsIpLiteral(a))
        Throw(i.Mark(), h.name + ": " + Shown(a) + " is not an IPv4 or IPv6 address");
      if (std::find(addrs.begin(), addrs.end(), a) == addrs.end()) addrs.push_back(a);
    });
    if (addrs.empty()) Throw(h.k.Mark(), h.name + ": list at least one address");
    out[host] = std::move(addrs);
  });
  return out;
}

// --- one exchange --------------------------------------------------------------------------------

// An exchange while it is read: resolve names the URLs' hosts, so it is read after them.
struct ExchangeParse {
  Exchange& ex;
  YAML::Node resolve_k, resolve_v;
};

using ExchangeKey = Key<Exchange, ExchangeParse>;
constexpr ExchangeKey kExchangeKeys[] = {
    {"rest",
     [](SectionReader&, const Field& f, ExchangeParse& p) { p.ex.rest = Urls(f, "http", "https"); },
     [](YAML::Emitter& e, const Exchange& ex) { EmitUrls(e, ex.rest); }},
    {"ws", [](SectionReader&, const Field& f, ExchangeParse& p) { p.ex.ws = Urls(f, "ws", "wss"); },
     [](YAML::Emitter& e, const Exchange& ex) { EmitUrls(e, ex.ws); }},
    {"order_requests",
     [](SectionReader&, const Field& f, ExchangeParse& p) {
       Reader::ForEachItem(f, "\"METHOD /path\" strings", kMaxListItems,
                           [&](const YAML::Node& item) {
                             p.ex.order_requests.push_back(OrderRequest(item, f.name));
                           });
     },
     [](YAML::Emitter& e, const Exchange& ex) { EmitQuotedList(e, ex.order_requests); }},
    {"resolve",
     [](SectionReader&, const Field& f, ExchangeParse& p) {  // after the URLs: it names their hosts
       p.resolve_k = f.k;
       p.resolve_v = f.v;
     },
     [](YAML::Emitter& e, const Exchange& ex) {
       e << YAML::Flow << YAML::BeginMap;
       for (const auto& [host, addrs] : ex.resolve) {
         e << YAML::Key;
         EmitQuoted(e, host);
         e << YAML::Value;
         EmitQuotedList(e, addrs);
       }
       e << YAML::EndMap;
     }},
};

void ParseExchanges(SectionReader& r, const Field& f, std::vector<Exchange>& out) {
  const YAML::Node& map = f.v;
  const std::string& w = f.name;
  out.clear();
  if (map.IsMap() && map.size() > kMaxExchanges)
    Throw(map.Mark(), w + ": " + std::to_string(map.size()) + " exchanges, at most " +
                          std::to_string(kMaxExchanges));
  Reader::ForEachKey(map, w, {}, [&](const Field& x) {
    const std::string& exname = x.k.Scalar();
    if (exname.empty()) Throw(x.k.Mark(), w + ": an exchange needs a non-empty name");
    // It becomes a metric label and part of every message about the exchange.
    if (exname.size() > 64 ||
        !std::all_of(exname.begin(), exname.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
      Throw(x.k.Mark(),
            w + ": exchange name " + Shown(exname) + " must be 1..64 printable ASCII characters");
    Exchange ex;
    ex.name = exname;
    const std::string& ew = x.name;
    ExchangeParse p{ex, {}, {}};
    ParseKeys(r, x.v, ew, kExchangeKeys, p);
    if (p.resolve_v) {
      const std::string name = Reader::Dotted(ew, "resolve");
      ex.resolve = Resolve(Field{p.resolve_k, p.resolve_v, name}, ex);
    }
    out.push_back(std::move(ex));
  });
}

void EmitExchanges(YAML::Emitter& e, const std::vector<Exchange>& exchanges) {
  if (exchanges.empty()) e << YAML::Flow;
  e << YAML::BeginMap;
  for (const Exchange& ex : exchanges) {
    e << YAML::Key << YAML::DoubleQuoted << ex.name << YAML::Value;
    DumpKeys(e, kExchangeKeys, ex);
  }
  e << YAML::EndMap;
}

// --- target --------------------------------------------------------------------------------------

void ParseCgroup(SectionReader& r, const Field& f, Target& t) {
  t.cgroup = r.String(f);
  if (!t.cgroup.empty() && r.host.is_root_cgroup && r.host.is_root_cgroup(t.cgroup)) {
    Throw(f.v.Mark(), f.name + " " + t.cgroup +
                          " is the root cgroup: it holds the whole host; name the "
                          "engine's own cgroup (e.g. "
                          "/sys/fs/cgroup/system.slice/engine.service)");
  }
}

void ParseInterfaces(SectionReader&, const Field& f, Target& t) {
  t.interfaces.clear();
  Reader::ForEachItem(f, "interface names", kMaxInterfaces, [&](const YAML::Node& item) {
    std::string ifname = Reader::ItemString(item, f.name, "interface names");
    if (!ValidIfname(ifname)) {
      Throw(item.Mark(), f.name + ": " + Shown(ifname) +
                             " is not a valid interface name (1..15 characters, no "
                             "'/', ':' or whitespace)");
    }
    t.interfaces.push_back(ifname);
  });
}

void ParseDnsPorts(SectionReader&, const Field& f, Target& t) {
  t.dns_ports.clear();
  Reader::ForEachItem(f, "ports", kMaxDnsPorts, [&](const YAML::Node& item) {
    std::optional<uint16_t> port;
    if (item.IsScalar() && item.Tag() != "!") port = ParsePort(item.Scalar());
    if (!port)
      Throw(item.Mark(), f.name + ": expected a list of ports (1..65535), got " + Got(item));
    t.dns_ports.push_back(*port);
  });
}

void ParseMetricsUrl(SectionReader& r, const Field& f, Target& t) {
  t.metrics_url = r.String(f);
  if (t.metrics_url.empty()) return;
  // The whole URL, as the scrape will read it (only plaintext http).
  auto u = ParseUrl(t.metrics_url, "http", "https");
  std::string err = u ? "" : u.error().call;
  if (err.empty() && u->tls) err = "https is not supported";
  if (!err.empty())
    Throw(f.value_mark(), f.name +
                              ": expected an http:// URL of the engine's "
                              "Prometheus endpoint (e.g. "
                              "http://10.0.0.2:9470/metrics), got " +
                              Shown(t.metrics_url) + ": " + err);
}

constexpr Key<Target> kTargetKeys[] = {
    {"cgroup", ParseCgroup, [](YAML::Emitter& e, const Target& t) { EmitQuoted(e, t.cgroup); }},
    {"unit", [](SectionReader& r, const Field& f, Target& t) { t.unit = r.String(f); },
     [](YAML::Emitter& e, const Target& t) { EmitQuoted(e, t.unit); }},
    {"netns", [](SectionReader& r, const Field& f, Target& t) { t.netns = r.String(f); },
     [](YAML::Emitter& e, const Target& t) { EmitQuoted(e, t.netns); }},
    {"interfaces", ParseInterfaces,
     [](YAML::Emitter& e, const Target& t) { EmitQuotedList(e, t.interfaces); }},
    {"exchanges",
     [](SectionReader& r, const Field& f, Target& t) { ParseExchanges(r, f, t.exchanges); },
     [](YAML::Emitter& e, const Target& t) { EmitExchanges(e, t.exchanges); }},
    {"dns_ports", ParseDnsPorts,
     [](YAML::Emitter& e, const Target& t) {
       e << YAML::Flow << YAML::BeginSeq;
       for (uint16_t p : t.dns_ports) e << std::to_string(p);
       e << YAML::EndSeq;
     }},
    {"rollout_percent",
     [](SectionReader& r, const Field& f, Target& t) {
       t.rollout_percent = r.Number(f, 0, 100);
       if (t.rollout_percent > 0 && t.rollout_percent / 100 < kSmallestProbability)
         Throw(f.v.Mark(), f.name +
                               " is above 0 but below 2^-32 of the flows, which the "
                               "kernel's rollout hash cannot select (0 selects none)");
     },
     [](YAML::Emitter& e, const Target& t) { EmitNumber(e, t.rollout_percent); }},
    {"heartbeat_ms",
     [](SectionReader& r, const Field& f, Target& t) { t.heartbeat_ms = r.Integer(f, 50, 10000); },
     [](YAML::Emitter& e, const Target& t) { EmitInt(e, t.heartbeat_ms); }},
    {"tick_ms",
     [](SectionReader& r, const Field& f, Target& t) { t.tick_ms = r.Integer(f, 10, 60000); },
     [](YAML::Emitter& e, const Target& t) { EmitInt(e, t.tick_ms); }},
    {"deadline_ms",
     [](SectionReader& r, const Field& f, Target& t) { t.deadline_ms = r.Integer(f, 1, 600000); },
     [](YAML::Emitter& e, const Target& t) { EmitInt(e, t.deadline_ms); }},
    {"metrics_url", ParseMetricsUrl,
     [](YAML::Emitter& e, const Target& t) { EmitQuoted(e, t.metrics_url); }},
};

}  // namespace

void ParseTarget(SectionReader& r, const YAML::Node& map, Target& t) {
  ParseKeys(r, map, "target", kTargetKeys, t);
}
void DumpTarget(YAML::Emitter& e, const Target& t) { DumpKeys(e, kTargetKeys, t); }

}  // namespace mmchaos

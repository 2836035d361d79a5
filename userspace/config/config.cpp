// chaos.yaml parsing, validation, clamping and the effective-config dump.
//
// Strictness: unknown keys, duplicate keys, wrong types and malformed YAML are errors that carry
// "source:line:col". Numbers and booleans must be plain (unquoted) scalars; a section, the
// exchanges map, an exchange's body or a list may be left empty (null) to mean "nothing/default";
// any other key left empty is an error. Out-of-range numbers are clamped with a warning.
#include "config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/safe_file.h"
#include "config/yaml_guard.h"

namespace mmchaos {
namespace {

// Bounds on what a config may hold, whatever its size on disk (aliases repeat nodes for free).
constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxInterfaces = 32;
constexpr size_t kMaxDnsPorts = 16;
constexpr size_t kMaxExchanges = 64;
constexpr size_t kMaxListItems = 64;  // URLs per list, order requests, rollback triggers
// The kernel draws against p * 2^32 (ProbabilityThreshold): anything below is 0.
constexpr double kSmallestProbability = 0x1p-32;

// Thrown inside the parser and turned into an Error at the API boundary.
struct ConfigError {
  YAML::Mark mark;
  std::string what;
};

[[noreturn]] void Throw(const YAML::Mark& mark, std::string what) {
  throw ConfigError{mark, std::move(what)};
}

std::string Where(const std::string& source, const YAML::Mark& mark, bool with_col) {
  if (mark.line < 0) return source;
  std::string s = source + ":" + std::to_string(mark.line + 1);
  if (with_col) s += ":" + std::to_string(mark.column + 1);
  return s;
}

// Shortest text that parses back to exactly `v`.
std::string FormatDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf, end);
}

std::string Join(std::initializer_list<std::string_view> items) {
  std::string s;
  for (std::string_view item : items) {
    if (!s.empty()) s += ", ";
    s += item;
  }
  return s;
}

// A value from the file, as an error shows it: quoted, printable ASCII only, at most 64 bytes.
// The file may not be a config at all (a link to a secret, a binary): an error must never copy
// more of it than the one value it is about.
std::string Shown(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
  }
  out += s.size() > kMax ? "'..." : "'";
  return out;
}

// A key as an error shows it: only what looks like a key name (letters, digits, '_', '-', '.',
// at most 40). Anything else is content: a file that is not a config (a link to /etc/shadow
// reads as one key holding the first line) must not be echoed.
std::string KeyShown(const std::string& key) {
  bool name = !key.empty() && key.size() <= 40 && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
  return name ? "'" + key + "'" : "(not shown: not a key name)";
}

// Whether a listen address only accepts local connections.
bool IsLoopback(const std::string& host, bool bracketed) {
  if (bracketed) {
    in6_addr a6;
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
  }
  if (host == "localhost") return true;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

const char* TypeName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "an undefined node";
  }
}

// What the value node holds, for "expected X, got Y" messages.
std::string Got(const YAML::Node& n) {
  if (n.IsScalar()) {
    if (n.Tag() == "!") return "the quoted string " + Shown(n.Scalar());
    return Shown(n.Scalar());
  }
  return TypeName(n);
}

// An IPv4 or IPv6 address (without brackets).
bool IsIpLiteral(const std::string& host) {
  in6_addr a;
  return inet_pton(AF_INET, host.c_str(), &a) == 1 || inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

// A host name, an IPv4 address, or an IPv6 address (already without brackets when `bracketed`).
bool ValidHost(const std::string& host, bool bracketed) {
  if (bracketed) {
    in6_addr a6;
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1;
  }
  if (host.empty() || host.size() > 253) return false;
  bool numeric = std::all_of(host.begin(), host.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
  if (numeric) {
    in_addr a4;
    return inet_pton(AF_INET, host.c_str(), &a4) == 1;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

// Parses a decimal port; nullopt if not 1..65535.
std::optional<uint16_t> ParsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// Splits "host:port" / "[v6]:port" (the authority part) into host (brackets removed) and port
// text. Returns an error message, empty on success.
std::string SplitHostPort(std::string_view authority, std::string& host, std::string& port,
                          bool& bracketed) {
  bracketed = false;
  port.clear();
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unterminated '[' in IPv6 address";
    host = std::string(authority.substr(1, close - 1));
    bracketed = true;
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "expected ':port' after ']'";
      port = std::string(rest.substr(1));
      if (port.empty()) return "empty port after ':'";
    }
    if (!ValidHost(host, true)) return Shown(host) + " is not an IPv6 address";
    return {};
  }
  size_t colon = authority.find(':');
  if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
    return "an IPv6 address must be in brackets, e.g. [::1]:9464";
  host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    port = std::string(authority.substr(colon + 1));
    if (port.empty()) return "empty port after ':'";
  }
  if (host.empty()) return "empty host";
  if (!ValidHost(host, false)) return Shown(host) + " is not a valid host name or IPv4 address";
  return {};
}

// Linux dev_valid_name(): 1..15 bytes, not "." or "..", no '/', ':' or whitespace.
bool ValidIfname(const std::string& s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c));
  });
}

// Lexical normalization: collapse "//", drop ".", resolve "..", strip trailing slashes.
std::string NormalizePath(std::string_view path) {
  bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);
      }
    } else {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  if (out.empty()) out = ".";
  return out;
}

// /proc/self/mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo.
std::string UnescapeMountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> Cgroup2MountPoints() {
  std::vector<std::string> points;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    std::istringstream fields(line);
    std::vector<std::string> f;
    std::string field;
    while (fields >> field) f.push_back(field);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 1 == f.end()) continue;
    if (*(dash + 1) == "cgroup2") points.push_back(UnescapeMountinfo(f[4]));
  }
  return points;
}

bool SameInode(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// True if `path` names a cgroup v2 hierarchy root (or "/").
bool IsRootCgroup(const std::string& path) {
  std::string norm = NormalizePath(path);
  std::vector<std::string> roots = {"/", "/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
  for (std::string& m : Cgroup2MountPoints()) roots.push_back(NormalizePath(m));
  for (const std::string& r : roots) {
    if (norm == r) return true;
  }
  // Symlinks, bind mounts and relative paths: compare the directories themselves.
  for (const std::string& r : roots) {
    if (r != "/" && SameInode(path, r)) return true;
  }
  return SameInode(path, "/");
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Config Parse(const YAML::Node& root) {
    Config cfg;
    cfg.source = source_;
    ForEachKey(root, "",
               {"chaos", "netem", "target", "faults", "metrics", "log", "acceptance",
                "rollback_triggers", "experiment", "fleet"},
               [&](const std::string& key, const YAML::Node&, const YAML::Node& v) {
                 if (key == "faults") ParseFaults(v, cfg.faults);
                 if (key == "chaos") ParseChaos(v, cfg.chaos);
                 if (key == "netem") ParseNetem(v, cfg.netem);
                 if (key == "target") ParseTarget(v, cfg.target);
                 if (key == "metrics") ParseMetrics(v, cfg.metrics);
                 if (key == "log") ParseLog(v, cfg.log);
                 if (key == "acceptance") ParseAcceptance(v, cfg.acceptance);
                 if (key == "experiment") ParseExperiment(v, cfg.experiment);
                 if (key == "rollback_triggers") ParseTriggers(v, cfg.rollback_triggers);
                 if (key == "fleet") ParseFleet(v, cfg.fleet);
               });
    CheckNetemLimit(cfg);
    cfg.warnings = std::move(warnings_);
    return cfg;
  }

 private:
  using KeyFn = std::function<void(const std::string&, const YAML::Node&, const YAML::Node&)>;

  // Iterates a map (null = empty), rejecting non-string, duplicate and (if `known` is non-empty)
  // unknown keys. `where` is the dotted path of the map, "" for the top level.
  static void ForEachKey(const YAML::Node& map, const std::string& where,
                         std::initializer_list<std::string_view> known, const KeyFn& fn) {
    if (map.IsNull()) return;
    std::string in = where.empty() ? "at top level" : "in " + where;
    if (!map.IsMap()) {
      Throw(map.Mark(), (where.empty() ? std::string("the document") : where) +
                            ": expected a map, got " + TypeName(map));
    }
    std::vector<std::pair<std::string, YAML::Mark>> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      // Copies: it-> yields a temporary proxy, so references to its members would dangle.
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      if (!k.IsScalar()) Throw(k.Mark(), "expected a string key " + in + ", got " + TypeName(k));
      const std::string& key = k.Scalar();
      for (const auto& [name, mark] : seen) {
        if (name == key) {
          Throw(k.Mark(), "duplicate key " + KeyShown(key) + " " + in + " (first at line " +
                              std::to_string(mark.line + 1) + ")");
        }
      }
      seen.emplace_back(key, k.Mark());
      if (known.size() > 0 && std::find(known.begin(), known.end(), key) == known.end()) {
        Throw(k.Mark(),
              "unknown key " + KeyShown(key) + " " + in + " (known: " + Join(known) + ")");
      }
      fn(key, k, v);
    }
  }

  // Marks for a value: yaml-cpp places an empty (null) value at the next token, so use the key.
  static YAML::Mark ValueMark(const YAML::Node& k, const YAML::Node& v) {
    return v.IsNull() ? k.Mark() : v.Mark();
  }

  static std::string Dotted(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }

  void Warn(const YAML::Mark& mark, const std::string& what) {
    warnings_.push_back(Where(source_, mark, false) + ": " + what);
  }

  // A plain (unquoted) scalar, or an error naming `name` and `expected`.
  static const std::string& PlainScalar(const YAML::Node& k, const YAML::Node& v,
                                        const std::string& name, const std::string& expected) {
    if (!v.IsScalar() || v.Tag() == "!") {
      Throw(ValueMark(k, v), name + ": expected " + expected + ", got " + Got(v));
    }
    return v.Scalar();
  }

  static bool Bool(const YAML::Node& k, const YAML::Node& v, const std::string& name) {
    const std::string& s = PlainScalar(k, v, name, "true or false");
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    Throw(ValueMark(k, v), name + ": expected true or false, got " + Got(v));
  }

  static std::string String(const YAML::Node& k, const YAML::Node& v, const std::string& name) {
    if (!v.IsScalar()) Throw(ValueMark(k, v), name + ": expected a string, got " + TypeName(v));
    return v.Scalar();
  }

  // "+5" -> "5"; "+-5" stays invalid.
  static std::string_view StripPlus(std::string_view s) {
    if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
    return s;
  }

  double Number(const YAML::Node& k, const YAML::Node& v, const std::string& name, double lo,
                double hi) {
    const std::string& text = PlainScalar(k, v, name, "a number");
    std::string_view s = StripPlus(text);
    // Decimal notation only: from_chars would also take "inf" and "nan".
    std::string_view digits = !s.empty() && s.front() == '-' ? s.substr(1) : s;
    double d = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (digits.empty() ||
        !(std::isdigit(static_cast<unsigned char>(digits.front())) || digits.front() == '.') ||
        p != s.data() + s.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      Throw(v.Mark(), name + ": expected a number, got " + Got(v));
    }
    if (ec == std::errc::result_out_of_range) {
      d = std::strtod(std::string(s).c_str(), nullptr);  // +-HUGE_VAL, or ~0 on underflow
      if (std::fabs(d) < 1)
        Throw(v.Mark(), name +
                            " is too small for a double (it would read as 0): write 0 or a "
                            "value above 1e-300");
    }
    if (std::isnan(d)) Throw(v.Mark(), name + ": expected a number, got " + Got(v));
    double c = std::clamp(d, lo, hi) + 0.0;  // + 0.0: -0 becomes 0
    if (c != d) {
      Warn(v.Mark(), name + " clamped from " + text + " to " + FormatDouble(c) + " (range " +
                         FormatDouble(lo) + ".." + FormatDouble(hi) + ")");
    }
    return c;
  }

  int Integer(const YAML::Node& k, const YAML::Node& v, const std::string& name, int lo, int hi) {
    const std::string& text = PlainScalar(k, v, name, "an integer");
    std::string_view s = StripPlus(text);
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || p != s.data() + s.size() ||
        (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      Throw(v.Mark(), name + ": expected an integer, got " + Got(v));
    }
    if (ec == std::errc::result_out_of_range) {
      n = s.front() == '-' ? std::numeric_limits<int64_t>::min()
                           : std::numeric_limits<int64_t>::max();
    }
    int64_t c = std::clamp<int64_t>(n, lo, hi);
    if (c != n) {
      Warn(v.Mark(), name + " clamped from " + text + " to " + std::to_string(c) + " (range " +
                         std::to_string(lo) + ".." + std::to_string(hi) + ")");
    }
    return static_cast<int>(c);
  }

  // A list (null = empty); calls fn for each item.
  static void ForEachItem(const YAML::Node& k, const YAML::Node& v, const std::string& name,
                          const std::string& of, size_t max_items,
                          const std::function<void(const YAML::Node&)>& fn) {
    if (v.IsNull()) return;
    if (!v.IsSequence()) {
      Throw(ValueMark(k, v), name + ": expected a list of " + of + ", got " + Got(v));
    }
    if (v.size() > max_items) {
      Throw(v.Mark(), name + ": " + std::to_string(v.size()) + " items, at most " +
                          std::to_string(max_items));
    }
    for (const YAML::Node& item : v) fn(item);
  }

  static std::string ItemString(const YAML::Node& item, const std::string& name,
                                const std::string& of) {
    if (!item.IsScalar()) {
      Throw(item.Mark(),
            name + ": expected a list of " + of + ", got an item that is " + TypeName(item));
    }
    return item.Scalar();
  }

  void ParseChaos(const YAML::Node& map, ChaosSection& c) {
    const std::string w = "chaos";
    ForEachKey(map, w,
               {"enabled", "dry_run", "net_loss", "exch_429", "exch_5xx", "lat_spike_ms",
                "ws_lag_ms", "ws_disconnect", "dns_flap", "clock_skew_ms", "mem_pressure",
                "rate_limit_storm", "reconcile_mismatch", "burst_on_sec", "burst_off_sec"},
               [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                 const std::string name = Dotted(w, key);
                 auto prob = [&] {
                   double p = Number(k, v, name, 0.0, 1.0);
                   if (p > 0 && p < kSmallestProbability)
                     Throw(v.Mark(), name +
                                         " is above 0 but below 2^-32 (about 2.3e-10), the "
                                         "smallest probability the kernel draws: it would "
                                         "count as on and never fire (0 turns it off)");
                   return p;
                 };
                 if (key == "enabled") c.enabled = Bool(k, v, name);
                 if (key == "dry_run") c.dry_run = Bool(k, v, name);
                 if (key == "net_loss") c.net_loss = prob();
                 if (key == "exch_429") c.exch_429 = prob();
                 if (key == "exch_5xx") c.exch_5xx = prob();
                 if (key == "lat_spike_ms") c.lat_spike_ms = Integer(k, v, name, 0, 10000);
                 if (key == "ws_lag_ms") c.ws_lag_ms = Integer(k, v, name, 0, 10000);
                 if (key == "ws_disconnect") c.ws_disconnect = prob();
                 if (key == "dns_flap") c.dns_flap = prob();
                 if (key == "clock_skew_ms")
                   c.clock_skew_ms = Integer(k, v, name, -3600000, 3600000);
                 if (key == "mem_pressure") c.mem_pressure = ParseMemPressure(k, v, name);
                 if (key == "rate_limit_storm") c.rate_limit_storm = prob();
                 if (key == "reconcile_mismatch") c.reconcile_mismatch = prob();
                 if (key == "burst_on_sec") c.burst_on_sec = Number(k, v, name, 0.1, 3600);
                 if (key == "burst_off_sec") {
                   c.burst_off_sec = Number(k, v, name, 0, 86400);
                   if (c.burst_off_sec > 0 && c.burst_off_sec < 0.001)
                     Throw(v.Mark(), name +
                                         " is above 0 but below 1 ms, which the schedule "
                                         "rounds to 0, i.e. always on: write 0 for always on, "
                                         "or at least 0.001");
                 }
               });
  }

  static MemPressure ParseMemPressure(const YAML::Node& k, const YAML::Node& v,
                                      const std::string& name) {
    const char* expected = "one of none, low, medium, high";
    if (!v.IsScalar())
      Throw(ValueMark(k, v), name + ": expected " + std::string(expected) + ", got " + Got(v));
    for (MemPressure m :
         {MemPressure::kNone, MemPressure::kLow, MemPressure::kMedium, MemPressure::kHigh}) {
      if (v.Scalar() == MemPressureName(m)) return m;
    }
    Throw(v.Mark(), name + ": expected " + std::string(expected) + ", got " + Got(v));
  }

  void ParseNetem(const YAML::Node& map, NetemSection& n) {
    const std::string w = "netem";
    // Keys that only matter with jitter / with reordering, to warn when they do nothing.
    std::vector<std::pair<std::string, YAML::Mark>> need_jitter, need_reorder;
    ForEachKey(map, w,
               {"jitter_ms", "correlation_pct", "distribution", "reorder_pct",
                "reorder_correlation_pct", "expected_pps", "limit"},
               [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                 const std::string name = Dotted(w, key);
                 auto pct = [&] { return Number(k, v, name, 0, 100); };
                 if (key == "jitter_ms") n.jitter_ms = Integer(k, v, name, 0, 10000);
                 if (key == "correlation_pct") {
                   n.correlation_pct = pct();
                   if (n.correlation_pct > 0) need_jitter.emplace_back(name, v.Mark());
                 }
                 if (key == "distribution") {
                   n.distribution = ParseDistribution(k, v, name);
                   if (n.distribution != NetemDistribution::kUniform)
                     need_jitter.emplace_back(name, v.Mark());
                 }
                 if (key == "reorder_pct") n.reorder_pct = pct();
                 if (key == "reorder_correlation_pct") {
                   n.reorder_correlation_pct = pct();
                   if (n.reorder_correlation_pct > 0) need_reorder.emplace_back(name, v.Mark());
                 }
                 if (key == "expected_pps") n.expected_pps = Integer(k, v, name, 1, 10000000);
                 if (key == "limit") {
                   n.limit = Integer(k, v, name, 0, 10000000);
                   limit_mark_ = v.Mark();
                 }
               });
    if (n.jitter_ms == 0) {
      for (const auto& [name, mark] : need_jitter)
        Warn(mark, name + " has no effect while netem.jitter_ms is 0");
    }
    if (n.reorder_pct == 0) {
      for (const auto& [name, mark] : need_reorder)
        Warn(mark, name + " has no effect while netem.reorder_pct is 0");
    }
  }

  static NetemDistribution ParseDistribution(const YAML::Node& k, const YAML::Node& v,
                                             const std::string& name) {
    const char* expected = "one of uniform, normal, pareto, paretonormal";
    if (!v.IsScalar())
      Throw(ValueMark(k, v), name + ": expected " + std::string(expected) + ", got " + Got(v));
    for (NetemDistribution d : {NetemDistribution::kUniform, NetemDistribution::kNormal,
                                NetemDistribution::kPareto, NetemDistribution::kParetoNormal}) {
      if (v.Scalar() == NetemDistributionName(d)) return d;
    }
    Throw(v.Mark(), name + ": expected " + std::string(expected) + ", got " + Got(v));
  }

  // An explicit netem.limit below what netem holds at expected_pps for the configured delays
  // would drop packets silently: say so.
  void CheckNetemLimit(const Config& cfg) {
    const NetemSection& n = cfg.netem;
    int delay_ms = std::max(cfg.chaos.lat_spike_ms, cfg.chaos.ws_lag_ms);
    if (!limit_mark_ || n.limit == 0 || delay_ms == 0) return;
    auto held = static_cast<int64_t>(
        std::ceil(static_cast<double>(n.expected_pps) * (delay_ms + n.jitter_ms) / 1000.0));
    if (n.limit < held) {
      Warn(*limit_mark_, "netem.limit " + std::to_string(n.limit) + " is below the " +
                             std::to_string(held) + " packets netem holds at netem.expected_pps " +
                             std::to_string(n.expected_pps) + " with a " +
                             std::to_string(delay_ms + n.jitter_ms) +
                             " ms delay: packets over the limit are dropped silently (0 = size "
                             "it from expected_pps)");
    }
  }

  void ParseTarget(const YAML::Node& map, Target& t) {
    const std::string w = "target";
    ForEachKey(
        map, w,
        {"cgroup", "unit", "netns", "interfaces", "exchanges", "dns_ports", "rollout_percent",
         "heartbeat_ms", "tick_ms", "deadline_ms", "metrics_url"},
        [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
          const std::string name = Dotted(w, key);
          if (key == "unit") t.unit = String(k, v, name);
          if (key == "cgroup") {
            t.cgroup = String(k, v, name);
            if (!t.cgroup.empty() && IsRootCgroup(t.cgroup)) {
              Throw(v.Mark(), name + " " + t.cgroup +
                                  " is the root cgroup: it holds the whole host; name the "
                                  "engine's own cgroup (e.g. "
                                  "/sys/fs/cgroup/system.slice/engine.service)");
            }
          }
          if (key == "netns") t.netns = String(k, v, name);
          if (key == "interfaces") {
            t.interfaces.clear();
            ForEachItem(k, v, name, "interface names", kMaxInterfaces, [&](const YAML::Node& item) {
              std::string ifname = ItemString(item, name, "interface names");
              if (!ValidIfname(ifname)) {
                Throw(item.Mark(), name + ": " + Shown(ifname) +
                                       " is not a valid interface name (1..15 characters, no "
                                       "'/', ':' or whitespace)");
              }
              t.interfaces.push_back(ifname);
            });
          }
          if (key == "exchanges") ParseExchanges(v, name, t.exchanges);
          if (key == "dns_ports") {
            t.dns_ports.clear();
            ForEachItem(k, v, name, "ports", kMaxDnsPorts, [&](const YAML::Node& item) {
              std::optional<uint16_t> port;
              if (item.IsScalar() && item.Tag() != "!") port = ParsePort(item.Scalar());
              if (!port) {
                Throw(item.Mark(),
                      name + ": expected a list of ports (1..65535), got " + Got(item));
              }
              t.dns_ports.push_back(*port);
            });
          }
          if (key == "rollout_percent") {
            t.rollout_percent = Number(k, v, name, 0, 100);
            if (t.rollout_percent > 0 && t.rollout_percent / 100 < kSmallestProbability)
              Throw(v.Mark(), name +
                                  " is above 0 but below 2^-32 of the flows, which the "
                                  "kernel's rollout hash cannot select (0 selects none)");
          }
          if (key == "heartbeat_ms") t.heartbeat_ms = Integer(k, v, name, 50, 10000);
          if (key == "tick_ms") t.tick_ms = Integer(k, v, name, 10, 60000);
          if (key == "deadline_ms") t.deadline_ms = Integer(k, v, name, 1, 600000);
          if (key == "metrics_url") {
            t.metrics_url = String(k, v, name);
            if (!t.metrics_url.empty()) {
              // The whole URL, as the scrape will read it (only plaintext http).
              std::string err;
              Endpoint ep = ParseUrl(t.metrics_url, "http", "https", err);
              if (err.empty() && ep.tls) err = "https is not supported";
              if (!err.empty())
                Throw(ValueMark(k, v), name +
                                           ": expected an http:// URL of the engine's "
                                           "Prometheus endpoint (e.g. "
                                           "http://10.0.0.2:9470/metrics), got " +
                                           Shown(t.metrics_url) + ": " + err);
            }
          }
        });
  }

  void ParseExchanges(const YAML::Node& map, const std::string& w, std::vector<Exchange>& out) {
    out.clear();
    if (map.IsMap() && map.size() > kMaxExchanges)
      Throw(map.Mark(), w + ": " + std::to_string(map.size()) + " exchanges, at most " +
                            std::to_string(kMaxExchanges));
    ForEachKey(
        map, w, {}, [&](const std::string& exname, const YAML::Node& k, const YAML::Node& v) {
          if (exname.empty()) Throw(k.Mark(), w + ": an exchange needs a non-empty name");
          // It becomes a metric label and part of every message about the exchange.
          if (exname.size() > 64 || !std::all_of(exname.begin(), exname.end(),
                                                 [](char c) { return c >= 0x20 && c < 0x7f; }))
            Throw(k.Mark(), w + ": exchange name " + Shown(exname) +
                                " must be 1..64 printable ASCII characters");
          Exchange ex;
          ex.name = exname;
          const std::string ew = Dotted(w, exname);
          YAML::Node resolve_k, resolve_v;
          ForEachKey(v, ew, {"rest", "ws", "order_requests", "resolve"},
                     [&](const std::string& key, const YAML::Node& kk, const YAML::Node& vv) {
                       const std::string name = Dotted(ew, key);
                       if (key == "rest") ex.rest = Urls(kk, vv, name, "http", "https");
                       if (key == "ws") ex.ws = Urls(kk, vv, name, "ws", "wss");
                       if (key == "order_requests") {
                         ForEachItem(kk, vv, name, "\"METHOD /path\" strings", kMaxListItems,
                                     [&](const YAML::Node& item) {
                                       ex.order_requests.push_back(OrderRequest(item, name));
                                     });
                       }
                       if (key == "resolve") {  // after the URLs: it names their hosts
                         resolve_k = kk;
                         resolve_v = vv;
                       }
                     });
          if (resolve_v) ex.resolve = Resolve(resolve_k, resolve_v, Dotted(ew, "resolve"), ex);
          if (!ex.order_requests.empty() &&
              std::none_of(ex.rest.begin(), ex.rest.end(),
                           [](const Endpoint& e) { return !e.tls; })) {
            Warn(k.Mark(), ew + ".order_requests only match plaintext (http) REST flows, and this "
                                "exchange has no http:// rest URL");
          }
          out.push_back(std::move(ex));
        });
  }

  // resolve: {NAME: [ADDRESS, ...]}: each NAME a host name of the exchange's URLs, each ADDRESS
  // an IPv4 or IPv6 literal.
  static std::map<std::string, std::vector<std::string>> Resolve(const YAML::Node& k,
                                                                 const YAML::Node& v,
                                                                 const std::string& w,
                                                                 const Exchange& ex) {
    std::map<std::string, std::vector<std::string>> out;
    if (v.IsNull()) return out;
    if (!v.IsMap())
      Throw(ValueMark(k, v), w + ": expected a map of host name -> [addresses], got " + Got(v));
    if (v.size() > kMaxListItems)
      Throw(v.Mark(), w + ": " + std::to_string(v.size()) + " names, at most " +
                          std::to_string(kMaxListItems));
    ForEachKey(v, w, {}, [&](const std::string& host, const YAML::Node& hk, const YAML::Node& hv) {
      const std::string name = Dotted(w, host);
      const auto is_host = [&](const Endpoint& e) { return e.host == host; };
      if (std::none_of(ex.rest.begin(), ex.rest.end(), is_host) &&
          std::none_of(ex.ws.begin(), ex.ws.end(), is_host))
        Throw(hk.Mark(), name + ": " + Shown(host) + " is not the host of one of this exchange's " +
                             "rest or ws URLs (names are matched as the URL writes them)");
      if (IsIpLiteral(host))
        Throw(hk.Mark(), name + ": " + Shown(host) + " is an address already; list host names");
      std::vector<std::string> addrs;
      ForEachItem(hk, hv, name, "IPv4 or IPv6 addresses", kMaxListItems, [&](const YAML::Node& i) {
        std::string a = ItemString(i, name, "IPv4 or IPv6 addresses");
        if (!IsIpLiteral(a))
          Throw(i.Mark(), name + ": " + Shown(a) + " is not an IPv4 or IPv6 address");
        if (std::find(addrs.begin(), addrs.end(), a) == addrs.end()) addrs.push_back(a);
      });
      if (addrs.empty()) Throw(hk.Mark(), name + ": list at least one address");
      out[host] = std::move(addrs);
    });
    return out;
  }

  static std::vector<Endpoint> Urls(const YAML::Node& k, const YAML::Node& v,
                                    const std::string& name, const std::string& plain,
                                    const std::string& tls) {
    std::vector<Endpoint> eps;
    ForEachItem(k, v, name, "URLs", kMaxListItems, [&](const YAML::Node& item) {
      std::string url = ItemString(item, name, "URLs");
      std::string err;
      Endpoint ep = ParseUrl(url, plain, tls, err);
      if (!err.empty()) Throw(item.Mark(), name + ": bad URL " + Shown(url) + ": " + err);
      eps.push_back(std::move(ep));
    });
    return eps;
  }

  static Endpoint ParseUrl(const std::string& url, const std::string& plain, const std::string& tls,
                           std::string& err) {
    Endpoint ep;
    ep.url = url;
    size_t sep = url.find("://");
    if (sep == std::string::npos) {
      err = "expected " + plain + "://HOST[:PORT][/PATH] or " + tls + "://...";
      return ep;
    }
    std::string scheme = url.substr(0, sep);
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme != plain && scheme != tls) {
      err = "scheme " + Shown(scheme) + " is not " + plain + " or " + tls;
      return ep;
    }
    ep.scheme = scheme;
    ep.tls = scheme == tls;
    std::string_view rest = std::string_view(url).substr(sep + 3);
    size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    if (authority.find('@') != std::string_view::npos) {
      err = "user information (user@host) is not supported";
      return ep;
    }
    if (std::any_of(url.begin(), url.end(),
                    [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
      err = "whitespace in URL";
      return ep;
    }
    std::string port;
    bool bracketed = false;
    err = SplitHostPort(authority, ep.host, port, bracketed);
    if (!err.empty()) return ep;
    if (port.empty()) {
      ep.port = ep.tls ? 443 : 80;
    } else if (auto p = ParsePort(port)) {
      ep.port = *p;
    } else {
      err = "port " + Shown(port) + " is not in 1..65535";
    }
    return ep;
  }

  static std::string OrderRequest(const YAML::Node& item, const std::string& name) {
    std::string s = ItemString(item, name, "\"METHOD /path\" strings");
    size_t space = s.find(' ');
    bool ok =
        space != std::string::npos && space > 0 && space + 1 < s.size() && s[space + 1] == '/';
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

  void ParseFleet(const YAML::Node& map, FleetSection& f) {
    const std::string w = "fleet";
    ForEachKey(map, w, {"burst_align", "seed"},
               [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                 const std::string name = Dotted(w, key);
                 if (key == "burst_align") f.burst_align = Bool(k, v, name);
                 if (key == "seed") f.seed = Integer(k, v, name, 0, 2147483647);
               });
  }

  void ParseMetrics(const YAML::Node& map, MetricsSection& m) {
    const std::string w = "metrics";
    ForEachKey(map, w, {"listen"},
               [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                 const std::string name = Dotted(w, key);
                 if (key == "listen") {
                   std::string listen = String(k, v, name);
                   std::string host, port;
                   bool bracketed = false;
                   std::string err = SplitHostPort(listen, host, port, bracketed);
                   if (err.empty() && port.empty()) err = "missing ':port'";
                   if (err.empty() && !ParsePort(port))
                     err = "port " + Shown(port) + " is not in 1..65535";
                   if (!err.empty()) {
                     Throw(ValueMark(k, v), name + ": " + Shown(listen) +
                                                " is not HOST:PORT (e.g. 127.0.0.1:9464 or "
                                                "[::1]:9464): " +
                                                err);
                   }
                   m.listen = listen;
                   if (!IsLoopback(host, bracketed))
                     Warn(ValueMark(k, v),
                          name + " " + Shown(listen) +
                              " is reachable from other hosts, and the metrics endpoint has no "
                              "authentication: anyone who reaches it reads the engine's traffic "
                              "counters (127.0.0.1 keeps it local)");
                 }
               });
  }

  void ParseFaults(const YAML::Node& map, FaultsSection& f) {
    const std::string w = "faults";
    ForEachKey(
        map, w,
        {"status_5xx", "dns_answer", "clock_skew_clocks", "clock_skew_mechanism", "tls_mechanism"},
        [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
          const std::string name = Dotted(w, key);
          if (key == "status_5xx") f.status_5xx = Integer(k, v, name, 500, 599);
          if (key == "dns_answer") {
            f.dns_answer = String(k, v, name);
            if (f.dns_answer != "servfail" && f.dns_answer != "nxdomain" &&
                f.dns_answer != "timeout")
              Throw(ValueMark(k, v),
                    name + ": expected servfail, nxdomain or timeout, got " + Shown(f.dns_answer));
          }
          if (key == "clock_skew_clocks") {
            f.clock_skew_clocks.clear();
            ForEachItem(k, v, name, "clock classes", 2, [&](const YAML::Node& item) {
              std::string c = ItemString(item, name, "clock classes");
              if (c != "realtime" && c != "monotonic")
                Throw(item.Mark(), name + ": expected realtime or monotonic, got " + Shown(c));
              f.clock_skew_clocks.push_back(c);
            });
          }
          if (key == "clock_skew_mechanism") {
            f.clock_skew_mechanism = String(k, v, name);
            if (f.clock_skew_mechanism != "auto" && f.clock_skew_mechanism != "uprobe" &&
                f.clock_skew_mechanism != "preload")
              Throw(ValueMark(k, v), name + ": expected auto, uprobe or preload, got " +
                                         Shown(f.clock_skew_mechanism));
          }
          if (key == "tls_mechanism") {
            f.tls_mechanism = String(k, v, name);
            if (f.tls_mechanism != "auto" && f.tls_mechanism != "preload")
              Throw(ValueMark(k, v), name +
                                         ": expected auto or preload (this version has no "
                                         "TLS uprobe mechanism), got '" +
                                         f.tls_mechanism + "'");
          }
        });
  }

  void ParseLog(const YAML::Node& map, LogSection& l) {
    const std::string w = "log";
    ForEachKey(map, w, {"injections", "max_events_per_sec"},
               [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                 const std::string name = Dotted(w, key);
                 if (key == "injections") {
                   l.injections = String(k, v, name);
                   if (std::string why = LogPathProblem(l.injections); !why.empty())
                     Throw(ValueMark(k, v), name + ": " + why);
                 }
                 if (key == "max_events_per_sec") {
                   l.max_events_per_sec = Integer(k, v, name, 1, 100000);
                 }
               });
  }

  void ParseAcceptance(const YAML::Node& map, AcceptanceSection& a) {
    const std::string w = "acceptance";
    ForEachKey(map, w,
               {"p95_regression_max_pct", "deadline_miss_max_pct", "recovery_ticks_max",
                "lat_spike_p99_max_ms", "discrepancies_all_detected"},
               [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                 const std::string name = Dotted(w, key);
                 if (key == "p95_regression_max_pct")
                   a.p95_regression_max_pct = Number(k, v, name, 0, 10000);
                 if (key == "deadline_miss_max_pct")
                   a.deadline_miss_max_pct = Number(k, v, name, 0, 100);
                 if (key == "recovery_ticks_max")
                   a.recovery_ticks_max = Integer(k, v, name, 0, 1000000);
                 if (key == "lat_spike_p99_max_ms")
                   a.lat_spike_p99_max_ms = Number(k, v, name, 0, 3600000);
                 if (key == "discrepancies_all_detected")
                   a.discrepancies_all_detected = Bool(k, v, name);
               });
  }

  void ParseExperiment(const YAML::Node& map, ExperimentSection& x) {
    const std::string w = "experiment";
    ForEachKey(map, w, {"baseline_ticks", "bursts", "recovery_ticks"},
               [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                 const std::string name = Dotted(w, key);
                 if (key == "baseline_ticks") x.baseline_ticks = Integer(k, v, name, 1, 1000000);
                 if (key == "bursts") x.bursts = Integer(k, v, name, 1, 10000);
                 if (key == "recovery_ticks") x.recovery_ticks = Integer(k, v, name, 1, 1000000);
               });
  }

  void ParseTriggers(const YAML::Node& list, std::vector<RollbackTrigger>& out) {
    const std::string w = "rollback_triggers";
    if (list.IsNull()) return;
    if (!list.IsSequence())
      Throw(list.Mark(), w + ": expected a list of conditions, got " + Got(list));
    if (list.size() > kMaxListItems)
      Throw(list.Mark(), w + ": " + std::to_string(list.size()) + " conditions, at most " +
                             std::to_string(kMaxListItems));
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node item = list[i];
      const std::string where = w + "[" + std::to_string(i) + "]";
      RollbackTrigger t;
      bool has_metric = false, has_op = false, has_value = false;
      ForEachKey(item, where, {"name", "metric", "op", "value", "for_ticks", "window_ticks"},
                 [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                   const std::string name = Dotted(where, key);
                   if (key == "name") t.name = String(k, v, name);
                   if (key == "metric") {
                     t.metric = String(k, v, name);
                     has_metric = true;
                     bool known = t.metric.rfind("engine:", 0) == 0 && t.metric.size() > 7;
                     for (const char* m : kTriggerMetrics) known = known || t.metric == m;
                     if (!known) {
                       std::string list;
                       for (const char* m : kTriggerMetrics) list += std::string(m) + ", ";
                       Throw(ValueMark(k, v), name + ": unknown metric " + Shown(t.metric) +
                                                  " (known: " + list +
                                                  "or engine:<metric name> for the engine's own "
                                                  "counter at target.metrics_url)");
                     }
                   }
                   if (key == "op") {
                     t.op = String(k, v, name);
                     has_op = true;
                     if (t.op != ">" && t.op != ">=" && t.op != "<" && t.op != "<=")
                       Throw(ValueMark(k, v),
                             name + ": expected >, >=, < or <=, got " + Shown(t.op));
                   }
                   if (key == "value") {
                     t.value = Number(k, v, name, -1e18, 1e18);
                     has_value = true;
                   }
                   if (key == "for_ticks") t.for_ticks = Integer(k, v, name, 1, 1000000);
                   if (key == "window_ticks") t.window_ticks = Integer(k, v, name, 1, 1000000);
                 });
      if (!has_metric || !has_op || !has_value)
        Throw(item.Mark(), where +
                               ": needs metric, op and value (e.g. {metric: deadline_miss_pct, "
                               "op: \">\", value: 5, for_ticks: 3})");
      if (t.name.empty()) {
        t.name = t.metric + " " + t.op + " " + FormatDouble(t.value);
        if (t.for_ticks > 1) t.name += " for " + std::to_string(t.for_ticks) + " ticks";
      }
      for (const RollbackTrigger& o : out)
        if (o.name == t.name)
          Throw(item.Mark(), where + ": duplicate trigger name " + Shown(t.name));
      out.push_back(std::move(t));
    }
  }

  std::string source_;
  std::vector<std::string> warnings_;
  std::optional<YAML::Mark> limit_mark_;  // where netem.limit was set, if it was
};

}  // namespace

std::string LogPathProblem(const std::string& path) {
  if (path == "-") return {};
  if (path.empty() || path.front() != '/')
    return "expected a file path: an absolute path to a *.jsonl or *.log file, or \"-\" (stderr)";
  std::string_view p = path;
  if (p.find("/../") != std::string_view::npos || p.find("/./") != std::string_view::npos ||
      p.find("//") != std::string_view::npos)
    return "write the path without '.', '..' or '//' components";
  std::string_view base = p.substr(p.rfind('/') + 1);
  if (!(base.ends_with(".jsonl") || base.ends_with(".log")) || base.starts_with("."))
    return "the log's file name must end in .jsonl or .log (mmchaos appends to it as root)";
  for (std::string_view tree : {"/proc", "/sys", "/dev", "/boot", "/etc", "/usr", "/bin", "/sbin",
                                "/lib", "/lib32", "/lib64", "/libx32"}) {
    if (p.starts_with(tree) && p.size() > tree.size() && p[tree.size()] == '/')
      return std::string(tree) + " is no place for a log (kernel or system files)";
  }
  return {};
}

const char* MemPressureName(MemPressure m) {
  switch (m) {
    case MemPressure::kNone:
      return "none";
    case MemPressure::kLow:
      return "low";
    case MemPressure::kMedium:
      return "medium";
    case MemPressure::kHigh:
      return "high";
  }
  return "none";
}

const char* NetemDistributionName(NetemDistribution d) {
  switch (d) {
    case NetemDistribution::kUniform:
      return "uniform";
    case NetemDistribution::kNormal:
      return "normal";
    case NetemDistribution::kPareto:
      return "pareto";
    case NetemDistribution::kParetoNormal:
      return "paretonormal";
  }
  return "uniform";
}

uint32_t NetemLimit(const NetemSection& n, int delay_ms) {
  if (n.limit > 0) return static_cast<uint32_t>(n.limit);
  // In integers: ceil(pps * hold_ms / 1000 * 2) without floating-point noise. The largest
  // inputs (1e7 pps, 30000 ms) give 6e11, well within int64_t.
  int64_t hold_ms = int64_t{std::max(delay_ms, 0)} + 2 * int64_t{std::max(n.jitter_ms, 0)};
  int64_t want = (int64_t{std::max(n.expected_pps, 1)} * hold_ms * 2 + 999) / 1000;
  return static_cast<uint32_t>(
      std::clamp<int64_t>(want, 1000, std::numeric_limits<uint32_t>::max()));
}

Result<Config> ParseConfig(const std::string& text, const std::string& source) {
  // Nothing may escape: a SIGHUP reload runs this inside a controller that must keep running.
  try {
    if (std::string bad = CheckYamlShape(text); !bad.empty()) return Fail(source + ":" + bad);
    // One document (the shape check made sure there is no other): yaml-cpp 0.7's LoadAll never
    // returns on some inputs.
    YAML::Node root = YAML::Load(text);
    return Parser(source).Parse(root);
  } catch (const ConfigError& e) {
    return Fail(Where(source, e.mark, true) + ": " + e.what);
  } catch (const YAML::ParserException& e) {
    return Fail(Where(source, e.mark, true) + ": malformed YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    return Fail(Where(source, e.mark, true) + ": " + e.msg);
  } catch (const std::bad_alloc&) {
    return Fail(source + ": out of memory while parsing", ENOMEM);
  } catch (const std::exception& e) {
    return Fail(source + ": cannot parse: " + e.what());
  }
}

Result<Config> LoadConfig(const std::string& path) {
  try {
    auto text = ReadRegularFile(path, kMaxConfigBytes);
    if (!text) {
      Error e = text.error();
      if (e.err == ENOENT)
        e.hint = "pass the config with -c FILE; the repo's chaos.yaml is a template";
      if (e.hint.empty()) e.hint = "a config is a YAML file of at most 1 MiB";
      return std::unexpected(e);
    }
    return ParseConfig(*text, path);
  } catch (const std::bad_alloc&) {
    return Fail("read(" + path + "): out of memory", ENOMEM);
  }
}

std::string DumpConfig(const Config& cfg) {
  YAML::Emitter e;
  auto num = [](double v) { return FormatDouble(v); };
  auto quoted = [&](const std::string& s) { e << YAML::DoubleQuoted << s; };
  auto urls = [&](const std::vector<Endpoint>& eps) {
    e << YAML::Flow << YAML::BeginSeq;
    for (const Endpoint& ep : eps) quoted(ep.url);
    e << YAML::EndSeq;
  };

  const ChaosSection& c = cfg.chaos;
  e << YAML::BeginMap;
  e << YAML::Key << "chaos" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "enabled" << YAML::Value << (c.enabled ? "true" : "false");
  e << YAML::Key << "dry_run" << YAML::Value << (c.dry_run ? "true" : "false");
  e << YAML::Key << "net_loss" << YAML::Value << num(c.net_loss);
  e << YAML::Key << "exch_429" << YAML::Value << num(c.exch_429);
  e << YAML::Key << "exch_5xx" << YAML::Value << num(c.exch_5xx);
  e << YAML::Key << "lat_spike_ms" << YAML::Value << std::to_string(c.lat_spike_ms);
  e << YAML::Key << "ws_lag_ms" << YAML::Value << std::to_string(c.ws_lag_ms);
  e << YAML::Key << "ws_disconnect" << YAML::Value << num(c.ws_disconnect);
  e << YAML::Key << "dns_flap" << YAML::Value << num(c.dns_flap);
  e << YAML::Key << "clock_skew_ms" << YAML::Value << std::to_string(c.clock_skew_ms);
  e << YAML::Key << "mem_pressure" << YAML::Value << MemPressureName(c.mem_pressure);
  e << YAML::Key << "rate_limit_storm" << YAML::Value << num(c.rate_limit_storm);
  e << YAML::Key << "reconcile_mismatch" << YAML::Value << num(c.reconcile_mismatch);
  e << YAML::Key << "burst_on_sec" << YAML::Value << num(c.burst_on_sec);
  e << YAML::Key << "burst_off_sec" << YAML::Value << num(c.burst_off_sec);
  e << YAML::EndMap;

  const NetemSection& n = cfg.netem;
  e << YAML::Key << "netem" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "jitter_ms" << YAML::Value << std::to_string(n.jitter_ms);
  e << YAML::Key << "correlation_pct" << YAML::Value << num(n.correlation_pct);
  e << YAML::Key << "distribution" << YAML::Value << NetemDistributionName(n.distribution);
  e << YAML::Key << "reorder_pct" << YAML::Value << num(n.reorder_pct);
  e << YAML::Key << "reorder_correlation_pct" << YAML::Value << num(n.reorder_correlation_pct);
  e << YAML::Key << "expected_pps" << YAML::Value << std::to_string(n.expected_pps);
  e << YAML::Key << "limit" << YAML::Value << std::to_string(n.limit);
  e << YAML::EndMap;

  const Target& t = cfg.target;
  e << YAML::Key << "target" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "cgroup" << YAML::Value;
  quoted(t.cgroup);
  e << YAML::Key << "unit" << YAML::Value;
  quoted(t.unit);
  e << YAML::Key << "netns" << YAML::Value;
  quoted(t.netns);
  e << YAML::Key << "interfaces" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const std::string& i : t.interfaces) quoted(i);
  e << YAML::EndSeq;
  e << YAML::Key << "exchanges" << YAML::Value;
  if (t.exchanges.empty()) e << YAML::Flow;
  e << YAML::BeginMap;
  for (const Exchange& ex : t.exchanges) {
    e << YAML::Key << YAML::DoubleQuoted << ex.name << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "rest" << YAML::Value;
    urls(ex.rest);
    e << YAML::Key << "ws" << YAML::Value;
    urls(ex.ws);
    e << YAML::Key << "order_requests" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& r : ex.order_requests) quoted(r);
    e << YAML::EndSeq;
    e << YAML::Key << "resolve" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [host, addrs] : ex.resolve) {
      e << YAML::Key;
      quoted(host);
      e << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const std::string& a : addrs) quoted(a);
      e << YAML::EndSeq;
    }
    e << YAML::EndMap;
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  e << YAML::Key << "dns_ports" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (uint16_t p : t.dns_ports) e << std::to_string(p);
  e << YAML::EndSeq;
  e << YAML::Key << "rollout_percent" << YAML::Value << num(t.rollout_percent);
  e << YAML::Key << "heartbeat_ms" << YAML::Value << std::to_string(t.heartbeat_ms);
  e << YAML::Key << "tick_ms" << YAML::Value << std::to_string(t.tick_ms);
  e << YAML::Key << "deadline_ms" << YAML::Value << std::to_string(t.deadline_ms);
  e << YAML::Key << "metrics_url" << YAML::Value;
  quoted(t.metrics_url);
  e << YAML::EndMap;

  e << YAML::Key << "faults" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "status_5xx" << YAML::Value << std::to_string(cfg.faults.status_5xx);
  e << YAML::Key << "dns_answer" << YAML::Value << cfg.faults.dns_answer;
  e << YAML::Key << "clock_skew_clocks" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const std::string& c : cfg.faults.clock_skew_clocks) e << c;
  e << YAML::EndSeq;
  e << YAML::Key << "clock_skew_mechanism" << YAML::Value << cfg.faults.clock_skew_mechanism;
  e << YAML::Key << "tls_mechanism" << YAML::Value << cfg.faults.tls_mechanism;
  e << YAML::EndMap;

  e << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "listen" << YAML::Value;
  quoted(cfg.metrics.listen);
  e << YAML::EndMap;

  e << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "injections" << YAML::Value;
  quoted(cfg.log.injections);
  e << YAML::Key << "max_events_per_sec" << YAML::Value
    << std::to_string(cfg.log.max_events_per_sec);
  e << YAML::EndMap;

  const AcceptanceSection& a = cfg.acceptance;
  e << YAML::Key << "acceptance" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "p95_regression_max_pct" << YAML::Value << num(a.p95_regression_max_pct);
  e << YAML::Key << "deadline_miss_max_pct" << YAML::Value << num(a.deadline_miss_max_pct);
  e << YAML::Key << "recovery_ticks_max" << YAML::Value << std::to_string(a.recovery_ticks_max);
  e << YAML::Key << "lat_spike_p99_max_ms" << YAML::Value << num(a.lat_spike_p99_max_ms);
  e << YAML::Key << "discrepancies_all_detected" << YAML::Value
    << (a.discrepancies_all_detected ? "true" : "false");
  e << YAML::EndMap;

  e << YAML::Key << "rollback_triggers" << YAML::Value;
  if (cfg.rollback_triggers.empty()) e << YAML::Flow;
  e << YAML::BeginSeq;
  for (const RollbackTrigger& t : cfg.rollback_triggers) {
    e << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value;
    quoted(t.name);
    e << YAML::Key << "metric" << YAML::Value;
    quoted(t.metric);
    e << YAML::Key << "op" << YAML::Value;
    quoted(t.op);
    e << YAML::Key << "value" << YAML::Value << num(t.value);
    e << YAML::Key << "for_ticks" << YAML::Value << std::to_string(t.for_ticks);
    e << YAML::Key << "window_ticks" << YAML::Value << std::to_string(t.window_ticks);
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;

  e << YAML::Key << "fleet" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "burst_align" << YAML::Value << (cfg.fleet.burst_align ? "true" : "false");
  e << YAML::Key << "seed" << YAML::Value << std::to_string(cfg.fleet.seed);
  e << YAML::EndMap;

  const ExperimentSection& x = cfg.experiment;
  e << YAML::Key << "experiment" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "baseline_ticks" << YAML::Value << std::to_string(x.baseline_ticks);
  e << YAML::Key << "bursts" << YAML::Value << std::to_string(x.bursts);
  e << YAML::Key << "recovery_ticks" << YAML::Value << std::to_string(x.recovery_ticks);
  e << YAML::EndMap;
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace mmchaos

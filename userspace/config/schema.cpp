#include "config/schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <system_error>

namespace mmchaos {
namespace {

std::string Join(std::span<const std::string_view> items) {
  std::string s;
  for (std::string_view item : items) {
    if (!s.empty()) s += ", ";
    s += item;
  }
  return s;
}

// "+5" -> "5"; "+-5" stays invalid.
std::string_view StripPlus(std::string_view s) {
  if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  return s;
}

}  // namespace

[[noreturn]] void Throw(const YAML::Mark& mark, std::string what) {
  throw ConfigError{mark, std::move(what)};
}

std::string Where(const std::string& source, const YAML::Mark& mark, bool with_col) {
  if (mark.line < 0) return source;
  // Appended piece by piece: g++ 12 at -O3 warns (-Wrestrict) on ":" + to_string(), wrongly.
  std::string s = source + ":" + std::to_string(mark.line + 1);
  if (with_col) {
    s += ':';
    s += std::to_string(mark.column + 1);
  }
  return s;
}

std::string FormatDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf, end);
}

std::string KeyShown(const std::string& key) {
  bool name = !key.empty() && key.size() <= 40 && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
  return name ? "'" + key + "'" : "(not shown: not a key name)";
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

std::string Got(const YAML::Node& n) {
  if (n.IsScalar()) {
    if (n.Tag() == "!") return "the quoted string " + Shown(n.Scalar());
    return Shown(n.Scalar());
  }
  return TypeName(n);
}

void Reader::ForEachKey(const YAML::Node& map, const std::string& where,
                        std::span<const std::string_view> known, const KeyFn& fn) {
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
    if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
      Throw(k.Mark(), "unknown key " + KeyShown(key) + " " + in + " (known: " + Join(known) + ")");
    }
    const std::string name = Dotted(where, key);
    fn(Field{k, v, name});
  }
}

void Reader::Warn(const YAML::Mark& mark, const std::string& what) {
  warnings_.push_back(Where(source_, mark, false) + ": " + what);
}

const std::string& Reader::PlainScalar(const Field& f, const std::string& expected) {
  if (!f.v.IsScalar() || f.v.Tag() == "!") {
    Throw(f.value_mark(), f.name + ": expected " + expected + ", got " + Got(f.v));
  }
  return f.v.Scalar();
}

bool Reader::Bool(const Field& f) {
  const std::string& s = PlainScalar(f, "true or false");
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  Throw(f.value_mark(), f.name + ": expected true or false, got " + Got(f.v));
}

std::string Reader::String(const Field& f) {
  if (!f.v.IsScalar()) Throw(f.value_mark(), f.name + ": expected a string, got " + TypeName(f.v));
  return f.v.Scalar();
}

double Reader::Number(const Field& f, double lo, double hi) {
  const YAML::Node& v = f.v;
  const std::string& name = f.name;
  const std::string& text = PlainScalar(f, "a number");
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

int Reader::Integer(const Field& f, int lo, int hi) {
  const YAML::Node& v = f.v;
  const std::string& name = f.name;
  const std::string& text = PlainScalar(f, "an integer");
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

void Reader::ForEachItem(const Field& f, const std::string& of, size_t max_items,
                         const std::function<void(const YAML::Node&)>& fn) {
  const YAML::Node& v = f.v;
  if (v.IsNull()) return;
  if (!v.IsSequence()) {
    Throw(f.value_mark(), f.name + ": expected a list of " + of + ", got " + Got(v));
  }
  if (v.size() > max_items) {
    Throw(v.Mark(), f.name + ": " + std::to_string(v.size()) + " items, at most " +
                        std::to_string(max_items));
  }
  for (const YAML::Node& item : v) fn(item);
}

std::string Reader::ItemString(const YAML::Node& item, const std::string& name,
                               const std::string& of) {
  if (!item.IsScalar()) {
    Throw(item.Mark(),
          name + ": expected a list of " + of + ", got an item that is " + TypeName(item));
  }
  return item.Scalar();
}

}  // namespace mmchaos

// Reading chaos.yaml's YAML strictly: the building blocks every section parser uses (maps with
// known keys, plain scalars, bounded numbers with clamping warnings, bounded lists), and the
// positions and quoting of their error messages. Nothing here knows a chaos.yaml key.
//
// Strictness: unknown keys, duplicate keys, wrong types and malformed YAML are errors that carry
// "source:line:col". Numbers and booleans must be plain (unquoted) scalars; a section, the
// exchanges map, an exchange's body or a list may be left empty (null) to mean "nothing/default";
// any other key left empty is an error. Out-of-range numbers are clamped with a warning.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/shown.h"

namespace mmchaos {

// Thrown inside the parser and turned into an Error at the API boundary (ParseConfig).
struct ConfigError {
  YAML::Mark mark;
  std::string what;
};

[[noreturn]] void Throw(const YAML::Mark& mark, std::string what);

// "source:line[:col]" (1-based), or just source when the mark has no position.
std::string Where(const std::string& source, const YAML::Mark& mark, bool with_col);

// Shortest text that parses back to exactly `v`.
std::string FormatDouble(double v);

// A key as an error shows it: only what looks like a key name (letters, digits, '_', '-', '.',
// at most 40). Anything else is content: a file that is not a config (a link to /etc/shadow
// reads as one key holding the first line) must not be echoed.
std::string KeyShown(const std::string& key);

// "nothing (null)", "a scalar", "a list", "a map".
const char* TypeName(const YAML::Node& n);

// What the value node holds, for "expected X, got Y" messages.
std::string Got(const YAML::Node& n);

// One key of a map as the section parsers see it: the key node, its value, and its dotted name
// ("chaos.net_loss") for messages.
struct Field {
  const YAML::Node& k;
  const YAML::Node& v;
  const std::string& name;

  // yaml-cpp places an empty (null) value at the next token, so an empty value is marked at
  // its key.
  YAML::Mark value_mark() const { return v.IsNull() ? k.Mark() : v.Mark(); }
};

// The typed reads, with the warnings they make (clamped numbers) collected for the config.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  using KeyFn = std::function<void(const Field&)>;

  // Iterates a map (null = empty), rejecting non-string, duplicate and (if `known` is non-empty)
  // unknown keys. `where` is the dotted path of the map, "" for the top level.
  static void ForEachKey(const YAML::Node& map, const std::string& where,
                         std::span<const std::string_view> known, const KeyFn& fn);

  static std::string Dotted(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }

  void Warn(const YAML::Mark& mark, const std::string& what);

  static bool Bool(const Field& f);
  static std::string String(const Field& f);
  double Number(const Field& f, double lo, double hi);  // clamped into [lo, hi] with a warning
  int Integer(const Field& f, int lo, int hi);          // clamped into [lo, hi] with a warning

  // A list (null = empty) of at most max_items; calls fn for each item. `of` says what the
  // items are, for messages.
  static void ForEachItem(const Field& f, const std::string& of, size_t max_items,
                          const std::function<void(const YAML::Node&)>& fn);
  // A list item that must be a scalar.
  static std::string ItemString(const YAML::Node& item, const std::string& name,
                                const std::string& of);

  const std::string& source() const { return source_; }
  std::vector<std::string> TakeWarnings() { return std::move(warnings_); }

 private:
  // A plain (unquoted) scalar, or an error naming the key and `expected`.
  static const std::string& PlainScalar(const Field& f, const std::string& expected);

  std::string source_;
  std::vector<std::string> warnings_;  // "file:line: key clamped from X to Y"
};

}  // namespace mmchaos

#include "config/yaml_guard.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <unordered_map>
#include <vector>

namespace mmchaos {
namespace {

struct ShapeError {
  YAML::Mark mark;
  std::string what;
};

std::string At(const YAML::Mark& m) {
  return std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

class ShapeCheck : public YAML::EventHandler {
 public:
  explicit ShapeCheck(const YamlLimits& l) : limits_(l) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (docs_ == 0) {
      first_ = mark;
    } else if (mark.pos <= first_.pos) {
      // yaml-cpp 0.7 hands out the same empty document forever on some bytes (a lone ',').
      throw ShapeError{mark, "malformed YAML: the parser cannot get past this point"};
    } else {
      throw ShapeError{mark,
                       "a second YAML document starts here (after '---' or '...'); a "
                       "config is a single document"};
    }
    ++docs_;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { Leaf(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = sizes_.find(anchor);
    Count(mark, it == sizes_.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    CheckTag(mark, tag);
    if (value.find('\0') != std::string::npos)
      throw ShapeError{mark, "a NUL byte in a value (an escaped \\0): it would cut the value"};
    Leaf(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, tag, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  // "?" is a plain node, "!" a quoted scalar; anything else was written as a tag (!!str 0.5),
  // which the config would otherwise read past.
  static void CheckTag(const YAML::Mark& mark, const std::string& tag) {
    if (tag != "?" && tag != "!")
      throw ShapeError{mark,
                       "explicit YAML tags (!!str, !!float, !custom, ...) are not "
                       "supported: write numbers and booleans plainly, strings plainly "
                       "or quoted"};
  }
  void Count(const YAML::Mark& mark, size_t n) {
    nodes_ += n;
    if (nodes_ > limits_.max_nodes)
      throw ShapeError{mark, "the document expands to more than " +
                                 std::to_string(limits_.max_nodes) +
                                 " nodes (aliases count once per use): a config is far smaller"};
  }
  void Leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    Count(mark, 1);
    if (anchor != YAML::NullAnchor) sizes_[anchor] = 1;
  }
  void Open(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor) {
    CheckTag(mark, tag);
    if (static_cast<int>(open_.size()) >= limits_.max_depth)
      throw ShapeError{mark, "nested deeper than " + std::to_string(limits_.max_depth) +
                                 " levels: a config nests at most a few"};
    open_.push_back({anchor, nodes_});
    Count(mark, 1);
  }
  void Close() {
    if (open_.empty()) return;
    auto [anchor, start] = open_.back();
    open_.pop_back();
    if (anchor != YAML::NullAnchor) sizes_[anchor] = nodes_ - start;
  }

  const YamlLimits& limits_;
  int docs_ = 0;
  YAML::Mark first_;
  size_t nodes_ = 0;
  std::vector<std::pair<YAML::anchor_t, size_t>> open_;  // anchor, nodes_ when it opened
  std::unordered_map<YAML::anchor_t, size_t> sizes_;     // anchored node -> expanded size
};

}  // namespace

// Where byte `at` of text is, as "line:col" (1-based, bytes).
static std::string LineCol(const std::string& text, size_t at) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

// The offset of the first byte that is not well-formed UTF-8 (overlongs, surrogates and code
// points past U+10FFFF included), or npos. yaml-cpp passes such bytes through, and its emitter
// then writes U+FFFD for each: a value accepted once would dump as another value.
static size_t FirstInvalidUtf8(const std::string& text) {
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = b[i];
    size_t len;
    unsigned lo = 0x80, hi = 0xbf;  // the second byte's range
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return i;
    }
    if (i + len > n || b[i + 1] < lo || b[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (b[i + k] < 0x80 || b[i + k] > 0xbf) return i;
    i += len;
  }
  return std::string::npos;
}

std::string CheckYamlShape(const std::string& text, const YamlLimits& limits) {
  if (size_t nul = text.find('\0'); nul != std::string::npos)
    return LineCol(text, nul) + ": a NUL byte: a config is text (is this the right file?)";
  if (size_t bad = FirstInvalidUtf8(text); bad != std::string::npos)
    return LineCol(text, bad) + ": a byte that is not UTF-8: a config is UTF-8 text";
  std::istringstream in(text);
  ShapeCheck check(limits);
  try {
    YAML::Parser parser(in);
    // The first document, then whether a second starts (which throws from OnDocumentStart).
    for (int i = 0; i < 2 && parser.HandleNextDocument(check); ++i) {
    }
  } catch (const ShapeError& e) {
    return At(e.mark) + ": " + e.what;
  } catch (const YAML::DeepRecursion& e) {
    return At(e.mark) + ": nested deeper than yaml-cpp allows";
  } catch (const YAML::Exception& e) {
    return At(e.mark) + ": malformed YAML: " + e.msg;
  }
  return {};
}

}  // namespace mmchaos

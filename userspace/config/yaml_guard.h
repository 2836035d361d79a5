// Bounds on what a YAML text may make the parser (and then the config code) do, checked on
// yaml-cpp's event stream before any node is built: one document, bounded nesting, a bounded
// size once aliases are expanded, no explicit tags, no NUL bytes. yaml-cpp 0.7 itself loops
// forever allocating on some inputs (LoadAll on ","), multiplies nothing by aliases but hands
// them to code that copies them, and reports deep nesting only as "bad file".
#pragma once

#include <cstddef>
#include <string>

namespace mmchaos {

struct YamlLimits {
  int max_depth = 16;         // chaos.yaml nests 6 deep
  size_t max_nodes = 100000;  // every node counted as often as aliases repeat it
};

// Empty when `text` is within the limits; else "line:col: why" (1-based; never quotes the
// text). Throws nothing but std::bad_alloc.
std::string CheckYamlShape(const std::string& text, const YamlLimits& limits = {});

}  // namespace mmchaos

// Writes a small JSON document atomically (temp file + rename), so a reader polling for the
// file never sees it half written. Used for --ready-file and --stats-json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace refcommon {

// Returns false (and sets *error) when the file cannot be written.
bool write_json_atomically(const std::string& path, const nlohmann::json& doc,
                           std::string* error = nullptr);

}  // namespace refcommon

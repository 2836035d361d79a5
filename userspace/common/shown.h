// How a value from an untrusted file appears in an error message.
#pragma once

#include <string>
#include <string_view>

namespace mmchaos {

// A value from the file, as an error shows it: quoted, printable ASCII only, at most 64 bytes.
// The file may not be a config at all (a link to a secret, a binary): an error must never copy
// more of it than the one value it is about.
std::string Shown(std::string_view s);

}  // namespace mmchaos

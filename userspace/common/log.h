// The one logger of the mmchaos binary: every line it writes to stderr is "mmchaos: " (or
// "mmchaos <command>: ") and the message. Operators and the tests grep these lines, so the format
// is fixed here and only here.
#pragma once

#include <string_view>

namespace mmchaos {

// "mmchaos: <msg>\n", written in one call (lines from the loop and the metrics thread never
// interleave).
void Log(std::string_view msg);
// The same with printf formatting.
[[gnu::format(printf, 1, 2)]] void Logf(const char* fmt, ...);
// "mmchaos: warning: <msg>", "mmchaos: error: <msg>", "mmchaos: note: <msg>".
void LogWarning(std::string_view msg);
void LogError(std::string_view msg);
void LogNote(std::string_view msg);
// "mmchaos <command>: <msg>": a subcommand that names itself (exec, report, findings).
void LogFrom(std::string_view command, std::string_view msg);

}  // namespace mmchaos

// A plain-HTTP GET from inside a network namespace, bounded in time: how mmchaos reads an
// engine's own Prometheus endpoint (target.metrics_url), which usually listens on an address
// only the engine's namespace reaches.
#pragma once

#include <string>

#include "common/error.h"

namespace mmchaos {

// GET url ("http://host[:port][/path]", host a name, an IPv4 or a [bracketed] IPv6 address) from
// inside netns ("" = the caller's), at most timeout_ms from connect to the last byte. Returns the
// body of a 200 response; anything else is an error naming the URL.
Result<std::string> HttpGet(const std::string& url, const std::string& netns, int timeout_ms);

}  // namespace mmchaos

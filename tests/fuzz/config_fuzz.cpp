// libFuzzer target for chaos.yaml: any bytes parse or fail with an Error (never a crash, a hang
// or unbounded memory), and an accepted config's dump parses back to the very same dump.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = mmchaos::ParseConfig(text, "fuzz.yaml");
  if (!cfg) return 0;
  const std::string dump = mmchaos::DumpConfig(*cfg);
  auto again = mmchaos::ParseConfig(dump, "dump.yaml");
  if (!again) {
    std::fprintf(stderr, "the dump of an accepted config is rejected: %s\n--- dump ---\n%s",
                 again.error().message().c_str(), dump.c_str());
    std::abort();
  }
  const std::string redump = mmchaos::DumpConfig(*again);
  if (redump != dump) {
    std::fprintf(stderr, "dump does not reparse to itself\n--- dump ---\n%s--- again ---\n%s",
                 dump.c_str(), redump.c_str());
    std::abort();
  }
  return 0;
}

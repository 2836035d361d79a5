// udp-probe: numbered UDP probes for the demo and manual checks, the same traffic the kernel
// tests send. `udp-probe send IP PORT COUNT GAP_US` sends (then 100 end markers);
// `udp-probe recv IP PORT COUNT TIMEOUT_SEC` counts until the end markers or the timeout and
// prints "received N".
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "traffic.h"

using mmchaos::MakePipe;
using mmchaos::Pipe;
using mmchaos::UniqueFd;
using namespace mmchaos::testing;

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr,
                 "usage: udp-probe send IP PORT COUNT GAP_US | recv IP PORT COUNT TIMEOUT_SEC\n");
    return 2;
  }
  std::string mode = argv[1];
  const char* ip = argv[2];
  auto port = static_cast<uint16_t>(std::atoi(argv[3]));
  auto count = static_cast<uint32_t>(std::atoi(argv[4]));
  auto arg = static_cast<uint32_t>(std::atoi(argv[5]));
  if (mode == "send") {
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int rc = SendProbes(ip, port, count, arg, fd.get());
    SendEnd(ip, port, fd.get());
    return rc;
  }
  if (mode == "recv") {
    Pipe p = MakePipe();
    if (!p.read) return 1;
    int rc = CountProbes(ip, port, count, static_cast<int>(arg), p.write.get());
    uint32_t ready = 0, got = 0;
    if (read(p.read.get(), &ready, sizeof(ready)) != sizeof(ready)) return 1;
    if (rc == 0 && read(p.read.get(), &got, sizeof(got)) == sizeof(got))
      std::printf("received %u\n", got);
    return rc;
  }
  return 2;
}

// The Debian package and its systemd unit on this host: dpkg -i then dpkg --purge leaves nothing
// behind, and the unit's capability bounding set is enough for a shadow run, status and
// rollback (and less is not). Root; changes the host's package database: run under the lock.
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "harness.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

const std::string kUnit = std::string(MMCHAOS_SOURCE_DIR) + "/deploy/systemd/mmchaos.service";

// Every path under the trees a package can touch (dpkg's and apt's own state, caches and logs
// aside; /var/log/mmchaos and /run/mmchaos are checked on their own).
std::set<std::string> Snapshot() {
  std::string out = Capture(
      "find /etc /usr /opt /var -xdev \\( -path /var/lib/dpkg -o -path /var/lib/apt "
      "-o -path /var/cache -o -path /var/log -o -path /var/tmp -o -path /var/lib/man-db \\) "
      "-prune -o -print 2>/dev/null");
  std::set<std::string> paths;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) paths.insert(line);
  return paths;
}

// A directory the purge removes, moved aside meanwhile if it exists (another run's files), and
// put back on destruction.
class Aside {
 public:
  Aside(std::string path, const TempDir& dir) : path_(std::move(path)) {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) return;
    saved_ = dir.path() + "/aside" + std::to_string(std::hash<std::string>{}(path_));
    std::filesystem::rename(path_, saved_, ec);
    if (ec) Sh("cp -a " + path_ + " " + saved_ + " && rm -rf " + path_);
  }
  ~Aside() {
    if (saved_.empty()) return;
    Sh("rm -rf " + path_ + " && cp -a " + saved_ + " " + path_);
  }

 private:
  std::string path_, saved_;
};

std::string Diff(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::string d;
  for (const auto& p : b)
    if (!a.contains(p)) d += "+ " + p + "\n";
  for (const auto& p : a)
    if (!b.contains(p)) d += "- " + p + "\n";
  return d;
}

TEST(Package, InstallAndPurgeLeaveNothingBehind) {
  ASSERT_NE(Sh("dpkg -s mmchaos >/dev/null 2>&1"), 0)
      << "mmchaos is installed on this host already";
  TempDir dir;
  int rc = 0;
  std::string built = Capture("cpack --config " + std::string(MMCHAOS_BUILD_DIR) +
                                  "/CPackConfig.cmake -B " + dir.path() + " 2>&1",
                              &rc);
  ASSERT_EQ(rc, 0) << built;
  std::string path;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.path().extension() == ".deb") path = e.path().string();
  ASSERT_FALSE(path.empty()) << built;
  Aside log_dir("/var/log/mmchaos", dir), run_dir("/run/mmchaos", dir);
  const auto before = Snapshot();
  ASSERT_EQ(Sh("dpkg -i " + path + " >/dev/null"), 0);
  // Installed: the command, its config (safe: nothing enabled), its unit, its man page.
  std::string eff = Capture("/usr/bin/mmchaos validate -c /etc/mmchaos/chaos.yaml", &rc);
  EXPECT_EQ(rc, 0) << eff;
  EXPECT_TRUE(std::regex_search(eff, std::regex(R"(\n  enabled: false)"))) << eff;
  EXPECT_EQ(Sh("systemd-analyze verify /lib/systemd/system/mmchaos.service"), 0);
  EXPECT_EQ(Sh("test -f /usr/share/man/man1/mmchaos.1.gz"), 0);
  EXPECT_EQ(Capture("dpkg-query -W -f='${Conffiles}' mmchaos").find("/etc/mmchaos/chaos.yaml"), 1u);
  // What a running service leaves: its log and run directories.
  Sh("mkdir -p /var/log/mmchaos /run/mmchaos && touch /var/log/mmchaos/injections.jsonl");
  ASSERT_EQ(Sh("dpkg --purge mmchaos >/dev/null"), 0);
  const auto after = Snapshot();
  EXPECT_EQ(Diff(before, after), "");
  EXPECT_NE(Sh("test -e /var/log/mmchaos"), 0);
  EXPECT_NE(Sh("test -e /run/mmchaos"), 0);
  EXPECT_NE(Sh("dpkg -s mmchaos >/dev/null 2>&1"), 0);
  EXPECT_EQ(Capture("ls /var/lib/dpkg/info/ | grep '^mmchaos\\.' || true"), "");
}

// The unit's CapabilityBoundingSet= as setpriv's --bounding-set argument (-all,+bpf,...).
std::string UnitBoundingSet(const std::string& drop = "") {
  std::ifstream in(kUnit);
  std::string line, set = "-all";
  while (std::getline(in, line)) {
    if (!line.starts_with("CapabilityBoundingSet=")) continue;
    std::istringstream caps(line.substr(line.find('=') + 1));
    for (std::string c; caps >> c;) {
      std::string name = c.substr(4);  // CAP_BPF -> bpf
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      if (name != drop) set += ",+" + name;
    }
  }
  return set;
}

struct CapsScene {
  Topology topo;
  Cgroup target{"caps"};
  TempDir dir;

  std::string Config() {
    return dir.Write("chaos.yaml", ConfigYaml(target.path(), {.net_loss = 0.5, .dry_run = true},
                                              TestPort(1), dir.path() + "/inj.jsonl"));
  }
  // The controller as the unit runs it: this bounding set, no new privileges.
  std::unique_ptr<Controller> Start(const std::string& bounding) {
    return std::make_unique<Controller>(
        Controller::Args{{"run", "-c", Config()}},
        std::vector<std::string>{"/usr/bin/setpriv", "--bounding-set=" + bounding,
                                 "--no-new-privs"});
  }
  uint32_t Send(uint32_t n) {
    auto sink = std::make_unique<ProbeSink>(SocketIn(topo.exchange, AF_INET, SOCK_DGRAM),
                                            topo.exchange_ip, TestPort(), n);
    std::string ip = topo.exchange_ip;
    uint16_t port = TestPort();
    Child sender(target, topo.engine, [&] { return SendProbes(ip.c_str(), port, n, 200); });
    EXPECT_EQ(sender.Wait(), 0);
    sink->Drain();
    return sink->received();
  }
};

TEST(Package, ServiceCapabilitiesSufficeForAShadowRun) {
  const std::string caps = UnitBoundingSet();
  ASSERT_NE(caps, "-all") << "no CapabilityBoundingSet= in " << kUnit;
  CapsScene s;
  auto ctl = s.Start(caps);
  ASSERT_TRUE(ctl->WaitFor("attached to", 15s)) << ctl->output();
  EXPECT_EQ(s.Send(1000), 1000u) << "shadow mode dropped packets";
  auto dp = StatusFor(s.target.path());
  ASSERT_FALSE(dp.is_null());
  EXPECT_GT(StatusInjections(dp, "net_loss", "shadow"), 300u);
  EXPECT_EQ(StatusInjections(dp, "net_loss", "live"), 0u);
  // status and rollback from a shell with the same set (what ExecStopPost does).
  int rc = 0;
  std::string out = Capture("/usr/bin/setpriv --bounding-set=" + caps + " --no-new-privs " +
                                MmchaosBin() + " status --json",
                            &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(s.target.path()), std::string::npos) << out;
  out = Capture("/usr/bin/setpriv --bounding-set=" + caps + " --no-new-privs " + MmchaosBin() +
                    " rollback 2>&1",
                &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(ctl->Wait(10s), 0) << ctl->output();
  EXPECT_TRUE(StatusFor(s.target.path()).is_null());
}

// CAP_SYS_ADMIN is the one the kernel accepts in place of CAP_BPF and, for cgroup programs,
// CAP_NET_ADMIN (measured: a run without either attaches). Without it, `status` and `rollback`
// (the unit's ExecStopPost) cannot walk the kernel's links, so the unit needs it.
TEST(Package, WithoutSysAdminRollbackCannotDetach) {
  CapsScene s;
  auto ctl = s.Start(UnitBoundingSet());
  ASSERT_TRUE(ctl->WaitFor("attached to", 15s)) << ctl->output();
  const std::string no_admin =
      "/usr/bin/setpriv --bounding-set=" + UnitBoundingSet("sys_admin") + " --no-new-privs ";
  std::string out = Capture(no_admin + MmchaosBin() + " status --json 2>&1");
  EXPECT_EQ(out.find(s.target.path()), std::string::npos) << out;
  out = Capture(no_admin + MmchaosBin() + " rollback 2>&1");
  EXPECT_FALSE(StatusFor(s.target.path()).is_null()) << "detached without CAP_SYS_ADMIN: " << out;
  EXPECT_EQ(ctl->Wait(1s), -1) << "the controller exited: " << ctl->output();
}

}  // namespace
}  // namespace mmchaos::testing

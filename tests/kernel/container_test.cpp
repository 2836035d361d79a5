// The container image (scripts/image.sh: buildah from scratch, the .deb's files and their shared
// libraries) run against a target cgroup the way deploy/kubernetes/mmchaos-daemonset.yaml asks a
// runtime to run it: `doctor` works and a shadow run counts injections; which of its host mounts
// a run cannot do without (cgroup2, /run/mmchaos) is proven by leaving each out, and without its
// capabilities nothing is attached.
//
// podman run cannot start a container in this VM (crun: "setrlimit RLIMIT_NOFILE / RLIMIT_NPROC:
// Operation not permitted": the sandbox lacks CAP_SYS_RESOURCE; --ulimit host and limits equal
// to the current ones fail alike), so the image's root filesystem is run as a runtime would run
// this pod spec, every part of it read from the DaemonSet: a private mount namespace; the root
// filesystem read-only (readOnlyRootFilesystem); the host's /proc (hostPID) and network namespace
// (hostNetwork); sysfs read-only, a minimal /dev and a /tmp; each hostPath volume bound at its
// mountPath (read-only where it says so); the ConfigMap at /etc/mmchaos; then chroot, the
// capability bounding set cut to the securityContext's `add` list (drop: ALL), no_new_privs
// (allowPrivilegeEscalation: false), uid 0, the image's entrypoint.
// Host lane (net_loss in shadow mode on the host kernel); root; builds the image (~30 s).
#include <sys/socket.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "harness.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

const std::string kSrc = MMCHAOS_SOURCE_DIR;

struct PodSpec {
  std::vector<std::string> caps;  // securityContext.capabilities.add, as Kubernetes spells them
  struct Mount {
    std::string host, path;
    bool ro = false;
  };
  std::vector<Mount> mounts;  // hostPath volumes at their mountPath
  bool read_only_root = false, no_new_privs = false, host_pid = false, host_network = false;
};

PodSpec DaemonSetSpec() {
  PodSpec s;
  const auto docs = YAML::LoadAllFromFile(kSrc + "/deploy/kubernetes/mmchaos-daemonset.yaml");
  for (const auto& d : docs) {
    if (d["kind"].as<std::string>() != "DaemonSet") continue;
    const YAML::Node pod = d["spec"]["template"]["spec"];
    const YAML::Node c = pod["containers"][0];
    const YAML::Node sc = c["securityContext"];
    for (const auto& cap : sc["capabilities"]["add"]) s.caps.push_back(cap.as<std::string>());
    s.read_only_root = sc["readOnlyRootFilesystem"].as<bool>(false);
    s.no_new_privs = !sc["allowPrivilegeEscalation"].as<bool>(true);
    s.host_pid = pod["hostPID"].as<bool>(false);
    s.host_network = pod["hostNetwork"].as<bool>(false);
    std::map<std::string, std::string> host;
    for (const auto& v : pod["volumes"])
      if (v["hostPath"])
        host[v["name"].as<std::string>()] = v["hostPath"]["path"].as<std::string>();
    for (const auto& m : c["volumeMounts"]) {
      const std::string name = m["name"].as<std::string>();
      if (host.contains(name))
        s.mounts.push_back(
            {host[name], m["mountPath"].as<std::string>(), m["readOnly"].as<bool>(false)});
    }
  }
  return s;
}

// The image's root filesystem, built once per test binary: $MMCHAOS_IMAGE_ROOTFS if set, else
// scripts/image.sh (the .deb from $MMCHAOS_DEB, else scripts/package.sh).
const std::string& Rootfs() {
  static const std::string dir = [] {
    if (const char* r = std::getenv("MMCHAOS_IMAGE_ROOTFS")) return std::string(r);
    std::string d = "/tmp/mmchaos-image-rootfs-" + std::to_string(getpid());
    std::filesystem::remove_all(d);
    const char* deb = std::getenv("MMCHAOS_DEB");
    int rc = 0;
    std::string out = Capture(std::string(deb ? "DEB=" + std::string(deb) + " " : "") + kSrc +
                                  "/scripts/image.sh --rootfs " + d + " 2>&1",
                              &rc);
    if (rc != 0) ADD_FAILURE() << "scripts/image.sh failed:\n" << out;
    return d;
  }();
  return dir;
}

// capsh's names of every capability this kernel has that is not in keep.
std::string DropList(const std::vector<std::string>& keep) {
  int last = std::stoi(Capture("cat /proc/sys/kernel/cap_last_cap"));
  char hex[32];
  std::snprintf(hex, sizeof(hex), "0x%llx", (1ULL << (last + 1)) - 1);
  std::string all = Capture(std::string("capsh --decode=") + hex);
  all = all.substr(all.find('=') + 1);
  std::set<std::string> k;
  for (auto c : keep) {
    std::transform(c.begin(), c.end(), c.begin(), ::tolower);
    k.insert("cap_" + c);
  }
  std::string out;
  std::istringstream in(all);
  for (std::string c; std::getline(in, c, ',');) {
    while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
    if (!c.empty() && !k.contains(c)) out += (out.empty() ? "" : ",") + c;
  }
  return out;
}

// The wrapper that runs the image's /usr/bin/mmchaos under spec, with config_dir as the
// ConfigMap. The wrapper's first argument (the host binary, put there by Controller) is dropped.
std::vector<std::string> Runtime(const PodSpec& spec, const std::string& config_dir) {
  const std::string r = Rootfs();
  std::ostringstream sh;
  sh << "set -e; R=" << r << "\n";
  if (spec.read_only_root) sh << "mount --bind $R $R; mount -o remount,bind,ro $R\n";
  if (spec.host_pid) sh << "mount -t proc proc $R/proc\n";
  sh << "mount -t sysfs -o ro sysfs $R/sys\n"
     << "mount -t tmpfs -o mode=755 tmpfs $R/dev\n"
     << "for d in null zero urandom; do touch $R/dev/$d; mount --bind /dev/$d $R/dev/$d; done\n"
     << "mount -t tmpfs tmpfs $R/tmp\n";
  for (const auto& m : spec.mounts) {
    sh << "mkdir -p " << m.host << "; mount --rbind " << m.host << " $R" << m.path << "\n";
    if (m.ro) sh << "mount -o remount,bind,ro $R" << m.path << "\n";
  }
  sh << "mount --bind " << config_dir << " $R/etc/mmchaos\n"
     << "shift\nexec capsh --chroot=$R --drop=" << DropList(spec.caps)
     << (spec.no_new_privs ? " --no-new-privs" : "") << " --shell=/usr/bin/mmchaos -- \"$@\"\n";
  std::vector<std::string> w = {"/usr/bin/unshare", "--mount", "--propagation", "private"};
  if (!spec.host_network) w.push_back("--net");
  for (const std::string& a :
       {std::string("/bin/sh"), std::string("-c"), sh.str(), std::string("sh")})
    w.push_back(a);
  return w;
}

std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Scene {
  Topology topo;
  Cgroup target{"image"};
  TempDir dir;

  std::string ConfigDir() {
    dir.Write("chaos.yaml", ConfigYaml(target.path(), {.net_loss = 0.5, .dry_run = true},
                                       TestPort(41), "\"-\""));  // the log on stderr
    return dir.path();
  }
  // A shadow run in the container: the live shadow count after 200 probes from the target, or
  // -1 when it did not attach (its output in *why).
  int64_t ShadowRun(const PodSpec& spec, std::string* why) {
    Controller ctl(Controller::Args{{"run", "-c", "/etc/mmchaos/chaos.yaml"}},
                   Runtime(spec, ConfigDir()));
    if (!ctl.WaitFor("attached to", 15s)) {
      *why = ctl.output();
      return -1;
    }
    auto sink = std::make_unique<ProbeSink>(SocketIn(topo.exchange, AF_INET, SOCK_DGRAM),
                                            topo.exchange_ip, TestPort(), 200);
    std::string ip = topo.exchange_ip;
    uint16_t port = TestPort();
    Child sender(target, topo.engine, [&] { return SendProbes(ip.c_str(), port, 200, 500); });
    EXPECT_EQ(sender.Wait(), 0);
    sink->Drain();
    EXPECT_EQ(sink->received(), 200u) << "shadow mode dropped packets";
    auto n = static_cast<int64_t>(StatusInjections(StatusFor(target.path()), "net_loss", "shadow"));
    ctl.Signal(SIGTERM);
    EXPECT_EQ(ctl.Wait(10s), 0) << ctl.output();
    *why = ctl.output();
    return n;
  }
};

TEST(Container, ImageRunsAsTheDaemonSetSaysAndNeedsWhatItMounts) {
  const PodSpec spec = DaemonSetSpec();
  ASSERT_FALSE(spec.caps.empty());
  ASSERT_TRUE(spec.read_only_root && spec.no_new_privs && spec.host_pid && spec.host_network);
  ASSERT_TRUE(std::filesystem::exists(Rootfs() + "/usr/bin/mmchaos")) << Rootfs();
  // Nothing but mmchaos in it: no shell, no package manager.
  EXPECT_FALSE(std::filesystem::exists(Rootfs() + "/bin/sh"));
  EXPECT_FALSE(std::filesystem::exists(Rootfs() + "/usr/bin/apt"));

  Scene s;
  // doctor, as the operator would run it in the pod (kubectl exec ... mmchaos doctor).
  {
    const auto w = Runtime(spec, s.ConfigDir());
    std::string cmd;
    for (const auto& a : w) cmd += ShellQuote(a) + " ";
    int rc = 0;
    std::string out = Capture(cmd + "unused doctor --json 2>&1", &rc);
    auto j = nlohmann::json::parse(out.substr(std::min(out.find('{'), out.size())), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "rc " << rc << ": " << out;
    EXPECT_TRUE(j.contains("tc_attach")) << out;
  }
  std::string why;
  const int64_t counted = s.ShadowRun(spec, &why);
  EXPECT_GT(counted, 0) << "the containerised shadow run counted nothing:\n" << why;
  std::printf(
      "container: shadow run counted %lld net_loss decisions for 200 probes (caps %zu, "
      "host mounts %zu)\n",
      static_cast<long long>(counted), spec.caps.size(), spec.mounts.size());

  // What the DaemonSet mounts, one at a time left out: cgroup2 (the target) and mmchaos' run
  // directory (its lock and records) are needed by every run; the others by what this run does
  // not use (--pod: the kubelet's pod logs; a netns by name: /run/netns; a log file).
  std::set<std::string> needed;
  for (const auto& m : spec.mounts) {
    PodSpec less = spec;
    std::erase_if(less.mounts, [&](const PodSpec::Mount& x) { return x.path == m.path; });
    std::string out;
    if (s.ShadowRun(less, &out) <= 0) needed.insert(m.path);
  }
  EXPECT_EQ(needed, (std::set<std::string>{"/sys/fs/cgroup", "/run/mmchaos"}));
  // bpffs is not needed at all (mmchaos pins nothing): proven here, so the DaemonSet has none.
  EXPECT_TRUE(std::none_of(spec.mounts.begin(), spec.mounts.end(),
                           [](const PodSpec::Mount& m) { return m.path == "/sys/fs/bpf"; }));
  // And its capabilities: none of them, nothing attaches.
  PodSpec none = spec;
  none.caps.clear();
  std::string out;
  EXPECT_EQ(s.ShadowRun(none, &out), -1) << "attached without capabilities:\n" << out;
  if (!std::getenv("MMCHAOS_IMAGE_ROOTFS")) std::filesystem::remove_all(Rootfs());
}

}  // namespace
}  // namespace mmchaos::testing

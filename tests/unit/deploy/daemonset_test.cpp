// deploy/kubernetes: the DaemonSet asks for what the systemd unit was proven to need (its
// capability set: Package.* kernel tests) and no more (not privileged), mounts what mmchaos
// reads and writes on the host, and ships a chaos.yaml mmchaos accepts that injects nothing.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "config/config.h"

namespace mmchaos {
namespace {

const std::string kSrc = MMCHAOS_SOURCE_DIR;

YAML::Node Find(const std::vector<YAML::Node>& docs, const std::string& kind) {
  for (const auto& d : docs)
    if (d["kind"].as<std::string>() == kind) return d;
  ADD_FAILURE() << "no " << kind;
  return YAML::Node();
}

// CAP_X names from the unit's CapabilityBoundingSet=, as Kubernetes spells them (X).
std::set<std::string> UnitCapabilities() {
  std::ifstream in(kSrc + "/deploy/systemd/mmchaos.service");
  std::set<std::string> caps;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("CapabilityBoundingSet=")) continue;
    std::istringstream w(line.substr(line.find('=') + 1));
    for (std::string c; w >> c;) caps.insert(c.substr(4));
  }
  return caps;
}

TEST(Deploy, DaemonSetMatchesWhatTheServiceNeeds) {
  const auto docs = YAML::LoadAllFromFile(kSrc + "/deploy/kubernetes/mmchaos-daemonset.yaml");
  const YAML::Node ds = Find(docs, "DaemonSet");
  const YAML::Node pod = ds["spec"]["template"]["spec"];
  EXPECT_EQ(pod["nodeSelector"]["mmchaos.io/canary"].as<std::string>(), "true");
  EXPECT_TRUE(pod["hostPID"].as<bool>());
  EXPECT_TRUE(pod["hostNetwork"].as<bool>());
  ASSERT_EQ(pod["containers"].size(), 1u);
  const YAML::Node c = pod["containers"][0];
  const YAML::Node sc = c["securityContext"];
  EXPECT_FALSE(sc["privileged"].as<bool>());
  EXPECT_FALSE(sc["allowPrivilegeEscalation"].as<bool>());  // NoNewPrivileges
  std::set<std::string> add;
  for (const auto& cap : sc["capabilities"]["add"]) add.insert(cap.as<std::string>());
  const std::set<std::string> unit = UnitCapabilities();
  ASSERT_FALSE(unit.empty());
  EXPECT_EQ(add, unit) << "the DaemonSet's capabilities differ from the unit's tested set";
  EXPECT_EQ(sc["capabilities"]["drop"][0].as<std::string>(), "ALL");

  // Host paths: cgroup2 (targets, memory.high), mmchaos' run directory (locks, crash
  // records), netns files, the kubelet's pod logs (--pod), the injection log.
  std::map<std::string, std::string> host;  // volume name -> host path
  for (const auto& v : pod["volumes"])
    if (v["hostPath"]) host[v["name"].as<std::string>()] = v["hostPath"]["path"].as<std::string>();
  std::set<std::string> mounted;
  for (const auto& m : c["volumeMounts"]) {
    const std::string name = m["name"].as<std::string>();
    if (host.contains(name)) {
      EXPECT_EQ(host[name], m["mountPath"].as<std::string>()) << "mounted where mmchaos looks";
      mounted.insert(host[name]);
    }
  }
  for (const char* p :
       {"/sys/fs/cgroup", "/run/mmchaos", "/run/netns", "/var/log/pods", "/var/log/mmchaos"})
    EXPECT_TRUE(mounted.contains(p)) << p;
  // Nothing it does not use: mmchaos pins nothing in bpffs (Container.* runs without it).
  EXPECT_FALSE(mounted.contains("/sys/fs/bpf"));

  // Scrape annotations and port match the config's exporter.
  const YAML::Node ann = ds["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(ann["prometheus.io/scrape"].as<std::string>(), "true");
  EXPECT_EQ(ann["prometheus.io/port"].as<std::string>(), "9464");
  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 9464);
  EXPECT_EQ(c["lifecycle"]["preStop"]["exec"]["command"][1].as<std::string>(), "rollback");

  // The ConfigMap's chaos.yaml is accepted by mmchaos and injects nothing.
  const YAML::Node cm = Find(docs, "ConfigMap");
  auto cfg = ParseConfig(cm["data"]["chaos.yaml"].as<std::string>(), "configmap");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_FALSE(cfg->chaos.enabled);
  EXPECT_TRUE(cfg->chaos.dry_run);
  EXPECT_EQ(cfg->metrics.listen, "0.0.0.0:9464");
}

}  // namespace
}  // namespace mmchaos

// A controller killed with everything placed (the netem path's ifb, bounce veths or clsact
// filters, and a lowered memory.high), then its state file damaged every way a file can be:
// `mmchaos rollback` still undoes it all by finding mmchaos' objects by what they are (device
// names, the program its filters run, the mark on the cgroup), names the damaged record by its
// path and says what it could not undo; and a new run on the same target starts over it.
// Needs netem and the cgroup v2 memory controller: the qemu lanes (both must run it).
#include <sys/mman.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cgroup/cgroup.h"
#include "cgroup/memory.h"
#include "harness.h"
#include "doctor/tc_probes.h"
#include "tc/steering.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

enum class Damage { kTruncated, kEmpty, kNotJson, kWrongTypes, kOtherId, kSymlink, kDeleted };

std::string DamageName(const ::testing::TestParamInfo<Damage>& p) {
  switch (p.param) {
    case Damage::kTruncated:
      return "Truncated";
    case Damage::kEmpty:
      return "Empty";
    case Damage::kNotJson:
      return "NotJson";
    case Damage::kWrongTypes:
      return "WrongTypes";
    case Damage::kOtherId:
      return "OtherCgroupId";
    case Damage::kSymlink:
      return "Symlink";
    case Damage::kDeleted:
      return "Deleted";
  }
  return "?";
}

bool Supported(std::string* why) {
  if (auto p = MemoryControllerProblem(""); !p.empty())
    *why = "cgroup v2 memory: " + p;
  else if (auto n = ProbeNetemSupport(); !n)
    *why = "netem: " + n.error().message();
  return why->empty();
}

#define REQUIRE_NETEM_AND_MEMORY()                                                      \
  if (std::string why; !Supported(&why)) {                                              \
    if (std::getenv("MMCHAOS_IN_VM")) FAIL() << "must work in the qemu lanes: " << why; \
    GTEST_SKIP() << why << " (the qemu lanes run this)";                                \
  }

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

void Write(const std::string& path, const std::string& v) {
  std::ofstream out(path);
  out << v;
  out.close();
  ASSERT_TRUE(out.good()) << "write " << v << " to " << path;
}

// Keeps 64 MiB resident in its cgroup: memory.current above the squeeze's 32 MiB floor.
int Hold64MiB() {
  const size_t len = 64 << 20;
  auto* p = static_cast<volatile char*>(
      mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (p == MAP_FAILED) return 3;
  for (;;) {
    for (size_t i = 0; i < len; i += 4096) p[i] = static_cast<char>(p[i] + 1);
    usleep(200000);
  }
}

// What the engine's netns and cgroup show of mmchaos.
struct Seen {
  std::string devices, filters, high;
  bool marked = false;
};

class DamagedRecord : public ::testing::TestWithParam<Damage> {
 protected:
  static constexpr const char* kHigh = "1073741824";  // the operator's value
  Topology topo;
  Cgroup parent{"dmg"};
  std::unique_ptr<Cgroup> target;
  std::unique_ptr<Child> hog;
  TempDir dir;
  std::string state, lock;

  void SetUp() override {
    REQUIRE_NETEM_AND_MEMORY();
    Write(parent.path() + "/cgroup.subtree_control", "+memory");
    target = std::make_unique<Cgroup>(parent, "target");
    Write(target->path() + "/memory.high", kHigh);
    hog = std::make_unique<Child>(*target, topo.engine, Hold64MiB);
    auto id = CgroupId(target->path());
    ASSERT_TRUE(id);
    state = "/run/mmchaos/cgroup-" + std::to_string(*id) + ".state.json";
    lock = "/run/mmchaos/cgroup-" + std::to_string(*id) + ".lock";
    for (int i = 0;
         i < 400 &&
         ParseMemoryValue(Read(target->path() + "/memory.current")).value_or(0) < (60ULL << 20);
         ++i)
      std::this_thread::sleep_for(50ms);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove(state, ec);  // the damaged file is left for the operator
    std::filesystem::remove(lock, ec);
    hog.reset();
  }

  std::string Config() const {
    std::ostringstream y;
    y << "chaos:\n  enabled: true\n  dry_run: false\n  lat_spike_ms: 30\n  mem_pressure: high\n"
      << "  burst_on_sec: 3600\n  burst_off_sec: 0\n"
      << "target:\n  cgroup: " << target->path() << "\n  netns: " << topo.engine.path()
      << "\n  interfaces: [" << topo.engine_if << "]\n  exchanges:\n    x: {rest: [\"http://"
      << topo.exchange_ip << ":8080/\"]}\n"
      << "metrics:\n  listen: \"127.0.0.1:" << TestPort(31) << "\"\n"
      << "log:\n  injections: " << dir.path() << "/inj.jsonl\n";
    return y.str();
  }

  Seen Look() const {
    Seen s;
    const std::string ns = "ip netns exec " + topo.engine.name() + " ";
    // mmchaos' own devices, by the names it gives them (the topology's veths are mmc-named too).
    std::istringstream names(Capture(ns + "ip -o link show | awk -F': ' '{ print $2 }'"));
    for (std::string n; std::getline(names, n);) {
      n = n.substr(0, n.find('@'));
      if (MmchaosDeviceName(n)) s.devices += n + " ";
    }
    s.filters = Capture(ns + "tc filter show dev " + topo.engine_if + " ingress; " + ns +
                        "tc filter show dev " + topo.engine_if + " egress");
    s.high = Read(target->path() + "/memory.high");
    char b[64];
    s.marked = ::getxattr(target->path().c_str(), kMemoryHighXattr, b, sizeof(b)) > 0;
    return s;
  }

  // Runs a controller until the netem path is up and memory.high is lowered, then SIGKILLs it
  // and damages its record as the parameter says.
  void PlaceKillAndDamage() {
    auto cfg = dir.Write("chaos.yaml", Config());
    Controller ctl(cfg);
    ASSERT_TRUE(ctl.WaitFor("tc hook up", 20s)) << ctl.output();
    for (int i = 0; i < 200 && Read(target->path() + "/memory.high") == kHigh; ++i)
      std::this_thread::sleep_for(50ms);
    const Seen placed = Look();
    ASSERT_NE(placed.high, kHigh) << "memory.high was never lowered: " << ctl.output();
    ASSERT_TRUE(placed.marked) << "no mark on the squeezed cgroup";
    ASSERT_NE(placed.devices.find("mmc"), std::string::npos) << "no ifb/bounce veth";
    ASSERT_NE(placed.devices.find("mmcifb"), std::string::npos) << placed.devices;
    if (!TcxHere()) {
      ASSERT_NE(placed.filters.find("mmc_tc_ingress"), std::string::npos) << placed.filters;
    }
    ctl.Signal(SIGKILL);
    ctl.Wait(5s);
    ASSERT_TRUE(std::filesystem::exists(state));
    const std::string whole = Read(state);
    auto id = std::filesystem::path(state).filename().string();
    switch (GetParam()) {
      case Damage::kTruncated:
        Write(state, whole.substr(0, whole.size() / 2));
        break;
      case Damage::kEmpty:
        Write(state, "");
        break;
      case Damage::kNotJson:
        Write(state, std::string("\x7f"
                                 "ELF\x02\x01\x01\0\0\xff",
                                 10));
        break;
      case Damage::kWrongTypes:
        Write(state, R"({"netns_inode":"x","attach":1,"ifb":["mmcifb1"],"interfaces":[1],)"
                     R"("memory":{"cgroup":5,"original":null}})");
        break;
      case Damage::kOtherId: {
        auto j = nlohmann::json::parse(whole);
        j["cgroup_id"] = 12345;
        Write(state, j.dump());
        break;
      }
      case Damage::kSymlink:
        std::filesystem::remove(state);
        std::filesystem::create_symlink("/etc/passwd", state);
        break;
      case Damage::kDeleted:
        std::filesystem::remove(state);
        break;
    }
  }

  void ExpectNothingLeft(const std::string& out) {
    const Seen after = Look();
    EXPECT_EQ(after.devices, "") << out;
    EXPECT_EQ(after.filters.find("mmc_"), std::string::npos) << after.filters << out;
    EXPECT_EQ(after.filters.find("u32"), std::string::npos) << after.filters << out;
    EXPECT_EQ(after.high, kHigh) << out;
    EXPECT_FALSE(after.marked) << out;
    EXPECT_TRUE(Status()["attached"].empty()) << Status().dump();
  }
};

TEST_P(DamagedRecord, RollbackUndoesWhatItDescribedAndSaysSo) {
  PlaceKillAndDamage();
  if (HasFatalFailure()) return;
  int rc = 0;
  const std::string out = Capture(MmchaosBin() + " rollback 2>&1", &rc);
  EXPECT_TRUE(rc == 0 || rc == 1) << "crashed? rc " << rc << "\n" << out;
  ExpectNothingLeft(out);
  EXPECT_NE(out.find("found without a record"), std::string::npos) << out;
  EXPECT_NE(out.find("restored to " + std::string(kHigh) + " (found by its mark"),
            std::string::npos)
      << out;
  if (GetParam() != Damage::kDeleted) {
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("damaged record " + state), std::string::npos) << out;
  }
  // On clsact, the qdisc mmchaos added is the one thing only the record knew: said.
  if (!TcxHere()) {
    EXPECT_NE(out.find("not undone: the clsact qdisc on " + topo.engine_if), std::string::npos)
        << out;
  }
  // Nothing found twice: a second rollback has nothing more to undo by name or mark.
  const std::string again = Capture(MmchaosBin() + " rollback 2>&1", &rc);
  EXPECT_EQ(again.find("found without a record"), std::string::npos) << again;
}

TEST_P(DamagedRecord, NextRunStartsOverItAndLeavesNothing) {
  PlaceKillAndDamage();
  if (HasFatalFailure()) return;
  {  // the damaged file stays where it is: the run neither trusts nor merges it
    Controller ctl(dir.path() + "/chaos.yaml");
    ASSERT_TRUE(ctl.WaitFor("tc hook up", 20s)) << ctl.output();
    EXPECT_NE(ctl.output().find("stale mem_pressure mark without a record"), std::string::npos)
        << ctl.output();
    ctl.Signal(SIGTERM);
    EXPECT_EQ(ctl.Wait(10s), 0) << ctl.output();
  }
  const Seen after = Look();
  EXPECT_EQ(after.devices, "");
  EXPECT_EQ(after.filters.find("mmc_"), std::string::npos) << after.filters;
  EXPECT_EQ(after.high, kHigh);
  EXPECT_FALSE(after.marked);
}

INSTANTIATE_TEST_SUITE_P(EveryDamage, DamagedRecord,
                         ::testing::Values(Damage::kTruncated, Damage::kEmpty, Damage::kNotJson,
                                           Damage::kWrongTypes, Damage::kOtherId, Damage::kSymlink,
                                           Damage::kDeleted),
                         DamageName);

}  // namespace
}  // namespace mmchaos::testing

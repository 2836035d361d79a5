#include "clock/clock_uprobe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdarg>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cgroup/cgroup.h"
#include "clock.h"
#include "controller/kernel_config.h"
#include "loader/dataplane.h"
#include "mmchaos_clock_bpf.skel.h"

namespace mmchaos {
namespace {

// The verifier's reason for refusing the programs ("... cannot use helper bpf_probe_write_user"),
// picked out of libbpf's load log for the operator.
thread_local std::string g_refusal;
int CapturePrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level != LIBBPF_WARN) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string text(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), fmt, args);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    if (line.find("cannot use helper") != std::string::npos ||
        line.find("unknown func") != std::string::npos)
      g_refusal = line;
    if (eol == std::string::npos) break;
    pos = eol + 1;
  }
  return 0;
}

std::string Lockdown() {
  std::ifstream in("/sys/kernel/security/lockdown");
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

// From the dynamic symbol table rather than libbpf's
// func_name lookup: libbpf 1.1 calls glibc's two versions of clock_gettime (GLIBC_2.17 and
// GLIBC_2.2.5, one address) ambiguous.
Result<size_t> FuncOffset(const std::string& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  std::string img((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto at = [&](size_t off, size_t len) { return off + len <= img.size() && off + len >= off; };
  if (!at(0, sizeof(Elf64_Ehdr)) || img.compare(0, 4, ELFMAG) != 0 || img[EI_CLASS] != ELFCLASS64)
    return Fail("read ELF64 " + path, EINVAL, "not a 64-bit ELF shared object");
  Elf64_Ehdr eh;
  std::memcpy(&eh, img.data(), sizeof(eh));
  auto shdr = [&](size_t i) {
    Elf64_Shdr sh{};
    size_t off = eh.e_shoff + i * sizeof(Elf64_Shdr);
    if (at(off, sizeof(sh))) std::memcpy(&sh, img.data() + off, sizeof(sh));
    return sh;
  };
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sym = shdr(i);
    if (sym.sh_type != SHT_DYNSYM || sym.sh_entsize != sizeof(Elf64_Sym)) continue;
    Elf64_Shdr str = shdr(sym.sh_link);
    for (size_t off = sym.sh_offset; off + sizeof(Elf64_Sym) <= sym.sh_offset + sym.sh_size;
         off += sizeof(Elf64_Sym)) {
      if (!at(off, sizeof(Elf64_Sym))) break;
      Elf64_Sym s;
      std::memcpy(&s, img.data() + off, sizeof(s));
      if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_value == 0) continue;
      size_t n = str.sh_offset + s.st_name;
      if (!at(n, name.size() + 1) || img.compare(n, name.size() + 1, name.c_str(), name.size() + 1))
        continue;
      // Virtual address -> file offset through the segment that loads it.
      for (size_t p = 0; p < eh.e_phnum; ++p) {
        Elf64_Phdr ph;
        size_t po = eh.e_phoff + p * sizeof(Elf64_Phdr);
        if (!at(po, sizeof(ph))) break;
        std::memcpy(&ph, img.data() + po, sizeof(ph));
        if (ph.p_type == PT_LOAD && s.st_value >= ph.p_vaddr &&
            s.st_value < ph.p_vaddr + ph.p_memsz)
          return static_cast<size_t>(s.st_value - ph.p_vaddr + ph.p_offset);
      }
    }
  }
  return Fail("find " + name + " in " + path, ENOENT,
              "no such function in the dynamic symbol table (an IFUNC or a static libc?)");
}

namespace {

Result<bpf_link*> AttachOne(bpf_program* prog, const std::string& libc, bool ret) {
  auto off = FuncOffset(libc, "clock_gettime");
  if (!off) return std::unexpected(off.error());
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret);
  bpf_link* l = bpf_program__attach_uprobe_opts(prog, -1, libc.c_str(), *off, &opts);
  if (!l)
    return Fail(std::string("bpf_program__attach_uprobe_opts(") + bpf_program__name(prog) + ", " +
                    libc + ":clock_gettime)",
                errno, PrivilegeHint(errno));
  return l;
}

constexpr int64_t kProbeSkewNs = 3600LL * 1000000000LL;

}  // namespace

void ClockUprobes::SkelDeleter::operator()(::mmchaos_clock_bpf* s) const {
  mmchaos_clock_bpf__destroy(s);
}
void ClockUprobes::LinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }

ClockUprobes::~ClockUprobes() { links_.clear(); }

Result<std::unique_ptr<ClockUprobes>> ClockUprobes::Attach(const DataPlane& plane, int cgroup_fd,
                                                           const std::string& libc) {
  std::unique_ptr<ClockUprobes> u(new ClockUprobes());
  u->skel_.reset(mmchaos_clock_bpf__open());
  if (!u->skel_) return Fail("mmchaos_clock_bpf__open (BPF object)", errno);
  // Same-named maps become the data plane's: one config, one set of counters, one log.
  bpf_map* m;
  bpf_object__for_each_map(m, u->skel_->obj) {
    const bpf_map* theirs = bpf_object__find_map_by_name(plane.object(), bpf_map__name(m));
    if (!theirs) continue;
    if (int err = bpf_map__reuse_fd(m, bpf_map__fd(theirs)); err != 0)
      return Fail(std::string("bpf_map__reuse_fd(") + bpf_map__name(m) + ")", err);
  }
  if (int err = mmchaos_clock_bpf__load(u->skel_.get()); err != 0)
    return Fail("mmchaos_clock_bpf__load (verifier)", err,
                "the kernel refused the clock_skew uprobes (bpf_probe_write_user is refused under "
                "kernel lockdown): `mmchaos doctor` says why; use faults.clock_skew_mechanism: "
                "preload and `mmchaos exec`");
  uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(u->skel_->maps.mmc_clk_cg), &zero, &cgroup_fd, BPF_ANY) != 0)
    return Fail("bpf_map_update_elem(mmc_clk_cg)", errno);
  for (auto [prog, ret] : {std::pair{u->skel_->progs.mmc_clk_cgt_in, false},
                           std::pair{u->skel_->progs.mmc_clk_cgt_out, true}}) {
    auto l = AttachOne(prog, libc, ret);
    if (!l) return std::unexpected(l.error());
    u->links_.emplace_back(*l);
  }
  return u;
}

std::string LibcPath(const std::string& cgroup) {
  std::ifstream procs(cgroup + "/cgroup.procs");
  pid_t pid = 0;
  while (procs >> pid) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
      auto slash = line.find('/');
      if (slash == std::string::npos) continue;
      std::string path = line.substr(slash);
      auto base = path.substr(path.rfind('/') + 1);
      if (base != "libc.so.6") continue;
      std::string via_root = "/proc/" + std::to_string(pid) + "/root" + path;
      if (std::filesystem::exists(via_root)) return via_root;
    }
  }
  for (const char* p :
       {"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/usr/lib64/libc.so.6"})
    if (std::filesystem::exists(p)) return p;
  return "/lib/x86_64-linux-gnu/libc.so.6";
}

std::string ProbeClockUprobe(bool load_only) {
  auto old_print = libbpf_set_print(CapturePrint);
  g_refusal.clear();
  std::unique_ptr<::mmchaos_clock_bpf, void (*)(::mmchaos_clock_bpf*)> skel(
      mmchaos_clock_bpf__open(), mmchaos_clock_bpf__destroy);
  int err = skel ? mmchaos_clock_bpf__load(skel.get()) : -errno;
  libbpf_set_print(old_print);
  if (err != 0) {
    std::string lockdown = Lockdown();
    std::string why = "the kernel refused the clock_gettime uprobes (" +
                      std::string(std::strerror(err < 0 ? -err : err)) + ")";
    if (!g_refusal.empty()) why += ": " + g_refusal;
    if (!lockdown.empty()) why += "; kernel lockdown: " + lockdown;
    return why;
  }
  if (load_only) return "";

  auto mount = Cgroup2Mount();
  if (!mount) return mount.error().message();
  const std::string dir = *mount + "/mmchaos-doctor-clock-" + std::to_string(getpid());
  if (::mkdir(dir.c_str(), 0755) != 0) return "mkdir " + dir + ": " + std::strerror(errno);
  std::string result;
  {
    auto cgfd = OpenCgroup(dir);
    mmc_config k{};
    k.armed = 1;
    k.on_ns = 3600ULL * 1000000000ULL;  // epoch 0, always on since
    k.rollout_threshold = MMC_P_ONE;
    k.prob[MMC_SCN_CLOCK_SKEW] = MMC_P_ONE;
    k.clock_skew_ns = kProbeSkewNs;
    k.clock_mask = MMC_CLOCK_REALTIME;
    k.events_per_sec = 0;
    uint32_t zero = 0;
    int cg = cgfd ? cgfd->get() : -1;
    std::vector<std::unique_ptr<bpf_link, void (*)(bpf_link*)>> links;
    if (!cgfd) {
      result = cgfd.error().message();
    } else if (bpf_map_update_elem(bpf_map__fd(skel->maps.mmc_cfg), &zero, &k, BPF_ANY) != 0 ||
               bpf_map_update_elem(bpf_map__fd(skel->maps.mmc_clk_cg), &zero, &cg, BPF_ANY) != 0) {
      result = std::string("bpf_map_update_elem: ") + std::strerror(errno);
    } else {
      const std::string libc = LibcPath(dir);
      for (auto [prog, ret] : {std::pair{skel->progs.mmc_clk_cgt_in, false},
                               std::pair{skel->progs.mmc_clk_cgt_out, true}}) {
        auto l = AttachOne(prog, libc, ret);
        if (!l) {
          result = l.error().message();
          break;
        }
        links.emplace_back(*l, [](bpf_link* x) { bpf_link__destroy(x); });
      }
    }
    if (result.empty()) {
      // A scratch child in the scratch cgroup reads CLOCK_REALTIME through libc and through the
      // raw system call (never hooked) and reports the difference.
      const std::string procs = dir + "/cgroup.procs";
      int p[2] = {-1, -1};
      pid_t child = pipe2(p, O_CLOEXEC) == 0 ? fork() : -1;
      if (child == 0) {
        close(p[0]);
        char pid[24];
        int len = std::snprintf(pid, sizeof(pid), "%d", getpid());
        int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, pid, static_cast<size_t>(len)) != len) _exit(1);
        timespec lib{}, raw{};
        clock_gettime(CLOCK_REALTIME, &lib);
        syscall(SYS_clock_gettime, CLOCK_REALTIME, &raw);
        int64_t d = (lib.tv_sec - raw.tv_sec) * 1000000000LL + (lib.tv_nsec - raw.tv_nsec);
        (void)!write(p[1], &d, sizeof(d));
        _exit(0);
      }
      if (p[1] >= 0) close(p[1]);
      int64_t d = 0;
      pollfd pfd{p[0], POLLIN, 0};
      bool got = child > 0 && poll(&pfd, 1, 10000) == 1 && read(p[0], &d, sizeof(d)) == sizeof(d);
      if (p[0] >= 0) close(p[0]);
      if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
      }
      timespec lib{}, raw{};
      clock_gettime(CLOCK_REALTIME, &lib);
      syscall(SYS_clock_gettime, CLOCK_REALTIME, &raw);
      int64_t mine = (lib.tv_sec - raw.tv_sec) * 1000000000LL + (lib.tv_nsec - raw.tv_nsec);
      if (!got)
        result = "the scratch process did not report its clock reads";
      else if (std::llabs(d - kProbeSkewNs) > 60LL * 1000000000LL)
        result = "uprobes attached, but a read in the scratch cgroup was off by " +
                 std::to_string(d / 1000000) + " ms instead of " +
                 std::to_string(kProbeSkewNs / 1000000) + " ms";
      else if (std::llabs(mine) > 60LL * 1000000000LL)
        result = "a process outside the scratch cgroup read a skewed clock";
    }
  }
  ::rmdir(dir.c_str());
  return result;
}

}  // namespace mmchaos

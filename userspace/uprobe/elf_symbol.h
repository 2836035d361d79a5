// Where a uprobe goes: a function's file offset in an ELF shared object, and which copy of a
// library a process maps.
#pragma once

#include <gelf.h>
#include <libelf.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>

#include "common/error.h"

namespace mmchaos {

// The file offset of a function in an ELF shared object, from its dynamic symbol table (libelf).
// Not libbpf's func_name lookup: libbpf 1.1 calls glibc's two versions of clock_gettime
// (GLIBC_2.17 and GLIBC_2.2.5, one address) ambiguous.
Result<size_t> FuncOffset(const std::string& path, const std::string& name);

struct ElfDeleter {
  void operator()(Elf* e) const { elf_end(e); }
};

// Calls fn(name, symbol) for each function elf defines in its dynamic symbol table (with full,
// in its full one too) until fn returns true; whether one did.
bool ForEachFunction(Elf* elf, bool full,
                     const std::function<bool(const char* name, const GElf_Sym& sym)>& fn);

// The library file named `soname` (e.g. "libssl.so.3") that process pid maps, through
// /proc/PID/root so a container's own copy; empty when it maps none.
std::string MappedLibrary(pid_t pid, const std::string& soname);

// The first of the standard library directories of this host that holds soname, else "".
std::string HostLibrary(const std::string& soname);

}  // namespace mmchaos

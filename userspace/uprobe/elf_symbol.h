// Where a uprobe goes: a function's file offset in an ELF shared object, and which copy of a
// library a process maps.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "common/error.h"

namespace mmchaos {

// The file offset of a function in an ELF shared object, from its dynamic symbol table (libelf).
// Not libbpf's func_name lookup: libbpf 1.1 calls glibc's two versions of clock_gettime
// (GLIBC_2.17 and GLIBC_2.2.5, one address) ambiguous.
Result<size_t> FuncOffset(const std::string& path, const std::string& name);

// The library file named `soname` (e.g. "libssl.so.3") that process pid maps, through
// /proc/PID/root so a container's own copy; empty when it maps none.
std::string MappedLibrary(pid_t pid, const std::string& soname);

// The first of the standard library directories of this host that holds soname, else "".
std::string HostLibrary(const std::string& soname);

}  // namespace mmchaos

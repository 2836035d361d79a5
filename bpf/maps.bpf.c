// SPDX-License-Identifier: GPL-2.0
/* The one definition of the shared maps (see maps.bpf.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MMC_MAPS_OWNER
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

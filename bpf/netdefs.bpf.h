/* Networking constants the BPF programs need: vmlinux.h carries the kernel's types but none of
 * its macros, so these are defined here once. Each is guarded, for a source that gets them from
 * a uapi header instead. */
#ifndef MMCHAOS_NETDEFS_BPF_H
#define MMCHAOS_NETDEFS_BPF_H

/* tc verdicts (linux/pkt_cls.h). TC_ACT_UNSPEC is TCX_NEXT on a tcx link: the next program,
 * then the qdisc, as if we were not here. */
#ifndef TC_ACT_UNSPEC
#define TC_ACT_UNSPEC	(-1)
#endif
#ifndef TC_ACT_SHOT
#define TC_ACT_SHOT	2
#endif
#ifndef TC_ACT_REDIRECT
#define TC_ACT_REDIRECT 7
#endif

/* The Ethernet header before the network header in tc programs (linux/if_ether.h). */
#ifndef ETH_HLEN
#define ETH_HLEN	14
#endif

#endif /* MMCHAOS_NETDEFS_BPF_H */

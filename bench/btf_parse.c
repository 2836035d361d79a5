// SPDX-License-Identifier: GPL-2.0
/* Helper of bench/controller.sh (not part of mmchaos): how long libbpf takes to parse this
 * kernel's BTF (/sys/kernel/btf/vmlinux), what every CO-RE object load pays once. Prints the
 * milliseconds of each of N parses, one per line. */
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5;

	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		struct btf *btf = btf__load_vmlinux_btf();

		if (!btf) {
			perror("btf__load_vmlinux_btf");
			return 1;
		}
		printf("%.2f\n", now_ms() - t0);
		btf__free(btf);
	}
	return 0;
}

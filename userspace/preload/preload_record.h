/* What the parts of the one preload library share (hidden inside it): the controller's record,
 * mapped by clock_preload.c, and the true monotonic clock. */
#ifndef MMCHAOS_PRELOAD_RECORD_H
#define MMCHAOS_PRELOAD_RECORD_H

#include <stdint.h>

struct mmc_tls_state;
struct mmc_tls_counts;

uint64_t mmc_preload_mono_now(void);
/* Maps a newer record if there is one, at most once a second (never waits for another thread
 * doing it); 1 when it looked. For the clock reads: tens of nanoseconds each, too many to stat a
 * file on every one. */
int mmc_preload_refresh(uint64_t now);
/* The same, now (one stat of the record's path): for the TLS request path, where a request
 * written in the second after a controller started must not go unseen. */
int mmc_preload_refresh_now(void);
/* The mapped record's TLS pages and the controller's heartbeat (CLOCK_MONOTONIC ns); NULL / 0
 * before a record is mapped (the counts also when the engine may not write the record). */
const struct mmc_tls_state *mmc_preload_tls_state(void);
struct mmc_tls_counts *mmc_preload_tls_counts(void);
uint64_t mmc_preload_heartbeat(void);

#endif /* MMCHAOS_PRELOAD_RECORD_H */

/* Absolute times for pthread_cond_timedwait and friends: "us microseconds from now" on a
 * given clock, computed in one place so the nanosecond carry is never written again. */
#ifndef ORCH_CLOCK_H
#define ORCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* *ts = now on clock (CLOCK_MONOTONIC for condition variables set up with it, else
 * CLOCK_REALTIME) plus us microseconds (us >= 0). */
static inline void orch_clock_after_us(struct timespec *ts, clockid_t clock, int64_t us)
{
    clock_gettime(clock, ts);
    ts->tv_sec += (time_t)(us / 1000000);
    ts->tv_nsec += (long)(us % 1000000) * 1000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

#endif

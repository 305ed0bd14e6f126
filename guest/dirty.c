/*
 * convoy's test-guest workload: fills memory with pseudo-random data, then
 * keeps rewriting a working set at a paced rate, so that a live migration of
 * the guest has real memory to send and real dirty pages to send again.
 *
 * Parameters come from the kernel command line (/proc/cmdline), and may be
 * overridden by arguments of the same form (for running it on a host):
 *
 *   convoy.fill=MIB     memory filled with non-zero pseudo-random data at start
 *                       (QEMU sends zero pages almost for free; these it must send)
 *   convoy.wss=MIB      the working set: the first MIB of the filled memory,
 *                       rewritten continuously (capped to what was filled)
 *   convoy.dirty=MIB/S  target dirty rate; 0 stops dirtying after the fill.
 *                       Each write touches one word of one 4 KiB page, pages
 *                       taken in turn through the working set, so the rate is
 *                       a rate of pages dirtied (what QEMU measures)
 *   convoy.report=S     seconds between two rate lines (default 2)
 *
 * Console output, one line each:
 *   convoy-guest: ready fill=160 wss=32 dirty=8 (filled in 3.1 s)
 *   convoy-guest: seq=1 t=2.0 rate=8.0 MiB/s target=8 total=16 MiB
 *
 * If the fill asks for more than the kernel says is available, it fills what
 * is available (less a margin) and says so; it never lets itself be killed by
 * the OOM killer for the sake of the fill.
 *
 * Build: gcc -static -O2 -o dirty dirty.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)
#define PAGE 4096UL
/* What is left to the kernel and busybox when the fill is capped. */
#define RESERVE_MIB 24UL
/* Pacing slice: the program wakes this often to catch up with its target. */
#define SLICE_NS 10000000L
/* Never more than this much backlog: a guest that fell behind (paused by a
 * migration, throttled by auto-converge) does not burst to catch up. */
#define MAX_BACKLOG_S 0.5

struct params {
    unsigned long fill, wss, dirty;
    double report;
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[512];
    va_list ap;
    int n = snprintf(line, sizeof line, "convoy-guest: ");
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* One write(2) per line: lines never interleave with the kernel's. */
    for (int off = 0; off < n;) {
        ssize_t w = write(1, line + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (int)w;
    }
}

/* Reads KEY=unsigned from one whitespace-separated token. */
static void parse_token(struct params *p, const char *tok) {
    static const char *keys[] = {"convoy.fill=", "convoy.wss=", "convoy.dirty=",
                                 "convoy.report="};
    for (int i = 0; i < 4; i++) {
        size_t k = strlen(keys[i]);
        if (strncmp(tok, keys[i], k) != 0)
            continue;
        char *end;
        errno = 0;
        double v = strtod(tok + k, &end);
        if (errno || end == tok + k || (*end && *end != ' ' && *end != '\n') || v < 0) {
            say("ignoring malformed parameter %s", tok);
            return;
        }
        switch (i) {
        case 0: p->fill = (unsigned long)v; break;
        case 1: p->wss = (unsigned long)v; break;
        case 2: p->dirty = (unsigned long)v; break;
        case 3: p->report = v > 0.1 ? v : 0.1; break;
        }
    }
}

static void parse_line(struct params *p, char *line) {
    for (char *tok = strtok(line, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
        parse_token(p, tok);
}

/* MemAvailable, in MiB (0 if unknown). */
static unsigned long mem_available_mib(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long kib = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lu kB", &kib) == 1)
            break;
    fclose(f);
    return kib / 1024;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static inline uint64_t next_random(void) {
    /* xorshift64*: never zero, incompressible enough for QEMU. */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (rng * 0x2545f4914f6cdd1dULL) | 1;
}

static void sleep_until(double t) {
    double d = t - now();
    if (d <= 0)
        return;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

int main(int argc, char **argv) {
    struct params p = {.fill = 64, .wss = 16, .dirty = 4, .report = 2.0};
    char cmdline[4096] = "";
    FILE *f = fopen("/proc/cmdline", "r");
    if (f) {
        if (!fgets(cmdline, sizeof cmdline, f))
            cmdline[0] = 0;
        fclose(f);
    }
    parse_line(&p, cmdline);
    for (int i = 1; i < argc; i++)
        parse_token(&p, argv[i]);

    /* The fill: as much as asked, or as much as is available. */
    unsigned long fill = p.fill;
    unsigned long avail = mem_available_mib();
    if (avail && fill + RESERVE_MIB > avail) {
        unsigned long can = avail > RESERVE_MIB ? avail - RESERVE_MIB : 0;
        say("fill=%lu MiB asked but only %lu MiB available: filling %lu MiB", fill, avail, can);
        fill = can;
    }
    uint64_t *mem = NULL;
    while (fill > 0) {
        void *m = mmap(NULL, fill * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
            mem = m;
            break;
        }
        unsigned long less = fill - fill / 8 - 1;
        say("cannot map %lu MiB (%s): trying %lu MiB", fill, strerror(errno), less);
        fill = less;
    }
    double t0 = now();
    size_t words = fill * MIB / sizeof(uint64_t);
    for (size_t i = 0; i < words; i++)
        mem[i] = next_random();
    double filled = now() - t0;

    unsigned long wss = p.wss < fill ? p.wss : fill;
    if (wss < p.wss)
        say("wss=%lu MiB is more than the %lu MiB filled: using %lu MiB", p.wss, fill, wss);
    unsigned long dirty = wss ? p.dirty : 0;
    say("ready fill=%lu wss=%lu dirty=%lu (filled in %.1f s)", fill, wss, dirty, filled);

    size_t pages = wss * MIB / PAGE, page = 0;
    const size_t stride = PAGE / sizeof(uint64_t);
    double start = now(), last = start, last_report = start, next_report = start + p.report;
    double per_s = (double)dirty * MIB / PAGE; /* pages per second */
    double owed = 0;                           /* pages due but not written */
    unsigned long long total = 0, since = 0, seq = 0;
    uint64_t stamp = 0;
    for (;;) {
        double t = now();
        if (dirty) {
            owed += (t - last) * per_s;
            if (owed > per_s * MAX_BACKLOG_S)
                owed = per_s * MAX_BACKLOG_S;
            /* Each page once per write: one word, at a different offset
             * each pass so that the page's content really changes. At most
             * a slice's worth before the clock is read again, so that an
             * unreachable target still reports on time. */
            double chunk = per_s * (double)SLICE_NS / 1e9;
            for (size_t n = (size_t)(owed < chunk ? owed : chunk + 1); n > 0; n--) {
                mem[page * stride + (stamp % stride)] = next_random();
                if (++page == pages) {
                    page = 0;
                    stamp++;
                }
                owed -= 1;
                total++;
                since++;
            }
        }
        last = t;
        if (t >= next_report) {
            double span = t - last_report;
            last_report = t;
            seq++;
            say("seq=%llu t=%.1f rate=%.1f MiB/s target=%lu total=%llu MiB", seq, t - start,
                (double)since * PAGE / MIB / span, dirty, total * PAGE / MIB);
            since = 0;
            /* Skip reports missed while the guest was stopped. */
            while (next_report <= t)
                next_report += p.report;
        }
        if (dirty && owed >= 1)
            continue; /* behind the target: no sleep */
        double wake = dirty ? t + (double)SLICE_NS / 1e9 : next_report;
        if (wake > next_report)
            wake = next_report;
        sleep_until(wake);
    }
}

/*
 * Native reference interpreter for sysfence's bench: a plain C switch loop over classic-BPF
 * seccomp programs, the kernel's run-time semantics for the 41 seccomp opcodes (
 * docs/kernel.md section 10). Built by bench/interp.mjs with `cc -O2`.
 *
 * usage: interp PROGRAM INPUTS REPS RUNS WARMUP
 *   PROGRAM  canonical little-endian sock_filter bytes (8 per instruction), already accepted
 *            by the kernel's checker (no bounds checks here, as in the kernel's interpreter)
 *   INPUTS   D inputs of 16 little-endian u32 words each (seccomp_data as `ld` sees it)
 *   REPS     passes over the D inputs per timed run
 *   RUNS     timed runs; WARMUP untimed runs first
 * prints one JSON line:
 *   {"checksum":N,"insns":N,"sum":N,"evals":N,"times_ns":[...]}
 *   checksum = FNV-1a over the results of one pass, insns = instructions executed in one pass,
 *   sum = sum of all results of one timed run (mod 2^32), evals = evaluations per timed run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct insn {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};

static uint32_t M[16];

#define INTERP(NAME, COUNT)                                                          \
	static uint32_t NAME(const struct insn *p, const uint32_t *d, uint32_t *cnt)       \
	{                                                                                \
		uint32_t A = 0, X = 0, n = 0;                                                \
		const struct insn *i = p;                                                    \
		(void)cnt;                                                                   \
		for (;;) {                                                                   \
			const struct insn *c = i++;                                              \
			const uint32_t k = c->k;                                                 \
			if (COUNT) n++;                                                          \
			switch (c->code) {                                                       \
			case 0x20: A = d[k >> 2]; break;                                         \
			case 0x80: A = 64; break;                                                \
			case 0x81: X = 64; break;                                                \
			case 0x00: A = k; break;                                                 \
			case 0x01: X = k; break;                                                 \
			case 0x60: A = M[k]; break;                                              \
			case 0x61: X = M[k]; break;                                              \
			case 0x02: M[k] = A; break;                                              \
			case 0x03: M[k] = X; break;                                              \
			case 0x04: A += k; break;                                                \
			case 0x14: A -= k; break;                                                \
			case 0x24: A *= k; break;                                                \
			case 0x34: A /= k; break;                                                \
			case 0x44: A |= k; break;                                                \
			case 0x54: A &= k; break;                                                \
			case 0x64: A <<= k; break;                                               \
			case 0x74: A >>= k; break;                                               \
			case 0xa4: A ^= k; break;                                                \
			case 0x0c: A += X; break;                                                \
			case 0x1c: A -= X; break;                                                \
			case 0x2c: A *= X; break;                                                \
			case 0x3c: if (X == 0) { if (COUNT) *cnt = n; return 0; } A /= X; break; \
			case 0x4c: A |= X; break;                                                \
			case 0x5c: A &= X; break;                                                \
			case 0x6c: A <<= (X & 31); break;                                        \
			case 0x7c: A >>= (X & 31); break;                                        \
			case 0xac: A ^= X; break;                                                \
			case 0x84: A = 0 - A; break;                                             \
			case 0x07: X = A; break;                                                 \
			case 0x87: A = X; break;                                                 \
			case 0x05: i += k; break;                                                \
			case 0x15: i += (A == k) ? c->jt : c->jf; break;                         \
			case 0x25: i += (A > k) ? c->jt : c->jf; break;                          \
			case 0x35: i += (A >= k) ? c->jt : c->jf; break;                         \
			case 0x45: i += (A & k) ? c->jt : c->jf; break;                          \
			case 0x1d: i += (A == X) ? c->jt : c->jf; break;                         \
			case 0x2d: i += (A > X) ? c->jt : c->jf; break;                          \
			case 0x3d: i += (A >= X) ? c->jt : c->jf; break;                         \
			case 0x4d: i += (A & X) ? c->jt : c->jf; break;                          \
			case 0x06: if (COUNT) *cnt = n; return k;                                \
			case 0x16: if (COUNT) *cnt = n; return A;                                \
			default: if (COUNT) *cnt = n; return 0;                                  \
			}                                                                        \
		}                                                                            \
	}

INTERP(run, 0)
INTERP(run_counting, 1)

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); exit(2); }
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(2); }
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s PROGRAM INPUTS REPS RUNS WARMUP\n", argv[0]);
		return 2;
	}
	/* The files are little-endian; so is every host this bench targets. */
	const uint16_t one = 1;
	if (*(const uint8_t *)&one != 1) { fprintf(stderr, "big-endian host not supported\n"); return 2; }

	size_t plen, ilen;
	struct insn *prog = slurp(argv[1], &plen);
	uint32_t *in = slurp(argv[2], &ilen);
	if (plen % 8 != 0 || ilen % 64 != 0) { fprintf(stderr, "bad file sizes\n"); return 2; }
	const size_t D = ilen / 64;
	const long reps = atol(argv[3]), runs = atol(argv[4]), warmup = atol(argv[5]);

	/* verification pass: FNV-1a of the results, total instructions */
	uint32_t h = 2166136261u;
	uint64_t insns = 0;
	for (size_t j = 0; j < D; j++) {
		uint32_t c = 0;
		uint32_t r = run_counting(prog, in + 16 * j, &c);
		insns += c;
		for (int b = 0; b < 4; b++) { h ^= (r >> (8 * b)) & 0xff; h *= 16777619u; }
	}

	uint32_t sum = 0;
	printf("{\"checksum\":%u,\"insns\":%llu,\"evals\":%llu,\"times_ns\":[", h,
	       (unsigned long long)insns, (unsigned long long)(reps * (long)D));
	for (long r = -warmup; r < runs; r++) {
		uint32_t s = 0;
		uint64_t t0 = now_ns();
		for (long rep = 0; rep < reps; rep++)
			for (size_t j = 0; j < D; j++) s += run(prog, in + 16 * j, NULL);
		uint64_t t1 = now_ns();
		sum = s;
		if (r >= 0) printf("%s%llu", r ? "," : "", (unsigned long long)(t1 - t0));
	}
	printf("],\"sum\":%u}\n", sum);
	return 0;
}

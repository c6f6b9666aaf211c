/* rng_stream: counter-based random streams (prefix rs_).
 *
 * Contract. Every random number runway uses is a pure function of
 *   (seed, stream, path, year, index)
 * computed by Random123's Philox4x32-10. Nothing here has state, so a path's
 * numbers never depend on which thread or process simulated it, nor on the
 * order in which paths were run.
 *
 *  - seed:   the run's 64-bit seed (scenario `seed`, or --seed).
 *  - stream: a 64-bit identity made from a purpose and a name with
 *            rs_stream_id(), e.g. ("input", "market.train_cost_growth"),
 *            ("exec", "OpenAI"). Keying by name, never by position, gives
 *            common random numbers: adding, removing or reordering other
 *            inputs or labs leaves this stream's numbers unchanged.
 *  - path:   the path index, 0 .. 2^64-1.
 *  - year:   0 for draws made once per path, t = 1..T for yearly draws.
 *  - index:  a free counter word for streams that need more than one
 *            block per (path, year); 0 otherwise.
 *
 * Mapping onto Philox: key = the two 32-bit halves of mix(seed, stream);
 * counter = {path low 32, path high 32, year, index}.
 */
#ifndef RUNWAY_RNG_STREAM_H
#define RUNWAY_RNG_STREAM_H

#include <stdint.h>

typedef struct {
    uint32_t k[2];
} rs_key;

/* A stream identity from a purpose ("input", "exec", "funding",
 * "sentiment") and a name. Stable across versions: FNV-1a 64 over
 * purpose, a 0 byte, and name, then a SplitMix64 finaliser. */
uint64_t rs_stream_id(const char *purpose, const char *name);

/* The Philox key for (seed, stream). Both are mixed so that streams of
 * different seeds do not overlap. */
rs_key rs_key_make(uint64_t seed, uint64_t stream);

/* One Philox4x32-10 block: 128 random bits for (key, path, year, index). */
void rs_block(rs_key key, uint64_t path, uint32_t year, uint32_t index,
              uint32_t out[4]);

/* Two 32-bit words to a double in the open interval (0, 1):
 * ((hi:lo >> 12) + 0.5) * 2^-52, Random123's u01fixedpt_open_open_64_double.
 * Never 0 or 1, so inverse CDFs are finite. Every value is an odd multiple
 * of 2^-53, exactly representable: 2^-53 .. 1 - 2^-53. (A 53-bit version,
 * (>> 11) * 2^-53 + 2^-54, cannot be exact above 1/2 and rounds all ones
 * to 1.0.) */
double rs_u01(uint32_t hi, uint32_t lo);

/* The first uniform of the block (words 0 and 1). */
double rs_uniform(rs_key key, uint64_t path, uint32_t year, uint32_t index);

/* Both uniforms of the block: words (0,1) and (2,3). */
void rs_uniform2(rs_key key, uint64_t path, uint32_t year, uint32_t index,
                 double out[2]);

/* A standard normal by inverse CDF of rs_uniform (GSL's
 * gsl_cdf_ugaussian_Pinv): one uniform per normal, so every normal is
 * reproducible from its counter alone. */
double rs_normal(rs_key key, uint64_t path, uint32_t year, uint32_t index);

#endif

/* rng_stream: counter-based random streams. See rng_stream.h.
 *
 * Every constant and every bit position below is part of the stream
 * layout: changing any of them changes every result runway has produced,
 * so tests/test_philox_kat.c pins them. */
#include "rng/rng_stream.h"

#include <stddef.h>

#include "rng/rng_math.h"
#include <Random123/philox.h>

/* FNV-1a 64 parameters (Fowler, Noll, Vo; IETF draft-eastlake-fnv). */
#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME  0x100000001b3ULL

/* SplitMix64's increment (2^64 / golden ratio), Steele, Lea and Flood,
 * "Fast splittable pseudorandom number generators", OOPSLA 2014. */
#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ULL

/* SplitMix64's output finaliser (Vigna's splitmix64.c constants): a
 * bijection on 64 bits whose every output bit depends on every input bit,
 * so nearby hashes or seeds give unrelated keys. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t fnv1a_bytes(uint64_t h, const char *s)
{
    if (s == NULL)
        return h;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= FNV64_PRIME;
    }
    return h;
}

uint64_t rs_stream_id(const char *purpose, const char *name)
{
    uint64_t h = fnv1a_bytes(FNV64_OFFSET, purpose);
    /* The 0 byte keeps ("ab", "c") and ("a", "bc") apart. FNV-1a of a 0
     * byte is the multiply alone (the xor is a no-op). */
    h *= FNV64_PRIME;
    h = fnv1a_bytes(h, name);
    return mix64(h);
}

rs_key rs_key_make(uint64_t seed, uint64_t stream)
{
    /* The stream is mixed before it meets the seed so that seeds s and
     * s^1 do not simply swap the keys of streams that differ in bit 0. */
    uint64_t m = mix64(seed ^ mix64(stream + GOLDEN_GAMMA));
    rs_key k;
    k.k[0] = (uint32_t)m;
    k.k[1] = (uint32_t)(m >> 32);
    return k;
}

void rs_block(rs_key key, uint64_t path, uint32_t year, uint32_t index,
              uint32_t out[4])
{
    philox4x32_ctr_t c;
    philox4x32_key_t k;
    c.v[0] = (uint32_t)path;
    c.v[1] = (uint32_t)(path >> 32);
    c.v[2] = year;
    c.v[3] = index;
    k.v[0] = key.k[0];
    k.v[1] = key.k[1];
    philox4x32_ctr_t r = philox4x32(c, k);
    out[0] = r.v[0];
    out[1] = r.v[1];
    out[2] = r.v[2];
    out[3] = r.v[3];
}

double rs_u01(uint32_t hi, uint32_t lo)
{
    /* Random123's u01fixedpt_open_open_64_double: the top 52 bits, k, give
     * (2k + 1) 2^-53. The numerator is below 2^53, so every value is
     * exact: odd multiples of 2^-53 from 2^-53 to 1 - 2^-53, equally
     * likely and equally spaced. Keeping 53 bits instead would need
     * 54-bit odd numerators, which round (all ones would give exactly
     * 1.0). */
    uint64_t x = ((uint64_t)hi << 32) | lo;
    return ((double)(x >> 12) + 0.5) * 0x1p-52;
}

double rs_uniform(rs_key key, uint64_t path, uint32_t year, uint32_t index)
{
    uint32_t w[4];
    rs_block(key, path, year, index, w);
    return rs_u01(w[0], w[1]);
}

void rs_uniform2(rs_key key, uint64_t path, uint32_t year, uint32_t index,
                 double out[2])
{
    uint32_t w[4];
    rs_block(key, path, year, index, w);
    out[0] = rs_u01(w[0], w[1]);
    out[1] = rs_u01(w[2], w[3]);
}

double rs_normal(rs_key key, uint64_t path, uint32_t year, uint32_t index)
{
    /* u is in [2^-53, 1 - 2^-53], so the result is finite (|z| < 8.3). */
    return rm_ndtri(rs_uniform(key, path, year, index));
}

/* The lane-wise Philox of rng_philox.h is Random123's philox4x32-10
 * (through rs_block) for every lane, counter word and key. */
#include "rng/rng_philox.h"
#include "rng/rng_stream.h"
#include "test_util.h"

int main(void)
{
    const uint64_t firsts[] = { 0, 1, 4294967290ull, 0x123456789abull, UINT64_MAX - 300 };
    for (int f = 0; f < 5; f++)
        for (uint32_t year = 0; year < 3; year++) {
            rs_key key = rs_key_make(20251231u + (uint64_t)f, rs_stream_id("lab", "OpenAI"));
            double u0[257], u1[257];
            rs_philox_uniforms(key, firsts[f], 257, year * 7, year, u0, u1);
            for (size_t j = 0; j < 257; j++) {
                double ref[2];
                rs_uniform2(key, firsts[f] + j, year * 7, year, ref);
                ASSERT_SAME(u0[j], ref[0]);
                ASSERT_SAME(u1[j], ref[1]);
            }
        }
    TU_DONE();
}

/* h5codec: chunks encoded as HDF5's shuffle + deflate filters would
 * (see h5codec.h). */
#include "output/h5codec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* HDF5's shuffle filter (H5Zshuffle.c): byte i of element j goes to
 * position i * n + j, n = nbytes / esize; leftover bytes stay at the end. */
void hc_shuffle(unsigned char *dst, const unsigned char *src, size_t nbytes, size_t esize)
{
    size_t n = nbytes / esize, j0 = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (esize == 8) {
        /* Eight doubles at a time as an 8 x 8 byte matrix, word r = element
         * r, byte c at bits 8c: transposed in three rounds of swapping its
         * off-diagonal blocks of 4, 2, then 1 bytes, after which word k
         * holds byte k of the eight elements, stored to plane k. A third
         * of the time of the byte-by-byte loop below (each byte a load and
         * a store); the same bytes. */
        static const uint64_t mask[3] = {0x00000000ffffffffull, 0x0000ffff0000ffffull,
                                         0x00ff00ff00ff00ffull};
        for (; j0 + 8 <= n; j0 += 8) {
            uint64_t w[8];
            memcpy(w, src + j0 * 8, sizeof w);
            for (int b = 0, sz = 4; b < 3; b++, sz >>= 1)
                for (int r = 0; r < 8; r++)
                    if (!(r & sz)) {
                        uint64_t t = ((w[r] >> (8 * sz)) ^ w[r + sz]) & mask[b];
                        w[r + sz] ^= t;
                        w[r] ^= t << (8 * sz);
                    }
            for (int k = 0; k < 8; k++)
                memcpy(dst + (size_t)k * n + j0, &w[k], 8);
        }
    }
#endif
    for (size_t i = 0; i < esize; i++)
        for (size_t j = j0; j < n; j++)
            dst[i * n + j] = src[j * esize + i];
    memcpy(dst + n * esize, src + n * esize, nbytes - n * esize);
}

void hc_unshuffle(unsigned char *dst, const unsigned char *src, size_t nbytes, size_t esize)
{
    size_t n = nbytes / esize;
    for (size_t i = 0; i < esize; i++)
        for (size_t j = 0; j < n; j++)
            dst[j * esize + i] = src[i * n + j];
    memcpy(dst + n * esize, src + n * esize, nbytes - n * esize);
}

/* Whether deflate with the Z_RLE strategy can gain on these n bytes:
 * all it finds are Huffman codes for the bytes' frequencies and runs of
 * one byte. A plane of near-uniform noise (order-0 entropy above 7.99
 * bits a byte, so Huffman coding saves under 0.2%) in which under 1% of
 * bytes repeat the one before (noise: 0.4%) has neither. */
int hc_rle_can_gain(const unsigned char *p, size_t n)
{
    if (n < 4096)
        return 1;
    size_t runs = 0; /* a loop of its own: it vectorises */
    for (size_t i = 1; i < n; i++)
        runs += p[i] == p[i - 1];
    if (runs > n / 100)
        return 1;
    /* four histograms, so that equal bytes in a row do not wait on one
     * counter's store */
    uint32_t h[4][256];
    memset(h, 0, sizeof h);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        h[0][p[i]]++;
        h[1][p[i + 1]]++;
        h[2][p[i + 2]]++;
        h[3][p[i + 3]]++;
    }
    for (; i < n; i++)
        h[0][p[i]]++;
    double H = 0.0;
    for (int b = 0; b < 256; b++) {
        uint32_t c = h[0][b] + h[1][b] + h[2][b] + h[3][b];
        if (c) {
            double q = (double)c / (double)n;
            H -= q * log2(q);
        }
    }
    return H <= 7.99;
}

/* The bytes the filter pipeline (shuffle if esize > 1 and shuffle, then
 * deflate) makes of a raw chunk: a zlib stream, as HDF5's deflate filter
 * writes. Returns a malloc'ed buffer and its length in *outlen, or NULL
 * when memory runs out. Thread-safe.
 *
 * With the Z_RLE strategy (group `paths`) the shuffled chunk is fed to
 * zlib a byte plane at a time (byte i of every element), each at level 1,
 * or at level 0 (stored blocks) where hc_rle_can_gain finds nothing to gain:
 * the low mantissa bytes of drawn inputs and cash are noise. Deflating
 * those took most of the writer's time (zlib was half of a default run's
 * profile) for nothing: on the baseline's inputs the stream is 0.03%
 * smaller this way and written 2.3x as fast. It stays one ordinary zlib
 * stream (deflateParams switches the level between blocks) that every
 * reader's deflate filter decodes, and the choice depends only on the
 * chunk's bytes, so the file's bytes are as reproducible as its data.
 * Other strategies find matches at any distance, which these statistics
 * cannot foresee (the path axis 0, 1, 2, ... is all matches): they
 * deflate every plane. */
unsigned char *hc_encode(const unsigned char *raw, size_t nbytes, size_t esize, int shuffle,
                         int rle, size_t *outlen)
{
    const int strategy = rle ? Z_RLE : Z_DEFAULT_STRATEGY;
    unsigned char *tmp = NULL, *out = NULL;
    const unsigned char *src = raw;
    size_t nplanes = 1, plane = nbytes;
    if (shuffle && esize > 1) {
        tmp = malloc(nbytes ? nbytes : 1);
        if (!tmp)
            return NULL;
        hc_shuffle(tmp, raw, nbytes, esize);
        src = tmp;
        nplanes = esize;
        plane = nbytes / esize; /* leftover bytes go with the last plane */
    }
    uLong bound = compressBound((uLong)nbytes);
    out = malloc(bound);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (out && deflateInit2(&z, HC_DEFLATE_LEVEL, Z_DEFLATED, 15, 8, strategy) == Z_OK) {
        z.next_out = out;
        z.avail_out = (uInt)bound;
        int rc = Z_OK, level = HC_DEFLATE_LEVEL;
        for (size_t i = 0; i < nplanes && rc == Z_OK; i++) {
            const unsigned char *pp = src + i * plane;
            size_t len = i + 1 < nplanes ? plane : nbytes - i * plane;
            if (len == 0) /* zlib makes no progress on nothing: Z_BUF_ERROR */
                continue;
            int want = strategy != Z_RLE || hc_rle_can_gain(pp, len) ? HC_DEFLATE_LEVEL : 0;
            if (want != level) {
                rc = deflateParams(&z, want, strategy);
                level = want;
            }
            z.next_in = (Bytef *)pp;
            z.avail_in = (uInt)len;
            if (rc == Z_OK)
                rc = deflate(&z, Z_NO_FLUSH);
        }
        if (rc == Z_OK)
            rc = deflate(&z, Z_FINISH);
        *outlen = (size_t)z.total_out;
        deflateEnd(&z);
        if (rc != Z_STREAM_END) {
            free(out);
            out = NULL;
        }
    } else {
        free(out);
        out = NULL;
    }
    free(tmp);
    return out;
}

int hc_decode(unsigned char *raw, size_t nbytes, const unsigned char *enc, size_t enclen,
              size_t esize, int shuffle)
{
    if (nbytes == 0) {
        /* zlib reads a 0-byte buffer as "find out the length": it would
         * accept any stream; decode into one spare byte instead */
        unsigned char spare;
        uLongf len = 1;
        return uncompress(&spare, &len, enc, (uLong)enclen) == Z_OK && len == 0 ? 0 : -1;
    }
    unsigned char *tmp = NULL, *dst = raw;
    if (shuffle && esize > 1) {
        tmp = malloc(nbytes ? nbytes : 1);
        if (!tmp)
            return -1;
        dst = tmp;
    }
    uLongf len = (uLongf)nbytes;
    int rc = uncompress(dst, &len, enc, (uLong)enclen);
    if (rc == Z_OK && len == nbytes && tmp)
        hc_unshuffle(raw, tmp, nbytes, esize);
    free(tmp);
    return rc == Z_OK && len == nbytes ? 0 : -1;
}

/* The chunk codec (output/h5codec.c) round-trips, and makes what HDF5's
 * own filters make and read:
 *  - hc_shuffle is the permutation HDF5's shuffle filter documents
 *    (H5Zshuffle.c: byte i of element j to i * n + j, leftover bytes at
 *    the end), checked against that definition written out here for every
 *    element size 1..16 and lengths with and without leftovers, and
 *    hc_unshuffle inverts it;
 *  - hc_encode's stream is plain zlib: zlib's own uncompress gives the
 *    shuffled bytes back, for noise, runs, zeros and mixed planes, with
 *    and without Z_RLE and shuffle, and hc_decode gives the raw bytes;
 *  - a chunk stored with H5Dwrite_chunk into a dataset whose pipeline is
 *    shuffle + deflate (level HC_DEFLATE_LEVEL) reads back through
 *    HDF5's filters, H5Dread, as the raw values: what every reader does;
 *  - hc_rle_can_gain refuses uniform noise and accepts zeros, runs and
 *    short planes; hc_decode refuses a stream of the wrong length or one
 *    whose checksum does not match. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <zlib.h>

#include "output/h5codec.h"
#include "test_util.h"

/* splitmix64: reproducible test bytes */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

enum { NOISE, ZEROS, RUNS, DOUBLES };

/* n bytes of one kind: uniform noise, zeros, long runs, or doubles whose
 * high bytes repeat and low bytes are noise (like drawn inputs). */
static void fill(unsigned char *p, size_t n, int kind, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case NOISE: p[i] = (unsigned char)mix(&s); break;
        case ZEROS: p[i] = 0; break;
        case RUNS: p[i] = (unsigned char)((i / 97) % 5); break;
        default: {
            size_t b = i % 8;
            p[i] = b >= 5 ? (unsigned char)(0x40 + (i / 64) % 3) : (unsigned char)mix(&s);
        }
        }
    }
}

static void check_shuffle(void)
{
    unsigned char src[1031], got[1031], want[1031], back[1031];
    fill(src, sizeof src, NOISE, 1);
    for (size_t esize = 1; esize <= 16; esize++)
        for (size_t nbytes = 0; nbytes <= sizeof src; nbytes += nbytes < 70 ? 1 : 137) {
            size_t n = nbytes / esize;
            for (size_t i = 0; i < esize; i++)
                for (size_t j = 0; j < n; j++)
                    want[i * n + j] = src[j * esize + i];
            memcpy(want + n * esize, src + n * esize, nbytes - n * esize);
            hc_shuffle(got, src, nbytes, esize);
            ASSERT_TRUE(memcmp(got, want, nbytes) == 0);
            hc_unshuffle(back, got, nbytes, esize);
            ASSERT_TRUE(memcmp(back, src, nbytes) == 0);
        }
}

static void check_rle_can_gain(void)
{
    size_t n = 65536;
    unsigned char *p = malloc(n);
    fill(p, n, NOISE, 2);
    ASSERT_EQ_INT(hc_rle_can_gain(p, n), 0);
    ASSERT_EQ_INT(hc_rle_can_gain(p, 4095), 1); /* too short to judge */
    fill(p, n, ZEROS, 0);
    ASSERT_EQ_INT(hc_rle_can_gain(p, n), 1);
    fill(p, n, RUNS, 0);
    ASSERT_EQ_INT(hc_rle_can_gain(p, n), 1);
    free(p);
}

/* One chunk through hc_encode: zlib's uncompress gives the shuffled
 * bytes, hc_decode the raw ones, and a wrong length or a flipped byte is
 * refused. */
static void check_roundtrip(size_t nbytes, size_t esize, int kind, int shuffle, int rle)
{
    unsigned char *raw = malloc(nbytes + 1), *want = malloc(nbytes + 1);
    unsigned char *plain = malloc(nbytes + 1), *back = malloc(nbytes + 1);
    fill(raw, nbytes, kind, 3 + nbytes);
    if (shuffle && esize > 1)
        hc_shuffle(want, raw, nbytes, esize);
    else
        memcpy(want, raw, nbytes);
    size_t len = 0;
    unsigned char *enc = hc_encode(raw, nbytes, esize, shuffle, rle, &len);
    ASSERT_TRUE(enc != NULL);
    if (!enc)
        fprintf(stderr, "  (nbytes %zu, esize %zu, kind %d, shuffle %d, rle %d)\n", nbytes, esize,
                kind, shuffle, rle);
    if (enc) {
        uLongf got = (uLongf)nbytes;
        ASSERT_EQ_INT(uncompress(plain, &got, enc, (uLong)len), Z_OK);
        ASSERT_EQ_U64(got, nbytes);
        ASSERT_TRUE(memcmp(plain, want, nbytes) == 0);
        ASSERT_EQ_INT(hc_decode(back, nbytes, enc, len, esize, shuffle), 0);
        ASSERT_TRUE(memcmp(back, raw, nbytes) == 0);
        if (nbytes > 0) {
            ASSERT_EQ_INT(hc_decode(back, nbytes - 1, enc, len, esize, shuffle), -1);
            /* the stream's Adler-32 checksum (its last four bytes) no
             * longer matches the data */
            enc[len - 1] ^= 0x5a;
            ASSERT_EQ_INT(hc_decode(back, nbytes, enc, len, esize, shuffle), -1);
        }
        if (kind == NOISE && nbytes >= 65536 && rle) /* stored planes: barely larger */
            ASSERT_TRUE(len < nbytes + nbytes / 100);
        if (kind == ZEROS && nbytes >= 4096)
            ASSERT_TRUE(len < nbytes / 20);
    }
    free(enc);
    free(raw);
    free(want);
    free(plain);
    free(back);
}

/* A chunk of doubles stored directly into a shuffle + deflate dataset
 * reads back through HDF5's filters. */
static void check_hdf5_reads_it(const char *path, int rle)
{
    enum { ROWS = 4096, COLS = 3 };
    const size_t nbytes = (size_t)ROWS * COLS * sizeof(double);
    double *v = malloc(nbytes), *got = malloc(nbytes);
    fill((unsigned char *)v, nbytes, DOUBLES, 7);
    hsize_t dims[2] = {ROWS, COLS};
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ASSERT_TRUE(f >= 0 && sp >= 0 && dcpl >= 0);
    ASSERT_TRUE(H5Pset_chunk(dcpl, 2, dims) >= 0 && H5Pset_shuffle(dcpl) >= 0 &&
                H5Pset_deflate(dcpl, HC_DEFLATE_LEVEL) >= 0);
    hid_t ds = H5Dcreate2(f, "x", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_TRUE(ds >= 0);
    size_t len = 0;
    /* the file is little-endian; so is every machine runway builds on */
    unsigned char *enc = hc_encode((const unsigned char *)v, nbytes, sizeof(double), 1, rle, &len);
    hsize_t off[2] = {0, 0};
    ASSERT_TRUE(enc && H5Dwrite_chunk(ds, H5P_DEFAULT, 0, off, len, enc) >= 0);
    H5Dclose(ds);
    ds = H5Dopen2(f, "x", H5P_DEFAULT);
    ASSERT_TRUE(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
    ASSERT_TRUE(memcmp(got, v, nbytes) == 0);
    free(enc);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
    remove(path);
    free(v);
    free(got);
}

int main(int argc, char **argv)
{
    check_shuffle();
    check_rle_can_gain();
    static const size_t sizes[] = {0, 1, 7, 8, 63, 4096, 4100, 65536, 524288 + 24};
    static const size_t esizes[] = {1, 2, 4, 8};
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
        for (size_t b = 0; b < sizeof esizes / sizeof esizes[0]; b++)
            for (int kind = NOISE; kind <= DOUBLES; kind++)
                for (int shuffle = 0; shuffle < 2; shuffle++)
                    for (int rle = 0; rle < 2; rle++)
                        check_roundtrip(sizes[a], esizes[b], kind, shuffle, rle);
    const char *path = argc > 1 ? argv[1] : "h5codec_test.h5";
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    check_hdf5_reads_it(path, 1);
    check_hdf5_reads_it(path, 0);
    TU_DONE();
}

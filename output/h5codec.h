/* h5codec: a chunk of a dataset encoded exactly as HDF5's filter pipeline
 * shuffle + deflate would encode it, outside HDF5 (prefix hc_), so that
 * the writer (h5out.c) compresses on several threads and stores chunks
 * with H5Dwrite_chunk; every reader's standard filters decode them.
 *
 * Contract. hc_encode turns nbytes raw bytes (elements of esize bytes,
 * in the file's byte order) into one zlib stream: HDF5's shuffle first
 * when shuffle is set and esize > 1 (hc_shuffle), then deflate at level
 * HC_DEFLATE_LEVEL. With rle set, zlib's Z_RLE strategy is used and a
 * byte plane in which deflate can gain nothing (hc_rle_can_gain) is
 * stored rather than deflated, inside the same stream; without it, the
 * default strategy deflates every byte. The stream depends on the bytes
 * alone, so a file's bytes are as reproducible as its data. hc_decode
 * inverts it. No function here touches HDF5, keeps state or locks:
 * each is safe on many threads at once.
 */
#ifndef RUNWAY_H5CODEC_H
#define RUNWAY_H5CODEC_H

#include <stddef.h>

/* The deflate level of every compressed dataset: the writer's filter
 * pipeline (H5Pset_deflate) and hc_encode use this one value. Level 1:
 * levels 2-6 cost 1.1-2.2x the time for 0.2-2% of size on runway's data. */
#define HC_DEFLATE_LEVEL 1

/* HDF5's shuffle filter (H5Zshuffle.c): byte i of element j goes to
 * position i * n + j, n = nbytes / esize; the nbytes mod esize bytes left
 * over stay at the end. dst and src do not overlap. hc_unshuffle is its
 * inverse. */
void hc_shuffle(unsigned char *dst, const unsigned char *src, size_t nbytes, size_t esize);
void hc_unshuffle(unsigned char *dst, const unsigned char *src, size_t nbytes, size_t esize);

/* 0 when deflate with Z_RLE can gain nothing on these n bytes (4096 or
 * more, near-uniform noise: order-0 entropy above 7.99 bits a byte and
 * fewer than 1% of bytes repeating the one before), else 1. */
int hc_rle_can_gain(const unsigned char *p, size_t n);

/* The encoded chunk, malloc'd (the caller frees it), its length in
 * *outlen; NULL when memory runs out. */
unsigned char *hc_encode(const unsigned char *raw, size_t nbytes, size_t esize, int shuffle,
                         int rle, size_t *outlen);

/* Decodes enc (enclen bytes) into raw, which must come out exactly
 * nbytes long. 0, or -1 (corrupt, the wrong length, or out of memory). */
int hc_decode(unsigned char *raw, size_t nbytes, const unsigned char *enc, size_t enclen,
              size_t esize, int shuffle);

#endif

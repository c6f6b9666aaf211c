/* test_util: typed assertions that print both values when they fail. */
#ifndef RUNWAY_TEST_UTIL_H
#define RUNWAY_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int tu_failures = 0;

#define TU_FAIL_(...) do { fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); tu_failures++; } while (0)

#define ASSERT_TRUE(c) do { if (!(c)) TU_FAIL_("expected true: %s", #c); } while (0)
#define ASSERT_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) TU_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)
#define ASSERT_EQ_U64(a, b) do { unsigned long long a_ = (a), b_ = (b); \
    if (a_ != b_) TU_FAIL_("%s == %s: 0x%llx != 0x%llx", #a, #b, a_, b_); } while (0)
/* |a-b| <= tol */
#define ASSERT_NEAR(a, b, tol) do { double a_ = (a), b_ = (b), t_ = (tol); \
    if (!(fabs(a_ - b_) <= t_)) TU_FAIL_("%s ~ %s: %.17g vs %.17g (tol %.3g)", #a, #b, a_, b_, t_); } while (0)
/* bitwise-equal doubles */
#define ASSERT_SAME(a, b) do { double a_ = (a), b_ = (b); \
    if (!(a_ == b_ || (isnan(a_) && isnan(b_)))) TU_FAIL_("%s == %s: %.17g != %.17g", #a, #b, a_, b_); } while (0)

#define TU_DONE() do { if (tu_failures) { fprintf(stderr, "%d failure(s)\n", tu_failures); return 1; } \
    printf("ok\n"); return 0; } while (0)

#endif

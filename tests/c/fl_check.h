/* fl_check.h - the shared harness of the plain C tests (tests/c/test_*.c).
 *
 * CHECK(cond) counts a pass or reports a failure with its file and line;
 * a test's main() ends with `return fl_check_report();`, which prints
 * "N passed, N failed" and returns non-zero when anything failed.
 * One test program per translation unit: the counters are file-static.
 */
#ifndef FL_CHECK_H
#define FL_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (cond) {                                                       \
            passed++;                                                     \
        } else {                                                          \
            failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                 \
    } while (0)

static inline int
fl_check_report(void)
{
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

#endif /* FL_CHECK_H */

/* Plain C tests of csrc/core/fl_deptab.c (the routing deployment table);
 * prints "N passed, N failed". */
#include <stdint.h>
#include <stdio.h>

#include "fl_check.h"
#include "fl_deptab.h"

static struct fl_deptab_key
key_of(uintptr_t d, uint64_t dtag)
{
    struct fl_deptab_key k = {d, d + 16, d + 32, dtag, dtag + 1, dtag + 2};
    return k;
}

static void
test_find_put_and_tags(void)
{
    struct fl_deptab t;
    struct fl_deptab_key k = key_of(0x1000, 7);
    const struct fl_deptab_entry *e;
    fl_deptab_init(&t);
    CHECK(fl_deptab_find(&t, 0x1000, 7) == NULL); /* nothing allocated yet */
    CHECK(fl_deptab_put(&t, &k, 3, 1, -1, 0.0) == FL_OK);
    CHECK(fl_deptab_put(&t, &k, 5, 0, 1, 2.5) == FL_OK);
    e = fl_deptab_find(&t, 0x1000, 7);
    CHECK(e != NULL && e->known == ((1u << 3) | (1u << 5)) && e->yes == (1u << 3));
    CHECK(e != NULL && e->value[1] == 2.5 && e->key.lp == 0x1010 && e->key.mitag == 9);
    CHECK(fl_deptab_find(&t, 0x1000, 8) == NULL); /* d changed since */
    CHECK(fl_deptab_find(&t, 0x2000, 7) == NULL);
    /* a verdict flips */
    CHECK(fl_deptab_put(&t, &k, 3, 0, -1, 0.0) == FL_OK);
    e = fl_deptab_find(&t, 0x1000, 7);
    CHECK(e != NULL && e->yes == 0 && e->known == ((1u << 3) | (1u << 5)));
    /* the same identity at a new tag (or a new sub-dict): every verdict unknown again */
    k.dtag = 8;
    CHECK(fl_deptab_put(&t, &k, 4, 1, -1, 0.0) == FL_OK);
    e = fl_deptab_find(&t, 0x1000, 8);
    CHECK(e != NULL && e->known == (1u << 4) && e->value[1] == 0.0);
    CHECK(fl_deptab_find(&t, 0x1000, 7) == NULL);
    k.lptag = 99;
    CHECK(fl_deptab_put(&t, &k, 6, 1, -1, 0.0) == FL_OK);
    e = fl_deptab_find(&t, 0x1000, 8);
    CHECK(e != NULL && e->known == (1u << 6) && e->key.lptag == 99);
    /* refused arguments change nothing */
    CHECK(fl_deptab_put(&t, &k, -1, 1, -1, 0.0) == FL_EINVAL);
    CHECK(fl_deptab_put(&t, &k, FL_DEPTAB_SIGS, 1, -1, 0.0) == FL_EINVAL);
    CHECK(fl_deptab_put(&t, &k, 0, 1, FL_DEPTAB_VALUES, 0.0) == FL_EINVAL);
    k.d = 0;
    CHECK(fl_deptab_put(&t, &k, 0, 1, -1, 0.0) == FL_EINVAL);
    CHECK(fl_deptab_find(&t, 0, 0) == NULL);
    e = fl_deptab_find(&t, 0x1000, 8);
    CHECK(e != NULL && e->known == (1u << 6));
    fl_deptab_reset(&t);
    CHECK(fl_deptab_find(&t, 0x1000, 8) == NULL);
    fl_deptab_free(&t);
    CHECK(t.slots == NULL);
}

/* FL_DEPTAB_PROBES + 1 identities sharing one home: all but the last fit in
 * the run; the last overwrites the run's first entry, the others stay. */
static void
test_probe_run(void)
{
    struct fl_deptab t;
    uintptr_t ids[FL_DEPTAB_PROBES + 1];
    int n = 0;
    size_t home = fl_deptab_home(0x10000);
    for (uintptr_t a = 0x10000; n <= FL_DEPTAB_PROBES; a += 16) {
        if (fl_deptab_home(a) == home) {
            ids[n++] = a;
        }
    }
    fl_deptab_init(&t);
    for (int k = 0; k < FL_DEPTAB_PROBES; k++) {
        struct fl_deptab_key key = key_of(ids[k], (uint64_t)k + 1);
        CHECK(fl_deptab_put(&t, &key, 0, 1, 0, (double)k) == FL_OK);
    }
    for (int k = 0; k < FL_DEPTAB_PROBES; k++) {
        const struct fl_deptab_entry *e = fl_deptab_find(&t, ids[k], (uint64_t)k + 1);
        CHECK(e != NULL && e->value[0] == (double)k);
    }
    {
        struct fl_deptab_key key = key_of(ids[FL_DEPTAB_PROBES], 100);
        CHECK(fl_deptab_put(&t, &key, 0, 1, 0, 100.0) == FL_OK);
    }
    CHECK(fl_deptab_find(&t, ids[0], 1) == NULL); /* overwritten */
    CHECK(fl_deptab_find(&t, ids[FL_DEPTAB_PROBES], 100) != NULL);
    for (int k = 1; k < FL_DEPTAB_PROBES; k++) {
        CHECK(fl_deptab_find(&t, ids[k], (uint64_t)k + 1) != NULL);
    }
    /* a run wraps around the end of the array */
    fl_deptab_reset(&t);
    n = 0;
    for (uintptr_t a = 0x10000; n < 2; a += 16) {
        if (fl_deptab_home(a) == FL_DEPTAB_SLOTS - 1) {
            ids[n++] = a;
        }
    }
    for (int k = 0; k < 2; k++) {
        struct fl_deptab_key key = key_of(ids[k], 5);
        CHECK(fl_deptab_put(&t, &key, 1, 1, -1, 0.0) == FL_OK);
    }
    CHECK(fl_deptab_find(&t, ids[0], 5) != NULL && fl_deptab_find(&t, ids[1], 5) != NULL);
    CHECK(&t.slots[0] == fl_deptab_find(&t, ids[1], 5));
    fl_deptab_free(&t);
}

/* A full run overwrites its least recently used entry: entries found (or
 * put) lately stay, entries nobody asks for (deployments that are gone) go
 * first, in the order they were last used; a find at another tag (the
 * deployment changed) does not count as a use. */
static void
test_full_run_evicts_least_recently_used(void)
{
    struct fl_deptab t;
    uintptr_t ids[3 * FL_DEPTAB_PROBES];
    int n = 0, live[FL_DEPTAB_PROBES] = {0};
    size_t home = fl_deptab_home(0x20000);
    for (uintptr_t a = 0x20000; n < 3 * FL_DEPTAB_PROBES; a += 16) {
        if (fl_deptab_home(a) == home) {
            ids[n++] = a;
        }
    }
    fl_deptab_init(&t);
    for (int k = 0; k < FL_DEPTAB_PROBES; k++) {
        struct fl_deptab_key key = key_of(ids[k], 1);
        CHECK(fl_deptab_put(&t, &key, 0, 1, -1, 0.0) == FL_OK);
    }
    /* the odd ones are used again (in reverse order); the even ones are asked
     * for at a new tag only (changed: not a use) */
    for (int k = FL_DEPTAB_PROBES - 1; k >= 0; k--) {
        if (k % 2) {
            CHECK(fl_deptab_find(&t, ids[k], 1) != NULL);
            live[k] = 1;
        } else {
            CHECK(fl_deptab_find(&t, ids[k], 2) == NULL);
        }
    }
    /* new identities take the even entries first, oldest first: 0, 2, 4, ... */
    for (int j = 0; j < FL_DEPTAB_PROBES / 2; j++) {
        struct fl_deptab_key key = key_of(ids[FL_DEPTAB_PROBES + j], 3);
        CHECK(fl_deptab_put(&t, &key, 0, 1, -1, 0.0) == FL_OK);
        CHECK(fl_deptab_find(&t, ids[2 * j], 1) == NULL);
        CHECK(fl_deptab_find(&t, ids[FL_DEPTAB_PROBES + j], 3) != NULL);
    }
    for (int k = 0; k < FL_DEPTAB_PROBES; k++) {
        CHECK((fl_deptab_find(&t, ids[k], 1) != NULL) == live[k]);
    }
    /* a fleet larger than the run keeps cycling: the newest always stays, and
     * the run holds the last FL_DEPTAB_PROBES put */
    for (int k = FL_DEPTAB_PROBES; k < 3 * FL_DEPTAB_PROBES; k++) {
        struct fl_deptab_key key = key_of(ids[k], 4);
        CHECK(fl_deptab_put(&t, &key, 1, 0, -1, 0.0) == FL_OK);
        CHECK(fl_deptab_find(&t, ids[k], 4) != NULL);
    }
    for (int k = 0; k < 3 * FL_DEPTAB_PROBES; k++) {
        CHECK((fl_deptab_find(&t, ids[k], 4) != NULL) == (k >= 2 * FL_DEPTAB_PROBES));
    }
    fl_deptab_reset(&t);
    CHECK(t.clock == 0 && fl_deptab_find(&t, ids[0], 1) == NULL);
    fl_deptab_free(&t);
}

int
main(void)
{
    test_find_put_and_tags();
    test_probe_run();
    test_full_run_evicts_least_recently_used();
    return fl_check_report();
}

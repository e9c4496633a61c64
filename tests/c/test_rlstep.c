/* Plain C tests of csrc/core/fl_rlstep.c; prints "N passed, N failed".
 *
 * JSON integer parsing, the RPM pass and the TPM reservation on a fresh
 * map, window rollover, declines (odd stored values, overflow, long
 * prefixes) that leave nothing written, and a step stopped at the memory
 * cap with sets_done counting the sets made.  (tests/test_rl_steps.py
 * compares both steps with LiteLLM's own code.) */
#include <stdint.h>
#include <string.h>

#include "fl_check.h"
#include "fl_rlstep.h"
#include "fl_ttlmap.h"

static const unsigned char HKEY[16] = {9, 8, 7, 6, 5, 4, 3, 2,
                                       1, 0, 1, 2, 3, 4, 5, 6};
static const char P[] = "{api_key:abc}:";
#define PL (sizeof P - 1)

static int
json(const char *s, int64_t *v)
{
    return fl_rl_json_int((const unsigned char *)s, strlen(s), v);
}

static void
test_json_int(void)
{
    int64_t v = 0;
    CHECK(json("0", &v) && v == 0);
    CHECK(json("-0", &v) && v == 0);
    CHECK(json("1732000000", &v) && v == 1732000000);
    CHECK(json("-17", &v) && v == -17);
    CHECK(json("999999999999999999", &v) && v == 999999999999999999LL);
    CHECK(json("-999999999999999999", &v) && v == -999999999999999999LL);
    CHECK(!json("1000000000000000000", &v)); /* 19 digits: CounterCache's json.loads path */
    CHECK(!json("", &v));
    CHECK(!json("-", &v));
    CHECK(!json("007", &v));
    CHECK(!json("+7", &v));
    CHECK(!json(" 7", &v));
    CHECK(!json("7 ", &v));
    CHECK(!json("1e3", &v));
    CHECK(!json("1.0", &v));
    CHECK(!json("--1", &v));
}

static int
put_str(struct fl_ttlmap *m, const char *suffix, const char *s, double now,
        double ttl)
{
    char key[64];
    struct fl_ttl_value v;
    memset(&v, 0, sizeof v);
    snprintf(key, sizeof key, "%s%s", P, suffix);
    v.kind = FL_TTL_STR;
    v.s = (const unsigned char *)s;
    v.slen = strlen(s);
    return fl_ttlmap_set(m, key, strlen(key), &v, now, ttl) == FL_OK;
}

static int
put_num(struct fl_ttlmap *m, const char *suffix, enum fl_ttl_kind kind,
        int64_t i, double f, double now)
{
    char key[64];
    struct fl_ttl_value v;
    memset(&v, 0, sizeof v);
    snprintf(key, sizeof key, "%s%s", P, suffix);
    v.kind = kind;
    v.i = i;
    v.f = f;
    return fl_ttlmap_set(m, key, strlen(key), &v, now, 60.0) == FL_OK;
}

/* The stored value of P suffix: 1 with *v (ints and int strings), 0 absent. */
static int
read_num(struct fl_ttlmap *m, const char *suffix, double now, int64_t *out)
{
    char key[64];
    struct fl_ttl_value v;
    snprintf(key, sizeof key, "%s%s", P, suffix);
    if (fl_ttlmap_get(m, key, strlen(key), now, &v, NULL) != 1) {
        return 0;
    }
    if (v.kind == FL_TTL_INT) {
        *out = v.i;
        return 1;
    }
    return v.kind == FL_TTL_STR && fl_rl_json_int(v.s, v.slen, out) ? 2 : -1;
}

static void
test_requests(void)
{
    struct fl_ttlmap *m = NULL;
    struct fl_rl_result r;
    double now = 1.7e9;
    int64_t now_int = 1700000000, x = 0;
    int i;

    CHECK(fl_ttlmap_new(HKEY, 0, &m) == FL_OK);
    /* a new window: requests 1, tokens 0, window "now_int" (a str) */
    CHECK(fl_rl_requests(m, P, PL, 3, now_int, 60, now, &r) == FL_OK);
    CHECK(!r.over && r.counter == 1 && r.window_reset && r.window_start == now_int && r.sets_done == 4);
    CHECK(read_num(m, "requests", now, &x) == 1 && x == 1);
    CHECK(read_num(m, "tokens", now, &x) == 1 && x == 0);
    CHECK(read_num(m, "window", now, &x) == 2 && x == now_int);
    /* counts up; the counter may pass the limit by one (the caller's post-check) */
    for (i = 2; i <= 4; i++) {
        CHECK(fl_rl_requests(m, P, PL, 3, now_int + 1, 60, now + 1, &r) == FL_OK);
        CHECK(!r.over && r.counter == i && !r.window_reset && r.window_start == now_int && r.sets_done == 1);
    }
    /* the pre-check: 4 > 3, nothing written */
    CHECK(fl_rl_requests(m, P, PL, 3, now_int + 2, 60, now + 2, &r) == FL_OK);
    CHECK(r.over && r.counter == 4 && r.sets_done == 0);
    CHECK(read_num(m, "requests", now + 2, &x) == 1 && x == 4);
    /* 60 s later the window restarts (now_int - start >= window_size) */
    CHECK(fl_rl_requests(m, P, PL, 10, now_int + 60, 60, now + 2, &r) == FL_OK);
    CHECK(!r.over && r.counter == 1 && r.window_reset && r.window_start == now_int + 60);
    /* an int window start is read as is; an odd one declines with nothing written */
    CHECK(put_num(m, "window", FL_TTL_INT, now_int + 60, 0, now + 3));
    CHECK(fl_rl_requests(m, P, PL, 10, now_int + 61, 60, now + 3, &r) == FL_OK && r.counter == 2);
    CHECK(put_str(m, "window", "1e9", now + 3, 60));
    CHECK(fl_rl_requests(m, P, PL, 10, now_int + 61, 60, now + 3, &r) == FL_EAGAIN);
    CHECK(read_num(m, "requests", now + 3, &x) == 1 && x == 2);
    CHECK(put_num(m, "window", FL_TTL_FLOAT, 0, 1.7e9, now + 3));
    CHECK(fl_rl_requests(m, P, PL, 10, now_int + 61, 60, now + 3, &r) == FL_EAGAIN);
    CHECK(put_str(m, "window", "1700000060", now + 3, 60));
    CHECK(put_num(m, "requests", FL_TTL_FLOAT, 0, 2.0, now + 3));
    CHECK(fl_rl_requests(m, P, PL, 10, now_int + 61, 60, now + 3, &r) == FL_EAGAIN);
    /* a counter at INT64_MAX: the pre-check says over; past a huge limit, +1 declines */
    CHECK(put_num(m, "requests", FL_TTL_INT, INT64_MAX, 0, now + 3));
    CHECK(fl_rl_requests(m, P, PL, 10, now_int + 61, 60, now + 3, &r) == FL_OK && r.over);
    CHECK(fl_rl_requests(m, P, PL, INT64_MAX, now_int + 61, 60, now + 3, &r) == FL_EAGAIN);
    /* a far-away window start whose distance overflows: declined */
    CHECK(put_num(m, "requests", FL_TTL_INT, 1, 0, now + 3));
    CHECK(put_num(m, "window", FL_TTL_INT, INT64_MIN, 0, now + 3));
    CHECK(fl_rl_requests(m, P, PL, 10, now_int, 60, now + 3, &r) == FL_EAGAIN);
    /* prefixes: empty or too long for the longest key */
    CHECK(fl_rl_requests(m, P, 0, 10, now_int, 60, now, &r) == FL_EAGAIN);
    {
        static char big[FL_TTLMAP_MAX_KEY];
        memset(big, 'x', sizeof big);
        CHECK(fl_rl_requests(m, big, FL_RLSTEP_MAX_PREFIX + 1, 10, now_int, 60, now, &r) == FL_EAGAIN);
        CHECK(fl_rl_requests(m, big, FL_RLSTEP_MAX_PREFIX, 10, now_int, 60, now, &r) == FL_OK);
    }
    fl_ttlmap_free(m);
}

static void
test_reserve(void)
{
    struct fl_ttlmap *m = NULL;
    struct fl_rl_result r;
    double now = 1.7e9;
    int64_t now_int = 1700000000, x = 0;

    CHECK(fl_ttlmap_new(HKEY, 0, &m) == FL_OK);
    CHECK(fl_rl_reserve(m, P, PL, 40, 100, now_int, 60, 60, now, &r) == FL_OK);
    CHECK(!r.over && r.counter == 40 && r.window_reset && r.window_start == now_int && r.sets_done == 4);
    CHECK(read_num(m, "requests", now, &x) == 1 && x == 0);
    CHECK(fl_rl_reserve(m, P, PL, 60, 100, now_int + 5, 60, 60, now, &r) == FL_OK);
    CHECK(!r.over && r.counter == 100 && !r.window_reset && r.sets_done == 1);
    /* all or nothing: 100 + 1 > 100, nothing written */
    CHECK(fl_rl_reserve(m, P, PL, 1, 100, now_int + 5, 60, 60, now, &r) == FL_OK);
    CHECK(r.over && r.counter == 100 && r.sets_done == 0);
    /* increment 0: over when the counter already reached the limit */
    CHECK(fl_rl_reserve(m, P, PL, 0, 100, now_int + 5, 60, 60, now, &r) == FL_OK && r.over);
    CHECK(fl_rl_reserve(m, P, PL, 0, 101, now_int + 5, 60, 60, now, &r) == FL_OK && !r.over);
    /* an expired window counts from 0 */
    CHECK(fl_rl_reserve(m, P, PL, 7, 100, now_int + 60, 60, 60, now, &r) == FL_OK);
    CHECK(!r.over && r.counter == 7 && r.window_reset && r.window_start == now_int + 60);
    /* overflow of the sum declines */
    CHECK(fl_rl_reserve(m, P, PL, INT64_MAX, INT64_MAX, now_int + 61, 60, 60, now, &r) == FL_EAGAIN);
    CHECK(read_num(m, "tokens", now, &x) == 1 && x == 7);
    fl_ttlmap_free(m);
}

static void
test_cap(void)
{
    /* from an empty table's size up: every step either completes or stops
     * with sets_done < its plan; the sets it made are in the map */
    struct fl_ttlmap *probe = NULL;
    size_t empty, extra;
    int stopped_mid = 0, stopped_first = 0;

    CHECK(fl_ttlmap_new(HKEY, 0, &probe) == FL_OK);
    empty = fl_ttlmap_memory(probe);
    fl_ttlmap_free(probe);
    for (extra = 0; extra < 400; extra += 2) {
        struct fl_ttlmap *m = NULL;
        struct fl_rl_result r;
        enum fl_status st;
        int64_t x = 0;
        double now = 1.7e9;
        CHECK(fl_ttlmap_new(HKEY, empty + extra, &m) == FL_OK);
        if (!put_str(m, "window", "1699999000", now, 60) || !put_num(m, "requests", FL_TTL_INT, 5, 0, now)) {
            fl_ttlmap_free(m);
            continue;
        }
        st = fl_rl_requests(m, P, PL, 100, 1700000000, 60, now, &r);
        CHECK(st == FL_OK || st == FL_EFULL);
        if (st == FL_EFULL) {
            CHECK(r.sets_done < 4 && r.window_reset && r.counter == 1);
            if (r.sets_done == 0) {
                stopped_first++;
                CHECK(read_num(m, "requests", now, &x) == 1 && x == 5);
            } else {
                stopped_mid++;
                CHECK(read_num(m, "requests", now, &x) == 1 && x == 0);
            }
        } else {
            CHECK(r.sets_done == 4 && read_num(m, "requests", now, &x) == 1 && x == 1);
        }
        fl_ttlmap_free(m);
    }
    CHECK(stopped_mid > 0);
    (void)stopped_first;
}

static void
test_reserve_all(void)
{
    /* two descriptors, the first named twice: all or nothing, one reset per
     * window, the window size of the last counter naming it */
    static const char Q[] = "{team:t}:";
    struct fl_ttlmap *m = NULL;
    struct fl_rl_meta mt[3];
    struct fl_rl_multi mu;
    double now = 1.7e9, exp = 0;
    int64_t now_int = 1700000000, x = 0;
    char key[64];

    CHECK(fl_ttlmap_new(HKEY, 0, &m) == FL_OK);
    memset(mt, 0, sizeof mt);
    mt[0] = (struct fl_rl_meta){P, PL, 1, 5, 100, 60, 60};
    mt[1] = (struct fl_rl_meta){Q, sizeof Q - 1, 1, 5, 7, 60, 60};
    mt[2] = (struct fl_rl_meta){P, PL, 0, 1, 3, 30, 30};
    CHECK(fl_rl_reserve_all(m, mt, 3, now_int, now, &mu) == FL_OK);
    CHECK(mu.over_index == 3);
    /* resets: P's requests/tokens (ttl 30: the last meta naming P), Q's;
     * windows P, counter P tokens, window Q, counter Q tokens, window P again,
     * counter P requests: 4 + 6 sets */
    CHECK(mu.sets_done == 10);
    CHECK(mu.state[0].expired && mu.state[0].counter == 5 && mu.state[2].counter == 1);
    snprintf(key, sizeof key, "%srequests", P);
    CHECK(fl_ttlmap_expiry(m, key, strlen(key), &exp) == 1 && exp == now + 30);
    CHECK(read_num(m, "tokens", now, &x) == 1 && x == 5);
    /* Q over its limit (5 + 5 > 7): nothing written, P included */
    CHECK(fl_rl_reserve_all(m, mt, 3, now_int + 1, now + 1, &mu) == FL_OK);
    CHECK(mu.over_index == 1 && mu.counter == 5 && mu.sets_done == 0);
    CHECK(read_num(m, "tokens", now, &x) == 1 && x == 5);
    /* too many counters: declined; none: nothing to do */
    CHECK(fl_rl_reserve_all(m, mt, FL_RLSTEP_MAX_METAS + 1, now_int, now, &mu) == FL_EAGAIN);
    CHECK(fl_rl_reserve_all(m, mt, 0, now_int, now, &mu) == FL_OK && mu.over_index == 0);
    fl_ttlmap_free(m);
}

int
main(void)
{
    test_json_int();
    test_requests();
    test_reserve();
    test_cap();
    test_reserve_all();
    return fl_check_report();
}

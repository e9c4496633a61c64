/* fl_rlstep.c - see fl_rlstep.h. */
#include "fl_rlstep.h"

#include <string.h>

enum { KEY_WINDOW = 0, KEY_REQUESTS = 1, KEY_TOKENS = 2 };

static const char *const SUFFIX[3] = {"window", "requests", "tokens"};

/* The three keys P"window", P"requests", P"tokens" in one buffer. */
struct rl_keys {
    char buf[3][FL_TTLMAP_MAX_KEY];
    size_t len[3];
};

static int
build_keys(struct rl_keys *k, const char *prefix, size_t plen)
{
    int i;

    if (plen == 0 || plen > FL_RLSTEP_MAX_PREFIX) {
        return 0;
    }
    for (i = 0; i < 3; i++) {
        size_t sl = strlen(SUFFIX[i]);
        memcpy(k->buf[i], prefix, plen);
        memcpy(k->buf[i] + plen, SUFFIX[i], sl);
        k->len[i] = plen + sl;
    }
    return 1;
}

int
fl_rl_json_int(const unsigned char *s, size_t n, int64_t *v)
{
    size_t i = 0, digits;
    int neg = 0;
    int64_t acc = 0;

    if (n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    digits = n - i;
    if (digits == 0 || digits > 18) {
        return 0;
    }
    if (s[i] == '0' && digits != 1) {
        return 0;
    }
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        acc = acc * 10 + (int64_t)(s[i] - '0'); /* < 10**18: no overflow */
    }
    *v = neg ? -acc : acc;
    return 1;
}

/* The number of a live entry (see the header): 1 with *v, 0 to decline. */
static int
entry_number(const struct fl_ttl_value *val, int64_t *v)
{
    if (val->kind == FL_TTL_INT) {
        *v = val->i;
        return 1;
    }
    if (val->kind == FL_TTL_STR) {
        return fl_rl_json_int(val->s, val->slen, v);
    }
    return 0;
}

/* get(key): 1 with *v (a live entry's number), 0 absent, -1 decline. */
static int
get_number(struct fl_ttlmap *m, const struct rl_keys *k, int which,
           double now, int64_t *v)
{
    struct fl_ttl_value val;
    int r = fl_ttlmap_get(m, k->buf[which], k->len[which], now, &val, NULL);

    if (r < 0) {
        return -1;
    }
    if (r == 0) {
        return 0;
    }
    return entry_number(&val, v) ? 1 : -1;
}

static int
add_ok(int64_t a, int64_t b, int64_t *out)
{
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) {
        return 0;
    }
    *out = a + b;
    return 1;
}

/* Window expired for a live start w: now_int - w >= window_size, in exact
 * integer arithmetic (1 expired, 0 not, -1 decline on overflow). */
static int
window_over(int64_t now_int, int64_t w, int64_t window_size)
{
    int64_t diff;

    if (w == INT64_MIN || !add_ok(now_int, -w, &diff)) {
        return -1;
    }
    return diff >= window_size;
}

/* One planned set of an int (is_str: its decimal str); counts sets_done. */
static enum fl_status
put(struct fl_ttlmap *m, const struct rl_keys *k, int which, int64_t value,
    int is_str, double now, double ttl, struct fl_rl_result *out)
{
    char digits[24];
    struct fl_ttl_value val;
    enum fl_status st;

    memset(&val, 0, sizeof val);
    if (is_str) {
        /* the decimal form of value, as Python's str(int) writes it */
        char rev[24];
        size_t n = 0, j;
        uint64_t u = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
        do {
            rev[n++] = (char)('0' + (int)(u % 10u));
            u /= 10u;
        } while (u != 0);
        j = 0;
        if (value < 0) {
            digits[j++] = '-';
        }
        while (n > 0) {
            digits[j++] = rev[--n];
        }
        val.kind = FL_TTL_STR;
        val.s = (const unsigned char *)digits;
        val.slen = j;
    } else {
        val.kind = FL_TTL_INT;
        val.i = value;
    }
    st = fl_ttlmap_set(m, k->buf[which], k->len[which], &val, now, ttl);
    if (st == FL_OK) {
        out->sets_done++;
    }
    return st;
}

/* The window restart both steps share: requests and tokens to 0, the window
 * to str(now_int), every ttl window_size. */
static enum fl_status
restart(struct fl_ttlmap *m, const struct rl_keys *k, int64_t now_int,
        double ttl, double now, struct fl_rl_result *out)
{
    enum fl_status st = put(m, k, KEY_REQUESTS, 0, 0, now, ttl, out);

    if (st == FL_OK) {
        st = put(m, k, KEY_TOKENS, 0, 0, now, ttl, out);
    }
    if (st == FL_OK) {
        st = put(m, k, KEY_WINDOW, now_int, 1, now, ttl, out);
    }
    return st;
}

enum fl_status
fl_rl_window(struct fl_ttlmap *m, const char *prefix, size_t plen,
             int64_t now_int, int64_t window_size, double now,
             struct fl_rl_result *out)
{
    struct rl_keys k;
    int64_t w = 0, c = 0, next;
    int r, expired;
    enum fl_status st;

    memset(out, 0, sizeof *out);
    if (!build_keys(&k, prefix, plen)) {
        return FL_EAGAIN;
    }
    r = get_number(m, &k, KEY_WINDOW, now, &w);
    if (r < 0) {
        return FL_EAGAIN;
    }
    expired = 1;
    if (r == 1) {
        expired = window_over(now_int, w, window_size);
        if (expired < 0) {
            return FL_EAGAIN;
        }
    }
    if (expired) {
        out->window_reset = 1;
        out->window_start = now_int;
        out->counter = 1;
        st = restart(m, &k, now_int, (double)window_size, now, out);
        if (st == FL_OK) {
            st = put(m, &k, KEY_REQUESTS, 1, 0, now, (double)window_size, out);
        }
        return st;
    }
    r = get_number(m, &k, KEY_REQUESTS, now, &c);
    if (r < 0) {
        return FL_EAGAIN;
    }
    if (r == 0) {
        c = 0;
    }
    if (!add_ok(c, 1, &next)) {
        return FL_EAGAIN;
    }
    out->window_start = w;
    out->counter = next;
    return put(m, &k, KEY_REQUESTS, next, 0, now, (double)window_size, out);
}

enum fl_status
fl_rl_requests(struct fl_ttlmap *m, const char *prefix, size_t plen,
               int64_t limit, int64_t now_int, int64_t window_size,
               double now, struct fl_rl_result *out)
{
    struct rl_keys k;
    int64_t w = 0, c = 0;
    int r;

    memset(out, 0, sizeof *out);
    if (!build_keys(&k, prefix, plen)) {
        return FL_EAGAIN;
    }
    /* the pre-check: both keys read, the counter compared */
    if (get_number(m, &k, KEY_WINDOW, now, &w) < 0) {
        return FL_EAGAIN;
    }
    r = get_number(m, &k, KEY_REQUESTS, now, &c);
    if (r < 0) {
        return FL_EAGAIN;
    }
    if (r == 1 && c > limit) {
        out->over = 1;
        out->counter = c;
        return FL_OK;
    }
    return fl_rl_window(m, prefix, plen, now_int, window_size, now, out);
}

static int
same_prefix(const struct fl_rl_meta *a, const struct fl_rl_meta *b)
{
    return a->plen == b->plen && memcmp(a->prefix, b->prefix, a->plen) == 0;
}

enum fl_status
fl_rl_reserve_all(struct fl_ttlmap *m, const struct fl_rl_meta *metas,
                  size_t n, int64_t now_int, double now,
                  struct fl_rl_multi *out)
{
    struct rl_keys k; /* the keys of one meta at a time */
    size_t i, j;
    enum fl_status st = FL_OK;
    struct fl_rl_result tally;

    memset(&tally, 0, sizeof tally);
    out->over_index = n;
    out->counter = 0;
    out->sets_done = 0;
    if (n > FL_RLSTEP_MAX_METAS) {
        return FL_EAGAIN;
    }
    for (i = 0; i < n; i++) {
        if (!build_keys(&k, metas[i].prefix, metas[i].plen)) {
            return FL_EAGAIN;
        }
    }
    /* the reads, meta by meta: the window, then the counter unless expired */
    for (i = 0; i < n; i++) {
        const struct fl_rl_meta *mt = &metas[i];
        struct fl_rl_state *sti = &out->state[i];
        int64_t w = 0, cur = 0, next;
        int r, expired = 1;
        build_keys(&k, mt->prefix, mt->plen);
        r = get_number(m, &k, KEY_WINDOW, now, &w);
        if (r < 0) {
            return FL_EAGAIN;
        }
        if (r == 1) {
            expired = window_over(now_int, w, mt->window_size);
            if (expired < 0) {
                return FL_EAGAIN;
            }
        }
        if (!expired) {
            r = get_number(m, &k, mt->tokens ? KEY_TOKENS : KEY_REQUESTS, now, &cur);
            if (r < 0) {
                return FL_EAGAIN;
            }
            if (r == 0) {
                cur = 0;
            }
        }
        if (!add_ok(cur, mt->increment, &next)) {
            return FL_EAGAIN;
        }
        sti->expired = expired;
        sti->current = cur;
        sti->counter = next;
        sti->window_start = expired ? now_int : w;
        if (mt->increment > 0 ? next > mt->limit : cur >= mt->limit) {
            out->over_index = i;
            out->counter = cur;
            return FL_OK;
        }
    }
    /* the writes: each expired window's siblings to 0 (once per window, in
     * first-appearance order, with the last meta's window size), then per
     * meta its window (if expired) and its counter */
    for (i = 0; i < n && st == FL_OK; i++) {
        int64_t ws = metas[i].window_size;
        int seen = 0;
        if (!out->state[i].expired) {
            continue;
        }
        for (j = 0; j < i && !seen; j++) {
            seen = out->state[j].expired && same_prefix(&metas[j], &metas[i]);
        }
        if (seen) {
            continue;
        }
        for (j = i + 1; j < n; j++) {
            if (out->state[j].expired && same_prefix(&metas[j], &metas[i])) {
                ws = metas[j].window_size;
            }
        }
        build_keys(&k, metas[i].prefix, metas[i].plen);
        st = put(m, &k, KEY_REQUESTS, 0, 0, now, (double)ws, &tally);
        if (st == FL_OK) {
            st = put(m, &k, KEY_TOKENS, 0, 0, now, (double)ws, &tally);
        }
    }
    for (i = 0; i < n && st == FL_OK; i++) {
        const struct fl_rl_meta *mt = &metas[i];
        build_keys(&k, mt->prefix, mt->plen);
        if (out->state[i].expired) {
            st = put(m, &k, KEY_WINDOW, now_int, 1, now, (double)mt->window_size, &tally);
            if (st != FL_OK) {
                break;
            }
        }
        st = put(m, &k, mt->tokens ? KEY_TOKENS : KEY_REQUESTS, out->state[i].counter, 0, now,
                 (double)mt->ttl, &tally);
    }
    out->sets_done = tally.sets_done;
    return st;
}

enum fl_status
fl_rl_reserve(struct fl_ttlmap *m, const char *prefix, size_t plen,
              int64_t increment, int64_t limit, int64_t now_int,
              int64_t window_size, int64_t ttl, double now,
              struct fl_rl_result *out)
{
    struct fl_rl_meta mt;
    struct fl_rl_multi mu;
    enum fl_status st;

    memset(out, 0, sizeof *out);
    mt.prefix = prefix;
    mt.plen = plen;
    mt.tokens = 1;
    mt.increment = increment;
    mt.limit = limit;
    mt.window_size = window_size;
    mt.ttl = ttl;
    st = fl_rl_reserve_all(m, &mt, 1, now_int, now, &mu);
    if (st == FL_EAGAIN) {
        return st;
    }
    if (mu.over_index == 0) {
        out->over = 1;
        out->counter = mu.counter;
        return FL_OK;
    }
    out->counter = mu.state[0].counter;
    out->window_reset = mu.state[0].expired;
    out->window_start = mu.state[0].window_start;
    out->sets_done = mu.sets_done;
    return st;
}

/* fl_deptab.c - see fl_deptab.h. */
#include "fl_deptab.h"

#include <stdlib.h>
#include <string.h>

void
fl_deptab_init(struct fl_deptab *t)
{
    t->slots = NULL;
    t->clock = 0;
}

void
fl_deptab_free(struct fl_deptab *t)
{
    free(t->slots);
    t->slots = NULL;
}

void
fl_deptab_reset(struct fl_deptab *t)
{
    if (t->slots != NULL) {
        memset(t->slots, 0, FL_DEPTAB_SLOTS * sizeof *t->slots);
    }
    t->clock = 0;
}

size_t
fl_deptab_home(uintptr_t d)
{
    uint64_t h = (uint64_t)d >> 4; /* (objects are 16-byte aligned) */
    h *= UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 40) & (FL_DEPTAB_SLOTS - 1);
}

const struct fl_deptab_entry *
fl_deptab_find(struct fl_deptab *t, uintptr_t d, uint64_t dtag)
{
    size_t i = fl_deptab_home(d);
    if (t->slots == NULL || d == 0) {
        return NULL;
    }
    for (int p = 0; p < FL_DEPTAB_PROBES; p++, i = (i + 1) & (FL_DEPTAB_SLOTS - 1)) {
        struct fl_deptab_entry *e = &t->slots[i];
        if (e->key.d == d) {
            if (e->key.dtag != dtag) {
                return NULL;
            }
            e->used = ++t->clock;
            return e;
        }
    }
    return NULL;
}

static int
same_key(const struct fl_deptab_key *a, const struct fl_deptab_key *b)
{
    return a->d == b->d && a->dtag == b->dtag && a->lp == b->lp && a->lptag == b->lptag &&
           a->mi == b->mi && a->mitag == b->mitag;
}

enum fl_status
fl_deptab_put(struct fl_deptab *t, const struct fl_deptab_key *key, int sig, int verdict,
              int value_index, double value)
{
    struct fl_deptab_entry *e = NULL, *oldest = NULL;
    size_t i;
    uint32_t bit;
    if (key->d == 0 || sig < 0 || sig >= FL_DEPTAB_SIGS || value_index >= FL_DEPTAB_VALUES) {
        return FL_EINVAL;
    }
    if (t->slots == NULL) {
        t->slots = calloc(FL_DEPTAB_SLOTS, sizeof *t->slots);
        if (t->slots == NULL) {
            return FL_ENOMEM;
        }
    }
    i = fl_deptab_home(key->d);
    for (int p = 0; p < FL_DEPTAB_PROBES; p++, i = (i + 1) & (FL_DEPTAB_SLOTS - 1)) {
        struct fl_deptab_entry *s = &t->slots[i];
        if (s->key.d == key->d || s->key.d == 0) {
            e = s;
            break;
        }
        if (oldest == NULL || s->used < oldest->used) {
            oldest = s;
        }
    }
    if (e == NULL) {
        e = oldest; /* a full run: its least recently used entry goes */
    }
    if (!same_key(&e->key, key)) {
        memset(e, 0, sizeof *e);
        e->key = *key;
    }
    e->used = ++t->clock;
    bit = UINT32_C(1) << sig;
    e->known |= bit;
    e->yes = verdict ? (e->yes | bit) : (e->yes & ~bit);
    if (value_index >= 0) {
        e->value[value_index] = value;
    }
    return FL_OK;
}

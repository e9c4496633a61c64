/* fl_deptab.h - the routing deployment table: per Router deployment, the
 * verdicts of the routing tests and the numbers they computed, kept while
 * the deployment is unchanged.
 *
 * A deployment is named by identities and change tags the caller reads
 * (csrc/ext/depmemo.c: the addresses of the deployment dict, of its
 * litellm_params and its model_info, and their CPython dict version tags,
 * which change on every write and never repeat).  An entry answers only for
 * the same identity at the same tag of the deployment dict; the caller then
 * compares the two sub-dict tags itself (reading them is only safe once it
 * knows the deployment is unchanged, which still holds them).  Per entry: up
 * to FL_DEPTAB_SIGS yes/no verdicts (bit s: test s), known or not, and
 * FL_DEPTAB_VALUES numbers.
 *
 * Layout and limits: FL_DEPTAB_SLOTS entries in one array, allocated at the
 * first put (FL_DEPTAB_SLOTS * sizeof(struct fl_deptab_entry), about
 * 2.9 MB); open addressing on the identity with FL_DEPTAB_PROBES probes and
 * no deletion.  Every find that answers and every put stamps its entry with
 * the table's use clock; a put finds its identity or a free entry in the
 * run, else overwrites the run's least recently used entry.  Entries of
 * deployments that are gone (dicts freed, or changed and not asked for at
 * their old tag again) are never stamped again, so they go before any entry
 * still in use; more live deployments than fit only means more misses.  An
 * entry whose recorded key differs from the one put is reset (every verdict
 * unknown) before the new verdict is set.
 *
 * Thread-safety: plain data; the caller serialises (the binding holds the
 * GIL).  No allocation except the array's first one. */
#ifndef FL_DEPTAB_H
#define FL_DEPTAB_H

#include <stddef.h>
#include <stdint.h>

#include "fl_status.h"

#define FL_DEPTAB_SLOTS 32768 /* a power of two */
#define FL_DEPTAB_PROBES 8
#define FL_DEPTAB_SIGS 32
#define FL_DEPTAB_VALUES 3

/* what names a deployment: identities (0 for "none") and change tags */
struct fl_deptab_key {
    uintptr_t d, lp, mi;
    uint64_t dtag, lptag, mitag;
};

struct fl_deptab_entry {
    struct fl_deptab_key key;
    uint32_t known, yes; /* bit s: test s's verdict is known / is yes */
    uint64_t used;       /* the use clock at the last find that answered, or put */
    double value[FL_DEPTAB_VALUES];
};

struct fl_deptab {
    struct fl_deptab_entry *slots; /* FL_DEPTAB_SLOTS, or NULL before the first put */
    uint64_t clock;                /* the use clock: +1 a stamp (2^64 stamps never wrap) */
};

/* An empty table (nothing allocated). */
void fl_deptab_init(struct fl_deptab *t);

/* Free the array; t is empty again. */
void fl_deptab_free(struct fl_deptab *t);

/* Forget every entry (the array is kept). */
void fl_deptab_reset(struct fl_deptab *t);

/* The slot an identity's probe run starts at (exposed for tests). */
size_t fl_deptab_home(uintptr_t d);

/* The entry recorded for identity d (nonzero) at tag dtag, or NULL: none for
 * d in its probe run, or one recorded at another tag (d changed since).  An
 * entry found is stamped as used. */
const struct fl_deptab_entry *fl_deptab_find(struct fl_deptab *t, uintptr_t d, uint64_t dtag);

/* Record test sig's verdict (0 no, else yes) for key and, when value_index
 * >= 0, the number `value` in slot value_index.
 *   FL_OK      recorded;
 *   FL_EINVAL  key->d is 0, sig outside [0, FL_DEPTAB_SIGS), or value_index
 *              >= FL_DEPTAB_VALUES (nothing changed);
 *   FL_ENOMEM  the array's first allocation failed (nothing changed). */
enum fl_status fl_deptab_put(struct fl_deptab *t, const struct fl_deptab_key *key, int sig,
                             int verdict, int value_index, double value);

#endif /* FL_DEPTAB_H */

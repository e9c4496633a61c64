/* depmemo.c - the routing filters' verdicts per deployment, remembered
 * while the deployment's dicts are unchanged.
 *
 * Every pick runs the same per-deployment tests (routefilt.c) several times
 * over the same Router deployments (a pick at 1,000 deployments read about
 * 10 dict keys per deployment per test, seven tests a pick: memory-bound).
 * The memo keeps, per deployment dict d, the verdict of each test
 * ("signature": the arguments that select the test) together with the
 * identity and PEP 509 version tag of d, of d["litellm_params"] and of
 * d["model_info"] (the only objects a test reads that can change: every
 * value a test reads below them is an immutable builtin).  CPython 3.11
 * gives every dict a new version tag on each change, from a process-wide
 * counter that never repeats; a freed dict's memory reused for a new dict
 * gets a new tag too.  So while the three tags are those recorded, the
 * three dicts hold what they held when the verdict was computed and the
 * verdict stands; any change to any of them (a key set, deleted, replaced
 * by the same value, the dict cleared) makes the entry miss and the test
 * run again.  A litellm_params or model_info that is not an exact dict is
 * recorded as NULL: every test's verdict then depends only on its type,
 * which cannot become an exact dict.
 *
 * The entries live in csrc/core/fl_deptab.c (the deployment table: pure C,
 * keyed by the addresses and tags this file reads; C tests in
 * tests/c/test_deptab.c).  Limits: FL_DEPTAB_SLOTS entries, open addressing
 * on the address of d with FL_DEPTAB_PROBES probes and no deletion (a full
 * run overwrites its least recently used entry, so entries of deployments
 * gone go first): more live deployments than that only means more misses.  At most 31 signatures (bit 31 is the id test's), 20 of
 * one kind (the name filter has one per model name: a proxy with many
 * model names must not leave the plainness checks and the weights without
 * any), and FL_DEPMEMO_VALUES numbers per deployment (simple-shuffle's
 * weights); a further one is not memoised (its test runs every time).
 * Memory: about 2.9 MB, allocated at the first use (sized so that a fleet
 * of a few thousand deployments, plus the dead ones a long-lived process
 * leaves in slots, rarely meets a full run: the whole-list answers are only
 * recorded while every deployment's own verdict is in the table).
 *
 * The version tag is deprecated from CPython 3.12 (still maintained: "value
 * change each time the dictionary is modified", the low bits now carry
 * watcher flags) and gone in 3.14: the memo is compiled for 3.11 to 3.13
 * (FL_MEMO_ENABLED), elsewhere every lookup misses and every test runs
 * (the verdicts are the same).  tests/depmemo_tags.py checks the rule on
 * each of those interpreters.
 *
 * Tags are read before a test runs.  A test can run Python code (the
 * __eq__ of a non-str key whose hash collides with one of its names, as
 * LiteLLM's own .get() would): whatever that code changes gets a newer tag
 * than the one recorded, so the entry misses next time. */
#include "fl_ext.h" /* Python.h first */

#include "fl_deptab.h"

#include <stdint.h>
#include <string.h>

#define FL_MEMO_ENABLED FL_DICT_TAGS

#define FL_MEMO_SIGS FL_DEPMEMO_IDS /* the last bit is the id test's */
/* signatures one kind may hold: the rest (11) stay for the others -- the
 * plainness checks use about 6, the weights 3 */
#define FL_MEMO_PER_KIND 20
_Static_assert(FL_DEPMEMO_IDS == FL_MEMO_SIGS, "the id test's lists sit after the others");
_Static_assert(FL_DEPMEMO_IDS < FL_DEPTAB_SIGS, "every signature has a verdict bit");
_Static_assert(FL_DEPMEMO_VALUES <= FL_DEPTAB_VALUES, "every number has a slot");

struct fl_depmemo {
    struct fl_deptab table;       /* csrc/core/fl_deptab.c: the entries */
    PyObject *sigs[FL_MEMO_SIGS]; /* owned tuples of the test's arguments */
    int sig_kind[FL_MEMO_SIGS];   /* the test's kind (the caller's numbers) */
    int sig_value[FL_MEMO_SIGS];  /* its index in value[], or -1 */
    int n_sigs, n_values;
    uint64_t hits, misses, list_hits;
    /* per signature (and the id test's, at FL_DEPMEMO_IDS), snapshots
     * (seqsnap.c) of the last FL_MEMO_LISTS lists of FL_MEMO_LIST_MIN or
     * more items the test answered, most recently used first */
    PyObject *lists[FL_MEMO_SIGS + 1][FL_MEMO_LISTS];
};

fl_depmemo *
fl_depmemo_new(void)
{
    fl_depmemo *m = PyMem_Calloc(1, sizeof(*m));
    if (m == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    fl_deptab_init(&m->table);
    return m;
}

void
fl_depmemo_free(fl_depmemo *m)
{
    if (m == NULL) {
        return;
    }
    fl_depmemo_clear(m);
    fl_deptab_free(&m->table);
    PyMem_Free(m);
}

int
fl_depmemo_traverse(fl_depmemo *m, visitproc visit, void *arg)
{
    for (int s = 0; m != NULL && s < m->n_sigs; s++) {
        Py_VISIT(m->sigs[s]);
        for (int k = 0; k < FL_MEMO_LISTS; k++) {
            Py_VISIT(m->lists[s][k]);
        }
    }
    for (int k = 0; m != NULL && k < FL_MEMO_LISTS; k++) {
        Py_VISIT(m->lists[FL_DEPMEMO_IDS][k]);
    }
    return 0;
}

void
fl_depmemo_clear(fl_depmemo *m)
{
    for (int s = 0; m != NULL && s < m->n_sigs; s++) {
        Py_CLEAR(m->sigs[s]);
        for (int k = 0; k < FL_MEMO_LISTS; k++) {
            Py_CLEAR(m->lists[s][k]);
        }
    }
    if (m != NULL) {
        for (int k = 0; k < FL_MEMO_LISTS; k++) {
            Py_CLEAR(m->lists[FL_DEPMEMO_IDS][k]);
        }
        m->n_sigs = 0;
        m->n_values = 0;
        fl_deptab_reset(&m->table); /* the bits name signatures that are gone */
    }
}

/* 1 when the two argument tuples are the same test: the same objects, or
 * equal exact strs / both None item by item. */
static int
same_sig(PyObject *a, PyObject *const *parts, Py_ssize_t n)
{
    if (PyTuple_GET_SIZE(a) != n) {
        return 0;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *x = PyTuple_GET_ITEM(a, k), *y = parts[k];
        if (x == y) {
            continue;
        }
        if (!PyUnicode_CheckExact(x) || !PyUnicode_CheckExact(y) ||
            PyUnicode_Compare(x, y) != 0) {
            return 0; /* (Compare of two exact strs cannot fail) */
        }
    }
    return 1;
}

static int
kind_count(const fl_depmemo *m, int kind)
{
    int c = 0;
    for (int s = 0; s < m->n_sigs; s++) {
        c += m->sig_kind[s] == kind;
    }
    return c;
}

int
fl_depmemo_sig(fl_depmemo *m, int kind, int with_value, PyObject *const *parts,
               Py_ssize_t n)
{
    PyObject *t;
    if (!FL_MEMO_ENABLED) {
        return FL_DEPMEMO_NONE;
    }
    for (int s = 0; s < m->n_sigs; s++) {
        if (m->sig_kind[s] == kind && same_sig(m->sigs[s], parts, n)) {
            return s;
        }
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        if (parts[k] != Py_None && !PyUnicode_CheckExact(parts[k])) {
            return FL_DEPMEMO_NONE;
        }
    }
    if (m->n_sigs == FL_MEMO_SIGS || (with_value && m->n_values == FL_DEPMEMO_VALUES)) {
        return FL_DEPMEMO_NONE;
    }
    if (kind_count(m, kind) >= FL_MEMO_PER_KIND) {
        /* one kind (the name filter: a signature per model name) never takes
         * the slots the other tests need */
        return FL_DEPMEMO_NONE;
    }
    t = PyTuple_New(n);
    if (t == NULL) {
        return FL_DEPMEMO_ERROR;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_INCREF(parts[k]);
        PyTuple_SET_ITEM(t, k, parts[k]);
    }
    m->sigs[m->n_sigs] = t;
    m->sig_kind[m->n_sigs] = kind;
    m->sig_value[m->n_sigs] = with_value ? m->n_values++ : -1;
    return m->n_sigs++;
}

#if FL_MEMO_ENABLED
#define tag_of fl_dict_tag

/* the entry for d with its recorded tags all current, or NULL */
static const struct fl_deptab_entry *
find(fl_depmemo *m, PyObject *d)
{
    const struct fl_deptab_entry *e =
        fl_deptab_find(&m->table, (uintptr_t)d, tag_of(d));
    /* d unchanged still holds the lp and mi recorded with it: reading their
     * tags is safe */
    if (e != NULL && (e->key.lp == 0 || e->key.lptag == tag_of((PyObject *)e->key.lp)) &&
        (e->key.mi == 0 || e->key.mitag == tag_of((PyObject *)e->key.mi))) {
        return e;
    }
    return NULL;
}
#endif

int
fl_depmemo_get(fl_depmemo *m, PyObject *d, int sig, double *value)
{
#if FL_MEMO_ENABLED
    const struct fl_deptab_entry *s;
    if (sig < 0 || !PyDict_CheckExact(d) || (s = find(m, d)) == NULL ||
        !(s->known & (UINT32_C(1) << sig))) {
        m->misses++;
        return -1;
    }
    m->hits++;
    if (value != NULL && sig < FL_MEMO_SIGS && m->sig_value[sig] >= 0) {
        *value = s->value[m->sig_value[sig]];
    }
    return (s->yes >> sig) & 1;
#else
    (void)d;
    (void)sig;
    (void)value;
    m->misses++;
    return -1;
#endif
}

int
fl_depmemo_snap(PyObject *lp_key, PyObject *mi_key, PyObject *d,
                fl_depmemo_snapshot *snap)
{
    PyObject *v;
    memset(snap, 0, sizeof(*snap));
#if FL_MEMO_ENABLED
    if (!PyDict_CheckExact(d)) {
        return 0; /* nothing to remember: snap->d stays NULL */
    }
    snap->d = d;
    snap->dtag = tag_of(d);
    v = PyDict_GetItemWithError(d, lp_key);
    if (v == NULL && PyErr_Occurred()) {
        goto error;
    }
    if (v != NULL && PyDict_CheckExact(v)) {
        snap->lp = v;
        snap->lptag = tag_of(v);
    }
    v = PyDict_GetItemWithError(d, mi_key);
    if (v == NULL && PyErr_Occurred()) {
        goto error;
    }
    if (v != NULL && PyDict_CheckExact(v)) {
        snap->mi = v;
        snap->mitag = tag_of(v);
    }
    return 0;
error:
    snap->d = NULL;
    return -1;
#else
    (void)lp_key;
    (void)mi_key;
    (void)d;
    (void)v;
    return 0;
#endif
}

int
fl_depmemo_put(fl_depmemo *m, const fl_depmemo_snapshot *snap, int sig,
               int verdict, double value)
{
#if FL_MEMO_ENABLED
    struct fl_deptab_key key;
    int vi;
    if (sig < 0 || snap->d == NULL) {
        return 0;
    }
    key.d = (uintptr_t)snap->d;
    key.lp = (uintptr_t)snap->lp;
    key.mi = (uintptr_t)snap->mi;
    key.dtag = snap->dtag;
    key.lptag = snap->lptag;
    key.mitag = snap->mitag;
    vi = sig < FL_MEMO_SIGS ? m->sig_value[sig] : -1;
    switch (fl_deptab_put(&m->table, &key, sig, verdict, vi, value)) {
    case FL_OK:
        return 0;
    case FL_ENOMEM:
        PyErr_NoMemory();
        return -1;
    default:
        PyErr_SetString(PyExc_SystemError, "depmemo: a verdict the table refuses");
        return -1;
    }
#else
    (void)m;
    (void)snap;
    (void)sig;
    (void)verdict;
    (void)value;
    return 0;
#endif
}

void
fl_depmemo_counts(const fl_depmemo *m, uint64_t *hits, uint64_t *misses,
                  uint64_t *list_hits)
{
    *hits = m->hits;
    *misses = m->misses;
    *list_hits = m->list_hits;
}

/* dict_tags(objs): the CPython version tags of the dicts in the tuple objs
 * (a class stands for its own namespace dict, tp_dict) as a tuple of ints,
 * equal between two calls only if none of those dicts changed in between
 * (a key set, even to the same value, or deleted).  None where the tags do
 * not exist (CPython 3.14, free-threaded builds): callers then check the
 * long way every time. */
PyObject *
fl_ext_dict_tags(PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *objs, *res = NULL;
    if (nargs != 1 || !PyTuple_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "dict_tags() expects (tuple)");
        goto error;
    }
    objs = args[0];
#if FL_MEMO_ENABLED
    res = PyTuple_New(PyTuple_GET_SIZE(objs));
    if (res == NULL) {
        goto error;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(objs); k++) {
        PyObject *o = PyTuple_GET_ITEM(objs, k), *tag;
        if (PyType_Check(o)) {
            o = ((PyTypeObject *)o)->tp_dict;
        }
        if (o == NULL || !PyDict_Check(o)) {
            PyErr_SetString(PyExc_TypeError, "dict_tags() expects dicts or classes");
            goto error;
        }
        tag = PyLong_FromUnsignedLongLong((unsigned long long)tag_of(o));
        if (tag == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(res, k, tag);
    }
    return res;
#else
    (void)objs;
    Py_RETURN_NONE;
#endif
error:
    Py_XDECREF(res);
    return NULL;
}

PyObject *
fl_depmemo_list_find(fl_depmemo *m, int sig, PyObject *seq, PyObject *also)
{
    if (sig < 0 || (sig >= m->n_sigs && sig != FL_DEPMEMO_IDS)) {
        return NULL;
    }
    for (int k = 0; k < FL_MEMO_LISTS; k++) {
        PyObject *rec = m->lists[sig][k];
        if (rec == NULL || !fl_seqsnap_holds(PyTuple_GET_ITEM(rec, 0), seq, FL_DEPMEMO_SUBS)) {
            continue;
        }
        if (also != NULL &&
            (PyTuple_GET_SIZE(rec) < 2 || !fl_seqsnap_same(also, PyTuple_GET_ITEM(rec, 1)))) {
            continue;
        }
        for (; k > 0; k--) { /* to the front (the list still holds it) */
            m->lists[sig][k] = m->lists[sig][k - 1];
        }
        m->lists[sig][0] = rec;
        m->list_hits++;
        return rec;
    }
    return NULL;
}

int
fl_depmemo_list_put(fl_depmemo *m, int sig, PyObject *seq, PyObject *const *subkeys,
                    PyObject *extra)
{
    PyObject *snap, *head, *rec;
    if (sig < 0 || (sig >= m->n_sigs && sig != FL_DEPMEMO_IDS) ||
        (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq)) ||
        PySequence_Fast_GET_SIZE(seq) < FL_MEMO_LIST_MIN) {
        return 0;
    }
    snap = fl_seqsnap_take(seq, subkeys, FL_DEPMEMO_SUBS);
    if (snap == NULL) {
        return -1;
    }
    if (snap == Py_None) {
        Py_DECREF(snap);
        return 0;
    }
    head = PyTuple_Pack(1, snap);
    Py_DECREF(snap);
    if (head == NULL) {
        return -1;
    }
    rec = extra == NULL ? head : PySequence_Concat(head, extra);
    if (extra != NULL) {
        Py_DECREF(head);
    }
    if (rec == NULL) {
        return -1;
    }
    {
        /* the least recently used record goes; released once out of reach */
        PyObject *gone = m->lists[sig][FL_MEMO_LISTS - 1];
        for (int k = FL_MEMO_LISTS - 1; k > 0; k--) {
            m->lists[sig][k] = m->lists[sig][k - 1];
        }
        m->lists[sig][0] = rec;
        Py_XDECREF(gone);
    }
    return 0;
}

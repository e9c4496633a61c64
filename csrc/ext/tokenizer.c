/* tokenizer.c - the heap type `BPE`: one loaded rank table (csrc/core/fl_bpe).
 *
 *   BPE(data: bytes, pattern: int)   parse a tiktoken rank file's contents
 *   .encode_ordinary(text) -> list[int]
 *   .count(text) -> int                  no list is built
 *   .count_many(texts) -> list[int]      one call for many texts
 *   .count_chunked(text, chunk) -> int   counts of chunk-code-point slices
 *   .count_sum(texts, chunk, max_chars) -> int | None   many, chunked, summed
 *   .decode_bytes(ids, specials) -> bytes   specials: {id: bytes}
 *   .token_bytes(id) -> bytes | None,  .lookup(bytes) -> int | None
 *   .merge_piece(bytes, reference=False) -> list[int]   (tests, fuzzing)
 *   .size, .max_rank, .memory
 *
 * Text is taken as UTF-8 from the str (a str holding lone surrogates raises
 * UnicodeEncodeError, which the Python layer answers as tiktoken does).
 * The GIL is released around the core's work when the input is long: the
 * UTF-8 buffer belongs to a str this call holds a reference to, and the
 * rank table is immutable.
 */
#include "fl_ext.h"

#include <stdint.h>
#include <stdlib.h>

#include "fl_bpe.h"

/* Inputs shorter than this many bytes are encoded with the GIL held:
 * releasing and re-taking it costs more than the work. */
#define NOGIL_MIN_BYTES 4096

typedef struct {
    PyObject_HEAD
    struct fl_bpe *bpe;
} BPEObject;

static PyObject *
status_error(enum fl_status st)
{
    if (st == FL_ENOMEM) {
        return PyErr_NoMemory();
    }
    if (st == FL_EOVERFLOW) {
        PyErr_SetString(PyExc_OverflowError, "input exceeds a tokenizer limit");
        return NULL;
    }
    PyErr_SetString(PyExc_ValueError, "invalid tokenizer input");
    return NULL;
}

static PyObject *
BPE_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", "pattern", NULL};
    Py_buffer data = {0};
    int pattern = 0;
    int have_data = 0;
    BPEObject *self = NULL;
    struct fl_bpe *bpe = NULL;
    size_t bad_line = 0;
    enum fl_status st;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*i:BPE", kwlist, &data,
                                     &pattern)) {
        goto error;
    }
    have_data = 1;
    if (pattern != FL_PAT_GPT2 && pattern != FL_PAT_CL100K &&
        pattern != FL_PAT_O200K) {
        PyErr_Format(PyExc_ValueError, "unknown pattern %d", pattern);
        goto error;
    }
    Py_BEGIN_ALLOW_THREADS
    st = fl_bpe_load((const unsigned char *)data.buf, (size_t)data.len,
                     (fl_pattern)pattern, &bpe, &bad_line);
    Py_END_ALLOW_THREADS
    if (st == FL_EINVAL) {
        PyErr_Format(PyExc_ValueError,
                     "malformed rank file (entry %zu): expected unique "
                     "'<base64> <rank>' lines covering every byte",
                     bad_line);
        goto error;
    }
    if (st != FL_OK) {
        (void)status_error(st);
        goto error;
    }
    self = (BPEObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        goto error;
    }
    self->bpe = bpe;
    PyBuffer_Release(&data);
    return (PyObject *)self;
error:
    if (have_data) {
        PyBuffer_Release(&data);
    }
    fl_bpe_free(bpe);
    return NULL;
}

static void
BPE_dealloc(BPEObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    fl_bpe_free(self->bpe);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
ids_to_list(const uint32_t *ids, size_t n)
{
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (list == NULL) {
        goto error;
    }
    for (size_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromUnsignedLong(ids[i]);
        if (v == NULL) {
            goto error;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    return list;
error:
    Py_XDECREF(list);
    return NULL;
}

/* Encode `text` (a str); ids into `out` when not NULL, else only count. */
static int
encode_str(BPEObject *self, PyObject *text, struct fl_tokbuf *out,
           size_t *count)
{
    Py_ssize_t n = 0;
    const char *utf8 = NULL;
    enum fl_status st;

    if (!PyUnicode_Check(text)) {
        /* tiktoken's (PyO3's) wording */
        if (text == Py_None) {
            PyErr_SetString(PyExc_TypeError,
                            "'None' is not an instance of 'str'");
        } else {
            PyErr_Format(PyExc_TypeError,
                         "'%s' object is not an instance of 'str'",
                         Py_TYPE(text)->tp_name);
        }
        goto error;
    }
    utf8 = PyUnicode_AsUTF8AndSize(text, &n);
    if (utf8 == NULL) {
        goto error;
    }
    if (n >= NOGIL_MIN_BYTES) {
        Py_BEGIN_ALLOW_THREADS
        st = fl_bpe_encode(self->bpe, (const unsigned char *)utf8, (size_t)n,
                           out, count);
        Py_END_ALLOW_THREADS
    } else {
        st = fl_bpe_encode(self->bpe, (const unsigned char *)utf8, (size_t)n,
                           out, count);
    }
    if (st != FL_OK) {
        (void)status_error(st);
        goto error;
    }
    return 0;
error:
    return -1;
}

static PyObject *
BPE_encode_ordinary(BPEObject *self, PyObject *text)
{
    struct fl_tokbuf buf = {0};
    size_t count = 0;
    PyObject *res = NULL;

    if (encode_str(self, text, &buf, &count) < 0) {
        goto error;
    }
    res = ids_to_list(buf.ids, buf.len);
error:
    fl_tokbuf_free(&buf);
    return res;
}

static PyObject *
BPE_count(BPEObject *self, PyObject *text)
{
    size_t count = 0;
    if (encode_str(self, text, NULL, &count) < 0) {
        goto error;
    }
    return PyLong_FromSize_t(count);
error:
    return NULL;
}

/* count_chunked(text, chunk): the sum of count(text[i:i + chunk]) over i
 * in range(0, len(text), chunk), without making the slices. */
static PyObject *
BPE_count_chunked(BPEObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    const char *utf8 = NULL;
    Py_ssize_t n = 0;
    Py_ssize_t chunk = 0;
    size_t count = 0;
    enum fl_status st;

    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "count_chunked() expects (str, int)");
        goto error;
    }
    chunk = PyLong_AsSsize_t(args[1]);
    if (chunk == -1 && PyErr_Occurred()) {
        goto error;
    }
    if (chunk < 1) {
        PyErr_SetString(PyExc_ValueError, "count_chunked(): chunk must be >= 1");
        goto error;
    }
    utf8 = PyUnicode_AsUTF8AndSize(args[0], &n);
    if (utf8 == NULL) {
        goto error;
    }
    if (n >= NOGIL_MIN_BYTES) {
        Py_BEGIN_ALLOW_THREADS
        st = fl_bpe_count_chunked(self->bpe, (const unsigned char *)utf8,
                                  (size_t)n, (size_t)chunk, &count);
        Py_END_ALLOW_THREADS
    } else {
        st = fl_bpe_count_chunked(self->bpe, (const unsigned char *)utf8,
                                  (size_t)n, (size_t)chunk, &count);
    }
    if (st != FL_OK) {
        (void)status_error(st);
        goto error;
    }
    return PyLong_FromSize_t(count);
error:
    return NULL;
}

/* The UTF-8 of every str of a sequence (borrowed from the strs, which the
 * caller keeps alive through `seq`) into ptr/len; *total: their bytes.
 * chunk[i] (when `chunk` is not NULL): 0 when item i has at most
 * `chunk_chars` code points, else chunk_chars.  -1 with an exception set. */
static int
utf8_items(PyObject *seq, Py_ssize_t n, const char *what, const char **ptr,
           size_t *len, size_t *chunk, size_t chunk_chars, size_t *total)
{
    *total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, i);
        Py_ssize_t tl = 0;
        if (!PyUnicode_Check(t)) {
            PyErr_Format(PyExc_TypeError, "%s() item %zd: expected str, got %s",
                         what, i, Py_TYPE(t)->tp_name);
            goto error;
        }
        ptr[i] = PyUnicode_AsUTF8AndSize(t, &tl);
        if (ptr[i] == NULL) {
            goto error;
        }
        len[i] = (size_t)tl;
        *total += (size_t)tl;
        if (chunk != NULL) {
            chunk[i] = (size_t)PyUnicode_GET_LENGTH(t) <= chunk_chars
                           ? 0 : chunk_chars;
        }
    }
    return 0;
error:
    return -1;
}

/* counts[i] = the count of item i (in chunk[i]-code-point slices when
 * chunk is not NULL and chunk[i] > 0); the GIL is released once around the
 * whole batch when it is long. */
static enum fl_status
count_items(BPEObject *self, Py_ssize_t n, const char **ptr,
            const size_t *len, const size_t *chunk, size_t total,
            size_t *counts)
{
    enum fl_status st;
    const unsigned char *const *texts = (const unsigned char *const *)ptr;
    if (total >= NOGIL_MIN_BYTES) {
        Py_BEGIN_ALLOW_THREADS
        st = fl_bpe_count_batch(self->bpe, (size_t)n, texts, len, chunk,
                                counts);
        Py_END_ALLOW_THREADS
    } else {
        st = fl_bpe_count_batch(self->bpe, (size_t)n, texts, len, chunk,
                                counts);
    }
    return st;
}

/* count_sum(texts, chunk, max_chars): sum(count_chunked(t, chunk) for t in
 * texts), or None when a text has more than max_chars code points (LiteLLM
 * extrapolates those: the caller's business). */
static PyObject *
BPE_count_sum(BPEObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *seq = NULL;
    PyObject *res = NULL;
    const char **ptr = NULL;
    size_t *len = NULL;
    size_t *chunk = NULL;
    size_t *counts = NULL;
    Py_ssize_t n = 0;
    Py_ssize_t chunk_chars = 0;
    Py_ssize_t max_chars = 0;
    size_t total = 0;
    size_t sum = 0;
    enum fl_status st;

    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "count_sum() expects (texts, chunk, max_chars)");
        goto error;
    }
    if (!PyList_Check(args[0]) && !PyTuple_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "count_sum() expects a list or tuple");
        goto error;
    }
    seq = PySequence_Fast(args[0], "count_sum() expects a list or tuple");
    if (seq == NULL) {
        goto error;
    }
    chunk_chars = PyLong_AsSsize_t(args[1]);
    if (chunk_chars == -1 && PyErr_Occurred()) {
        goto error;
    }
    max_chars = PyLong_AsSsize_t(args[2]);
    if (max_chars == -1 && PyErr_Occurred()) {
        goto error;
    }
    if (chunk_chars < 1 || max_chars < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "count_sum(): chunk must be >= 1, max_chars >= 0");
        goto error;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, i);
        if (PyUnicode_Check(t) && PyUnicode_GET_LENGTH(t) > max_chars) {
            res = Py_NewRef(Py_None);
            goto error;
        }
    }
    ptr = PyMem_Calloc((size_t)n + 1, sizeof(*ptr));
    len = PyMem_Calloc((size_t)n + 1, sizeof(*len));
    chunk = PyMem_Calloc((size_t)n + 1, sizeof(*chunk));
    counts = PyMem_Calloc((size_t)n + 1, sizeof(*counts));
    if (ptr == NULL || len == NULL || chunk == NULL || counts == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    if (utf8_items(seq, n, "count_sum", ptr, len, chunk, (size_t)chunk_chars,
                   &total) < 0) {
        goto error;
    }
    st = count_items(self, n, ptr, len, chunk, total, counts);
    if (st != FL_OK) {
        (void)status_error(st);
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        sum += counts[i];
    }
    res = PyLong_FromSize_t(sum);
error:
    Py_XDECREF(seq);
    PyMem_Free(ptr);
    PyMem_Free(len);
    PyMem_Free(chunk);
    PyMem_Free(counts);
    return res;
}

/* Count every str of a list or tuple. */
static PyObject *
BPE_count_many(BPEObject *self, PyObject *texts)
{
    PyObject *seq = NULL;
    PyObject *res = NULL;
    const char **ptr = NULL;
    size_t *len = NULL;
    size_t *counts = NULL;
    Py_ssize_t n = 0;
    size_t total = 0;
    enum fl_status st = FL_OK;

    seq = PySequence_Fast(texts, "count_many() expects a list or tuple");
    if (seq == NULL) {
        goto error;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    ptr = PyMem_Calloc((size_t)n + 1, sizeof(*ptr));
    len = PyMem_Calloc((size_t)n + 1, sizeof(*len));
    counts = PyMem_Calloc((size_t)n + 1, sizeof(*counts));
    if (ptr == NULL || len == NULL || counts == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    if (utf8_items(seq, n, "count_many", ptr, len, NULL, 0, &total) < 0) {
        goto error;
    }
    st = count_items(self, n, ptr, len, NULL, total, counts);
    if (st != FL_OK) {
        (void)status_error(st);
        goto error;
    }
    res = PyList_New(n);
    if (res == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromSize_t(counts[i]);
        if (v == NULL) {
            Py_CLEAR(res);
            goto error;
        }
        PyList_SET_ITEM(res, i, v);
    }
error:
    PyMem_Free(ptr);
    PyMem_Free(len);
    PyMem_Free(counts);
    Py_XDECREF(seq);
    return res;
}

/* A token id as tiktoken's binding converts it (u32). */
static int
to_u32(PyObject *obj, uint32_t *out)
{
    PyObject *idx = PyNumber_Index(obj);
    int overflow = 0;
    long long v;
    if (idx == NULL) {
        goto error;
    }
    v = PyLong_AsLongLongAndOverflow(idx, &overflow);
    Py_DECREF(idx);
    if (v == -1 && PyErr_Occurred()) {
        goto error;
    }
    if (overflow) {
        /* tiktoken's message outside the range of an i64 ... */
        PyErr_SetString(PyExc_OverflowError,
                        "Python int too large to convert to C long");
        goto error;
    }
    if (v < 0 || v > (long long)UINT32_MAX) { /* ... and outside a u32 */
        PyErr_SetString(PyExc_OverflowError,
                        "out of range integral type conversion attempted");
        goto error;
    }
    *out = (uint32_t)v;
    return 0;
error:
    return -1;
}

/* decode_bytes(ids, specials): tokens' bytes concatenated; `specials` maps
 * special ids to their bytes; any other unknown id raises KeyError like
 * tiktoken ("Invalid token for decoding: N"). */
static PyObject *
BPE_decode_bytes(BPEObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *seq = NULL;
    PyObject *specials = NULL;
    PyObject *parts = NULL;
    PyObject *res = NULL;
    uint32_t *ids = NULL;
    Py_ssize_t n = 0;
    size_t done = 0;

    if (nargs != 2 || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "decode_bytes(ids, specials: dict) expected");
        goto error;
    }
    specials = args[1];
    seq = PySequence_Fast(args[0], "decode_bytes() expects a sequence");
    if (seq == NULL) {
        goto error;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    ids = PyMem_Calloc((size_t)n + 1, sizeof(*ids));
    parts = PyList_New(0);
    if (ids == NULL || parts == NULL) {
        if (ids == NULL) {
            PyErr_NoMemory();
        }
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (to_u32(PySequence_Fast_GET_ITEM(seq, i), &ids[i]) < 0) {
            goto error;
        }
    }
    while (done <= (size_t)n) {
        unsigned char *buf = NULL;
        size_t blen = 0;
        size_t bad = (size_t)n - done;
        enum fl_status st = fl_bpe_decode(self->bpe, ids + done,
                                          (size_t)n - done, &buf, &blen, &bad);
        if (st == FL_ENOMEM || st == FL_EOVERFLOW) {
            (void)status_error(st);
            goto error;
        }
        if (st == FL_OK) {
            PyObject *b = PyBytes_FromStringAndSize((const char *)buf,
                                                    (Py_ssize_t)blen);
            free(buf);
            if (b == NULL || PyList_Append(parts, b) < 0) {
                Py_XDECREF(b);
                goto error;
            }
            Py_DECREF(b);
            break;
        }
        /* ids[done + bad] is no mergeable token: decode what precedes it,
         * then the special (or raise). */
        {
            PyObject *key = NULL;
            PyObject *sp = NULL;
            st = fl_bpe_decode(self->bpe, ids + done, bad, &buf, &blen, &bad);
            if (st != FL_OK) {
                (void)status_error(st);
                goto error;
            }
            PyObject *b = PyBytes_FromStringAndSize((const char *)buf,
                                                    (Py_ssize_t)blen);
            free(buf);
            if (b == NULL || PyList_Append(parts, b) < 0) {
                Py_XDECREF(b);
                goto error;
            }
            Py_DECREF(b);
            done += bad;
            key = PyLong_FromUnsignedLong(ids[done]);
            if (key == NULL) {
                goto error;
            }
            sp = PyDict_GetItemWithError(specials, key); /* borrowed */
            Py_DECREF(key);
            if (sp == NULL) {
                if (!PyErr_Occurred()) {
                    PyObject *msg = PyUnicode_FromFormat(
                        "Invalid token for decoding: %lu",
                        (unsigned long)ids[done]);
                    if (msg != NULL) {
                        PyErr_SetObject(PyExc_KeyError, msg);
                        Py_DECREF(msg);
                    }
                }
                goto error;
            }
            if (PyList_Append(parts, sp) < 0) {
                goto error;
            }
            done++;
        }
    }
    {
        PyObject *empty = PyBytes_FromStringAndSize(NULL, 0);
        if (empty == NULL) {
            goto error;
        }
        res = PyObject_CallMethod(empty, "join", "O", parts);
        Py_DECREF(empty);
    }
error:
    PyMem_Free(ids);
    Py_XDECREF(parts);
    Py_XDECREF(seq);
    return res;
}

static PyObject *
BPE_token_bytes(BPEObject *self, PyObject *arg)
{
    uint32_t id = 0;
    size_t n = 0;
    const unsigned char *p = NULL;
    if (to_u32(arg, &id) < 0) {
        goto error;
    }
    p = fl_bpe_token(self->bpe, id, &n);
    if (p == NULL) {
        Py_RETURN_NONE;
    }
    return PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)n);
error:
    return NULL;
}

static PyObject *
BPE_lookup(BPEObject *self, PyObject *arg)
{
    Py_buffer b = {0};
    uint32_t rank = 0;
    int found;
    if (PyObject_GetBuffer(arg, &b, PyBUF_SIMPLE) < 0) {
        goto error;
    }
    found = fl_bpe_lookup(self->bpe, (const unsigned char *)b.buf,
                          (size_t)b.len, &rank);
    PyBuffer_Release(&b);
    if (!found) {
        Py_RETURN_NONE;
    }
    return PyLong_FromUnsignedLong(rank);
error:
    return NULL;
}

static PyObject *
BPE_merge_piece(BPEObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"piece", "reference", NULL};
    Py_buffer b = {0};
    int have = 0;
    int reference = 0;
    struct fl_tokbuf buf = {0};
    size_t count = 0;
    PyObject *res = NULL;
    enum fl_status st;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*|p:merge_piece", kwlist,
                                     &b, &reference)) {
        goto error;
    }
    have = 1;
    st = fl_bpe_merge_piece(self->bpe, (const unsigned char *)b.buf,
                            (size_t)b.len, reference, &buf, &count);
    if (st != FL_OK) {
        (void)status_error(st);
        goto error;
    }
    res = ids_to_list(buf.ids, buf.len);
error:
    if (have) {
        PyBuffer_Release(&b);
    }
    fl_tokbuf_free(&buf);
    return res;
}

static PyObject *
BPE_get_size(BPEObject *self, void *Py_UNUSED(c))
{
    return PyLong_FromUnsignedLong(fl_bpe_size(self->bpe));
}

static PyObject *
BPE_get_max_rank(BPEObject *self, void *Py_UNUSED(c))
{
    return PyLong_FromUnsignedLong(fl_bpe_max_rank(self->bpe));
}

static PyObject *
BPE_get_memory(BPEObject *self, void *Py_UNUSED(c))
{
    return PyLong_FromSize_t(fl_bpe_memory(self->bpe));
}

static PyMethodDef BPE_methods[] = {
    {"encode_ordinary", (PyCFunction)BPE_encode_ordinary, METH_O,
     "encode_ordinary(text)\n--\n\nToken ids of text, special tokens as "
     "text."},
    {"count", (PyCFunction)BPE_count, METH_O,
     "count(text)\n--\n\nlen(encode_ordinary(text)) without the list."},
    {"count_many", (PyCFunction)BPE_count_many, METH_O,
     "count_many(texts)\n--\n\n[count(t) for t in texts] in one call."},
    {"count_chunked", (PyCFunction)(void (*)(void))BPE_count_chunked,
     METH_FASTCALL,
     "count_chunked(text, chunk)\n--\n\nsum(count(text[i:i + chunk]) for i "
     "in range(0, len(text), chunk))."},
    {"count_sum", (PyCFunction)(void (*)(void))BPE_count_sum, METH_FASTCALL,
     "count_sum(texts, chunk, max_chars)\n--\n\nsum(count_chunked(t, chunk) "
     "for t in texts), None when a text exceeds max_chars code points."},
    {"decode_bytes", (PyCFunction)(void (*)(void))BPE_decode_bytes,
     METH_FASTCALL,
     "decode_bytes(ids, specials)\n--\n\nBytes of the tokens; specials maps "
     "special ids to bytes."},
    {"token_bytes", (PyCFunction)BPE_token_bytes, METH_O,
     "token_bytes(id)\n--\n\nBytes of a mergeable token, or None."},
    {"lookup", (PyCFunction)BPE_lookup, METH_O,
     "lookup(b)\n--\n\nRank of the token with bytes b, or None."},
    {"merge_piece", (PyCFunction)(void (*)(void))BPE_merge_piece,
     METH_VARARGS | METH_KEYWORDS,
     "merge_piece(piece, reference=False)\n--\n\nBPE of one piece "
     "(reference: the quadratic loop)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef BPE_getset[] = {
    {"size", (getter)BPE_get_size, NULL, "Number of mergeable tokens.", NULL},
    {"max_rank", (getter)BPE_get_max_rank, NULL, "Largest rank.", NULL},
    {"memory", (getter)BPE_get_memory, NULL, "Bytes of heap owned.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot BPE_slots[] = {
    {Py_tp_new, BPE_new},
    {Py_tp_dealloc, BPE_dealloc},
    {Py_tp_methods, BPE_methods},
    {Py_tp_getset, BPE_getset},
    {Py_tp_doc, "BPE(data, pattern)\n--\n\nA tiktoken rank table and its "
                "pre-tokenisation pattern\n(0 gpt2/r50k/p50k, 1 cl100k, 2 "
                "o200k)."},
    {0, NULL},
};

static PyType_Spec BPE_spec = {
    .name = "fast_litellm._native.BPE",
    .basicsize = sizeof(BPEObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = BPE_slots,
};

int
fl_ext_add_bpe_type(PyObject *module, PyTypeObject **type)
{
    *type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &BPE_spec, NULL);
    if (*type == NULL) {
        goto error;
    }
    if (PyModule_AddType(module, *type) < 0) {
        goto error;
    }
    return 0;
error:
    return -1;
}

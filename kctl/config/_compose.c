/* kctl.config._compose: libyaml's parser straight to kctl's tree, for the usual config.
 *
 * kctl.config.loader composes its tree from libyaml's events in Python. Each event reaches
 * Python as an object with two mark objects, and the composer's loop runs once per event: for
 * 1,000 configs that is more time than the checks take. This module drives libyaml itself and
 * builds the same Node and Entry objects the Python composer builds, for the documents a config
 * usually is: one document of mappings, lists and untagged scalars. Anything else (an anchor,
 * an alias, a tag, a merge key, a duplicate key, a key that is not a scalar, nesting past the
 * limit, too many nodes, more than one document, a syntax error) raises Fallback, and the
 * loader composes the file again in Python, which reports it with its finding. The Python
 * composer stays the one description of those cases; this one only has to agree with it on
 * every document it accepts (tests/test_compose_native.py holds the two trees equal).
 *
 * It writes the slots of Node and Entry directly (their offsets come from the classes' member
 * descriptors at configure()), as the classes' __init__ would set them: a call of __init__
 * per node costs more than parsing the node.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <yaml.h>

#ifndef KCTL_COMPOSE_DIGEST
#define KCTL_COMPOSE_DIGEST "unknown"
#endif

#define MAX_SLOTS 6

typedef struct {
    PyTypeObject *type;
    Py_ssize_t offsets[MAX_SLOTS];
} layout_t;

/* Node's slots, and Entry's, in the order configure() looks them up */
enum { N_KIND, N_LINE, N_COL, N_VALUE, N_RAW, N_SHARED };
enum { E_KEY, E_LINE, E_COL, E_KEY_VALUE, E_VALUE, E_KEY_NODE };
static const char *node_slots[MAX_SLOTS] = {"kind", "line", "col", "value", "raw", "shared"};
static const char *entry_slots[MAX_SLOTS] = {"key",        "line",  "col",
                                             "key_value",  "value", "_key_node"};

static struct {
    int ready;
    int composing; /* compose() calls under way (resolve may run any Python code) */
    layout_t node, entry;
    PyObject *node_cls, *entry_cls; /* held for the offsets read from them */
    PyObject *map_kind, *seq_kind, *scalar_kind; /* MAP, SEQ, SCALAR */
    PyObject *resolve;   /* plain scalar -> value; returns `fallback` to give up */
    PyObject *cache;     /* dict: plain scalar -> value, filled by `resolve` */
    PyObject *merge;     /* the merge key's value */
    PyObject *fallback;  /* what `resolve` returns for a scalar it cannot settle */
    PyObject *empty;     /* "" */
    Py_ssize_t max_depth, max_nodes;
} S;

static PyObject *Fallback; /* the exception: compose this one in Python */

static int
read_layout(PyObject *cls, const char **names, layout_t *layout)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "configure() takes the Node and Entry classes");
        return -1;
    }
    layout->type = (PyTypeObject *)cls;
    /* exactly these slots, no more: one added later would be left unset on the C path only */
    PyObject *slots = PyObject_GetAttrString(cls, "__slots__");
    if (slots == NULL) {
        return -1;
    }
    Py_ssize_t declared = PySequence_Check(slots) ? PySequence_Size(slots) : -1;
    Py_DECREF(slots);
    if (declared != MAX_SLOTS || layout->type->tp_base != &PyBaseObject_Type) {
        PyErr_Format(PyExc_TypeError, "%s must declare exactly the %d slots compose() sets",
                     layout->type->tp_name, MAX_SLOTS);
        return -1;
    }
    for (int i = 0; i < MAX_SLOTS; i++) {
        PyObject *descr = PyObject_GetAttrString(cls, names[i]);
        if (descr == NULL) {
            return -1;
        }
        if (!Py_IS_TYPE(descr, &PyMemberDescr_Type)
            || ((PyMemberDescrObject *)descr)->d_member->type != T_OBJECT_EX) {
            PyErr_Format(PyExc_TypeError, "%s.%s is not a slot", layout->type->tp_name,
                         names[i]);
            Py_DECREF(descr);
            return -1;
        }
        layout->offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        Py_DECREF(descr);
    }
    return 0;
}

/* An instance of the layout's class with every slot set; steals the references in values.
 * NULL (an error set) when a value is NULL, the error of making it. */
static PyObject *
make(layout_t *layout, PyObject **values)
{
    PyObject *obj = NULL;
    int whole = 1;
    for (int i = 0; i < MAX_SLOTS; i++) {
        whole &= values[i] != NULL;
    }
    if (whole) {
        obj = layout->type->tp_alloc(layout->type, 0);
    }
    if (obj == NULL) {
        for (int i = 0; i < MAX_SLOTS; i++) {
            Py_XDECREF(values[i]);
        }
        return NULL;
    }
    for (int i = 0; i < MAX_SLOTS; i++) {
        *(PyObject **)((char *)obj + layout->offsets[i]) = values[i];
    }
    return obj;
}

static inline PyObject *
slot(PyObject *obj, Py_ssize_t offset)
{
    return *(PyObject **)((char *)obj + offset);
}

static inline void
set_slot(PyObject *obj, Py_ssize_t offset, PyObject *value) /* steals value */
{
    PyObject **field = (PyObject **)((char *)obj + offset);
    PyObject *old = *field;
    *field = value;
    Py_XDECREF(old);
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *node_cls, *entry_cls;
    PyObject *map_kind, *seq_kind, *scalar_kind, *resolve, *cache, *merge, *fallback;
    Py_ssize_t max_depth, max_nodes;
    if (S.composing) {
        PyErr_SetString(PyExc_RuntimeError, "configure() while compose() runs");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OOOOOOO!OOnn:configure", &node_cls, &entry_cls, &map_kind,
                          &seq_kind, &scalar_kind, &resolve, &PyDict_Type, &cache, &merge,
                          &fallback, &max_depth, &max_nodes)) {
        return NULL;
    }
    if (max_depth < 0 || max_nodes < 0) {
        PyErr_SetString(PyExc_ValueError, "max_depth and max_nodes cannot be negative");
        return NULL;
    }
    layout_t node, entry;
    if (read_layout(node_cls, node_slots, &node) < 0
        || read_layout(entry_cls, entry_slots, &entry) < 0) {
        return NULL;
    }
    PyObject *empty = PyUnicode_FromStringAndSize("", 0);
    if (empty == NULL) {
        return NULL;
    }
    Py_XSETREF(S.empty, empty);
    Py_XSETREF(S.map_kind, Py_NewRef(map_kind));
    Py_XSETREF(S.seq_kind, Py_NewRef(seq_kind));
    Py_XSETREF(S.scalar_kind, Py_NewRef(scalar_kind));
    Py_XSETREF(S.resolve, Py_NewRef(resolve));
    Py_XSETREF(S.cache, Py_NewRef(cache));
    Py_XSETREF(S.merge, Py_NewRef(merge));
    Py_XSETREF(S.fallback, Py_NewRef(fallback));
    S.node = node;
    S.entry = entry;
    Py_XSETREF(S.node_cls, Py_NewRef(node_cls));
    Py_XSETREF(S.entry_cls, Py_NewRef(entry_cls));
    S.max_depth = max_depth;
    S.max_nodes = max_nodes;
    S.ready = 1;
    Py_RETURN_NONE;
}

typedef struct {
    PyObject *container; /* the open collection's list or dict (the tree holds it) */
    int is_seq;
    PyObject *key; /* a mapping's Entry waiting for its value (owned), or NULL */
} frame_t;

enum { DONE = 0, FAIL = -1, GIVE_UP = -2 };

/* Hang `node` (owned) on the innermost open collection. */
static int
attach(frame_t *frame, PyObject *node)
{
    if (frame->is_seq) {
        int failed = PyList_Append(frame->container, node);
        Py_DECREF(node);
        return failed ? FAIL : DONE;
    }
    PyObject *entry = frame->key;
    if (entry == NULL) { /* a collection as a key */
        Py_DECREF(node);
        return GIVE_UP;
    }
    PyObject *name = slot(entry, S.entry.offsets[E_KEY]);
    int seen = PyDict_Contains(frame->container, name);
    if (seen != 0) { /* a duplicate key, or an error */
        Py_DECREF(node);
        return seen < 0 ? FAIL : GIVE_UP;
    }
    set_slot(entry, S.entry.offsets[E_VALUE], node);
    int failed = PyDict_SetItem(frame->container, name, entry);
    Py_CLEAR(frame->key);
    return failed ? FAIL : DONE;
}

static PyObject *
position(size_t index)
{
    return PyLong_FromSize_t(index + 1);
}

static PyObject *
make_node(PyObject *kind, yaml_mark_t *mark, PyObject *value, PyObject *raw)
{
    /* steals value and raw */
    PyObject *values[MAX_SLOTS];
    values[N_KIND] = Py_NewRef(kind);
    values[N_LINE] = position(mark->line);
    values[N_COL] = position(mark->column);
    values[N_VALUE] = value;
    values[N_RAW] = raw;
    values[N_SHARED] = Py_NewRef(Py_False);
    return make(&S.node, values);
}

static PyObject *
make_entry(yaml_mark_t *mark, PyObject *key, PyObject *key_value)
{
    /* steals key and key_value */
    PyObject *values[MAX_SLOTS];
    values[E_KEY] = key;
    values[E_LINE] = position(mark->line);
    values[E_COL] = position(mark->column);
    values[E_KEY_VALUE] = key_value;
    values[E_VALUE] = Py_NewRef(Py_None);
    values[E_KEY_NODE] = Py_NewRef(Py_None);
    return make(&S.entry, values);
}

/* The value of a plain scalar: new reference, NULL on error, or a new reference to
 * S.fallback / S.merge, which the caller gives up on. */
static PyObject *
plain_value(PyObject *raw)
{
    PyObject *value = PyDict_GetItemWithError(S.cache, raw);
    if (value != NULL) {
        return Py_NewRef(value);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyObject_CallOneArg(S.resolve, raw);
}

static int
on_scalar(yaml_event_t *event, frame_t *frame, Py_ssize_t *count)
{
    if (event->data.scalar.anchor != NULL || event->data.scalar.tag != NULL) {
        return GIVE_UP;
    }
    if (++*count > S.max_nodes) {
        return GIVE_UP;
    }
    PyObject *raw = PyUnicode_DecodeUTF8((const char *)event->data.scalar.value,
                                         (Py_ssize_t)event->data.scalar.length, "strict");
    if (raw == NULL) {
        return FAIL;
    }
    PyObject *value;
    if (event->data.scalar.plain_implicit) {
        value = plain_value(raw);
        if (value == NULL) {
            Py_DECREF(raw);
            return FAIL;
        }
        if (value == S.fallback || value == S.merge) {
            Py_DECREF(value);
            Py_DECREF(raw);
            return GIVE_UP;
        }
    }
    else {
        value = Py_NewRef(raw);
    }
    yaml_mark_t *mark = &event->start_mark;
    if (!frame->is_seq && frame->key == NULL) { /* a key: its entry waits for the value */
        /* an empty plain key: libyaml 0.2.5 (a system's) reads '[?]]' as [{null: null}],
         * where 0.2.6 (PyYAML's wheels) reports an error; no config has such a key */
        if (event->data.scalar.length == 0 && event->data.scalar.plain_implicit) {
            Py_DECREF(value);
            Py_DECREF(raw);
            return GIVE_UP;
        }
        frame->key = make_entry(mark, raw, value);
        return frame->key == NULL ? FAIL : DONE;
    }
    PyObject *node = make_node(S.scalar_kind, mark, value, raw);
    if (node == NULL) {
        return FAIL;
    }
    return attach(frame, node);
}

/* A parser reading the bytes ``arg`` holds (which must outlive it); -1 with an error set. */
static int
open_parser(PyObject *arg, yaml_parser_t *parser)
{
    char *data;
    Py_ssize_t size;
    if (PyBytes_AsStringAndSize(arg, &data, &size) < 0) {
        return -1;
    }
    if (!yaml_parser_initialize(parser)) {
        PyErr_NoMemory();
        return -1;
    }
    /* no yaml_parser_set_encoding(): libyaml then detects UTF-8 and drops a leading byte
     * order mark, as it does for PyYAML's parser (which the Python composer uses); set, the
     * mark is read as a character of the first line */
    yaml_parser_set_input_string(parser, (const unsigned char *)data, (size_t)size);
    return 0;
}

static PyObject *
compose(PyObject *module, PyObject *arg)
{
    if (!S.ready) {
        PyErr_SetString(PyExc_RuntimeError, "configure() first");
        return NULL;
    }
    yaml_parser_t parser;
    yaml_event_t event;
    if (open_parser(arg, &parser) < 0) {
        return NULL;
    }
    PyObject *roots = PyList_New(0);
    frame_t *stack = PyMem_New(frame_t, (size_t)S.max_depth + 1);
    if (roots == NULL || stack == NULL) {
        yaml_parser_delete(&parser);
        PyMem_Free(stack);
        Py_XDECREF(roots);
        return roots == NULL ? NULL : PyErr_NoMemory();
    }
    Py_ssize_t depth = 0; /* open collections; stack[depth] is the innermost frame */
    stack[0] = (frame_t){roots, 1, NULL};

    Py_ssize_t count = 0;
    int documents = 0, outcome = DONE, finished = 0;
    S.composing++; /* resolve runs Python code: configure() must not change S meanwhile */
    while (outcome == DONE && !finished) {
        if (!yaml_parser_parse(&parser, &event)) {
            outcome = GIVE_UP; /* the Python composer reports the syntax error */
            break;
        }
        frame_t *frame = &stack[depth];
        switch (event.type) {
        case YAML_SCALAR_EVENT:
            outcome = on_scalar(&event, frame, &count);
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
            int is_seq = event.type == YAML_SEQUENCE_START_EVENT;
            unsigned char *anchor = is_seq ? event.data.sequence_start.anchor
                                           : event.data.mapping_start.anchor;
            unsigned char *tag = is_seq ? event.data.sequence_start.tag
                                        : event.data.mapping_start.tag;
            if (anchor != NULL || tag != NULL || depth >= S.max_depth
                || ++count > S.max_nodes || (!frame->is_seq && frame->key == NULL)) {
                outcome = GIVE_UP;
                break;
            }
            PyObject *items = is_seq ? PyList_New(0) : PyDict_New();
            if (items == NULL) {
                outcome = FAIL;
                break;
            }
            PyObject *node = make_node(is_seq ? S.seq_kind : S.map_kind, &event.start_mark,
                                       Py_NewRef(items), Py_NewRef(S.empty));
            if (node == NULL) {
                Py_DECREF(items);
                outcome = FAIL;
                break;
            }
            outcome = attach(frame, node); /* the tree holds items from here on */
            if (outcome == DONE) {
                stack[++depth] = (frame_t){items, is_seq, NULL};
            }
            Py_DECREF(items);
            break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            if (frame->key != NULL || depth == 0) {
                outcome = GIVE_UP;
                break;
            }
            depth--;
            break;
        case YAML_ALIAS_EVENT:
            outcome = GIVE_UP;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                outcome = GIVE_UP;
            }
            break;
        case YAML_STREAM_END_EVENT:
            finished = 1;
            break;
        default: /* stream start, document end */
            break;
        }
        yaml_event_delete(&event);
    }
    S.composing--;
    yaml_parser_delete(&parser);
    for (Py_ssize_t i = 0; i <= depth; i++) {
        Py_XDECREF(stack[i].key);
    }
    PyMem_Free(stack);

    if (outcome != DONE) {
        Py_DECREF(roots);
        if (outcome == GIVE_UP) {
            PyErr_SetNone(Fallback);
        }
        return NULL;
    }
    PyObject *root = PyList_GET_SIZE(roots) ? PyList_GET_ITEM(roots, 0) : Py_None;
    Py_INCREF(root);
    Py_DECREF(roots);
    return root;
}

/* libyaml's own time, for bench/loader.py: parse ``data`` to its end, build nothing. */
static PyObject *
count_events(PyObject *module, PyObject *arg)
{
    yaml_parser_t parser;
    yaml_event_t event;
    if (open_parser(arg, &parser) < 0) {
        return NULL;
    }
    Py_ssize_t count = 0;
    int finished = 0;
    while (!finished && yaml_parser_parse(&parser, &event)) {
        finished = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&event);
        count++;
    }
    yaml_parser_delete(&parser);
    return PyLong_FromSsize_t(finished ? count : -1);
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(Node, Entry, MAP, SEQ, SCALAR, resolve, cache, merge, fallback, max_depth,"
     " max_nodes): the classes and values compose() builds with"},
    {"compose", compose, METH_O,
     "compose(data: bytes) -> Node | None: the document's root; raises Fallback for a"
     " document the Python composer must read"},
    {"count_events", count_events, METH_O,
     "count_events(data: bytes) -> int: libyaml's events in data (-1: a syntax error), nothing"
     " built (bench/loader.py times the parser alone with it)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "kctl.config._compose",
    "libyaml's parser straight to kctl's tree (see kctl.config.loader)", -1, methods,
};

PyMODINIT_FUNC
PyInit__compose(void)
{
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    Fallback = PyErr_NewException("kctl.config._compose.Fallback", NULL, NULL);
    if (Fallback == NULL || PyModule_AddObjectRef(module, "Fallback", Fallback) < 0
        || PyModule_AddStringConstant(module, "SOURCE_DIGEST", KCTL_COMPOSE_DIGEST) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}

/* vts._speedups: the protocol's hot pieces in C (ValueTask, SourceAwaiter, ManualResetCore).
 *
 * The pure-Python versions (vts/valuetask.py, vts/core.py) are the reference: every type
 * here has the same behaviour, raises the same error types (imported from vts.valuetask)
 * with the same messages, and delegates its rare paths (a continuation on a new thread)
 * to the Python code itself. What C adds is an await that allocates nothing beyond what
 * the loop allocates for a Future:
 *
 * Rule 1: ValueTask is its own awaiter iterator. `am_send` returns a completed value
 *         without a generator and without StopIteration (3.10/3.11, where `await` calls
 *         am_send). On 3.12+ `await` calls tp_iternext, which must raise StopIteration
 *         for a value other than None: an instance of a subclass from a freelist, whose
 *         dealloc clears it and keeps its memory (nothing it passed through stays alive).
 * Rule 2: an asyncio Task handles a non-Future through attribute lookups: the
 *         SourceAwaiter's methods are descriptors that hand out bound methods from a
 *         freelist (CPython's own freelists avoid the allocator the same way), and
 *         tp_getattr answers the Task's PyObject_CallMethod(o, "result") without making
 *         a string.
 * Rule 3: ManualResetCore's compare-and-swap of the continuation slot is atomic because
 *         the GIL is held and nothing between reading `state` and writing it runs Python
 *         code or releases the GIL (every DECREF is deferred past the write). No lock.
 *         Free-threaded builds are refused at compile time; vts falls back to Python.
 * Rule 4: ValueTask objects come from a freelist (like 3.11's Future iterators); a
 *         dealloc pushes exact instances back, fields cleared.
 *
 * Rule 5: a hostile caller (a source, a token, a subclass, a hook) cannot crash it: no
 *         Python code in tp_dealloc (tp_finalize instead), the trashcan in every
 *         dealloc, a strong reference to everything used across a call that may run
 *         Python code, self's type checked at every entry, static types' traverse never
 *         visiting their type, globals owned by the module (refused in a
 *         subinterpreter). docs/architecture.md lists them with their tests.
 *
 * One file, as CPython's Modules/_asynciomodule.c: the three types share the protocol
 * helpers (status_of, source_*, the globals) and call each other's internals (the
 * ValueTask steps the bridge, the bridge calls the core's C functions directly); split by
 * type, each part would need a header of those internals and the globals would be shared
 * across files.
 *
 * Theory of operation of one wait (pooled[c], same loop):
 *   get() -> source_task(core, version) [freelist] -> await: am_await returns self ->
 *   am_send: status PENDING -> yield core's reusable awaiter -> Task: reads
 *   _asyncio_future_blocking (member), get_loop (freelist bound method),
 *   add_done_callback(wakeup, context=ctx) -> core.on_completed(resume, awaiter, ...)
 *   -> publish -> core completes -> loop.call_soon(resume, awaiter, context=ctx) by
 *   PyObject_VectorcallMethod (no bound method) -> resume -> wakeup(awaiter) -> Task
 *   calls awaiter.result() -> am_send: get_result -> the value, no StopIteration.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

#ifdef Py_GIL_DISABLED
#error "vts._speedups relies on the GIL for its atomic state changes; use VTS_IMPL=python"
#endif

#if PY_VERSION_HEX < 0x030C0000
#include "structmember.h"
#define Py_T_BOOL T_BOOL
#define Py_T_INT T_INT
#define Py_READONLY READONLY
#endif

#if PY_VERSION_HEX < 0x030D0000
#define PyObject_GetOptionalAttr _PyObject_LookupAttr
#endif

/* The raised exception, normalised, and the error indicator cleared. */
static PyObject *
PyErr_GetRaisedException_compat(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL && value != NULL) {
        PyException_SetTraceback(value, traceback);
    }
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
#endif
}

/* Raise `error` (stolen; NULL: nothing) as it is, without chaining: the inverse of the above. */
static void
PyErr_SetRaisedException_compat(PyObject *error)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(error);
#else
    if (error == NULL) {
        return;
    }
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(error)), error, PyException_GetTraceback(error));
#endif
}

/* -- module globals ------------------------------------------------------------------------
 * Owned: taken from vts.valuetask / vts.core / asyncio by the first module object's exec,
 * released by the last one's m_free (module_release). One set per process, as the types
 * are static: the module refuses to load in a subinterpreter (an ImportError), where these
 * would be another interpreter's objects. The core's four descriptors are borrowed from
 * CoreType's dict, which outlives every module. */

static PyObject *AlreadyAwaitedError, *AlreadyCompletedError, *MultipleAwaitError;
static PyObject *NotCompletedError, *TokenMismatchError;
static PyObject *PENDING, *SUCCEEDED, *FAULTED, *CANCELED;
static PyObject *CancelledError;
static PyObject *bridge_flags;      /* CompletionFlags(3), passed to Python sources */
static PyObject *get_running_loop_or_none; /* asyncio.events._get_running_loop */
static PyObject *get_running_loop;  /* asyncio.events.get_running_loop (raises) */
static PyObject *py_start_worker;   /* vts.core._start_worker: the rare path, in Python */
static PyObject *no_continuation;   /* vts.valuetask.NO_CONTINUATION */
static PyObject *no_copy;           /* vts.valuetask.NO_COPY */
static PyObject *next_version;      /* vts.core._NEXT_VERSION: preallocated ints */
static PyObject *await_once;        /* the Python ValueTask._await_once function */
static PyObject *ensure_future;
static PyObject *resume_fn;         /* the continuation every bridge registers */
static PyObject *context_kwnames;   /* ("context",) */
static PyObject *s_call_soon, *s_call_soon_threadsafe, *s_get_status, *s_get_result;
static PyObject *s_on_completed, *s_cancel, *s_awaiter_for, *s_give_back, *s_await;
static PyObject *s_name, *s_abandon, *s_done, *s_result;
static PyObject *future_type;      /* asyncio.Future */
static PyObject *generator_raised_stop; /* "generator raised StopIteration" */
/* The core's own method descriptors: a subclass that overrides one is called through
   Python; one that does not gets the C function directly. */
static PyObject *core_get_status_descr, *core_get_result_descr, *core_on_completed_descr;
static PyObject *core_awaiter_for_descr;
/* Module objects whose exec succeeded and that are not freed yet: 0 before the first
   import and after the last module is gone (at exit), when no global may be used. */
static int live_modules;

enum { EMPTY = 0, WAITING = 1, COMPLETED = 2, DONE = 3 };
enum { USE_LOOP_BIT = 1, FLOW_CONTEXT_BIT = 2 };

static PyTypeObject CoreType, AwaiterType, ValueTaskType, HotDescrType, BoundType;

#define Core_Check(op) PyObject_TypeCheck(op, &CoreType)
#define Awaiter_Check(op) PyObject_TypeCheck(op, &AwaiterType)

static PyObject *
raise_new(PyObject *error_type)
{
    PyObject *error = PyObject_CallNoArgs(error_type);
    if (error != NULL) {
        PyErr_SetObject(error_type, error);
        Py_DECREF(error);
    }
    return NULL;
}

static PyObject *
raise_token_mismatch(PyObject *token, PyObject *version)
{
    PyObject *error = PyObject_CallFunctionObjArgs(TokenMismatchError, token, version, NULL);
    if (error != NULL) {
        PyErr_SetObject(TokenMismatchError, error);
        Py_DECREF(error);
    }
    return NULL;
}

/* `raise error.with_traceback(tb)`: each raise starts again from the stored traceback. */
static PyObject *
raise_stored(PyObject *error, PyObject *traceback)
{
    if (PyException_SetTraceback(error, traceback != NULL ? traceback : Py_None) < 0) {
        return NULL;
    }
    PyErr_SetObject((PyObject *)Py_TYPE(error), error);
    return NULL;
}

/* The running loop, or None (a new reference). */
static PyObject *
running_loop(void)
{
    return PyObject_CallNoArgs(get_running_loop_or_none);
}

/* self.name(arg), without binding a method: VectorcallMethod finds it on the type (no
   allocation); the slot before the arguments is free for the callee
   (PY_VECTORCALL_ARGUMENTS_OFFSET). */
static PyObject *
call_method_one(PyObject *name, PyObject *self, PyObject *arg)
{
    PyObject *args[3] = {NULL, self, arg};
    return PyObject_VectorcallMethod(name, args + 1, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

/* loop.name(fn, arg, context=context) (call_soon or call_soon_threadsafe); the handle is
   dropped. */
static int
loop_call(PyObject *name, PyObject *loop, PyObject *fn, PyObject *arg, PyObject *context)
{
    PyObject *args[5] = {NULL, loop, fn, arg, context};
    PyObject *handle = PyObject_VectorcallMethod(name, args + 1,
                                                 3 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                                 context_kwnames);
    if (handle == NULL) {
        return -1;
    }
    Py_DECREF(handle);
    return 0;
}

/* A read-only view of an object field; None while it is NULL (the Python versions'
   attributes are None when unset). The closure is the field's offset. */
static PyObject *
get_field(PyObject *self, void *offset)
{
    PyObject *value = *(PyObject **)((char *)self + (Py_ssize_t)offset);
    return Py_NewRef(value != NULL ? value : Py_None);
}

/* A type's name without its module, as Python's own messages print a class's. */
static const char *
type_name(PyTypeObject *type)
{
    const char *dot = strrchr(type->tp_name, '.');
    return dot != NULL ? dot + 1 : type->tp_name;
}

/* __reduce_ex__ of the three types (vts.valuetask.refuse_copy): copy.copy, copy.deepcopy
   and pickle raise TypeError(NO_COPY), formatted with type(self).__name__. Each object is
   one operation's live state; a copy would be a second owner of it. */
static PyObject *
refuse_copy(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "__reduce_ex__() takes at most 1 argument (%zd given)",
                     nargs);
        return NULL;
    }
    PyObject *name = PyObject_GetAttr((PyObject *)Py_TYPE(self), s_name);
    if (name == NULL) {
        return NULL;
    }
    PyObject *message = PyObject_CallMethod(no_copy, "format", "(O)", name);
    Py_DECREF(name);
    if (message != NULL) {
        PyErr_SetObject(PyExc_TypeError, message);
        Py_DECREF(message);
    }
    return NULL;
}

#define REFUSE_COPY_METHOD \
    {"__reduce_ex__", (PyCFunction)(void (*)(void))refuse_copy, METH_FASTCALL, NULL}

#define FIELD(name, type, field) \
    {name, (getter)get_field, NULL, NULL, (void *)offsetof(type, field)}

/* -- returning a value from tp_iternext (3.12+ `await` uses it, Rule 1) ------------------ */

/* StopIteration(value) raised, for send() (a generator's own type); None: NULL without an
   exception, as an exhausted iterator returns. */
static PyObject *
stop_with_plain(PyObject *value)  /* steals value */
{
    if (value == Py_None) {
        Py_DECREF(value);
        return NULL;
    }
    PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, value);
    Py_DECREF(value);
    if (stop != NULL) {
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
    return NULL;
}

#if PY_VERSION_HEX >= 0x030C0000
/* On 3.12+ the StopIteration tp_iternext raises comes from a freelist: an instance of a
   subclass whose dealloc clears it (value, traceback, context: nothing the await passed
   through stays alive) and keeps its memory for the next one. */
#define STOP_FREELIST_MAX 4
static PyTypeObject StopType;
static PyStopIterationObject *stop_freelist[STOP_FREELIST_MAX];
static int stop_freelist_len;

static PyObject *
stop_with(PyObject *value)  /* steals value */
{
    if (value == Py_None) {
        Py_DECREF(value);
        return NULL;
    }
    PyObject *args = PyTuple_Pack(1, value);  /* a 1-tuple: CPython's tuple freelist */
    if (args == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    PyStopIterationObject *stop;
    if (stop_freelist_len > 0) {
        stop = stop_freelist[--stop_freelist_len];
        PyObject_Init((PyObject *)stop, &StopType);
    }
    else if ((stop = PyObject_GC_New(PyStopIterationObject, &StopType)) == NULL) {
        Py_DECREF(args);
        Py_DECREF(value);
        return NULL;
    }
    stop->dict = stop->notes = stop->traceback = stop->context = stop->cause = NULL;
    stop->suppress_context = 0;
    stop->args = args;
    stop->value = value;
    PyObject_GC_Track(stop);
    PyErr_SetRaisedException((PyObject *)stop);  /* steals; no implicit chaining */
    return NULL;
}

static void
stop_dealloc(PyObject *op)
{
    PyObject_GC_UnTrack(op);
    Py_TRASHCAN_BEGIN(op, stop_dealloc)  /* exceptions chain through their context */
    StopType.tp_base->tp_clear(op);
    if (stop_freelist_len < STOP_FREELIST_MAX) {
        stop_freelist[stop_freelist_len++] = (PyStopIterationObject *)op;
    }
    else {
        PyObject_GC_Del(op);
    }
    Py_TRASHCAN_END
}

static PyTypeObject StopType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vts._speedups.StopIteration",
    .tp_basicsize = sizeof(PyStopIterationObject),
    .tp_dealloc = stop_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The StopIteration a C ValueTask's await raises, kept for reuse once let go of.",
};
#else
#define stop_with stop_with_plain
#endif

/* -- freelist bound methods (Rule 2) ------------------------------------------------------ */

typedef PyObject *(*fastkw_fn)(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);

typedef struct {
    const char *name;
    fastkw_fn function;
    const char *doc;
} HotMethodDef;

typedef struct {
    PyObject_HEAD
    const HotMethodDef *def;
    PyTypeObject *owner;
    vectorcallfunc vectorcall;
} HotDescrObject;

typedef struct {
    PyObject_HEAD
    PyObject *self;
    const HotMethodDef *def;
    vectorcallfunc vectorcall;
} BoundObject;

#define BOUND_FREELIST_MAX 16
static BoundObject *bound_freelist[BOUND_FREELIST_MAX];
static int bound_freelist_len;

static PyObject *
bound_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    BoundObject *bound = (BoundObject *)callable;
    return bound->def->function(bound->self, args, PyVectorcall_NARGS(nargsf), kwnames);
}

static PyObject *
bound_new(PyObject *self, const HotMethodDef *def)
{
    BoundObject *bound;
    if (bound_freelist_len > 0) {
        bound = bound_freelist[--bound_freelist_len];
        PyObject_Init((PyObject *)bound, &BoundType);
    }
    else {
        bound = PyObject_GC_New(BoundObject, &BoundType);
        if (bound == NULL) {
            return NULL;
        }
    }
    bound->self = Py_NewRef(self);
    bound->def = def;
    bound->vectorcall = bound_vectorcall;
    PyObject_GC_Track(bound);
    return (PyObject *)bound;
}

static void
bound_dealloc(BoundObject *bound)
{
    PyObject_GC_UnTrack(bound);
    Py_TRASHCAN_BEGIN(bound, bound_dealloc)  /* a bound method of an awaiter of a bound... */
    Py_CLEAR(bound->self);
    if (bound_freelist_len < BOUND_FREELIST_MAX) {
        bound_freelist[bound_freelist_len++] = bound;
    }
    else {
        PyObject_GC_Del(bound);
    }
    Py_TRASHCAN_END
}

static int
bound_traverse(BoundObject *bound, visitproc visit, void *arg)
{
    Py_VISIT(bound->self);
    return 0;
}

static int
bound_clear(BoundObject *bound)
{
    Py_CLEAR(bound->self);
    return 0;
}

static PyObject *
bound_repr(BoundObject *bound)
{
    return PyUnicode_FromFormat("<bound method %s.%s of %R>", Py_TYPE(bound->self)->tp_name,
                                bound->def->name, bound->self);
}

static PyObject *
bound_get_name(BoundObject *bound, void *closure)
{
    return PyUnicode_FromString(bound->def->name);
}

static PyObject *
bound_get_self(BoundObject *bound, void *closure)
{
    return Py_NewRef(bound->self);
}

/* Two bound methods are equal when they bind one function to one object (by identity),
   as Python's bound methods are. */
static PyObject *
bound_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !Py_IS_TYPE(a, &BoundType)
        || !Py_IS_TYPE(b, &BoundType)) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    BoundObject *x = (BoundObject *)a, *y = (BoundObject *)b;
    int equal = x->self == y->self && x->def == y->def;
    return PyBool_FromLong(op == Py_EQ ? equal : !equal);
}

static Py_hash_t
bound_hash(BoundObject *bound)
{
    Py_hash_t hash = _Py_HashPointer(bound->self) ^ _Py_HashPointer((void *)bound->def);
    return hash == -1 ? -2 : hash;
}

static PyGetSetDef bound_getset[] = {
    {"__name__", (getter)bound_get_name, NULL, NULL, NULL},
    {"__self__", (getter)bound_get_self, NULL, NULL, NULL},
    {NULL},
};

static PyTypeObject BoundType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vts._speedups.bound_method",
    .tp_basicsize = sizeof(BoundObject),
    .tp_dealloc = (destructor)bound_dealloc,
    .tp_vectorcall_offset = offsetof(BoundObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)bound_repr,
    .tp_hash = (hashfunc)bound_hash,
    .tp_richcompare = bound_richcompare,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_traverse = (traverseproc)bound_traverse,
    .tp_clear = (inquiry)bound_clear,
    .tp_getset = bound_getset,
    .tp_doc = "A method bound to a SourceAwaiter, handed out from a freelist.",
};

static PyObject *
descr_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    HotDescrObject *descr = (HotDescrObject *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs < 1 || !PyObject_TypeCheck(args[0], descr->owner)) {
        PyErr_Format(PyExc_TypeError, "descriptor '%s' needs a '%s' object as first argument",
                     descr->def->name, descr->owner->tp_name);
        return NULL;
    }
    return descr->def->function(args[0], args + 1, nargs - 1, kwnames);
}

static PyObject *
descr_get(HotDescrObject *descr, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(descr);
    }
    if (!PyObject_TypeCheck(obj, descr->owner)) {  /* the functions cast their self */
        PyErr_Format(PyExc_TypeError,
                     "descriptor '%s' for '%s' objects doesn't apply to a '%s' object",
                     descr->def->name, descr->owner->tp_name, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return bound_new(obj, descr->def);
}

static void
descr_dealloc(HotDescrObject *descr)
{
    Py_XDECREF(descr->owner);
    PyObject_Free(descr);
}

static PyObject *
descr_repr(HotDescrObject *descr)
{
    return PyUnicode_FromFormat("<method '%s' of '%s' objects>", descr->def->name,
                                descr->owner->tp_name);
}

static PyObject *
descr_get_name(HotDescrObject *descr, void *closure)
{
    return PyUnicode_FromString(descr->def->name);
}

static PyObject *
descr_get_doc(HotDescrObject *descr, void *closure)
{
    return PyUnicode_FromString(descr->def->doc);
}

static PyGetSetDef descr_getset[] = {
    {"__name__", (getter)descr_get_name, NULL, NULL, NULL},
    {"__doc__", (getter)descr_get_doc, NULL, NULL, NULL},
    {NULL},
};

static PyTypeObject HotDescrType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vts._speedups.method_descriptor",
    .tp_basicsize = sizeof(HotDescrObject),
    .tp_dealloc = (destructor)descr_dealloc,
    .tp_vectorcall_offset = offsetof(HotDescrObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = (reprfunc)descr_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_descr_get = (descrgetfunc)descr_get,
    .tp_getset = descr_getset,
};

/* Put one descriptor per hot method into `type`'s dict (after PyType_Ready). */
static int
add_hot_methods(PyTypeObject *type, const HotMethodDef *defs)
{
    for (const HotMethodDef *def = defs; def->name != NULL; def++) {
        HotDescrObject *descr = PyObject_New(HotDescrObject, &HotDescrType);
        if (descr == NULL) {
            return -1;
        }
        descr->def = def;
        descr->owner = (PyTypeObject *)Py_NewRef(type);
        descr->vectorcall = descr_vectorcall;
        int rc = PyDict_SetItemString(type->tp_dict, def->name, (PyObject *)descr);
        Py_DECREF(descr);
        if (rc < 0) {
            return -1;
        }
    }
    PyType_Modified(type);
    return 0;
}

/* Arguments as a Python method `def f(self, <names>)` binds them, with the same errors
   (CPython's initialize_locals, in its order): `positional` names are positional or
   keyword, the first `required` of them without a default; the rest are keyword-only,
   with defaults. `qualname` is the Python form's (`ManualResetCore.on_completed`): the
   messages name it, and count self (or cls) where `bound`. `kwvalues` are the keywords'
   values, in kwnames' order. */
static int
bind_args(const char *qualname, int bound, PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames, PyObject *const *kwvalues, int required, int positional,
          const char *const *names, PyObject **out)
{
    int total = positional;
    while (names[total] != NULL) {
        total++;
    }
    for (int i = 0; i < total; i++) {
        out[i] = i < nargs && i < positional ? args[i] : NULL;
    }
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0, kwonly_given = 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int i = 0;
        while (i < total && PyUnicode_CompareWithASCIIString(key, names[i]) != 0) {
            i++;
        }
        if (i == total) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'",
                         qualname, key);
            return -1;
        }
        if (out[i] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
                         qualname, names[i]);
            return -1;
        }
        out[i] = kwvalues[k];
        kwonly_given += i >= positional;
    }
    if (nargs > positional) {
        Py_ssize_t given = nargs + bound;
        PyObject *sig = required < positional
            ? PyUnicode_FromFormat("from %d to %d", required + bound, positional + bound)
            : PyUnicode_FromFormat("%d", positional + bound);
        PyObject *kwonly_sig = kwonly_given
            ? PyUnicode_FromFormat(" positional argument%s (and %zd keyword-only argument%s)",
                                   given != 1 ? "s" : "", kwonly_given,
                                   kwonly_given != 1 ? "s" : "")
            : PyUnicode_FromString("");
        if (sig != NULL && kwonly_sig != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() takes %U positional argument%s but %zd%U %s given",
                         qualname, sig, required < positional || positional + bound != 1 ? "s" : "",
                         given, kwonly_sig, given == 1 && !kwonly_given ? "was" : "were");
        }
        Py_XDECREF(sig);
        Py_XDECREF(kwonly_sig);
        return -1;
    }
    const char *missing[8];
    int nmissing = 0;
    for (int i = 0; i < required; i++) {
        if (out[i] == NULL) {
            missing[nmissing++] = names[i];
        }
    }
    if (nmissing > 0) {
        PyObject *list = PyUnicode_FromFormat("'%s'", missing[0]);
        for (int i = 1; list != NULL && i < nmissing; i++) {
            const char *sep = i < nmissing - 1 ? ", " : nmissing == 2 ? " and " : ", and ";
            Py_SETREF(list, PyUnicode_FromFormat("%U%s'%s'", list, sep, missing[i]));
        }
        if (list != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing %d required positional argument%s: %U",
                         qualname, nmissing, nmissing == 1 ? "" : "s", list);
            Py_DECREF(list);
        }
        return -1;
    }
    return 0;
}

/* bind_args for a fastcall method. */
static int
parse_args(const char *qualname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
           int required, int positional, const char *const *names, PyObject **out)
{
    return bind_args(qualname, 1, args, nargs, kwnames, args + nargs, required, positional,
                     names, out);
}

/* No arguments, as `def f(self)` takes them. */
static int
no_args(const char *qualname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs == 0 && kwnames == NULL) {
        return 0;
    }
    static const char *const names[] = {NULL};
    PyObject *unused;
    return parse_args(qualname, args, nargs, kwnames, 0, 0, names, &unused);
}

/* The argument of `def f(self, name)`: at once when it is the one positional argument. */
static int
one_arg(const char *qualname, const char *name, PyObject *const *args, Py_ssize_t nargs,
        PyObject *kwnames, PyObject **out)
{
    if (nargs == 1 && kwnames == NULL) {
        *out = args[0];
        return 0;
    }
    const char *const names[] = {name, NULL};
    return parse_args(qualname, args, nargs, kwnames, 1, 1, names, out);
}

/* bind_args for a tp_init's (args, kwds); `out` borrows from them. */
static int
parse_init(const char *qualname, PyObject *args, PyObject *kwds, int required,
           int positional, const char *const *names, PyObject **out)
{
    PyObject *const *items = &PyTuple_GET_ITEM(args, 0);
    if (kwds == NULL || PyDict_GET_SIZE(kwds) == 0) {
        return bind_args(qualname, 1, items, PyTuple_GET_SIZE(args), NULL, NULL, required,
                         positional, names, out);
    }
    PyObject *kwnames = PyDict_Keys(kwds);
    PyObject *kwnames_tuple = kwnames != NULL ? PyList_AsTuple(kwnames) : NULL;
    PyObject *kwvalues = PyDict_Values(kwds);  /* same order; nothing runs in between */
    int status = -1;
    if (kwnames_tuple != NULL && kwvalues != NULL) {
        status = bind_args(qualname, 1, items, PyTuple_GET_SIZE(args), kwnames_tuple,
                           &PyList_GET_ITEM(kwvalues, 0), required, positional, names, out);
    }
    Py_XDECREF(kwnames);
    Py_XDECREF(kwnames_tuple);
    Py_XDECREF(kwvalues);
    return status;
}

/* -- dispatch and post: where a continuation runs (vts.core's rules) ---------------------- */

/* Queue a continuation on `loop`; a NULL context means nothing flows: a fresh, empty
   Context (call_soon would copy the poster's). */
static int
post_to_loop(PyObject *continuation, PyObject *state, PyObject *loop, PyObject *context)
{
    PyObject *fresh = NULL;
    if (context == NULL || context == Py_None) {
        context = fresh = PyContext_New();
        if (fresh == NULL) {
            return -1;
        }
    }
    PyObject *running = running_loop();
    if (running == NULL) {
        Py_XDECREF(fresh);
        return -1;
    }
    PyObject *name = running == loop ? s_call_soon : s_call_soon_threadsafe;
    Py_DECREF(running);
    int rc = loop_call(name, loop, continuation, state, context);
    Py_XDECREF(fresh);
    return rc;
}

/* A new worker thread: the rare path, run by the Python core's own function. */
static int
start_worker(PyObject *continuation, PyObject *state, PyObject *context)
{
    PyObject *result = PyObject_CallFunctionObjArgs(
        py_start_worker, continuation, state, context != NULL ? context : Py_None, NULL);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* Run a continuation registered before the completion, where its registration asked. */
static int
dispatch(PyObject *continuation, PyObject *state, PyObject *loop, PyObject *context,
         int run_asynchronously)
{
    if (loop != NULL && loop != Py_None) {
        return post_to_loop(continuation, state, loop, context);
    }
    if (run_asynchronously) {
        return start_worker(continuation, state, context);
    }
    PyObject *result;
    if (context != NULL && context != Py_None) {
        if (PyContext_Enter(context) < 0) {
            return -1;
        }
        result = PyObject_CallOneArg(continuation, state);
        PyObject *error = PyErr_GetRaisedException_compat();
        int exited = PyContext_Exit(context);
        if (error != NULL) {
            if (exited < 0) {
                PyErr_Clear();
            }
            PyErr_SetRaisedException_compat(error);
        }
        else if (exited < 0) {
            Py_XDECREF(result);
            return -1;
        }
    }
    else {
        result = PyObject_CallOneArg(continuation, state);  /* inline, the caller's context */
    }
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* Queue a continuation registered after the completion; never run it inline. */
static int
post(PyObject *continuation, PyObject *state, PyObject *loop, PyObject *context)
{
    if (loop != NULL && loop != Py_None) {
        return post_to_loop(continuation, state, loop, context);
    }
    PyObject *running = running_loop();
    if (running == NULL) {
        return -1;
    }
    int rc = running != Py_None ? post_to_loop(continuation, state, running, context)
                                : start_worker(continuation, state, context);
    Py_DECREF(running);
    return rc;
}

/* ========================================================================================= */
/* ManualResetCore                                                                           */
/* ========================================================================================= */

typedef struct {
    PyObject_HEAD
    PyObject *version;      /* an int from vts.core's preallocated ring, never NULL */
    PyObject *result;
    PyObject *exception;
    PyObject *traceback;
    PyObject *continuation;
    PyObject *cstate;       /* the continuation's state argument */
    PyObject *loop;
    PyObject *context;
    PyObject *run_async;    /* run_continuations_asynchronously, tested for truth */
    PyObject *awaiter;      /* the reusable bridge handed out by awaiter_for */
    PyObject *pool;         /* set by pooled[c]: a consumed result gives the core back */
    int state;
} CoreObject;

static int
core_check(CoreObject *self, PyObject *token)
{
    PyObject *version = self->version;
    if (token == version) {
        return 0;
    }
    /* token.__ne__ may run code that resets this core: hold the version it is compared
       with (and reported in the error) across the call. */
    Py_INCREF(version);
    int differs = PyObject_RichCompareBool(token, version, Py_NE);
    if (differs > 0) {
        raise_token_mismatch(token, version);
    }
    Py_DECREF(version);
    return differs != 0 ? -1 : 0;
}

/* The status of the current version (borrowed enum member, NULL on error); the token was
   checked. isinstance(), as the Python core: an exception whose class says it is a
   cancellation is one. */
static PyObject *
core_status(CoreObject *self)
{
    /* Lock-free read: the producer stores the result before it moves state on. */
    if (self->state < COMPLETED) {
        return PENDING;
    }
    PyObject *exception = self->exception;
    if (exception == NULL) {
        return SUCCEEDED;
    }
    Py_INCREF(exception);  /* __instancecheck__ or __class__ may complete or reset us */
    int cancelled = PyObject_IsInstance(exception, CancelledError);
    Py_DECREF(exception);
    if (cancelled < 0) {
        return NULL;
    }
    return cancelled ? CANCELED : FAULTED;
}

static void
core_clear_operation(CoreObject *self)
{
    /* Take every field first, then let go: a DECREF may run Python code. */
    PyObject *old[7] = {self->result, self->exception, self->traceback, self->continuation,
                        self->cstate, self->loop, self->context};
    self->result = self->exception = self->traceback = NULL;
    self->continuation = self->cstate = self->loop = self->context = NULL;
    self->state = EMPTY;
    for (int i = 0; i < 7; i++) {
        Py_XDECREF(old[i]);
    }
}

static int
core_reset_impl(CoreObject *self)
{
    Py_ssize_t index = PyLong_AsSsize_t(self->version);
    if (index == -1 && PyErr_Occurred()) {
        return -1;
    }
    PyObject *next = PyList_GetItem(next_version, index);  /* borrowed */
    if (next == NULL) {
        return -1;
    }
    Py_SETREF(self->version, Py_NewRef(next));
    core_clear_operation(self);
    return 0;
}

static int
core_truthy(PyObject *flag)
{
    if (flag == NULL || flag == Py_False || flag == Py_None) {
        return 0;
    }
    if (flag == Py_True) {
        return 1;
    }
    Py_INCREF(flag);  /* __bool__ may replace the attribute that holds it */
    int truth = PyObject_IsTrue(flag);
    Py_DECREF(flag);
    return truth;
}

/* The continuation registered for this version runs (after a completion found it). */
static int
core_invoke(CoreObject *self)
{
    PyObject *continuation = self->continuation, *state = self->cstate;
    PyObject *context = self->context;
    /* Let go of the awaiter before running it (it points back at this core: a cycle for
       the garbage collector otherwise); state DONE still records the registration. */
    self->continuation = self->cstate = self->context = NULL;
    PyObject *loop = Py_XNewRef(self->loop);
    int run_async = core_truthy(self->run_async);
    int rc = run_async < 0 ? -1 : dispatch(continuation, state, loop, context, run_async);
    Py_XDECREF(continuation);
    Py_XDECREF(state);
    Py_XDECREF(context);
    Py_XDECREF(loop);
    return rc;
}

static int
core_complete_impl(CoreObject *self, PyObject *result, PyObject *exception)
{
    PyObject *traceback = NULL;
    if (exception != NULL) {
        traceback = PyException_GetTraceback(exception);  /* new ref or NULL */
    }
    /* Atomic under the GIL: no Python code between this read and the writes below. */
    int state = self->state;
    if (state >= COMPLETED) {
        Py_XDECREF(traceback);
        raise_new(AlreadyCompletedError);
        return -1;
    }
    PyObject *old_result = self->result, *old_exception = self->exception;
    PyObject *old_traceback = self->traceback;
    self->result = Py_XNewRef(result);
    self->exception = Py_XNewRef(exception);
    self->traceback = traceback;
    self->state = state == EMPTY ? COMPLETED : DONE;
    Py_XDECREF(old_result);
    Py_XDECREF(old_exception);
    Py_XDECREF(old_traceback);
    if (state == WAITING) {  /* outside the swap: a continuation may re-enter the core */
        return core_invoke(self);
    }
    return 0;
}

static int
core_on_completed_impl(CoreObject *self, PyObject *continuation, PyObject *cstate,
                       PyObject *token, PyObject *flags, long bits, PyObject *context)
{
    if (continuation == Py_None) {  /* before the token is checked, as the Python core */
        PyErr_SetObject(PyExc_TypeError, no_continuation);
        return -1;
    }
    if (core_check(self, token) < 0) {
        return -1;
    }
    if (flags != NULL) {  /* int(flags): plain bits, as the Python core */
        PyObject *as_int = PyNumber_Long(flags);
        if (as_int == NULL) {
            return -1;
        }
        /* The low bits, whatever the width (Python's `int(flags) & 1` is not bounded). */
        unsigned long mask = PyLong_AsUnsignedLongMask(as_int);
        Py_DECREF(as_int);
        if (mask == (unsigned long)-1 && PyErr_Occurred()) {
            return -1;
        }
        bits = (long)(mask & (USE_LOOP_BIT | FLOW_CONTEXT_BIT));
    }
    PyObject *loop = NULL;
    int run_async = core_truthy(self->run_async);
    if (run_async < 0) {
        return -1;
    }
    if ((bits & USE_LOOP_BIT) || run_async) {
        loop = running_loop();
        if (loop == NULL) {
            return -1;
        }
        if (loop == Py_None) {
            Py_CLEAR(loop);
        }
    }
    PyObject *ctx = NULL;
    if (context != NULL && context != Py_None) {
        ctx = Py_NewRef(context);
    }
    else if (bits & FLOW_CONTEXT_BIT) {
        ctx = PyContext_CopyCurrent();
        if (ctx == NULL) {
            Py_XDECREF(loop);
            return -1;
        }
    }
    /* The compare-and-swap of the continuation slot: atomic under the GIL (Rule 3). */
    int current = self->state;
    if (current == WAITING || current == DONE) {
        Py_XDECREF(loop);
        Py_XDECREF(ctx);
        raise_new(MultipleAwaitError);
        return -1;
    }
    PyObject *old[4] = {self->continuation, self->cstate, self->loop, self->context};
    self->continuation = Py_NewRef(continuation);
    self->cstate = Py_NewRef(cstate);
    self->loop = loop;
    self->context = ctx;
    self->state = current == EMPTY ? WAITING : DONE;
    for (int i = 0; i < 4; i++) {
        Py_XDECREF(old[i]);
    }
    if (current == COMPLETED) {  /* the Sentinel case: completed before we registered */
        /* Queued, never inline; let go of the awaiter as core_invoke does. */
        PyObject *cont = self->continuation, *state = self->cstate, *ctx = self->context;
        self->continuation = self->cstate = self->context = NULL;
        PyObject *captured = Py_XNewRef(self->loop);
        int rc = post(cont, state, captured, ctx);
        Py_XDECREF(cont);
        Py_XDECREF(state);
        Py_XDECREF(ctx);
        Py_XDECREF(captured);
        return rc;
    }
    return 0;
}

static PyObject *core_get_result_impl(CoreObject *self, PyObject *token);

/* -- Python-visible methods ---------------------------------------------------------------- */

static PyObject *
core_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    CoreObject *self = (CoreObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->version = PyLong_FromLong(0);  /* a small int: no allocation */
    self->run_async = Py_NewRef(Py_False);
    self->state = EMPTY;
    return (PyObject *)self;
}

static int
core_init(CoreObject *self, PyObject *args, PyObject *kwds)
{
    static const char *const names[] = {"run_continuations_asynchronously", NULL};
    PyObject *run_async;
    if (parse_init("ManualResetCore.__init__", args, kwds, 0, 0, names, &run_async) < 0) {
        return -1;
    }
    if (run_async == NULL) {
        run_async = Py_False;
    }
    Py_SETREF(self->run_async, Py_NewRef(run_async));
    Py_SETREF(self->version, PyLong_FromLong(0));
    core_clear_operation(self);
    return 0;
}

/* The traverse functions of these static types never visit their own type:
   subtype_traverse visits a heap subclass's type before it calls them. */
static int
core_traverse(CoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->version);
    Py_VISIT(self->result);
    Py_VISIT(self->exception);
    Py_VISIT(self->traceback);
    Py_VISIT(self->continuation);
    Py_VISIT(self->cstate);
    Py_VISIT(self->loop);
    Py_VISIT(self->context);
    Py_VISIT(self->run_async);
    Py_VISIT(self->awaiter);
    Py_VISIT(self->pool);
    return 0;
}

static int
core_clear(CoreObject *self)
{
    Py_CLEAR(self->result);
    Py_CLEAR(self->exception);
    Py_CLEAR(self->traceback);
    Py_CLEAR(self->continuation);
    Py_CLEAR(self->cstate);
    Py_CLEAR(self->loop);
    Py_CLEAR(self->context);
    Py_CLEAR(self->run_async);
    Py_CLEAR(self->awaiter);
    Py_CLEAR(self->pool);
    return 0;
}

static void
core_dealloc(CoreObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, core_dealloc)  /* cores chain: through _pool, results */
    core_clear(self);
    Py_CLEAR(self->version);
    /* A heap subclass's instance: subtype_dealloc drops the type's reference. */
    type->tp_free((PyObject *)self);
    Py_TRASHCAN_END
}

static PyObject *
core_reset(CoreObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_args("ManualResetCore.reset", args, nargs, kwnames) < 0) {
        return NULL;
    }
    if (core_reset_impl(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
core_check_method(CoreObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *token;
    if (one_arg("ManualResetCore._check", "token", args, nargs, kwnames, &token) < 0) {
        return NULL;
    }
    if (core_check(self, token) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
core_set_result(CoreObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *result;
    if (one_arg("ManualResetCore.set_result", "result", args, nargs, kwnames, &result) < 0) {
        return NULL;
    }
    if (core_complete_impl(self, result, NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
core_set_exception(CoreObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *exception;
    if (one_arg("ManualResetCore.set_exception", "exception", args, nargs, kwnames, &exception) < 0) {
        return NULL;
    }
    if (!PyExceptionInstance_Check(exception)) {
        PyErr_SetString(PyExc_TypeError, "set_exception() needs an exception instance");
        return NULL;
    }
    if (core_complete_impl(self, Py_None, exception) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The TypeError of complete(value, error) with an error that is not an exception; the
   Python WaiterSource.complete raises the same text. */
#define COMPLETE_NEEDS_EXCEPTION "complete() needs an exception instance or None as its error"

static PyObject *
core_complete(CoreObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "complete() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    if (args[1] != Py_None && !PyExceptionInstance_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, COMPLETE_NEEDS_EXCEPTION);
        return NULL;
    }
    int rc = args[1] == Py_None ? core_complete_impl(self, args[0], NULL)
                                : core_complete_impl(self, Py_None, args[1]);
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
core_get_status(CoreObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *token;
    if (one_arg("ManualResetCore.get_status", "token", args, nargs, kwnames, &token) < 0) {
        return NULL;
    }
    if (core_check(self, token) < 0) {
        return NULL;
    }
    return Py_XNewRef(core_status(self));
}

static PyObject *
core_on_completed(CoreObject *self, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames)
{
    static const char *const names[] = {"continuation", "state", "token", "flags", "context",
                                        NULL};
    PyObject *a[5];
    if (parse_args("ManualResetCore.on_completed", args, nargs, kwnames, 4, 4, names, a) < 0) {
        return NULL;
    }
    if (core_on_completed_impl(self, a[0], a[1], a[2], a[3], 0, a[4]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
core_get_result_impl(CoreObject *self, PyObject *token)
{
    if (core_check(self, token) < 0) {
        return NULL;
    }
    if (self->state < COMPLETED) {
        return raise_new(NotCompletedError);
    }
    if (self->pool == NULL || self->pool == Py_None) {
        if (self->exception != NULL) {
            return raise_stored(self->exception, self->traceback);
        }
        return Py_NewRef(self->result != NULL ? self->result : Py_None);
    }
    /* pooled[c]: the result is taken exactly once, so the core resets itself and goes
       back to its pool here (vts.strategies.pooled's get_result, in C). */
    PyObject *result = Py_XNewRef(self->result);
    PyObject *exception = Py_XNewRef(self->exception);
    PyObject *traceback = Py_XNewRef(self->traceback);
    PyObject *pool = Py_NewRef(self->pool);
    int rc = core_reset_impl(self);
    if (rc == 0) {
        PyObject *given = call_method_one(s_give_back, pool, (PyObject *)self);
        if (given == NULL) {
            rc = -1;
        }
        Py_XDECREF(given);
    }
    Py_DECREF(pool);
    if (rc < 0) {
        Py_XDECREF(result);
        Py_XDECREF(exception);
        Py_XDECREF(traceback);
        return NULL;
    }
    if (exception != NULL) {
        raise_stored(exception, traceback);
        Py_XDECREF(result);
        Py_DECREF(exception);
        Py_XDECREF(traceback);
        return NULL;
    }
    Py_XDECREF(traceback);
    return result != NULL ? result : Py_NewRef(Py_None);
}

static PyObject *
core_get_result(CoreObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *token;
    if (one_arg("ManualResetCore.get_result", "token", args, nargs, kwnames, &token) < 0) {
        return NULL;
    }
    return core_get_result_impl(self, token);
}

static PyObject *awaiter_make(PyObject *source, PyObject *token);
static int awaiter_rearm_impl(PyObject *awaiter, PyObject *source, PyObject *token);
static int awaiter_registered(PyObject *awaiter);

/* A pooled core's one bridge, re-armed for `token` (a new one while it is registered:
   a second concurrent await, which on_completed then refuses); a new bridge per await
   for any other core, as the Python ManualResetCore has (keeping one would make a
   per-call core and its bridge a reference cycle). */
static PyObject *
core_awaiter_for_impl(CoreObject *self, PyObject *token)
{
    if (self->pool == NULL) {
        return awaiter_make((PyObject *)self, token);
    }
    if (self->awaiter == NULL) {
        PyObject *awaiter = awaiter_make((PyObject *)self, token);
        if (awaiter == NULL) {
            return NULL;
        }
        self->awaiter = Py_NewRef(awaiter);
        return awaiter;
    }
    if (awaiter_registered(self->awaiter)) {
        return awaiter_make((PyObject *)self, token);
    }
    PyObject *awaiter = Py_NewRef(self->awaiter);  /* re-arming may run code */
    if (awaiter_rearm_impl(awaiter, (PyObject *)self, token) < 0) {
        Py_DECREF(awaiter);
        return NULL;
    }
    return awaiter;
}

static PyObject *
core_awaiter_for(CoreObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *token;
    if (one_arg("ManualResetCore.awaiter_for", "token", args, nargs, kwnames, &token) < 0) {
        return NULL;
    }
    return core_awaiter_for_impl(self, token);
}

static PyObject *
core_get_version(CoreObject *self, void *closure)
{
    return Py_NewRef(self->version);
}

static PyObject *
core_repr(CoreObject *self)
{
    static const char *names[] = {"empty", "waiting", "completed", "done"};
    PyObject *type_name = PyObject_GetAttr((PyObject *)Py_TYPE(self), s_name);
    if (type_name == NULL) {
        return NULL;
    }
    PyObject *repr = PyUnicode_FromFormat("<%U version=%S %s>", type_name, self->version,
                                          names[self->state & 3]);
    Py_DECREF(type_name);
    return repr;
}

static PyMethodDef core_methods[] = {
    {"reset", (PyCFunction)(void (*)(void))core_reset, METH_FASTCALL | METH_KEYWORDS,
     "Start a new operation: forget the old one and reject its token from now on."},
    {"_check", (PyCFunction)(void (*)(void))core_check_method, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"set_result", (PyCFunction)(void (*)(void))core_set_result, METH_FASTCALL | METH_KEYWORDS,
     "Complete the current operation with a value; from any thread."},
    {"set_exception", (PyCFunction)(void (*)(void))core_set_exception, METH_FASTCALL | METH_KEYWORDS,
     "Complete the current operation with an error; from any thread."},
    {"complete", (PyCFunction)(void (*)(void))core_complete, METH_FASTCALL,
     "set_result(value) when error is None, else set_exception(error)."},
    {"get_status", (PyCFunction)(void (*)(void))core_get_status, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"on_completed", (PyCFunction)(void (*)(void))core_on_completed,
     METH_FASTCALL | METH_KEYWORDS, NULL},
    {"get_result", (PyCFunction)(void (*)(void))core_get_result, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"awaiter_for", (PyCFunction)(void (*)(void))core_awaiter_for, METH_FASTCALL | METH_KEYWORDS,
     "The bridge for token: a pooled core's one bridge re-armed, else a new one."},
    REFUSE_COPY_METHOD,
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, NULL},
    {NULL},
};

static PyMemberDef core_members[] = {
    {"_state", Py_T_INT, offsetof(CoreObject, state), Py_READONLY, NULL},
    {NULL},
};

/* Set a writable object field (None stored as NULL where None means "unset"). */
static int
set_field(PyObject *self, PyObject *value, void *offset)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "this attribute cannot be deleted");
        return -1;
    }
    PyObject **slot = (PyObject **)((char *)self + (Py_ssize_t)offset);
    Py_XSETREF(*slot, value == Py_None ? NULL : Py_NewRef(value));
    return 0;
}

static int
set_run_async(CoreObject *self, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "this attribute cannot be deleted");
        return -1;
    }
    Py_XSETREF(self->run_async, Py_NewRef(value));
    return 0;
}

static PyGetSetDef core_getset[] = {
    {"version", (getter)core_get_version, NULL,
     "The token of the current operation; bumped by every reset().", NULL},
    FIELD("_version", CoreObject, version),
    FIELD("_result", CoreObject, result),
    FIELD("_exception", CoreObject, exception),
    FIELD("_traceback", CoreObject, traceback),
    FIELD("_continuation", CoreObject, continuation),
    FIELD("_continuation_state", CoreObject, cstate),
    FIELD("_loop", CoreObject, loop),
    FIELD("_context", CoreObject, context),
    FIELD("_awaiter", CoreObject, awaiter),
    {"_pool", (getter)get_field, (setter)set_field,
     "Set by pooled[c]: get_result resets the core and calls _pool.give_back(core).",
     (void *)offsetof(CoreObject, pool)},
    {"run_continuations_asynchronously", (getter)get_field, (setter)set_run_async, NULL,
     (void *)offsetof(CoreObject, run_async)},
    {NULL},
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vts._speedups.ManualResetCore",
    .tp_basicsize = sizeof(CoreObject),
    .tp_dealloc = (destructor)core_dealloc,
    .tp_repr = (reprfunc)core_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "ManualResetCore in C: the same state table as vts.core, no lock (the GIL).",
    .tp_traverse = (traverseproc)core_traverse,
    .tp_clear = (inquiry)core_clear,
    .tp_methods = core_methods,
    .tp_members = core_members,
    .tp_getset = core_getset,
    .tp_init = (initproc)core_init,
    .tp_new = core_new,
};

/* Does getattr(source, name) find only what its type has: no instance dict to hold
   another, no __getattr__ or __getattribute__? */
static int
type_attributes_only(PyObject *source)
{
    PyTypeObject *type = Py_TYPE(source);
    return type->tp_dictoffset == 0 && type->tp_getattro == PyObject_GenericGetAttr;
}

/* Is `name` still the C core's own method for this object: not overridden by its type,
   nor possibly by the instance? */
static int
uses_core_method(PyObject *source, PyObject *name, PyObject *descr)
{
    return Core_Check(source) && type_attributes_only(source)
           && _PyType_Lookup(Py_TYPE(source), name) == descr;
}

/* -- the protocol, on any source: C cores directly, others through their methods ---------- */

static PyObject *
source_get_status(PyObject *source, PyObject *token)
{
    if (uses_core_method(source, s_get_status, core_get_status_descr)) {
        if (core_check((CoreObject *)source, token) < 0) {
            return NULL;
        }
        return Py_XNewRef(core_status((CoreObject *)source));
    }
    return call_method_one(s_get_status, source, token);
}

/* What get_status(token) says, as one of the statuses below (an object that is none of the
   four members is OTHER, as `is` comparisons in vts.valuetask see it), or -1 with an
   error. The status is compared before it is let go of: that DECREF may run code. */
enum { ST_PENDING, ST_SUCCEEDED, ST_FAULTED, ST_CANCELED, ST_OTHER };

static int
status_of(PyObject *source, PyObject *token)
{
    PyObject *status = source_get_status(source, token);
    if (status == NULL) {
        return -1;
    }
    int which = status == PENDING     ? ST_PENDING
                : status == SUCCEEDED ? ST_SUCCEEDED
                : status == FAULTED   ? ST_FAULTED
                : status == CANCELED  ? ST_CANCELED
                                      : ST_OTHER;
    Py_DECREF(status);
    return which;
}

static PyObject *
source_get_result(PyObject *source, PyObject *token)
{
    if (uses_core_method(source, s_get_result, core_get_result_descr)) {
        return core_get_result_impl((CoreObject *)source, token);
    }
    return call_method_one(s_get_result, source, token);
}

static int
source_on_completed(PyObject *source, PyObject *continuation, PyObject *state,
                    PyObject *token, PyObject *context)
{
    if (uses_core_method(source, s_on_completed, core_on_completed_descr)) {
        return core_on_completed_impl((CoreObject *)source, continuation, state, token, NULL,
                                      USE_LOOP_BIT | FLOW_CONTEXT_BIT, context);
    }
    PyObject *args[7] = {NULL, source, continuation, state, token, bridge_flags,
                         context != NULL ? context : Py_None};
    PyObject *result = PyObject_VectorcallMethod(
        s_on_completed, args + 1, 5 | PY_VECTORCALL_ARGUMENTS_OFFSET, context_kwnames);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* ========================================================================================= */
/* SourceAwaiter                                                                             */
/* ========================================================================================= */

typedef struct {
    PyObject_HEAD
    PyObject *source;
    PyObject *token;
    PyObject *loop;
    PyObject *callback;
    PyObject *cancel_message;
    PyObject *error;        /* the refused registration's error (on_completed raised) */
    char blocking;          /* _asyncio_future_blocking */
} AwaiterObject;

static int
awaiter_registered(PyObject *awaiter)
{
    return ((AwaiterObject *)awaiter)->callback != NULL;
}

static int
awaiter_rearm_impl(PyObject *op, PyObject *source, PyObject *token)
{
    AwaiterObject *self = (AwaiterObject *)op;
    PyObject *loop = PyObject_CallNoArgs(get_running_loop);  /* raises when none runs */
    if (loop == NULL) {
        return -1;
    }
    PyObject *old[6] = {self->source, self->token, self->loop, self->callback,
                        self->cancel_message, self->error};
    self->source = Py_NewRef(source);
    self->token = Py_NewRef(token);
    self->loop = loop;
    self->callback = NULL;
    self->cancel_message = NULL;
    self->error = NULL;
    /* Task.__step reads this flag: True means "suspend me on this object". */
    self->blocking = 1;
    for (int i = 0; i < 6; i++) {
        Py_XDECREF(old[i]);
    }
    return 0;
}

static PyObject *
awaiter_make(PyObject *source, PyObject *token)
{
    AwaiterObject *self = PyObject_GC_New(AwaiterObject, &AwaiterType);
    if (self == NULL) {
        return NULL;
    }
    self->source = self->token = self->loop = self->callback = self->cancel_message = NULL;
    self->error = NULL;
    self->blocking = 0;
    PyObject_GC_Track(self);
    if (awaiter_rearm_impl((PyObject *)self, source, token) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* The arguments go to __init__, as object.__new__ leaves them: a subclass may take its own. */
static PyObject *
awaiter_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    return type->tp_alloc(type, 0);
}

static int
awaiter_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static const char *const names[] = {"source", "token", NULL};
    PyObject *a[2];
    if (parse_init("SourceAwaiter.__init__", args, kwds, 2, 2, names, a) < 0) {
        return -1;
    }
    return awaiter_rearm_impl(self, a[0], a[1]);
}

static int
awaiter_traverse(AwaiterObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->source);
    Py_VISIT(self->token);
    Py_VISIT(self->loop);
    Py_VISIT(self->callback);
    Py_VISIT(self->cancel_message);
    Py_VISIT(self->error);
    return 0;
}

static int
awaiter_clear(AwaiterObject *self)
{
    Py_CLEAR(self->source);
    Py_CLEAR(self->token);
    Py_CLEAR(self->loop);
    Py_CLEAR(self->callback);
    Py_CLEAR(self->cancel_message);
    Py_CLEAR(self->error);
    return 0;
}

static void
awaiter_dealloc(AwaiterObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, awaiter_dealloc)  /* awaiters chain through their sources */
    awaiter_clear(self);
    /* A heap subclass's instance: subtype_dealloc drops the type's reference. */
    type->tp_free((PyObject *)self);
    Py_TRASHCAN_END
}

static int
awaiter_armed(AwaiterObject *self)
{
    if (self->source == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "this SourceAwaiter's operation is over; rearm() it first");
        return -1;
    }
    return 0;
}

/* `source.cancel(token)` where the source is a CancellableSource (its `cancel` is present
   and not None, as the runtime-checkable Protocol tests it), else False. */
static PyObject *
source_cancel(PyObject *source, PyObject *token)
{
    PyObject *cancel;
    if (PyObject_GetOptionalAttr(source, s_cancel, &cancel) < 0) {
        return NULL;
    }
    if (cancel == NULL || cancel == Py_None) {  /* not a CancellableSource */
        Py_XDECREF(cancel);
        Py_RETURN_FALSE;
    }
    PyObject *result = PyObject_CallOneArg(cancel, token);
    Py_DECREF(cancel);
    return result;
}

static PyObject *
aw_get_loop(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    AwaiterObject *self = (AwaiterObject *)op;
    if (no_args("SourceAwaiter.get_loop", args, nargs, kwnames) < 0) {
        return NULL;
    }
    return Py_NewRef(self->loop != NULL ? self->loop : Py_None);
}

/* The status of the awaiter's operation, through the source; the source and token are held
   across the call, which may re-arm or abandon this awaiter. */
static int
awaiter_status(AwaiterObject *self)
{
    if (awaiter_armed(self) < 0) {
        return -1;
    }
    PyObject *source = Py_NewRef(self->source), *token = Py_NewRef(self->token);
    int status = status_of(source, token);
    Py_DECREF(source);
    Py_DECREF(token);
    return status;
}

static PyObject *
aw_done(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_args("SourceAwaiter.done", args, nargs, kwnames) < 0) {
        return NULL;
    }
    AwaiterObject *self = (AwaiterObject *)op;
    if (self->error != NULL) {
        Py_RETURN_TRUE;
    }
    int status = awaiter_status(self);
    return status < 0 ? NULL : PyBool_FromLong(status != ST_PENDING);
}

static PyObject *
aw_cancelled(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_args("SourceAwaiter.cancelled", args, nargs, kwnames) < 0) {
        return NULL;
    }
    int status = awaiter_status((AwaiterObject *)op);
    return status < 0 ? NULL : PyBool_FromLong(status == ST_CANCELED);
}

static PyObject *
aw_add_done_callback(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"fn", "context", NULL};
    AwaiterObject *self = (AwaiterObject *)op;
    PyObject *a[2];
    if (parse_args("SourceAwaiter.add_done_callback", args, nargs, kwnames, 1, 1, names, a) < 0) {
        return NULL;
    }
    if (self->callback != NULL) {
        return raise_new(MultipleAwaitError);
    }
    if (awaiter_armed(self) < 0) {
        return NULL;
    }
    self->callback = Py_NewRef(a[0]);
    PyObject *source = Py_NewRef(self->source), *token = Py_NewRef(self->token);
    int rc = source_on_completed(source, resume_fn, op, token, a[1]);
    Py_DECREF(source);
    Py_DECREF(token);
    if (rc < 0) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            return NULL;
        }
        /* Raised from here it would reach the loop's exception handler (the Task calls
           this outside its try) and the Task would wait forever: wake the Task now, and
           result() raises the error in it, without its traceback (a cycle through this
           awaiter otherwise). */
        PyObject *error = PyErr_GetRaisedException_compat();
        PyException_SetTraceback(error, Py_None);
        Py_CLEAR(self->callback);
        Py_XSETREF(self->error, error);
        PyObject *loop = Py_NewRef(self->loop != NULL ? self->loop : Py_None);
        PyObject *context = a[1] != NULL ? a[1] : Py_None;
        rc = loop_call(s_call_soon, loop, a[0], op, context);
        Py_DECREF(loop);
        if (rc < 0) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
aw_remove_done_callback(PyObject *op, PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames)
{
    /* The source owns the registration; the Task only calls this when it is torn down. */
    PyObject *fn;
    if (one_arg("SourceAwaiter.remove_done_callback", "fn", args, nargs, kwnames, &fn) < 0) {
        return NULL;
    }
    return PyLong_FromLong(0);
}

static PyObject *
aw_result(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_args("SourceAwaiter.result", args, nargs, kwnames) < 0) {
        return NULL;
    }
    AwaiterObject *self = (AwaiterObject *)op;
    if (self->error != NULL) {
        PyObject *error = Py_NewRef(self->error);
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
        return NULL;
    }
    int status = awaiter_status(self);
    if (status < 0) {
        return NULL;
    }
    if (status != ST_CANCELED) {
        Py_RETURN_NONE;
    }
    if (self->cancel_message == NULL || self->cancel_message == Py_None) {
        return raise_new(CancelledError);
    }
    PyObject *message = Py_NewRef(self->cancel_message);
    PyObject *error = PyObject_CallOneArg(CancelledError, message);
    Py_DECREF(message);
    if (error != NULL) {
        PyErr_SetObject(CancelledError, error);
        Py_DECREF(error);
    }
    return NULL;
}

static PyObject *
aw_exception(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_args("SourceAwaiter.exception", args, nargs, kwnames) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
aw_cancel(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"msg", NULL};
    AwaiterObject *self = (AwaiterObject *)op;
    PyObject *a[1];
    if (parse_args("SourceAwaiter.cancel", args, nargs, kwnames, 0, 1, names, a) < 0) {
        return NULL;
    }
    if (self->error != NULL) {
        Py_RETURN_FALSE;  /* never registered: the operation is the first awaiter's */
    }
    /* Task.cancel(msg) reaches the awaiter, as with a Future. */
    Py_XSETREF(self->cancel_message, Py_XNewRef(a[0] != NULL ? a[0] : Py_None));
    if (awaiter_armed(self) < 0) {
        return NULL;
    }
    PyObject *source = Py_NewRef(self->source), *token = Py_NewRef(self->token);
    PyObject *result = source_cancel(source, token);
    Py_DECREF(source);
    Py_DECREF(token);
    return result;
}

static int
awaiter_abandon_impl(AwaiterObject *self)
{
    /* The Task is leaving: the resume already posted must not run. */
    Py_CLEAR(self->callback);
    if (self->error != NULL || self->source == NULL  /* never registered */
        || live_modules == 0) {                      /* at exit, the globals are gone */
        return 0;
    }
    PyObject *source = Py_NewRef(self->source), *token = Py_NewRef(self->token);
    int rc = 0;
    int status = status_of(source, token);
    if (status < 0) {
        if (PyErr_ExceptionMatches(TokenMismatchError)) {
            PyErr_Clear();
        }
        else {
            rc = -1;
        }
        goto done;
    }
    if (status == ST_PENDING) {
        PyObject *cancelled = source_cancel(source, token);
        int truth = cancelled == NULL ? -1 : PyObject_IsTrue(cancelled);
        Py_XDECREF(cancelled);
        if (truth > 0) {
            status = status_of(source, token);
        }
        if (truth < 0 || status < 0) {
            rc = -1;
            goto done;
        }
    }
    if (status != ST_PENDING) {
        /* The caller is already raising its own error; this one only frees the source. */
        PyObject *result = source_get_result(source, token);
        if (result == NULL) {
            PyErr_Clear();
        }
        Py_XDECREF(result);
    }
done:
    Py_DECREF(source);
    Py_DECREF(token);
    return rc;
}

static PyObject *
aw_abandon(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_args("SourceAwaiter.abandon", args, nargs, kwnames) < 0) {
        return NULL;
    }
    if (awaiter_abandon_impl((AwaiterObject *)op) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
aw_rearm(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"source", "token", NULL};
    PyObject *a[2];
    if (parse_args("SourceAwaiter.rearm", args, nargs, kwnames, 2, 2, names, a) < 0) {
        return NULL;
    }
    if (awaiter_rearm_impl(op, a[0], a[1]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static const HotMethodDef awaiter_hot_methods[] = {
    {"get_loop", aw_get_loop, "The loop that was running when the awaiter was armed."},
    {"done", aw_done, "Whether the operation completed."},
    {"cancelled", aw_cancelled, "Whether the operation completed as CANCELED."},
    {"add_done_callback", aw_add_done_callback,
     "The source's on_completed with USE_SCHEDULING_CONTEXT | FLOW_EXECUTION_CONTEXT."},
    {"remove_done_callback", aw_remove_done_callback, "The source owns the registration: 0."},
    {"result", aw_result, "None, or CancelledError when the operation was cancelled."},
    {"exception", aw_exception, "Always None: the ValueTask takes the result."},
    {"cancel", aw_cancel, "Cancel the operation through the source's cancel(token)."},
    {"abandon", aw_abandon,
     "The awaiter was interrupted: release the operation so the source can be reused."},
    {"rearm", aw_rearm, "Point a (possibly reused) awaiter at one version of a source."},
    {NULL},
};

/* PyObject_CallMethod(o, "result", NULL) in the Task's wakeup looks methods up by C
   string: answer it without making a str (Rule 2). */
static PyObject *
awaiter_getattr(PyObject *self, char *name)
{
    for (const HotMethodDef *def = awaiter_hot_methods; def->name != NULL; def++) {
        if (strcmp(def->name, name) == 0) {
            return bound_new(self, def);
        }
    }
    PyObject *key = PyUnicode_FromString(name);
    if (key == NULL) {
        return NULL;
    }
    PyObject *value = PyObject_GenericGetAttr(self, key);
    Py_DECREF(key);
    return value;
}

static PyObject *
awaiter_get_registered(AwaiterObject *self, void *closure)
{
    return PyBool_FromLong(self->callback != NULL);
}

static PyObject *
awaiter_repr(AwaiterObject *self)
{
    /* repr(source) may re-arm this awaiter: hold both. */
    PyObject *source = Py_NewRef(self->source != NULL ? self->source : Py_None);
    PyObject *token = Py_NewRef(self->token != NULL ? self->token : Py_None);
    PyObject *repr = PyUnicode_FromFormat("<SourceAwaiter source=%R token=%R>", source, token);
    Py_DECREF(source);
    Py_DECREF(token);
    return repr;
}

static PyMethodDef awaiter_methods[] = {
    REFUSE_COPY_METHOD,
    {NULL},
};

static PyMemberDef awaiter_members[] = {
    {"_asyncio_future_blocking", Py_T_BOOL, offsetof(AwaiterObject, blocking), 0, NULL},
    {NULL},
};

static PyGetSetDef awaiter_getset[] = {
    FIELD("_source", AwaiterObject, source),
    FIELD("_token", AwaiterObject, token),
    FIELD("_loop", AwaiterObject, loop),
    FIELD("_callback", AwaiterObject, callback),
    FIELD("_cancel_message", AwaiterObject, cancel_message),
    FIELD("_error", AwaiterObject, error),
    {"registered", (getter)awaiter_get_registered, NULL,
     "True from add_done_callback until the Task is resumed or leaves.", NULL},
    {NULL},
};

static PyTypeObject AwaiterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vts._speedups.SourceAwaiter",
    .tp_basicsize = sizeof(AwaiterObject),
    .tp_dealloc = (destructor)awaiter_dealloc,
    .tp_getattr = awaiter_getattr,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_repr = (reprfunc)awaiter_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The future-like bridge a pending ValueTask yields to an asyncio Task.",
    .tp_traverse = (traverseproc)awaiter_traverse,
    .tp_clear = (inquiry)awaiter_clear,
    .tp_methods = awaiter_methods,
    .tp_members = awaiter_members,
    .tp_getset = awaiter_getset,
    .tp_init = awaiter_init,
    .tp_new = awaiter_new,
};

/* resume(awaiter): the continuation every bridge registers (vts.valuetask._resume). */
static PyObject *
resume(PyObject *module, PyObject *op)
{
    if (!Awaiter_Check(op)) {
        PyErr_SetString(PyExc_TypeError, "resume() needs a SourceAwaiter");
        return NULL;
    }
    AwaiterObject *awaiter = (AwaiterObject *)op;
    if (awaiter->callback == NULL || awaiter->source == NULL) {
        /* abandoned, or this registration already resumed its Task */
        Py_RETURN_NONE;
    }
    /* get_status may run code that re-arms or abandons the awaiter: hold what we use. */
    PyObject *callback = Py_NewRef(awaiter->callback);
    PyObject *source = Py_NewRef(awaiter->source), *token = Py_NewRef(awaiter->token);
    int status = status_of(source, token);
    Py_DECREF(source);
    Py_DECREF(token);
    PyObject *result = NULL;
    if (status < 0) {
        if (!PyErr_ExceptionMatches(TokenMismatchError)) {
            goto done;
        }
        /* Someone else consumed this operation while its Task waited: wake the Task,
           whose result() raises the mismatch, rather than leave it waiting forever. */
        PyErr_Clear();
    }
    else if (status == ST_PENDING) {
        /* A stale resume of a reused awaiter re-armed for another Task since. */
        result = Py_NewRef(Py_None);
        goto done;
    }
    /* One resume per registration, even if a stale one comes too. */
    Py_CLEAR(awaiter->callback);
    result = PyObject_CallOneArg(callback, op);
done:
    Py_DECREF(callback);
    return result;
}

/* ========================================================================================= */
/* ValueTask                                                                                 */
/* ========================================================================================= */

enum { IDLE = 0, STARTED = 1, SUSPENDED = 2, FINISHED = 3 };

typedef struct {
    PyObject_HEAD
    PyObject *result;
    PyObject *awaitable;
    PyObject *source;
    PyObject *token;
    PyObject *awaiter;      /* while suspended: the awaiter it yielded */
    char awaited;
    char step;              /* the await in progress: IDLE, STARTED, SUSPENDED, FINISHED */
} ValueTaskObject;

#define VT_FREELIST_MAX 256
static ValueTaskObject *vt_freelist[VT_FREELIST_MAX];
static int vt_freelist_len;

static ValueTaskObject *
vt_alloc(void)
{
    ValueTaskObject *vt;
    if (vt_freelist_len > 0) {
        vt = vt_freelist[--vt_freelist_len];
        PyObject_Init((PyObject *)vt, &ValueTaskType);
    }
    else {
        vt = PyObject_GC_New(ValueTaskObject, &ValueTaskType);
        if (vt == NULL) {
            return NULL;
        }
    }
    vt->result = vt->awaitable = vt->source = vt->token = vt->awaiter = NULL;
    vt->awaited = 0;
    vt->step = IDLE;
    return vt;
}

/* A new ValueTask made from a result, an awaitable, or a source and token (the others
   NULL); new references to what it is made from. */
static PyObject *
vt_make(PyObject *result, PyObject *awaitable, PyObject *source, PyObject *token)
{
    ValueTaskObject *vt = vt_alloc();
    if (vt == NULL) {
        return NULL;
    }
    vt->result = Py_XNewRef(result);
    vt->awaitable = Py_XNewRef(awaitable);
    vt->source = Py_XNewRef(source);
    vt->token = Py_XNewRef(token);
    PyObject_GC_Track(vt);
    return (PyObject *)vt;
}

static int
vt_traverse(ValueTaskObject *vt, visitproc visit, void *arg)
{
    Py_VISIT(vt->result);
    Py_VISIT(vt->awaitable);
    Py_VISIT(vt->source);
    Py_VISIT(vt->token);
    Py_VISIT(vt->awaiter);
    return 0;
}

static int
vt_clear(ValueTaskObject *vt)
{
    Py_CLEAR(vt->result);
    Py_CLEAR(vt->awaitable);
    Py_CLEAR(vt->source);
    Py_CLEAR(vt->token);
    Py_CLEAR(vt->awaiter);
    return 0;
}

/* Ask the awaiter it yielded to let go of the operation: the C bridge directly, any other
   awaiter (a Python source's awaiter_for) through its `abandon()`, as vts.valuetask does. */
static int
abandon_awaiter(PyObject *awaiter)
{
    if (live_modules == 0) {
        return 0;  /* at exit, a coroutine closed after the module let go of its globals */
    }
    if (Awaiter_Check(awaiter)) {
        return awaiter_abandon_impl((AwaiterObject *)awaiter);
    }
    PyObject *result = PyObject_CallMethodNoArgs(awaiter, s_abandon);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* Dropped while suspended (never closed): free the operation, as a generator's finaliser
   closes it. Runs Python code, so it is the tp_finalize, never called from the freed
   object's dealloc except through PyObject_CallFinalizerFromDealloc. */
static void
vt_finalize(PyObject *op)
{
    ValueTaskObject *vt = (ValueTaskObject *)op;
    if (vt->step != SUSPENDED || vt->awaiter == NULL) {
        return;
    }
    PyObject *error = PyErr_GetRaisedException_compat();
    vt->step = FINISHED;
    PyObject *awaiter = vt->awaiter;
    vt->awaiter = NULL;
    if (abandon_awaiter(awaiter) < 0) {
        PyErr_WriteUnraisable(op);
    }
    Py_DECREF(awaiter);
    PyErr_SetRaisedException_compat(error);
}

static void
vt_dealloc(ValueTaskObject *vt)
{
    PyTypeObject *type = Py_TYPE(vt);
    if (vt->step == SUSPENDED && vt->awaiter != NULL
        && PyObject_CallFinalizerFromDealloc((PyObject *)vt) < 0) {
        return;  /* resurrected: whoever kept it (an unraisablehook) owns it now */
    }
    PyObject_GC_UnTrack(vt);
    Py_TRASHCAN_BEGIN(vt, vt_dealloc)
    vt_clear(vt);
    /* Only an object never finalised goes back to the freelist: a finalised one keeps
       its flag, and a reused one would never be finalised again. */
    if (type == &ValueTaskType && vt_freelist_len < VT_FREELIST_MAX
        && !PyObject_GC_IsFinalized((PyObject *)vt)) {
        vt_freelist[vt_freelist_len++] = vt;
    }
    else {
        /* A heap subclass's instance: subtype_dealloc drops the type's reference. */
        type->tp_free((PyObject *)vt);
    }
    Py_TRASHCAN_END
}

/* The arguments go to __init__, as object.__new__ leaves them: a subclass may take its own
   (ValueTask.__new__(cls) makes an empty one, as the Python form's does). */
static PyObject *
vt_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (type != &ValueTaskType) {
        return type->tp_alloc(type, 0);
    }
    return vt_make(NULL, NULL, NULL, NULL);
}

/* ValueTask(result): a completed ValueTask (vts.valuetask's __init__). */
static int
vt_init(PyObject *op, PyObject *args, PyObject *kwds)
{
    static const char *const names[] = {"result", NULL};
    PyObject *result;
    if (parse_init("ValueTask.__init__", args, kwds, 1, 1, names, &result) < 0) {
        return -1;
    }
    ValueTaskObject *vt = (ValueTaskObject *)op;
    PyObject *old[4] = {vt->result, vt->awaitable, vt->source, vt->token};
    vt->result = Py_NewRef(result);
    vt->awaitable = vt->source = vt->token = NULL;
    vt->awaited = 0;
    for (int i = 0; i < 4; i++) {
        Py_XDECREF(old[i]);
    }
    return 0;
}

/* ValueTask(result) without building an args tuple. */
static PyObject *
vt_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (type == (PyObject *)&ValueTaskType && nargs == 1 && kwnames == NULL) {
        return vt_make(args[0], NULL, NULL, NULL);
    }
    PyObject *tuple = PyTuple_New(nargs);
    if (tuple == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyTuple_SET_ITEM(tuple, i, Py_NewRef(args[i]));
    }
    PyObject *kwds = NULL;
    if (kwnames != NULL) {
        kwds = PyDict_New();
        for (Py_ssize_t k = 0; kwds != NULL && k < PyTuple_GET_SIZE(kwnames); k++) {
            if (PyDict_SetItem(kwds, PyTuple_GET_ITEM(kwnames, k), args[nargs + k]) < 0) {
                Py_CLEAR(kwds);
            }
        }
        if (kwds == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
    }
    PyObject *vt = PyType_Type.tp_call(type, tuple, kwds);  /* __new__, then __init__ */
    Py_DECREF(tuple);
    Py_XDECREF(kwds);
    return vt;
}

static PyObject *
source_task_named(const char *qualname, int bound, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames)
{
    if (nargs == 2 && kwnames == NULL) {
        return vt_make(NULL, NULL, args[0], args[1]);
    }
    static const char *const names[] = {"source", "token", NULL};
    PyObject *a[2];
    if (bind_args(qualname, bound, args, nargs, kwnames, args + nargs, 2, 2, names, a) < 0) {
        return NULL;
    }
    return vt_make(NULL, NULL, a[0], a[1]);
}

static PyObject *
source_task(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return source_task_named("source_task", 0, args, nargs, kwnames);
}

static PyObject *
vt_cls_from_result(PyObject *cls, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *result;
    if (one_arg("ValueTask.from_result", "result", args, nargs, kwnames, &result) < 0) {
        return NULL;
    }
    if (cls == (PyObject *)&ValueTaskType) {
        return vt_make(result, NULL, NULL, NULL);
    }
    return PyObject_CallOneArg(cls, result);
}

/* A subclass's: `cls.__new__(cls)`, no __init__, then the fields (vts.valuetask's). */
static PyObject *
vt_cls_from_awaitable(PyObject *cls, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *awaitable;
    if (one_arg("ValueTask.from_awaitable", "awaitable", args, nargs, kwnames, &awaitable) < 0) {
        return NULL;
    }
    if (cls == (PyObject *)&ValueTaskType) {
        return vt_make(NULL, awaitable, NULL, NULL);
    }
    PyObject *task = PyObject_CallMethod(cls, "__new__", "(O)", cls);
    if (task == NULL) {
        return NULL;
    }
    if (!PyObject_TypeCheck(task, &ValueTaskType)) {  /* a __new__ made something else */
        PyObject *zero = PyLong_FromLong(0);
        if (zero == NULL || PyObject_SetAttrString(task, "_awaitable", awaitable) < 0
            || PyObject_SetAttrString(task, "_source", Py_None) < 0
            || PyObject_SetAttrString(task, "_token", zero) < 0
            || PyObject_SetAttrString(task, "_awaited", Py_False) < 0) {
            Py_CLEAR(task);
        }
        Py_XDECREF(zero);
        return task;
    }
    ValueTaskObject *vt = (ValueTaskObject *)task;
    PyObject *old[4] = {vt->result, vt->awaitable, vt->source, vt->token};
    vt->awaitable = Py_NewRef(awaitable);
    vt->result = vt->source = vt->token = NULL;
    vt->awaited = 0;
    for (int i = 0; i < 4; i++) {
        Py_XDECREF(old[i]);
    }
    return task;
}

static PyObject *
vt_cls_from_source(PyObject *cls, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return source_task_named("ValueTask.from_source", 1, args, nargs, kwnames);
}

/* The awaiter a pending operation yields: the C core's own, a source's awaiter_for, or a
   new one. */
static PyObject *
awaiter_for(PyObject *source, PyObject *token)
{
    if (uses_core_method(source, s_awaiter_for, core_awaiter_for_descr)) {
        return core_awaiter_for_impl((CoreObject *)source, token);
    }
    /* getattr(source, "awaiter_for", None)(token), or a new bridge where it is None */
    if (type_attributes_only(source)) {  /* the common case, without a bound method */
        PyObject *make = _PyType_Lookup(Py_TYPE(source), s_awaiter_for);  /* borrowed */
        if (make == NULL || make == Py_None) {
            return awaiter_make(source, token);
        }
        if (PyFunction_Check(make)) {
            return call_method_one(s_awaiter_for, source, token);
        }
    }
    PyObject *make;
    if (PyObject_GetOptionalAttr(source, s_awaiter_for, &make) < 0) {
        return NULL;
    }
    if (make == NULL || make == Py_None) {
        Py_XDECREF(make);
        return awaiter_make(source, token);
    }
    PyObject *awaiter = PyObject_CallOneArg(make, token);
    Py_DECREF(make);
    return awaiter;
}

/* One step of `await vt` on a source: PYGEN_NEXT with the awaiter, PYGEN_RETURN with the
   value, or PYGEN_ERROR. */
static PySendResult
vt_step(ValueTaskObject *vt, PyObject **presult)
{
    *presult = NULL;
    if (vt->source == NULL) {
        if (vt->awaitable != NULL) {
            PyErr_SetString(PyExc_TypeError,
                             "a ValueTask made from an awaitable is awaited through its "
                             "awaitable's own iterator; use await");
            return PYGEN_ERROR;
        }
        vt->step = IDLE;  /* done: not iterable until the next __await__() */
        *presult = Py_NewRef(vt->result != NULL ? vt->result : Py_None);
        return PYGEN_RETURN;
    }
    switch (vt->step) {
    case IDLE:
        /* Driven without __await__(): asyncio.ensure_future/create_task (wait_for, gather)
           take an object with send/throw/close/__await__ for a coroutine and step it
           directly. The first step is then the await itself. */
        vt->awaited = 1;
        vt->step = STARTED;
        /* fall through */
    case STARTED: {
        /* The source's methods may run code: hold the source and token across them. */
        PyObject *source = Py_NewRef(vt->source), *token = Py_NewRef(vt->token);
        int status = status_of(source, token);
        PyObject *awaiter = NULL;
        if (status == ST_PENDING) {
            awaiter = awaiter_for(source, token);
            status = awaiter == NULL ? -1 : status;
        }
        Py_DECREF(source);
        Py_DECREF(token);
        if (status < 0) {
            vt->step = FINISHED;
            return PYGEN_ERROR;
        }
        if (awaiter != NULL) {
            Py_XSETREF(vt->awaiter, Py_NewRef(awaiter));
            vt->step = SUSPENDED;
            *presult = awaiter;
            return PYGEN_NEXT;
        }
        break;
    }
    case SUSPENDED: {
        Py_CLEAR(vt->awaiter);
        break;
    }
    case FINISHED:
        *presult = Py_NewRef(Py_None);  /* an exhausted generator returns None */
        return PYGEN_RETURN;
    default:
        PyErr_SetString(PyExc_RuntimeError, "ValueTask iterated before __await__()");
        return PYGEN_ERROR;
    }
    vt->step = FINISHED;
    PyObject *source = Py_NewRef(vt->source), *token = Py_NewRef(vt->token);
    *presult = source_get_result(source, token);
    Py_DECREF(source);
    Py_DECREF(token);
    return *presult != NULL ? PYGEN_RETURN : PYGEN_ERROR;
}

static PySendResult
vt_am_send(PyObject *op, PyObject *arg, PyObject **presult)
{
    return vt_step((ValueTaskObject *)op, presult);
}

static PyObject *
vt_iternext(PyObject *op)
{
    PyObject *result;
    switch (vt_step((ValueTaskObject *)op, &result)) {
    case PYGEN_NEXT:
        return result;
    case PYGEN_RETURN:
        return stop_with(result);
    default:
        return NULL;
    }
}

static PyObject *
vt_send(PyObject *op, PyObject *arg)
{
    PyObject *result;
    switch (vt_step((ValueTaskObject *)op, &result)) {
    case PYGEN_NEXT:
        return result;
    case PYGEN_RETURN:
        if (result == Py_None) {  /* send() always raises StopIteration to say "returned" */
            Py_DECREF(result);
            PyErr_SetNone(PyExc_StopIteration);
            return NULL;
        }
        return stop_with_plain(result);
    default:
        return NULL;
    }
}

static PyObject *
vt_await(PyObject *op)
{
    ValueTaskObject *vt = (ValueTaskObject *)op;
    if (vt->source == NULL) {
        if (vt->awaitable != NULL) {
            /* `yield from awaitable.__await__()`, without the generator around it */
            PyObject *awaitable = Py_NewRef(vt->awaitable);
            PyObject *iterator = PyObject_CallMethodNoArgs(awaitable, s_await);
            Py_DECREF(awaitable);
            return iterator;
        }
        vt->step = STARTED;  /* iterable from now on (`yield from vt.__await__()`) */
        return Py_NewRef(op);  /* a plain value: stateless, awaitable any number of times */
    }
    if (vt->awaited) {
        return raise_new(AlreadyAwaitedError);
    }
    vt->awaited = 1;
    vt->step = STARTED;
    return Py_NewRef(op);
}

/* Release the awaiter when the await is interrupted (vts.valuetask's `except:` branch). */
static int
vt_interrupt(ValueTaskObject *vt)
{
    int suspended = vt->step == SUSPENDED;
    vt->step = FINISHED;
    PyObject *awaiter = vt->awaiter;
    vt->awaiter = NULL;
    int rc = 0;
    if (suspended && awaiter != NULL) {
        rc = abandon_awaiter(awaiter);
    }
    Py_XDECREF(awaiter);
    return rc;
}

/* The exception `throw(type[, value[, traceback]])` raises, as a generator builds it. */
static PyObject *
exception_to_throw(PyObject *type, PyObject *value, PyObject *traceback)
{
    if (traceback != Py_None && !PyTraceBack_Check(traceback)) {
        PyErr_SetString(PyExc_TypeError, "throw() third argument must be a traceback object");
        return NULL;
    }
    PyObject *error;
    if (PyExceptionClass_Check(type)) {
        if (PyObject_TypeCheck(value, (PyTypeObject *)type)) {
            error = Py_NewRef(value);
        }
        else if (value == Py_None) {
            error = PyObject_CallNoArgs(type);
        }
        else if (PyTuple_Check(value)) {
            error = PyObject_Call(type, value, NULL);
        }
        else {
            error = PyObject_CallOneArg(type, value);
        }
        if (error != NULL && !PyExceptionInstance_Check(error)) {
            PyErr_Format(PyExc_TypeError,
                         "calling %R should have returned an instance of BaseException, "
                         "not %s", type, Py_TYPE(error)->tp_name);
            Py_CLEAR(error);
        }
    }
    else if (PyExceptionInstance_Check(type)) {
        if (value != Py_None) {
            PyErr_SetString(PyExc_TypeError,
                            "instance exception may not have a separate value");
            return NULL;
        }
        error = Py_NewRef(type);
    }
    else {
        PyErr_Format(PyExc_TypeError,
                     "exceptions must be classes or instances deriving from BaseException, "
                     "not %s", Py_TYPE(type)->tp_name);
        return NULL;
    }
    if (error != NULL && traceback != Py_None
        && PyException_SetTraceback(error, traceback) < 0) {
        Py_CLEAR(error);
    }
    return error;
}

/* PEP 479, as for the generator vts.valuetask's __await__ is: a StopIteration leaving the
   await is a RuntimeError, else the await would evaluate to its value. */
static PyObject *
stop_iteration_to_runtime_error(PyObject *error)  /* steals error */
{
    if (!PyErr_GivenExceptionMatches(error, PyExc_StopIteration)) {
        return error;
    }
    PyObject *runtime = PyObject_CallOneArg(PyExc_RuntimeError, generator_raised_stop);
    if (runtime == NULL) {
        Py_DECREF(error);
        return NULL;
    }
    PyException_SetCause(runtime, Py_NewRef(error));
    PyException_SetContext(runtime, error);
    return runtime;
}

static PyObject *
vt_throw(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_Format(PyExc_TypeError, "throw expected 1 to 3 arguments, got %zd", nargs);
        return NULL;
    }
    PyObject *error = exception_to_throw(args[0], nargs > 1 ? args[1] : Py_None,
                                         nargs > 2 ? args[2] : Py_None);
    if (error == NULL) {
        return NULL;
    }
    ValueTaskObject *vt = (ValueTaskObject *)op;
    int running = vt->step != FINISHED;
    if (vt_interrupt(vt) < 0) {
        /* abandon() raised in the Python form's `except` block: that error leaves, with
           the thrown one as its context */
        PyObject *raised = PyErr_GetRaisedException_compat();
        if (raised != error) {
            PyException_SetContext(raised, error);
        }
        else {
            Py_DECREF(error);
        }
        error = raised;
    }
    if (running) {
        error = stop_iteration_to_runtime_error(error);
    }
    if (error != NULL) {
        PyErr_SetRaisedException_compat(error);
    }
    return NULL;
}

static PyObject *
vt_close(PyObject *op, PyObject *unused)
{
    if (vt_interrupt((ValueTaskObject *)op) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* isinstance(awaitable, asyncio.Future): 1, 0, or -1 with an error. */
static int
is_future(PyObject *awaitable)
{
    Py_INCREF(awaitable);  /* __instancecheck__ may run code */
    int rc = PyObject_IsInstance(awaitable, future_type);
    Py_DECREF(awaitable);
    return rc;
}

static PyObject *
vt_get_is_completed(ValueTaskObject *vt, void *closure)
{
    if (vt->source != NULL) {
        PyObject *source = Py_NewRef(vt->source), *token = Py_NewRef(vt->token);
        int status = status_of(source, token);
        Py_DECREF(source);
        Py_DECREF(token);
        return status < 0 ? NULL : PyBool_FromLong(status != ST_PENDING);
    }
    if (vt->awaitable == NULL) {
        Py_RETURN_TRUE;
    }
    PyObject *awaitable = Py_NewRef(vt->awaitable), *done = NULL;
    int future = is_future(awaitable);
    if (future >= 0) {  /* isinstance(awaitable, asyncio.Future) and awaitable.done() */
        done = future ? PyObject_CallMethodNoArgs(awaitable, s_done) : Py_NewRef(Py_False);
    }
    Py_DECREF(awaitable);
    return done;
}

static PyObject *
vt_result(ValueTaskObject *vt, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_args("ValueTask.result", args, nargs, kwnames) < 0) {
        return NULL;
    }
    if (vt->source != NULL) {
        if (vt->awaited) {
            return raise_new(AlreadyAwaitedError);
        }
        PyObject *source = Py_NewRef(vt->source), *token = Py_NewRef(vt->token);
        PyObject *result = NULL;
        int status = status_of(source, token);
        if (status == ST_PENDING) {
            raise_new(NotCompletedError);
        }
        else if (status >= 0) {
            vt->awaited = 1;
            result = source_get_result(source, token);
        }
        Py_DECREF(source);
        Py_DECREF(token);
        return result;
    }
    if (vt->awaitable == NULL) {
        return Py_NewRef(vt->result != NULL ? vt->result : Py_None);
    }
    PyObject *awaitable = Py_NewRef(vt->awaitable), *result = NULL;
    int truth = is_future(awaitable);
    if (truth > 0) {
        PyObject *done = PyObject_CallMethodNoArgs(awaitable, s_done);
        truth = done == NULL ? -1 : PyObject_IsTrue(done);
        Py_XDECREF(done);
        if (truth > 0) {
            result = PyObject_CallMethodNoArgs(awaitable, s_result);
        }
    }
    if (truth == 0) {
        raise_new(NotCompletedError);
    }
    Py_DECREF(awaitable);
    return result;
}

static PyObject *
vt_as_future(ValueTaskObject *vt, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (no_args("ValueTask.as_future", args, nargs, kwnames) < 0) {
        return NULL;
    }
    if (vt->source == NULL && vt->awaitable == NULL) {
        PyObject *loop = PyObject_CallNoArgs(get_running_loop);
        if (loop == NULL) {
            return NULL;
        }
        PyObject *future = PyObject_CallMethod(loop, "create_future", NULL);
        Py_DECREF(loop);
        if (future == NULL) {
            return NULL;
        }
        PyObject *r = PyObject_CallMethod(future, "set_result", "(O)",
                                          vt->result != NULL ? vt->result : Py_None);
        if (r == NULL) {
            Py_DECREF(future);
            return NULL;
        }
        Py_DECREF(r);
        return future;
    }
    if (vt->awaitable != NULL) {
        int future = is_future(vt->awaitable);
        if (future != 0) {
            return future < 0 ? NULL : Py_NewRef(vt->awaitable);
        }
    }
    if (vt->source != NULL) {
        /* Consumed now, not when the Task first runs (see vts.valuetask.as_future). */
        if (vt->awaited) {
            return raise_new(AlreadyAwaitedError);
        }
        vt->awaited = 1;
    }
    PyObject *coro = PyObject_CallOneArg(await_once, (PyObject *)vt);
    if (coro == NULL) {
        return NULL;
    }
    PyObject *future = PyObject_CallOneArg(ensure_future, coro);
    Py_DECREF(coro);
    return future;
}

static PyObject *
vt_repr(ValueTaskObject *vt)
{
    /* repr() and str() run code that may re-initialise this ValueTask: hold what they see. */
    PyObject *repr = NULL;
    if (vt->source != NULL) {
        PyObject *token = Py_NewRef(vt->token);
        PyObject *type_name = PyObject_GetAttr((PyObject *)Py_TYPE(vt->source), s_name);
        if (type_name != NULL) {
            repr = PyUnicode_FromFormat("<ValueTask source=%U token=%S>", type_name, token);
            Py_DECREF(type_name);
        }
        Py_DECREF(token);
        return repr;
    }
    PyObject *shown = Py_NewRef(vt->awaitable != NULL ? vt->awaitable
                                : vt->result != NULL ? vt->result : Py_None);
    repr = PyUnicode_FromFormat(vt->awaitable != NULL ? "<ValueTask awaitable=%R>"
                                                      : "<ValueTask result=%R>", shown);
    Py_DECREF(shown);
    return repr;
}

static PyObject *
vt_get_awaited(ValueTaskObject *vt, void *closure)
{
    return PyBool_FromLong(vt->awaited);
}

static int
vt_set_awaited(ValueTaskObject *vt, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_awaited cannot be deleted");
        return -1;
    }
    int truth = PyObject_IsTrue(value);
    if (truth < 0) {
        return -1;
    }
    vt->awaited = (char)truth;
    return 0;
}

static PyObject *
vt_get_slot(ValueTaskObject *vt, void *closure)
{
    PyObject *value = *(PyObject **)((char *)vt + (Py_ssize_t)closure);
    if (value == NULL) {
        value = (Py_ssize_t)closure == offsetof(ValueTaskObject, token) ? PyLong_FromLong(0)
                                                                         : Py_NewRef(Py_None);
        return value;
    }
    return Py_NewRef(value);
}

static PyMethodDef vt_methods[] = {
    REFUSE_COPY_METHOD,
    {"result", (PyCFunction)(void (*)(void))vt_result, METH_FASTCALL | METH_KEYWORDS,
     "The synchronous fast path: the value of a completed ValueTask, consumed once."},
    {"as_future", (PyCFunction)(void (*)(void))vt_as_future, METH_FASTCALL | METH_KEYWORDS,
     "A real asyncio future with the same outcome: await it many times, gather it."},
    {"preserve", (PyCFunction)(void (*)(void))vt_as_future, METH_FASTCALL | METH_KEYWORDS, "as_future(), the .NET name."},
    {"from_result", (PyCFunction)(void (*)(void))vt_cls_from_result,
     METH_FASTCALL | METH_KEYWORDS | METH_CLASS, NULL},
    {"from_awaitable", (PyCFunction)(void (*)(void))vt_cls_from_awaitable,
     METH_FASTCALL | METH_KEYWORDS | METH_CLASS, NULL},
    {"from_source", (PyCFunction)(void (*)(void))vt_cls_from_source,
     METH_FASTCALL | METH_KEYWORDS | METH_CLASS, NULL},
    {"throw", (PyCFunction)(void (*)(void))vt_throw, METH_FASTCALL, NULL},
    {"close", (PyCFunction)vt_close, METH_NOARGS, NULL},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, NULL},
    {NULL},
};

/* `send` is answered by attribute lookup, and is not in the type's dict: with all four of
   __await__, send, throw and close there, collections.abc.Coroutine (so
   asyncio.iscoroutine) would take a ValueTask for a coroutine, and ensure_future,
   gather and wait_for would step it as one instead of awaiting it (two Tasks on one
   ValueTask both stepping it; one made from an awaitable refused). */
static PyMethodDef vt_send_def = {"send", (PyCFunction)vt_send, METH_O,
                                  "Step the await, as a generator's send()."};

static PyObject *
vt_getattro(PyObject *op, PyObject *name)
{
    PyObject *value = PyObject_GenericGetAttr(op, name);
    if (value != NULL || !PyUnicode_Check(name)
        || PyUnicode_CompareWithASCIIString(name, "send") != 0
        || !PyErr_ExceptionMatches(PyExc_AttributeError)) {
        return value;
    }
    PyErr_Clear();
    return PyCFunction_New(&vt_send_def, op);
}

/* iter(): only `yield from vt.__await__()` iterates a ValueTask, between __await__() and
   the first step; list(vt) or a for loop would consume the operation, and the Python
   form's ValueTask is never iterable. */
static PyObject *
vt_iter(PyObject *op)
{
    if (((ValueTaskObject *)op)->step != STARTED) {
        PyErr_Format(PyExc_TypeError, "'%s' object is not iterable", type_name(Py_TYPE(op)));
        return NULL;
    }
    return Py_NewRef(op);
}

static PyGetSetDef vt_getset[] = {
    {"is_completed", (getter)vt_get_is_completed, NULL,
     "True when result() would not raise NotCompletedError.", NULL},
    {"_awaited", (getter)vt_get_awaited, (setter)vt_set_awaited, NULL, NULL},
    {"_result", (getter)vt_get_slot, NULL, NULL, (void *)offsetof(ValueTaskObject, result)},
    {"_awaitable", (getter)vt_get_slot, NULL, NULL,
     (void *)offsetof(ValueTaskObject, awaitable)},
    {"_source", (getter)vt_get_slot, NULL, NULL, (void *)offsetof(ValueTaskObject, source)},
    {"_token", (getter)vt_get_slot, NULL, NULL, (void *)offsetof(ValueTaskObject, token)},
    {NULL},
};

static PyAsyncMethods vt_as_async = {
    .am_await = vt_await,
    .am_send = vt_am_send,
};

static PyTypeObject ValueTaskType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vts._speedups.ValueTask",
    .tp_basicsize = sizeof(ValueTaskObject),
    .tp_dealloc = (destructor)vt_dealloc,
    .tp_finalize = vt_finalize,
    .tp_as_async = &vt_as_async,
    .tp_repr = (reprfunc)vt_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "An awaitable made from a result, an awaitable, or a (source, token) pair; "
              "its own awaiter iterator.",
    .tp_traverse = (traverseproc)vt_traverse,
    .tp_clear = (inquiry)vt_clear,
    .tp_getattro = vt_getattro,
    .tp_iter = vt_iter,
    .tp_iternext = vt_iternext,
    .tp_methods = vt_methods,
    .tp_getset = vt_getset,
    .tp_init = vt_init,
    .tp_new = vt_new,
};

/* ========================================================================================= */
/* the module                                                                                */
/* ========================================================================================= */

static PyObject *
freelist_sizes(PyObject *module, PyObject *unused)
{
    return Py_BuildValue("{sisi}", "ValueTask", vt_freelist_len, "bound_method",
                         bound_freelist_len);
}

static PyMethodDef module_methods[] = {
    {"source_task", (PyCFunction)(void (*)(void))source_task, METH_FASTCALL | METH_KEYWORDS,
     "ValueTask.from_source as a plain function."},
    {"_freelist_sizes", freelist_sizes, METH_NOARGS, "For tests: objects kept for reuse."},
    {NULL},
};

/* resume is made without a module (m_self NULL): the global that holds it would otherwise
   keep the module alive for ever. */
static PyMethodDef resume_def = {"resume", resume, METH_O,
                                 "The continuation every bridge registers."};

/* Every owned global, for module_release. */
static PyObject **const owned_globals[] = {
    &AlreadyAwaitedError, &AlreadyCompletedError, &MultipleAwaitError, &NotCompletedError,
    &TokenMismatchError, &PENDING, &SUCCEEDED, &FAULTED, &CANCELED, &CancelledError,
    &bridge_flags, &get_running_loop_or_none, &get_running_loop, &py_start_worker,
    &no_continuation, &no_copy, &next_version, &await_once, &ensure_future, &future_type, &resume_fn,
    &context_kwnames, &s_call_soon, &s_call_soon_threadsafe, &s_get_status, &s_get_result,
    &s_on_completed, &s_cancel, &s_awaiter_for, &s_give_back, &s_await, &s_name, &s_abandon,
    &s_done, &s_result, &generator_raised_stop,
};

typedef struct {
    int counted;  /* this module object is one of live_modules */
} module_state;

static void
module_release(void)
{
    for (size_t i = 0; i < sizeof(owned_globals) / sizeof(owned_globals[0]); i++) {
        Py_CLEAR(*owned_globals[i]);
    }
    while (vt_freelist_len > 0) {
        PyObject_GC_Del(vt_freelist[--vt_freelist_len]);
    }
    while (bound_freelist_len > 0) {
        PyObject_GC_Del(bound_freelist[--bound_freelist_len]);
    }
#if PY_VERSION_HEX >= 0x030C0000
    while (stop_freelist_len > 0) {
        PyObject_GC_Del(stop_freelist[--stop_freelist_len]);
    }
#endif
}

static void
module_free(void *module)
{
    module_state *state = PyModule_GetState((PyObject *)module);
    if (state != NULL && state->counted) {
        state->counted = 0;
        if (--live_modules == 0) {
            module_release();
        }
    }
}

static PyObject *
import_attr(const char *module_name, const char *attr)
{
    PyObject *module = PyImport_ImportModule(module_name);
    if (module == NULL) {
        return NULL;
    }
    PyObject *value = PyObject_GetAttrString(module, attr);
    Py_DECREF(module);
    return value;
}

#define IMPORT(var, mod, name)                        \
    do {                                              \
        if ((var = import_attr(mod, name)) == NULL) { \
            return -1;                                \
        }                                             \
    } while (0)

#define INTERN(var, text)                                       \
    do {                                                        \
        if ((var = PyUnicode_InternFromString(text)) == NULL) { \
            return -1;                                          \
        }                                                       \
    } while (0)

static int
module_acquire(void)
{
    IMPORT(AlreadyAwaitedError, "vts.valuetask", "AlreadyAwaitedError");
    IMPORT(AlreadyCompletedError, "vts.valuetask", "AlreadyCompletedError");
    IMPORT(MultipleAwaitError, "vts.valuetask", "MultipleAwaitError");
    IMPORT(NotCompletedError, "vts.valuetask", "NotCompletedError");
    IMPORT(TokenMismatchError, "vts.valuetask", "TokenMismatchError");
    IMPORT(PENDING, "vts.valuetask", "PENDING");
    IMPORT(SUCCEEDED, "vts.valuetask", "SUCCEEDED");
    IMPORT(FAULTED, "vts.valuetask", "FAULTED");
    IMPORT(CANCELED, "vts.valuetask", "CANCELED");
    IMPORT(bridge_flags, "vts.valuetask", "_BRIDGE_FLAGS");
    IMPORT(CancelledError, "asyncio", "CancelledError");
    IMPORT(ensure_future, "asyncio", "ensure_future");
    IMPORT(future_type, "asyncio", "Future");
    IMPORT(get_running_loop_or_none, "asyncio.events", "_get_running_loop");
    IMPORT(get_running_loop, "asyncio.events", "get_running_loop");
    IMPORT(py_start_worker, "vts.core", "_start_worker");
    IMPORT(no_continuation, "vts.valuetask", "NO_CONTINUATION");
    IMPORT(no_copy, "vts.valuetask", "NO_COPY");
    IMPORT(next_version, "vts.core", "_NEXT_VERSION");
    if (!PyList_Check(next_version)) {
        PyErr_SetString(PyExc_TypeError, "vts.core._NEXT_VERSION must be a list");
        return -1;
    }
    PyObject *py_value_task;
    IMPORT(py_value_task, "vts.valuetask", "ValueTask");
    await_once = PyObject_GetAttrString(py_value_task, "_await_once");
    Py_DECREF(py_value_task);
    if (await_once == NULL) {
        return -1;
    }
    INTERN(s_call_soon, "call_soon");
    INTERN(s_call_soon_threadsafe, "call_soon_threadsafe");
    INTERN(s_get_status, "get_status");
    INTERN(s_get_result, "get_result");
    INTERN(s_on_completed, "on_completed");
    INTERN(s_cancel, "cancel");
    INTERN(s_awaiter_for, "awaiter_for");
    INTERN(s_give_back, "give_back");
    INTERN(s_await, "__await__");
    INTERN(s_name, "__name__");
    INTERN(s_abandon, "abandon");
    INTERN(s_done, "done");
    INTERN(s_result, "result");
    INTERN(generator_raised_stop, "generator raised StopIteration");
    PyObject *context_name;
    INTERN(context_name, "context");
    context_kwnames = PyTuple_Pack(1, context_name);
    Py_DECREF(context_name);
    if (context_kwnames == NULL) {
        return -1;
    }
    resume_fn = PyCFunction_New(&resume_def, NULL);
    if (resume_fn == NULL) {
        return -1;
    }

    ValueTaskType.tp_vectorcall = vt_vectorcall;
#if PY_VERSION_HEX >= 0x030C0000
    StopType.tp_base = (PyTypeObject *)PyExc_StopIteration;
    StopType.tp_traverse = StopType.tp_base->tp_traverse;
    StopType.tp_clear = StopType.tp_base->tp_clear;
#endif
    PyTypeObject *types[] = {
        &BoundType, &HotDescrType, &CoreType, &AwaiterType, &ValueTaskType,
#if PY_VERSION_HEX >= 0x030C0000
        &StopType,
#endif
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (PyType_Ready(types[i]) < 0) {
            return -1;
        }
    }
    if (PyDict_GetItemWithError(AwaiterType.tp_dict, s_cancel) == NULL) {
        if (PyErr_Occurred() || add_hot_methods(&AwaiterType, awaiter_hot_methods) < 0) {
            return -1;
        }
    }
    core_get_status_descr = _PyType_Lookup(&CoreType, s_get_status);
    core_get_result_descr = _PyType_Lookup(&CoreType, s_get_result);
    core_on_completed_descr = _PyType_Lookup(&CoreType, s_on_completed);
    core_awaiter_for_descr = _PyType_Lookup(&CoreType, s_awaiter_for);
    return 0;
}

static int
module_exec(PyObject *module)
{
    if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
        PyErr_SetString(PyExc_ImportError,
                        "vts._speedups does not load in a subinterpreter (its types and "
                        "globals are the main interpreter's); use VTS_IMPL=python there");
        return -1;
    }
    module_state *state = PyModule_GetState(module);
    if (!state->counted) {
        if (live_modules == 0 && module_acquire() < 0) {
            module_release();
            return -1;
        }
        live_modules++;
        state->counted = 1;
    }
    if (PyModule_AddObjectRef(module, "resume", resume_fn) < 0
        || PyModule_AddObjectRef(module, "ManualResetCore", (PyObject *)&CoreType) < 0
        || PyModule_AddObjectRef(module, "SourceAwaiter", (PyObject *)&AwaiterType) < 0
        || PyModule_AddObjectRef(module, "ValueTask", (PyObject *)&ValueTaskType) < 0) {
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "vts._speedups",
    .m_doc = "The protocol's hot pieces in C: ValueTask, SourceAwaiter, ManualResetCore.",
    .m_size = sizeof(module_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}

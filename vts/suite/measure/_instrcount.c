/* _instrcount: valgrind callgrind's client requests, for the instruction counter.
 *
 * Each function issues one client request from valgrind/callgrind.h. A client request is
 * a special no-op instruction sequence: natively it does nothing and costs a few
 * instructions; under callgrind it asks the tool to act. That is why this is C: the
 * sequence cannot be emitted from Python.
 *
 * Rules:
 * - No state here: callgrind holds the counts; dump() writes them to the tool's output
 *   file (`--callgrind-out-file`), and vts.suite.measure.instructions reads them back.
 * - Every request is harmless outside valgrind (on_valgrind() then returns 0), so importing
 *   and calling this module never needs valgrind to be running.
 * - Built only where valgrind/callgrind.h is installed (setup.py marks the extension
 *   optional); without it the suite reports instruction counts as unavailable.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <valgrind/callgrind.h>

static PyObject *
instrcount_on_valgrind(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromUnsignedLong((unsigned long)RUNNING_ON_VALGRIND);
}

static PyObject *
instrcount_start_instrumentation(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    CALLGRIND_START_INSTRUMENTATION;
    Py_RETURN_NONE;
}

static PyObject *
instrcount_stop_instrumentation(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    CALLGRIND_STOP_INSTRUMENTATION;
    Py_RETURN_NONE;
}

static PyObject *
instrcount_zero(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    CALLGRIND_ZERO_STATS;
    Py_RETURN_NONE;
}

static PyObject *
instrcount_dump(PyObject *Py_UNUSED(module), PyObject *label)
{
    /* The label is borrowed UTF-8 owned by `label`, valid while the request runs. */
    const char *text = PyUnicode_AsUTF8(label);
    if (text == NULL) {
        return NULL;
    }
    CALLGRIND_DUMP_STATS_AT(text);
    Py_RETURN_NONE;
}

static PyMethodDef instrcount_methods[] = {
    {"on_valgrind", instrcount_on_valgrind, METH_NOARGS,
     "on_valgrind()\n--\n\nThe valgrind nesting depth: 0 when not running under valgrind."},
    {"start_instrumentation", instrcount_start_instrumentation, METH_NOARGS,
     "start_instrumentation()\n--\n\nCALLGRIND_START_INSTRUMENTATION: count from here on "
     "(for a process started with --instr-atstart=no)."},
    {"stop_instrumentation", instrcount_stop_instrumentation, METH_NOARGS,
     "stop_instrumentation()\n--\n\nCALLGRIND_STOP_INSTRUMENTATION."},
    {"zero", instrcount_zero, METH_NOARGS,
     "zero()\n--\n\nCALLGRIND_ZERO_STATS: set every counter to zero."},
    {"dump", instrcount_dump, METH_O,
     "dump(label)\n--\n\nCALLGRIND_DUMP_STATS_AT(label): write the counts since the last "
     "zero() to the next numbered output file."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef instrcount_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "vts.suite.measure._instrcount",
    .m_doc = "callgrind client requests (start/stop instrumentation, zero, dump).",
    .m_size = 0, /* no state: every request goes to the tool */
    .m_methods = instrcount_methods,
};

PyMODINIT_FUNC
PyInit__instrcount(void)
{
    return PyModule_Create(&instrcount_module);
}

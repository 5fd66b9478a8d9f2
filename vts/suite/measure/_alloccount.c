/* _alloccount: the exact allocation counter.
 *
 * Wraps the PYMEM_DOMAIN_OBJ and PYMEM_DOMAIN_MEM allocators and counts every
 * malloc, calloc and realloc call, plus the bytes requested (calloc: nelem * elsize;
 * realloc: the new size). Frees are forwarded, not counted.
 *
 * Rules:
 * - The hooks only wrap: each one forwards to the allocator that was installed before
 *   start(), kept in its ctx. Memory allocated while hooked is freed by the same original
 *   allocator, so start()/stop() may happen with live blocks on either side.
 * - PYMEM_DOMAIN_RAW is NOT hooked: it is called without the GIL.
 * - Hooks are installed only while measuring (start() ... stop()); start() is idempotent.
 *
 * Counting uses plain C integers: both hooked domains are only ever called with the GIL
 * held (the C API contract for PyMem_* and PyObject_*), so the GIL serialises the counters.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyMemAllocatorEx original;
} hook_ctx;

static hook_ctx obj_ctx;
static hook_ctx mem_ctx;
static int installed = 0;

/* Updated only under the GIL (see the header). */
static unsigned long long alloc_count = 0;
static unsigned long long alloc_bytes = 0;

static void *
hook_malloc(void *ctx, size_t size)
{
    hook_ctx *hc = (hook_ctx *)ctx;
    alloc_count++;
    alloc_bytes += size;
    return hc->original.malloc(hc->original.ctx, size);
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    hook_ctx *hc = (hook_ctx *)ctx;
    alloc_count++;
    alloc_bytes += (unsigned long long)nelem * elsize;
    return hc->original.calloc(hc->original.ctx, nelem, elsize);
}

static void *
hook_realloc(void *ctx, void *ptr, size_t new_size)
{
    hook_ctx *hc = (hook_ctx *)ctx;
    alloc_count++;
    alloc_bytes += new_size;
    return hc->original.realloc(hc->original.ctx, ptr, new_size);
}

static void
hook_free(void *ctx, void *ptr)
{
    hook_ctx *hc = (hook_ctx *)ctx;
    hc->original.free(hc->original.ctx, ptr);
}

static void
install(PyMemAllocatorDomain domain, hook_ctx *hc)
{
    PyMemAllocatorEx hook = {hc, hook_malloc, hook_calloc, hook_realloc, hook_free};
    PyMem_GetAllocator(domain, &hc->original);
    PyMem_SetAllocator(domain, &hook);
}

static PyObject *
alloccount_start(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (!installed) {
        install(PYMEM_DOMAIN_OBJ, &obj_ctx);
        install(PYMEM_DOMAIN_MEM, &mem_ctx);
        installed = 1;
    }
    Py_RETURN_NONE;
}

static PyObject *
alloccount_stop(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (installed) {
        PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &mem_ctx.original);
        PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &obj_ctx.original);
        installed = 0;
    }
    Py_RETURN_NONE;
}

static PyObject *
alloccount_reset(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    alloc_count = 0;
    alloc_bytes = 0;
    Py_RETURN_NONE;
}

static PyObject *
alloccount_read(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    /* Snapshot first: building the result allocates, and must not count itself. */
    unsigned long long count = alloc_count;
    unsigned long long bytes = alloc_bytes;
    return Py_BuildValue("(KK)", count, bytes);
}

static PyObject *
alloccount_is_installed(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(installed);
}

static PyMethodDef alloccount_methods[] = {
    {"start", alloccount_start, METH_NOARGS,
     "start()\n--\n\nInstall the counting hooks (OBJ and MEM domains). Idempotent."},
    {"stop", alloccount_stop, METH_NOARGS,
     "stop()\n--\n\nRestore the original allocators. Idempotent."},
    {"reset", alloccount_reset, METH_NOARGS,
     "reset()\n--\n\nSet the count and the byte total to zero."},
    {"read", alloccount_read, METH_NOARGS,
     "read()\n--\n\nReturn (count, bytes) counted since the last reset()."},
    {"is_installed", alloccount_is_installed, METH_NOARGS,
     "is_installed()\n--\n\nTrue between start() and stop()."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef alloccount_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "vts.measure._alloccount",
    .m_doc = "Exact allocation counter: hooks the OBJ and MEM allocator domains while started.",
    .m_size = -1, /* global state (the hooks are process-wide): no sub-interpreter support */
    .m_methods = alloccount_methods,
};

PyMODINIT_FUNC
PyInit__alloccount(void)
{
    return PyModule_Create(&alloccount_module);
}

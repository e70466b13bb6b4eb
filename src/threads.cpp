#include "threads.h"

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace vaeconv_glue {

namespace {
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);

// A function of the loaded BLAS, or nullptr. Unix: any loaded library
// (dlsym). Windows: the DLLs R's BLAS comes in (Rblas.dll, which a user may
// have replaced by OpenBLAS's, or an OpenBLAS / FlexiBLAS DLL); R's own
// reference BLAS runs on one thread anyway. Where none is found the guard
// does nothing: setting OPENBLAS_NUM_THREADS=1 before R starts keeps such a
// BLAS on one thread (see ?fit_vae).
void* symbol(const char* name) {
#if defined(_WIN32)
  for (const char* dll : {"Rblas.dll", "libopenblas.dll", "openblas.dll", "libflexiblas.dll"}) {
    if (HMODULE h = GetModuleHandleA(dll)) {
      if (FARPROC f = GetProcAddress(h, name)) return reinterpret_cast<void*>(f);
    }
  }
  return nullptr;
#else
  return dlsym(RTLD_DEFAULT, name);
#endif
}

get_threads_fn getter() {
  if (void* f = symbol("openblas_get_num_threads")) return (get_threads_fn)f;
  if (void* f = symbol("flexiblas_get_num_threads")) return (get_threads_fn)f;
  return nullptr;
}
set_threads_fn setter() {
  if (void* f = symbol("openblas_set_num_threads")) return (set_threads_fn)f;
  if (void* f = symbol("flexiblas_set_num_threads")) return (set_threads_fn)f;
  return nullptr;
}
}  // namespace

std::unique_ptr<vaeconv::Parallel> make_parallel(int n_threads) {
  if (n_threads <= 1) return std::unique_ptr<vaeconv::Parallel>(new vaeconv::Serial());
  return std::unique_ptr<vaeconv::Parallel>(new ArenaParallel(n_threads));
}

BlasThreadsGuard::BlasThreadsGuard() {
  get_threads_fn get = getter();
  set_threads_fn set = setter();
  if (get != nullptr && set != nullptr) {
    previous_ = get();
    if (previous_ != 1) set(1);
  }
}

BlasThreadsGuard::~BlasThreadsGuard() {
  set_threads_fn set = setter();
  if (set != nullptr && previous_ > 1) set(previous_);
}

int blas_threads() {
  get_threads_fn get = getter();
  return get == nullptr ? -1 : get();
}

int set_blas_threads(int n) {
  get_threads_fn get = getter();
  set_threads_fn set = setter();
  if (get == nullptr || set == nullptr || n < 1) return -1;
  const int previous = get();
  if (previous != n) set(n);
  return previous;
}

}  // namespace vaeconv_glue

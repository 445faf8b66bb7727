// The bindings' argument unpacking, in the manner of sodium-native's macros.h: a binding names its arguments in
// order, and a JavaScript value of the wrong type, or a missing one, throws a TypeError that names it (`"fd" must
// be a number`, code ERR_INVALID_ARG_TYPE) before any system call. Types only: ranges are checked in TypeScript
// (src/validate.ts), and what the kernel refuses comes back as -errno. Variables take the arguments' JS names.
#ifndef DMAHEAP_ARGS_H
#define DMAHEAP_ARGS_H

#include <stdbool.h>
#include "addon.h"

#define THROW_TYPE(name, what)                                                        \
  do {                                                                                \
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "\"" name "\" must be " what); \
    return NULL;                                                                      \
  } while (0)

/* argv[0..n-1] and argc, the count given: arguments not given read as undefined (and so fail their type). */
#define ARGV(n)          \
  napi_value argv[n];    \
  size_t argc = n;       \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL

/* Numbers, converted as Node-API converts them (NaN and ±Infinity to 0, fractions truncated). */
#define ARG_INT32(name, i) \
  int32_t name = 0;        \
  if (napi_get_value_int32(env, argv[i], &name) != napi_ok) THROW_TYPE(#name, "a number")

#define ARG_UINT32(name, i) \
  uint32_t name = 0;        \
  if (napi_get_value_uint32(env, argv[i], &name) != napi_ok) THROW_TYPE(#name, "a number")

#define ARG_INT64(name, i) \
  int64_t name = 0;        \
  if (napi_get_value_int64(env, argv[i], &name) != napi_ok) THROW_TYPE(#name, "a number")

static inline bool arg_given(napi_env env, size_t argc, napi_value *argv, size_t i) {
  napi_valuetype t = napi_undefined;
  return i < argc && napi_typeof(env, argv[i], &t) == napi_ok && t != napi_undefined;
}

/* An optional number: `fallback` when not given or undefined. */
#define ARG_OPT_UINT32(name, i, fallback) \
  uint32_t name = (fallback);             \
  if (arg_given(env, argc, argv, i) && napi_get_value_uint32(env, argv[i], &name) != napi_ok) THROW_TYPE(#name, "a number")

static inline void free_string(char **s) { free(*s); }

/* A NUL-terminated UTF-8 copy, freed when `name` goes out of scope; the call returns -ENOMEM without memory. */
#define ARG_STRING(name, i)                                                                                   \
  char *name __attribute__((cleanup(free_string))) = NULL;                                                \
  size_t name##_bytes = 0;                                                                                \
  if (napi_get_value_string_utf8(env, argv[i], NULL, 0, &name##_bytes) != napi_ok) THROW_TYPE(#name, "a string"); \
  if (!(name = malloc(name##_bytes + 1))) return num(env, -ENOMEM);                                       \
  napi_get_value_string_utf8(env, argv[i], name, name##_bytes + 1, &name##_bytes)

/* A typed array of one element type: `name` its data, `name##_length` its element count. */
#define ARG_TYPEDARRAY(name, i, type, what)                                                           \
  void *name = NULL;                                                                                  \
  size_t name##_length = 0;                                                                           \
  napi_typedarray_type name##_type = napi_int8_array;                                                 \
  if (napi_get_typedarray_info(env, argv[i], &name##_type, &name##_length, &name, NULL, NULL) != napi_ok || \
      name##_type != (type))                                                                          \
  THROW_TYPE(#name, what)
#define ARG_UINT8_ARRAY(name, i) ARG_TYPEDARRAY(name, i, napi_uint8_array, "a Uint8Array")
#define ARG_INT32_ARRAY(name, i) ARG_TYPEDARRAY(name, i, napi_int32_array, "an Int32Array")
#define ARG_FLOAT64_ARRAY(name, i) ARG_TYPEDARRAY(name, i, napi_float64_array, "a Float64Array")

/* An ArrayBuffer (any: whether it is one of this addon's mappings is the binding's business). */
#define ARG_ARRAYBUFFER(name, i)  \
  napi_value name = argv[i];      \
  bool name##_is = false;         \
  if (napi_is_arraybuffer(env, name, &name##_is) != napi_ok || !name##_is) THROW_TYPE(#name, "an ArrayBuffer")

#define ARG_FUNCTION(name, i)                      \
  napi_value name = argv[i];                       \
  napi_valuetype name##_type = napi_undefined;     \
  if (napi_typeof(env, name, &name##_type) != napi_ok || name##_type != napi_function) THROW_TYPE(#name, "a function")

/* The pointer an External holds. */
#define ARG_EXTERNAL(name, i, what) \
  void *name = NULL;                \
  if (napi_get_value_external(env, argv[i], &name) != napi_ok) THROW_TYPE(#name, what)

#endif

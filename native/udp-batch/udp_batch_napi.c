/* udp_batch: the JS API (N-API) over the socket of udp_batch.c. See udp_batch.h for the layout. */
#include "udp_batch.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPEN_ARGS 14

static napi_value fail(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value fail_errno(napi_env env, const char *what, int err) {
  char msg[200];
  snprintf(msg, sizeof msg, "%s %s", what, uv_err_name(-err));
  return fail(env, uv_err_name(-err), msg);
}

/* Calls a JS callback as an event-loop entry: async hooks, then the microtask queue drained. */
void ub_call_js(batch_socket *s, napi_ref ref, int argc, int64_t arg) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, argv[1], result;
  if (napi_get_reference_value(env, ref, &fn) == napi_ok && fn != NULL) {
    bool pending = false;
    napi_get_global(env, &recv); /* napi_make_callback wants an object as `this` */
    napi_create_int64(env, arg, &argv[0]);
    s->in_js++;
    napi_make_callback(env, s->async, recv, fn, argc, argv, &result);
    if (--s->in_js == 0 && s->async_destroy_pending) {
      s->async_destroy_pending = 0;
      napi_async_destroy(env, s->async); /* closed from inside this callback */
    }
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value e;
      napi_get_and_clear_last_exception(env, &e);
      napi_fatal_exception(env, e); /* as a throw in an event handler: 'uncaughtException' */
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_env_exit(void *arg) { ub_close(arg); }

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  batch_socket *s = data;
  napi_remove_env_cleanup_hook(env, on_env_exit, s);
  ub_close(s);
  s->finalized = 1;
  if (s->handle_closed) ub_free(s);
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* The batch_socket behind the first argument, or NULL (a JS exception is then pending). */
static batch_socket *socket_arg(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  void *data = NULL;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return fail(env, "EINVAL", "udp_batch: missing arguments"), NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], &data) != napi_ok) return fail(env, "EINVAL", "udp_batch: not a socket"), NULL;
  return data;
}

/* The four buffers: each held by a reference, each at least its layout's size. */
static int take_buffers(napi_env env, batch_socket *s, napi_value *bufs) {
  size_t need[BUF_COUNT] = {
    (size_t)s->in_slots * s->slot_bytes, (size_t)s->in_slots * IN_META,
    (size_t)s->out_slots * s->slot_bytes, (size_t)s->out_slots * OUT_META,
  };
  for (int i = 0; i < BUF_COUNT; i++) {
    bool is_buffer = false;
    if (napi_is_buffer(env, bufs[i], &is_buffer) != napi_ok || !is_buffer) return 0;
    if (napi_get_buffer_info(env, bufs[i], (void **)&s->data[i], &s->len[i]) != napi_ok || s->len[i] < need[i]) return 0;
  }
  for (int i = 0; i < BUF_COUNT; i++) napi_create_reference(env, bufs[i], 1, &s->bufs[i]);
  return 1;
}

/* Geometry and buffers checked, callbacks held; 0 with a JS exception pending otherwise. */
static int setup(napi_env env, batch_socket *s, napi_value *argv) {
  int32_t in_slots, out_slots, slot_bytes;
  napi_valuetype t1, t2;
  if (!get_int(env, argv[7], &in_slots) || !get_int(env, argv[10], &out_slots) || !get_int(env, argv[11], &slot_bytes) ||
      in_slots < 1 || in_slots > MAX_IN_SLOTS || out_slots < 1 || out_slots > MAX_OUT_SLOTS || slot_bytes < 64 || slot_bytes > MAX_SLOT_BYTES) {
    fail(env, "EINVAL", "udp_batch: slots or slot size out of range");
    return 0;
  }
  s->in_slots = in_slots;
  s->out_slots = out_slots;
  s->slot_bytes = slot_bytes;
  napi_value bufs[BUF_COUNT] = {argv[5], argv[6], argv[8], argv[9]};
  if (napi_typeof(env, argv[12], &t1) != napi_ok || t1 != napi_function || napi_typeof(env, argv[13], &t2) != napi_ok || t2 != napi_function) {
    fail(env, "EINVAL", "udp_batch: onBatch and onWritable must be functions");
    return 0;
  }
  if (!take_buffers(env, s, bufs)) {
    fail(env, "EINVAL", "udp_batch: a buffer is missing or too small for its slots");
    return 0;
  }
  napi_create_reference(env, argv[12], 1, &s->on_batch);
  napi_create_reference(env, argv[13], 1, &s->on_writable);
  return 1;
}

static void release(napi_env env, batch_socket *s) {
  if (s->on_batch) napi_delete_reference(env, s->on_batch);
  if (s->on_writable) napi_delete_reference(env, s->on_writable);
  for (int i = 0; i < BUF_COUNT; i++) if (s->bufs[i]) napi_delete_reference(env, s->bufs[i]);
  ub_free(s);
}

/* open(family, host, port, reusePort, bufferBytes, inData, inMeta, inSlots, outData, outMeta, outSlots, slotBytes, onBatch, onWritable) */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = OPEN_ARGS;
  napi_value argv[OPEN_ARGS], handle, name, resource;
  char host[64];
  size_t host_len = 0;
  int32_t family, port, buffer_bytes;
  bool reuse = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < OPEN_ARGS) return fail(env, "EINVAL", "udp_batch.open: missing arguments");
  if (!get_int(env, argv[0], &family) || (family != 4 && family != 6) || !get_int(env, argv[2], &port) || port < 0 || port > 65535 ||
      napi_get_value_bool(env, argv[3], &reuse) != napi_ok || !get_int(env, argv[4], &buffer_bytes) ||
      napi_get_value_string_latin1(env, argv[1], host, sizeof host, &host_len) != napi_ok || host_len >= sizeof host - 1) {
    return fail(env, "EINVAL", "udp_batch.open: bad family, host, port, reusePort or bufferBytes");
  }
  batch_socket *s = calloc(1, sizeof *s);
  if (!s) return fail_errno(env, "udp_batch.open", ENOMEM);
  s->env = env;
  s->family = family;
  if (!setup(env, s, argv)) return release(env, s), NULL;
  int err = ub_alloc_vectors(s);
  if (!err) err = ub_bind(family, host, port, reuse, buffer_bytes, &s->fd);
  if (err) {
    release(env, s);
    char what[100];
    snprintf(what, sizeof what, "bind %s:%d", host, port);
    return fail_errno(env, what, err);
  }
  s->poll.data = s;
  uv_loop_t *loop = NULL;
  if (napi_create_string_utf8(env, "udp-batch", NAPI_AUTO_LENGTH, &name) != napi_ok || napi_create_object(env, &resource) != napi_ok ||
      napi_async_init(env, resource, name, &s->async) != napi_ok) {
    close(s->fd);
    release(env, s);
    return fail(env, "EIO", "udp_batch.open: no async context");
  }
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init_socket(loop, &s->poll, s->fd) != 0) {
    napi_async_destroy(env, s->async);
    close(s->fd);
    release(env, s);
    return fail(env, "EIO", "udp_batch.open: cannot poll the socket");
  }
  ub_set_events(s, UV_READABLE);
  napi_add_env_cleanup_hook(env, on_env_exit, s);
  if (napi_create_external(env, s, finalize, NULL, &handle) != napi_ok) return NULL;
  return handle;
}

/* send(h, first, count) -> answers consumed */
static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[3], out;
  int32_t first, count;
  batch_socket *s = socket_arg(env, info, 3, argv);
  if (!s) return NULL;
  if (!get_int(env, argv[1], &first) || !get_int(env, argv[2], &count) || first < 0 || count < 0 || (uint32_t)first + (uint32_t)count > s->out_slots) {
    return fail(env, "ERR_OUT_OF_RANGE", "udp_batch.send: answers out of the out slots");
  }
  uint32_t done = s->closed ? (uint32_t)count : ub_send(s, first, count);
  napi_create_uint32(env, done, &out);
  return out;
}

static napi_value js_local_port(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  batch_socket *s = socket_arg(env, info, 1, argv);
  if (!s) return NULL;
  if (s->closed) return fail(env, "ERR_SOCKET_DGRAM_NOT_RUNNING", "udp_batch: socket closed");
  int port = ub_local_port(s->fd);
  if (port < 0) return fail_errno(env, "getsockname", -port);
  napi_create_int32(env, port, &out);
  return out;
}

/* counters(h) -> [truncated datagrams dropped, answers the kernel refused, the last refusal's errno] */
static napi_value js_counters(napi_env env, napi_callback_info info) {
  napi_value argv[1], out, v;
  batch_socket *s = socket_arg(env, info, 1, argv);
  if (!s) return NULL;
  napi_create_array_with_length(env, 3, &out);
  double values[3] = {(double)s->truncated, (double)s->send_errors, (double)s->last_send_errno};
  for (uint32_t i = 0; i < 3; i++) {
    napi_create_double(env, values[i], &v);
    napi_set_element(env, out, i, v);
  }
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  batch_socket *s = socket_arg(env, info, 1, argv);
  if (!s) return NULL;
  if (!s->closed) napi_remove_env_cleanup_hook(env, on_env_exit, s);
  ub_close(s);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor fns[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
    {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
    {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
    {"counters", NULL, js_counters, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;
  return exports;
}

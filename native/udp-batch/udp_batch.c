/* udp_batch: the socket itself (bind, read batches, send batches, close). See udp_batch.h. */
#include "udp_batch.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put_u32(uint8_t *p, uint32_t v) { p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static uint32_t get_u32(const uint8_t *p) { return p[0] | p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t get_u16(const uint8_t *p) { return p[0] | p[1] << 8; }

static int set_int(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : errno;
}

/* Kernel buffers raised to at least buffer_bytes (Linux caps them at rmem_max / wmem_max). */
static void raise_buffer(int fd, int name, int bytes) {
  int have = 0;
  socklen_t n = sizeof have;
  if (getsockopt(fd, SOL_SOCKET, name, &have, &n) == 0 && have >= bytes) return;
  set_int(fd, SOL_SOCKET, name, bytes);
}

/* A non-blocking UDP socket bound to host:port; 0 and *fd_out, or an errno. */
int ub_bind(int family, const char *host, int port, int reuse_port, int buffer_bytes, int *fd_out) {
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return EINVAL;
    len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return EINVAL;
    len = sizeof *a;
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = 0;
  /* As node:dgram's udp6: `::` takes IPv4 clients too (as ::ffff:a.b.c.d). */
  if (family == 6) err = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
  if (!err && reuse_port) err = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
  if (!err && bind(fd, (struct sockaddr *)&ss, len) != 0) err = errno;
  if (err) {
    close(fd);
    return err;
  }
  if (buffer_bytes > 0) {
    raise_buffer(fd, SO_RCVBUF, buffer_bytes);
    raise_buffer(fd, SO_SNDBUF, buffer_bytes);
  }
  *fd_out = fd;
  return 0;
}

int ub_local_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -errno;
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* The message vectors over JS's buffers: receive slots point into inData once and for all. */
int ub_alloc_vectors(batch_socket *s) {
  s->in_msgs = calloc(s->in_slots, sizeof *s->in_msgs);
  s->in_iov = calloc(s->in_slots, sizeof *s->in_iov);
  s->in_addr = calloc(s->in_slots, sizeof *s->in_addr);
  s->out_msgs = calloc(s->out_slots, sizeof *s->out_msgs);
  s->out_iov = calloc(s->out_slots, sizeof *s->out_iov);
  s->out_addr = calloc(s->out_slots, sizeof *s->out_addr);
  if (!s->in_msgs || !s->in_iov || !s->in_addr || !s->out_msgs || !s->out_iov || !s->out_addr) return ENOMEM;
  for (uint32_t i = 0; i < s->in_slots; i++) {
    s->in_iov[i].iov_base = s->data[BUF_IN_DATA] + (size_t)i * s->slot_bytes;
    s->in_iov[i].iov_len = s->slot_bytes;
    s->in_msgs[i].msg_hdr.msg_iov = &s->in_iov[i];
    s->in_msgs[i].msg_hdr.msg_iovlen = 1;
    s->in_msgs[i].msg_hdr.msg_name = &s->in_addr[i];
  }
  return 0;
}

void ub_free(batch_socket *s) {
  free(s->in_msgs); free(s->in_iov); free(s->in_addr);
  free(s->out_msgs); free(s->out_iov); free(s->out_addr);
  free(s);
}

/* Datagram i's meta (see udp_batch.h); family 0 marks one to drop (truncated, unknown family). */
static void write_in_meta(batch_socket *s, uint32_t i) {
  uint8_t *meta = s->data[BUF_IN_META] + (size_t)i * IN_META;
  const struct mmsghdr *m = &s->in_msgs[i];
  const struct sockaddr_in6 *a6 = &s->in_addr[i];
  char *text = (char *)meta + TEXT_AT;
  memset(meta, 0, TEXT_AT);
  if (m->msg_hdr.msg_flags & MSG_TRUNC) {
    s->truncated++;
    return;
  }
  uint16_t port;
  const char *ok;
  if (a6->sin6_family == AF_INET) {
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)a6;
    memcpy(meta + 8, &a4->sin_addr, 4);
    port = ntohs(a4->sin_port);
    ok = inet_ntop(AF_INET, &a4->sin_addr, text, IN_META - TEXT_AT);
  } else if (a6->sin6_family == AF_INET6) {
    memcpy(meta + 8, &a6->sin6_addr, 16);
    put_u32(meta + 24, a6->sin6_scope_id);
    port = ntohs(a6->sin6_port);
    ok = inet_ntop(AF_INET6, &a6->sin6_addr, text, IN_META - TEXT_AT);
  } else {
    return;
  }
  if (!ok) return;
  put_u32(meta, m->msg_len);
  meta[4] = port & 0xff;
  meta[5] = port >> 8;
  meta[6] = a6->sin6_family == AF_INET ? 4 : 6;
  meta[7] = (uint8_t)strlen(text);
}

static void read_batches(batch_socket *s) {
  for (int round = 0; round < MAX_ROUNDS && !s->closed; round++) {
    for (uint32_t i = 0; i < s->in_slots; i++) {
      s->in_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
      s->in_msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->in_msgs, s->in_slots, MSG_DONTWAIT, NULL);
    if (n < 0 && errno == EINTR) continue;
    /* EAGAIN, or an error queued on the socket (an ICMP answer): wait for the next readable. */
    if (n <= 0) return;
    for (int i = 0; i < n; i++) write_in_meta(s, i);
    ub_call_js(s, s->on_batch, 1, n);
    if ((uint32_t)n < s->in_slots) return;
  }
}

void ub_set_events(batch_socket *s, int events) {
  if (s->closed || s->events == events) return;
  s->events = events;
  uv_poll_start(&s->poll, events, ub_on_poll);
}

void ub_on_poll(uv_poll_t *h, int status, int events) {
  batch_socket *s = h->data;
  if (s->closed) return;
  if (status < 0) {
    uv_poll_stop(&s->poll);
    s->events = 0;
    ub_call_js(s, s->on_batch, 1, status);
    return;
  }
  if (events & UV_WRITABLE) {
    ub_set_events(s, UV_READABLE);
    ub_call_js(s, s->on_writable, 0, 0);
  }
  if ((events & UV_READABLE) && !s->closed) read_batches(s);
}

/* Answer `slot`'s message header from outMeta; 0 when its meta is not a sendable answer. */
static int prepare_out(batch_socket *s, uint32_t slot, struct mmsghdr *m) {
  const uint8_t *meta = s->data[BUF_OUT_META] + (size_t)slot * OUT_META;
  uint32_t len = get_u32(meta);
  int family = meta[6];
  if (len > s->slot_bytes || (family != 4 && family != 6) || (family == 6 && s->family != 6)) return 0;
  struct sockaddr_in6 *a = &s->out_addr[slot];
  memset(a, 0, sizeof *a);
  socklen_t alen;
  if (family == 4) {
    struct sockaddr_in *a4 = (struct sockaddr_in *)a;
    a4->sin_family = AF_INET;
    a4->sin_port = htons(get_u16(meta + 4));
    memcpy(&a4->sin_addr, meta + 8, 4);
    alen = sizeof *a4;
  } else {
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(get_u16(meta + 4));
    memcpy(&a->sin6_addr, meta + 8, 16);
    a->sin6_scope_id = get_u32(meta + 24);
    alen = sizeof *a;
  }
  s->out_iov[slot].iov_base = s->data[BUF_OUT_DATA] + (size_t)slot * s->slot_bytes;
  s->out_iov[slot].iov_len = len;
  memset(m, 0, sizeof *m);
  m->msg_hdr.msg_name = a;
  m->msg_hdr.msg_namelen = alen;
  m->msg_hdr.msg_iov = &s->out_iov[slot];
  m->msg_hdr.msg_iovlen = 1;
  return 1;
}

/*
 * Send answers [first, first + count) (the caller checked the range). Returns how many were
 * consumed: sent, or refused by the kernel (counted in send_errors, as a dropped datagram).
 * Fewer than count: the socket buffer is full; UV_WRITABLE is armed and the rest stays to JS.
 */
uint32_t ub_send(batch_socket *s, uint32_t first, uint32_t count) {
  uint32_t done = 0;
  while (done < count) {
    uint32_t n = 0, skipped = 0;
    /* A run of well-formed answers; an ill-formed one ends the run and is skipped. */
    for (uint32_t i = first + done; i < first + count; i++) {
      if (!prepare_out(s, i, &s->out_msgs[n])) {
        if (n == 0) skipped = 1;
        break;
      }
      n++;
    }
    if (skipped) {
      s->send_errors++;
      s->last_send_errno = EINVAL;
      done++;
      continue;
    }
    int sent = sendmmsg(s->fd, s->out_msgs, n, 0);
    if (sent > 0) {
      done += sent;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      ub_set_events(s, UV_READABLE | UV_WRITABLE);
      return done;
    }
    /* This answer is refused (EPERM from a firewall, EINVAL for its address): drop it alone. */
    s->send_errors++;
    s->last_send_errno = errno;
    done++;
  }
  return done;
}

/* Stop polling, close the fd, drop the references to JS: nothing of JS is touched after this. */
static void on_handle_closed(uv_handle_t *h) {
  batch_socket *s = h->data;
  s->handle_closed = 1;
  if (s->finalized) ub_free(s);
}

void ub_close(batch_socket *s) {
  if (s->closed) return;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  napi_env env = s->env;
  napi_delete_reference(env, s->on_batch);
  napi_delete_reference(env, s->on_writable);
  for (int i = 0; i < BUF_COUNT; i++) napi_delete_reference(env, s->bufs[i]);
  if (s->in_js) s->async_destroy_pending = 1;
  else napi_async_destroy(env, s->async);
  uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

/*
 * udp_batch: a UDP socket that receives with recvmmsg and sends with sendmmsg, for the UDP
 * tracker (src/tracker/udp/batch-socket.ts). node:dgram makes one JS event and one sendto per
 * datagram; here one JS call covers up to `inSlots` datagrams and one syscall sends a batch.
 *
 * Memory is JS's: four Buffers handed over at open() and held (napi_ref) until close():
 *   inData   inSlots x slotBytes   datagram i at i * slotBytes
 *   inMeta   inSlots x IN_META     per datagram: u32 length, u16 port, u8 family (0: dropped),
 *                                  u8 text length, 16 address bytes, u32 scope id, 4 zero
 *                                  bytes, then the address as text (inet_ntop)
 *   outData  outSlots x slotBytes  answer i at i * slotBytes
 *   outMeta  outSlots x OUT_META   per answer: u32 length, then the inMeta layout's bytes 4-28
 *                                  (port, family, 0, address, scope id) of the client
 * Integers are little-endian. Every length and index from JS is checked here.
 */
#ifndef UDP_BATCH_H
#define UDP_BATCH_H
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <node_api.h>
#include <uv.h>

#define IN_META 80
#define OUT_META 32
#define TEXT_AT 32
#define MAX_IN_SLOTS 256
#define MAX_OUT_SLOTS 1024
#define MAX_SLOT_BYTES 65536
/* recvmmsg rounds per readable event: a flood cannot starve the rest of the event loop. */
#define MAX_ROUNDS 8

enum { BUF_IN_DATA, BUF_IN_META, BUF_OUT_DATA, BUF_OUT_META, BUF_COUNT };

typedef struct batch_socket {
  napi_env env;
  uv_poll_t poll;
  int fd, family, events, closed, handle_closed, finalized;
  /* Inside a JS callback (in_js) a close() leaves the async context to be destroyed after it. */
  int in_js, async_destroy_pending;
  napi_ref on_batch, on_writable, bufs[BUF_COUNT];
  uint8_t *data[BUF_COUNT];
  size_t len[BUF_COUNT];
  uint32_t in_slots, out_slots, slot_bytes;
  napi_async_context async;
  uint64_t truncated, send_errors;
  int last_send_errno;
  struct mmsghdr *in_msgs, *out_msgs;
  struct iovec *in_iov, *out_iov;
  struct sockaddr_in6 *in_addr, *out_addr;
} batch_socket;

/* udp_batch.c: the socket */
int ub_bind(int family, const char *host, int port, int reuse_port, int buffer_bytes, int *fd_out);
int ub_local_port(int fd);
int ub_alloc_vectors(batch_socket *s);
void ub_free(batch_socket *s);
void ub_on_poll(uv_poll_t *h, int status, int events);
void ub_set_events(batch_socket *s, int events);
uint32_t ub_send(batch_socket *s, uint32_t first, uint32_t count);
void ub_close(batch_socket *s);

/* udp_batch_napi.c: calls into JS */
void ub_call_js(batch_socket *s, napi_ref fn, int argc, int64_t arg);

#endif

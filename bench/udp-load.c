/*
 * udp-load: the UDP tracker load generator of `npm run bench` (bench/tracker-udp.ts), BEP 15.
 *
 *   udp-load load HOST PORT SECONDS HASHFILE PEERS PORTBASE [-w WINDOW] [-s SOCKETS] [-b BATCH]
 *                 [-n NUMWANT] [-t TIMEOUT_MS]
 *   udp-load echo HOST PORT      a trivial BEP 15 responder: fixed answers, no store, no work
 *
 * load: SOCKETS client sockets (each its own source port, so its own connection id) keep WINDOW
 * requests in flight together, sent with sendmmsg and read with recvmmsg in batches of BATCH.
 * Each socket connects first (action 0) and then announces with the id it got, until the id is
 * 60 s old or an error answer arrives; then it connects again. The announces are the HTTP
 * scenario's mix (bench/announce.lua): a random torrent of HASHFILE, a random one of its PEERS
 * pre-populated peers (port PORTBASE + slot, the first quarter seeders: left = 0), a fresh random
 * peer_id, no event, numwant 50. Every answer's transaction id must match a request in flight and
 * its action must be the one asked for (or 3, an error); anything else counts as bad. A request
 * unanswered after TIMEOUT_MS counts as lost and frees its place. At the end one line:
 *   UDP_JSON {"announces":..,"connects":..,"duration_us":..,...,"p50_us":..,"p99_us":..}
 *
 * echo: what the generator reaches against a server that does nothing, on this machine: the
 * ceiling that shows the generator is not the limit of a real tracker's figure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 256
#define MAX_SOCKETS 256
#define MAX_WINDOW 65536
#define MAX_DGRAM 2048
#define HIST_US 1000000 /* latency histogram: 1 us buckets up to 1 s, then one overflow bucket */
#define ID_LIFETIME_NS (60ull * 1000000000ull)
#define PROTOCOL_ID 0x41727101980ull
enum { ACT_CONNECT = 0, ACT_ANNOUNCE = 1, ACT_ERROR = 3 };
enum { SLOT_FREE, SLOT_CONNECT, SLOT_ANNOUNCE };
enum { ID_NONE, ID_PENDING, ID_READY };

struct slot { uint8_t state; uint16_t sock; uint16_t gen; uint64_t sent_ns; };
struct client { int fd; uint8_t id_state; uint8_t id[8]; uint64_t id_at_ns; };

static struct {
  uint64_t announces, connects, errors, bad, lost, sent, send_fail, bytes, peers, thin;
} count;
static uint32_t *hist;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t next_random(void) { /* xorshift64: cheap, and the mix only needs to be uniform */
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return rng;
}

static void put32(uint8_t *p, uint32_t v) { v = htonl(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return ntohl(v); }

static void die(const char *what) { perror(what); exit(1); }

/* HASHFILE: 40 hex digits a line -> 20-byte info_hashes. */
static uint8_t *read_hashes(const char *file, size_t *n) {
  FILE *f = fopen(file, "r");
  if (!f) die(file);
  size_t cap = 1024, len = 0;
  uint8_t *out = malloc(cap * 20);
  char line[128];
  while (fgets(line, sizeof line, f)) {
    if (strlen(line) < 40) continue;
    if (len == cap) out = realloc(out, (cap *= 2) * 20);
    for (int i = 0; i < 20; i++) {
      unsigned b;
      if (sscanf(line + 2 * i, "%2x", &b) != 1) { fprintf(stderr, "bad hash line: %s", line); exit(2); }
      out[len * 20 + i] = (uint8_t)b;
    }
    len++;
  }
  fclose(f);
  if (len == 0) { fprintf(stderr, "no info_hash in %s\n", file); exit(2); }
  *n = len;
  return out;
}

static struct sockaddr_in address(const char *host, int port) {
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "not an IPv4 address: %s\n", host); exit(2); }
  return a;
}

static struct {
  struct slot *slots;
  uint32_t *free_list;
  uint32_t free_n, window;
  struct client *clients;
  int nclients, batch, numwant, peers, port_base;
  uint8_t *hashes;
  size_t nhashes;
  uint64_t timeout_ns;
} g;

/* One request into buf for slot i on client c: a connect, or an announce with c's id. */
static size_t build_request(uint8_t *buf, uint32_t i, struct client *c) {
  struct slot *s = &g.slots[i];
  uint32_t tid = ((uint32_t)s->gen << 16) | i;
  if (s->state == SLOT_CONNECT) {
    put64(buf, PROTOCOL_ID); put32(buf + 8, ACT_CONNECT); put32(buf + 12, tid);
    return 16;
  }
  uint64_t r = next_random();
  uint32_t slot = (uint32_t)(r % (uint64_t)g.peers);
  size_t t = (size_t)((r >> 20) % g.nhashes);
  memcpy(buf, c->id, 8); put32(buf + 8, ACT_ANNOUNCE); put32(buf + 12, tid);
  memcpy(buf + 16, g.hashes + t * 20, 20);
  memcpy(buf + 36, "-UL0001-", 8);
  put64(buf + 44, next_random()); put32(buf + 52, (uint32_t)next_random()); /* fresh peer_id */
  put64(buf + 56, 0);                                                      /* downloaded */
  put64(buf + 64, slot < (uint32_t)g.peers / 4 ? 0 : 734003200ull);        /* left */
  put64(buf + 72, 0);                                                      /* uploaded */
  put32(buf + 80, 0); put32(buf + 84, 0);                                  /* no event, ip 0 */
  put32(buf + 88, (uint32_t)r); put32(buf + 92, (uint32_t)g.numwant);      /* key, numwant */
  buf[96] = (uint8_t)((g.port_base + slot) >> 8); buf[97] = (uint8_t)(g.port_base + slot);
  return 98;
}

/* Fill the free slots: a connect for a client without an id, else announces, batched per client. */
static void send_requests(uint64_t now) {
  static uint8_t bufs[MAX_BATCH][128];
  static struct mmsghdr msgs[MAX_BATCH];
  static struct iovec iov[MAX_BATCH];
  static uint32_t taken[MAX_BATCH];
  static int first; /* rotates, so that no client always gets the free slots first */
  first = (first + 1) % g.nclients;
  for (int step = 0; step < g.nclients && g.free_n > 0; step++) {
    int k = (first + step) % g.nclients;
    struct client *c = &g.clients[k];
    if (c->id_state == ID_READY && now - c->id_at_ns > ID_LIFETIME_NS) c->id_state = ID_NONE;
    if (c->id_state == ID_PENDING) continue;
    int want = c->id_state == ID_NONE ? 1 : g.batch;
    uint32_t per_client = g.window / (uint32_t)g.nclients + 1; /* a fair share of the window */
    if ((uint32_t)want > per_client) want = (int)per_client;
    int n = 0;
    while (n < want && g.free_n > 0) {
      uint32_t i = g.free_list[--g.free_n];
      struct slot *s = &g.slots[i];
      s->state = c->id_state == ID_NONE ? SLOT_CONNECT : SLOT_ANNOUNCE;
      s->sock = (uint16_t)k; s->gen++; s->sent_ns = now;
      iov[n].iov_base = bufs[n];
      iov[n].iov_len = build_request(bufs[n], i, c);
      memset(&msgs[n], 0, sizeof msgs[n]);
      msgs[n].msg_hdr.msg_iov = &iov[n]; msgs[n].msg_hdr.msg_iovlen = 1;
      taken[n++] = i;
    }
    if (n == 0) continue;
    if (c->id_state == ID_NONE) c->id_state = ID_PENDING;
    int sent = sendmmsg(c->fd, msgs, (unsigned)n, MSG_DONTWAIT);
    if (sent < 0) sent = 0;
    count.sent += (uint64_t)sent;
    for (int j = sent; j < n; j++) { /* not sent (socket buffer full): the slot is free again */
      g.slots[taken[j]].state = SLOT_FREE; g.free_list[g.free_n++] = taken[j]; count.send_fail++;
      if (c->id_state == ID_PENDING && j == 0) c->id_state = ID_NONE;
    }
  }
}

static void record_latency(uint64_t sent_ns, uint64_t now) {
  uint64_t us = (now - sent_ns) / 1000;
  hist[us < HIST_US ? us : HIST_US]++;
}

/* One answer: it must match a request in flight, with the action asked for, or be an error. */
static void handle_answer(const uint8_t *p, size_t len, int k, uint64_t now, int counting) {
  if (len < 8) { count.bad++; return; }
  uint32_t action = get32(p), tid = get32(p + 4), i = tid & 0xffff;
  if (i >= g.window) { count.bad++; return; }
  struct slot *s = &g.slots[i];
  if (s->state == SLOT_FREE || s->sock != k || s->gen != (uint16_t)(tid >> 16)) { count.bad++; return; }
  struct client *c = &g.clients[k];
  if (action == ACT_ERROR) {
    count.errors++;
    if (s->state == SLOT_CONNECT || c->id_state == ID_READY) c->id_state = ID_NONE; /* connect again */
  } else if (s->state == SLOT_CONNECT && action == ACT_CONNECT && len >= 16) {
    memcpy(c->id, p + 8, 8); c->id_state = ID_READY; c->id_at_ns = now;
    if (counting) count.connects++;
  } else if (s->state == SLOT_ANNOUNCE && action == ACT_ANNOUNCE && len >= 20 && (len - 20) % 6 == 0) {
    if (counting) {
      count.announces++; count.bytes += len; count.peers += (len - 20) / 6;
      if (get32(p + 12) + get32(p + 16) < (uint32_t)g.peers) count.thin++; /* leechers + seeders */
      record_latency(s->sent_ns, now);
    }
  } else {
    count.bad++;
    if (s->state == SLOT_CONNECT) c->id_state = ID_NONE;
  }
  s->state = SLOT_FREE;
  g.free_list[g.free_n++] = i;
}

static void receive_answers(struct pollfd *pfds, uint64_t now, int counting) {
  static uint8_t bufs[MAX_BATCH][MAX_DGRAM];
  static struct mmsghdr msgs[MAX_BATCH];
  static struct iovec iov[MAX_BATCH];
  for (int k = 0; k < g.nclients; k++) {
    if (!(pfds[k].revents & POLLIN)) continue;
    for (;;) {
      for (int j = 0; j < g.batch; j++) {
        iov[j].iov_base = bufs[j]; iov[j].iov_len = MAX_DGRAM;
        memset(&msgs[j], 0, sizeof msgs[j]);
        msgs[j].msg_hdr.msg_iov = &iov[j]; msgs[j].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(g.clients[k].fd, msgs, (unsigned)g.batch, MSG_DONTWAIT, NULL);
      if (n <= 0) break;
      for (int j = 0; j < n; j++) handle_answer(bufs[j], msgs[j].msg_len, k, now, counting);
      if (n < g.batch) break;
    }
  }
}

/* Requests unanswered for longer than the timeout are lost: their slots are freed. */
static void expire_requests(uint64_t now) {
  for (uint32_t i = 0; i < g.window; i++) {
    struct slot *s = &g.slots[i];
    if (s->state == SLOT_FREE || now - s->sent_ns < g.timeout_ns) continue;
    if (s->state == SLOT_CONNECT) g.clients[s->sock].id_state = ID_NONE;
    s->state = SLOT_FREE; s->gen++; /* a late answer no longer matches */
    g.free_list[g.free_n++] = i;
    count.lost++;
  }
}

static uint64_t percentile(double q) {
  uint64_t total = 0, seen = 0;
  for (int i = 0; i <= HIST_US; i++) total += hist[i];
  if (total == 0) return 0;
  uint64_t rank = (uint64_t)(q * (double)total);
  for (int i = 0; i <= HIST_US; i++) if ((seen += hist[i]) > rank) return (uint64_t)i;
  return HIST_US;
}

static void open_clients(const char *host, int port) {
  struct sockaddr_in to = address(host, port);
  for (int k = 0; k < g.nclients; k++) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) die("socket");
    int size = 4 << 20; /* room for a window of answers: a full buffer would drop them */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
    g.clients[k] = (struct client){ .fd = fd, .id_state = ID_NONE };
  }
}

static int run_load(int argc, char **argv) {
  if (argc < 8) return 2;
  const char *host = argv[2];
  int port = atoi(argv[3]);
  double seconds = atof(argv[4]);
  g.hashes = read_hashes(argv[5], &g.nhashes);
  g.peers = atoi(argv[6]); g.port_base = atoi(argv[7]);
  /* 64 in flight: 256 overflowed opentracker's socket receive buffer (Linux's default 208 KiB,
   * "receive buffer errors" in /proc/net/snmp), and a lost request holds its place for the timeout. */
  g.window = 64; g.nclients = 16; g.batch = 32; g.numwant = 50;
  long timeout_ms = 1000;
  for (int i = 8; i + 1 < argc; i += 2) {
    long v = atol(argv[i + 1]);
    if (!strcmp(argv[i], "-w")) g.window = (uint32_t)v;
    else if (!strcmp(argv[i], "-s")) g.nclients = (int)v;
    else if (!strcmp(argv[i], "-b")) g.batch = (int)v;
    else if (!strcmp(argv[i], "-n")) g.numwant = (int)v;
    else if (!strcmp(argv[i], "-t")) timeout_ms = v;
    else return 2;
  }
  if (port < 1 || port > 65535 || seconds <= 0 || g.peers < 1 || g.window < 1 || g.window > MAX_WINDOW ||
      g.nclients < 1 || g.nclients > MAX_SOCKETS || g.batch < 1 || g.batch > MAX_BATCH || timeout_ms < 1) return 2;
  g.timeout_ns = (uint64_t)timeout_ms * 1000000ull;
  rng ^= now_ns() ^ ((uint64_t)getpid() << 32);
  g.slots = calloc(g.window, sizeof *g.slots);
  g.free_list = malloc(g.window * sizeof *g.free_list);
  g.clients = calloc((size_t)g.nclients, sizeof *g.clients);
  hist = calloc(HIST_US + 1, sizeof *hist);
  for (uint32_t i = 0; i < g.window; i++) g.free_list[g.free_n++] = g.window - 1 - i;
  open_clients(host, port);

  struct pollfd pfds[MAX_SOCKETS];
  for (int k = 0; k < g.nclients; k++) pfds[k] = (struct pollfd){ .fd = g.clients[k].fd, .events = POLLIN };
  uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), last_expiry = start;
  for (uint64_t now = start; now < end; now = now_ns()) {
    send_requests(now);
    if (poll(pfds, (nfds_t)g.nclients, 1) < 0 && errno != EINTR) die("poll");
    now = now_ns();
    receive_answers(pfds, now, now < end);
    if (now - last_expiry > 10000000ull) { expire_requests(now); last_expiry = now; }
  }
  uint64_t duration_us = (now_ns() - start) / 1000;
  struct rusage ru; /* the generator's own CPU: how far it is from being the limit */
  getrusage(RUSAGE_SELF, &ru);
  uint64_t cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000ull + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  printf("UDP_JSON {\"announces\":%llu,\"connects\":%llu,\"duration_us\":%llu,\"errors\":%llu,\"bad\":%llu,"
         "\"lost\":%llu,\"sent\":%llu,\"send_fail\":%llu,\"bytes\":%llu,\"peers\":%llu,\"thin\":%llu,"
         "\"in_flight\":%u,\"p50_us\":%llu,\"p99_us\":%llu,\"window\":%u,\"sockets\":%d,\"batch\":%d,\"cpu_us\":%llu}\n",
         (unsigned long long)count.announces, (unsigned long long)count.connects, (unsigned long long)duration_us,
         (unsigned long long)count.errors, (unsigned long long)count.bad, (unsigned long long)count.lost,
         (unsigned long long)count.sent, (unsigned long long)count.send_fail, (unsigned long long)count.bytes,
         (unsigned long long)count.peers, (unsigned long long)count.thin, g.window - g.free_n,
         (unsigned long long)percentile(0.5), (unsigned long long)percentile(0.99), g.window, g.nclients, g.batch,
         (unsigned long long)cpu_us);
  return 0;
}

/* echo: answer connects with a fixed id and announces with 19 fixed peers, in batches. */
static _Noreturn void run_echo(const char *host, int port) {
  struct sockaddr_in at = address(host, port);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  if (bind(fd, (struct sockaddr *)&at, sizeof at) < 0) die("bind");
  printf("udp-load echo on %s:%d\n", host, port);
  fflush(stdout);
  static uint8_t in[MAX_BATCH][MAX_DGRAM], out[MAX_BATCH][20 + 19 * 6];
  static struct mmsghdr msgs[MAX_BATCH];
  static struct iovec iov[MAX_BATCH];
  static struct sockaddr_in from[MAX_BATCH];
  for (;;) {
    for (int j = 0; j < MAX_BATCH; j++) {
      iov[j] = (struct iovec){ .iov_base = in[j], .iov_len = MAX_DGRAM };
      msgs[j] = (struct mmsghdr){ .msg_hdr = { .msg_name = &from[j], .msg_namelen = sizeof from[j], .msg_iov = &iov[j], .msg_iovlen = 1 } };
    }
    int n = recvmmsg(fd, msgs, MAX_BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) { if (errno == EINTR) continue; die("recvmmsg"); }
    for (int j = 0; j < n; j++) {
      uint32_t action = msgs[j].msg_len >= 16 ? get32(in[j] + 8) : ACT_ERROR;
      size_t len = action == ACT_CONNECT ? 16 : action == ACT_ANNOUNCE ? sizeof out[j] : 8;
      put32(out[j], action == ACT_CONNECT || action == ACT_ANNOUNCE ? action : ACT_ERROR);
      memcpy(out[j] + 4, in[j] + 12, 4);
      if (action == ACT_CONNECT) put64(out[j] + 8, 0x0123456789abcdefull);
      if (action == ACT_ANNOUNCE) { put32(out[j] + 8, 1800); put32(out[j] + 12, 15); put32(out[j] + 16, 5); }
      iov[j] = (struct iovec){ .iov_base = out[j], .iov_len = len };
      msgs[j].msg_hdr.msg_iov = &iov[j];
    }
    if (sendmmsg(fd, msgs, (unsigned)n, 0) < 0 && errno != EINTR) die("sendmmsg");
  }
}

int main(int argc, char **argv) {
  int rc = 2;
  if (argc >= 2 && !strcmp(argv[1], "load")) rc = run_load(argc, argv);
  else if (argc == 4 && !strcmp(argv[1], "echo")) run_echo(argv[2], atoi(argv[3]));
  if (rc == 2) {
    fprintf(stderr, "usage: udp-load load HOST PORT SECONDS HASHFILE PEERS PORTBASE [-w WINDOW] [-s SOCKETS]"
                    " [-b BATCH] [-n NUMWANT] [-t TIMEOUT_MS]\n       udp-load echo HOST PORT\n");
  }
  return rc;
}

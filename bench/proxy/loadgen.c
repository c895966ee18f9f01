/*
 * switchyard proxy bench: load generator and backends, in C so that neither is the bottleneck.
 * Loopback only (127.0.0.1). Every mode that runs on its own is bounded in time.
 *
 *   loadgen serve echo|source <nports>       backends on 127.0.0.1, prints "PORTS p1 p2 ..."; runs until killed;
 *                                            `source` streams with vmsplice()+splice() (no copy of its own)
 *   loadgen bulk <port> <conns> <warmup_s> <seconds>    read as fast as possible (discarding with MSG_TRUNC,
 *                                            no copy); prints "BULK <bytes/s>"
 *   loadgen rate <port> <concurrency> <warmup_s> <seconds>
 *                                            connect, 64-byte echo, close, again; prints "RATE <conn/s> ERRORS <n>"
 *   loadgen latency <port> <warmup> <iterations>  64-byte ping-pong on one connection; prints "LAT <p50> <p90> <p99>" in us
 *   loadgen idle <port> <n> <seconds>        opens n connections, one 64-byte echo each, prints "IDLE_READY <n>",
 *                                            holds them until stdin closes or <seconds> pass
 *
 * Build: gcc -O2 -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAXFD 65536
#define BIG (256 * 1024)
#define MSG 64

static char big[BIG];

static void die(const char *what) {
  perror(what);
  exit(2);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void raise_nofile(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

static struct sockaddr_in addr_of(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int open_conn(int port, int nonblock) {
  int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = addr_of(port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

static void ep_add(int ep, int fd, unsigned events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
}

static void ep_mod(int ep, int fd, unsigned events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* ---- serve ---- */

struct pend {
  char *data;
  int len, off;
};
static struct pend pending[MAXFD];
/* source mode: a pipe per connection, filled by vmsplice() from one static buffer and spliced into the
   socket, so the backend hands pages to the kernel instead of copying them. */
static int pipe_w[MAXFD], pipe_r[MAXFD];
static char is_listener[MAXFD];

static _Noreturn void serve(const char *mode, int nports) {
  int source = strcmp(mode, "source") == 0;
  raise_nofile();
  memset(big, 'x', sizeof big);
  int ep = epoll_create1(0);
  printf("PORTS");
  for (int i = 0; i < nports; i++) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = addr_of(0);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(l, 4096) < 0) die("listen");
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    printf(" %d", ntohs(a.sin_port));
    is_listener[l] = 1;
    ep_add(ep, l, EPOLLIN);
  }
  printf("\n");
  fflush(stdout);
  static struct epoll_event evs[512];
  static char buf[BIG];
  for (;;) {
    int n = epoll_wait(ep, evs, 512, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (is_listener[fd]) {
        for (;;) {
          int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
          if (c < 0) break;
          int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (source) {
            int p[2];
            if (pipe2(p, O_NONBLOCK) < 0) die("pipe2");
            fcntl(p[1], F_SETPIPE_SZ, BIG);
            pipe_r[c] = p[0];
            pipe_w[c] = p[1];
          }
          ep_add(ep, c, source ? (EPOLLIN | EPOLLOUT) : EPOLLIN);
        }
        continue;
      }
      int closed = 0;
      if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
          closed = 1;
        } else if (r > 0 && !source) {
          struct pend *p = &pending[fd];
          if (p->len == 0) {
            ssize_t w = write(fd, buf, r);
            if (w < 0) w = 0;
            if (w < r) {
              p->data = realloc(p->data, r - w);
              memcpy(p->data, buf + w, r - w);
              p->len = r - w;
              p->off = 0;
              ep_mod(ep, fd, EPOLLIN | EPOLLOUT);
            }
          } else {
            p->data = realloc(p->data, p->len + r);
            memcpy(p->data + p->len, buf, r);
            p->len += r;
          }
        }
      }
      if (!closed && (evs[i].events & EPOLLOUT)) {
        if (source) {
          for (;;) {
            struct iovec iov = {.iov_base = big, .iov_len = sizeof big};
            vmsplice(pipe_w[fd], &iov, 1, SPLICE_F_NONBLOCK); /* fills what the pipe has room for */
            ssize_t w = splice(pipe_r[fd], NULL, fd, NULL, sizeof big, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (w < 0) {
              if (errno != EAGAIN) closed = 1;
              break;
            }
            if (w == 0) break;
          }
        } else {
          struct pend *p = &pending[fd];
          while (p->off < p->len) {
            ssize_t w = write(fd, p->data + p->off, p->len - p->off);
            if (w <= 0) break;
            p->off += w;
          }
          if (p->off == p->len) {
            p->len = p->off = 0;
            ep_mod(ep, fd, EPOLLIN);
          }
        }
      }
      if (closed) {
        pending[fd].len = pending[fd].off = 0;
        if (source) {
          close(pipe_r[fd]);
          close(pipe_w[fd]);
        }
        close(fd);
      }
    }
  }
}

/* ---- bulk ---- */

static void set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
}

static int bulk(int port, int conns, double warmup, double seconds) {
  int ep = epoll_create1(0);
  for (int i = 0; i < conns; i++) {
    int fd = open_conn(port, 0);
    if (fd < 0) die("connect");
    set_nonblock(fd);
    ep_add(ep, fd, EPOLLIN);
  }
  static struct epoll_event evs[64];
  double t0 = now_s() + warmup, t1 = t0 + seconds;
  long long bytes = 0;
  for (;;) {
    double now = now_s();
    if (now >= t1) break;
    int n = epoll_wait(ep, evs, 64, 100);
    int counting = now >= t0;
    for (int i = 0; i < n; i++) {
      for (;;) {
        /* MSG_TRUNC on TCP discards the bytes without copying them: the reader costs almost nothing. */
        ssize_t r = recv(evs[i].data.fd, NULL, 4 << 20, MSG_TRUNC | MSG_DONTWAIT);
        if (r <= 0) {
          if (r == 0 || errno != EAGAIN) {
            fprintf(stderr, "bulk: a connection ended early\n");
            return 3;
          }
          break;
        }
        if (counting) bytes += r;
      }
    }
  }
  printf("BULK %.0f\n", bytes / seconds);
  return 0;
}

/* ---- rate ---- */

struct slot {
  int fd;
  int got;
  int connecting;
};

static int rate(int port, int conc, double warmup, double seconds) {
  raise_nofile();
  int ep = epoll_create1(0);
  struct slot *slots = calloc(conc, sizeof *slots);
  static int slot_of[MAXFD];
  static char msg[MSG], buf[4096];
  memset(msg, 'p', sizeof msg);
  long done = 0, errors = 0;
  for (int i = 0; i < conc; i++) {
    int fd = open_conn(port, 1);
    if (fd < 0) die("connect");
    slots[i] = (struct slot){fd, 0, 1};
    slot_of[fd] = i;
    ep_add(ep, fd, EPOLLOUT);
  }
  static struct epoll_event evs[256];
  double t0 = now_s() + warmup, t1 = t0 + seconds;
  for (;;) {
    double now = now_s();
    if (now >= t1) break;
    int counting = now >= t0;
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      struct slot *s = &slots[slot_of[fd]];
      int finished = 0, failed = 0;
      if (s->connecting) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0 || write(fd, msg, MSG) != MSG) {
          failed = 1;
        } else {
          s->connecting = 0;
          ep_mod(ep, fd, EPOLLIN);
        }
      } else {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0) {
          s->got += r;
          if (s->got >= MSG) finished = 1;
        } else if (r == 0 || errno != EAGAIN) {
          failed = 1;
        }
      }
      if (finished || failed) {
        if (counting) {
          if (finished) done++;
          else errors++;
        }
        close(fd);
        int nfd = open_conn(port, 1);
        if (nfd < 0) die("connect");
        *s = (struct slot){nfd, 0, 1};
        slot_of[nfd] = (int)(s - slots);
        ep_add(ep, nfd, EPOLLOUT);
      }
    }
  }
  printf("RATE %.0f ERRORS %ld\n", done / seconds, errors);
  return 0;
}

/* ---- latency ---- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int latency(int port, int warmup, int iterations) {
  int fd = open_conn(port, 0);
  if (fd < 0) die("connect");
  static char msg[MSG], buf[MSG];
  memset(msg, 'l', sizeof msg);
  double *rtt = calloc(iterations, sizeof *rtt);
  for (int i = 0; i < warmup + iterations; i++) {
    double t = now_s();
    if (write(fd, msg, MSG) != MSG) die("write");
    int got = 0;
    while (got < MSG) {
      ssize_t r = read(fd, buf, MSG - got);
      if (r <= 0) die("read");
      got += r;
    }
    if (i >= warmup) rtt[i - warmup] = (now_s() - t) * 1e6;
  }
  qsort(rtt, iterations, sizeof *rtt, cmp_double);
  printf("LAT %.2f %.2f %.2f\n", rtt[iterations / 2], rtt[iterations * 9 / 10], rtt[iterations * 99 / 100]);
  return 0;
}

/* ---- idle ---- */

static int idle(int port, int n, double seconds) {
  raise_nofile();
  int *fds = calloc(n, sizeof *fds);
  static char msg[MSG], buf[MSG];
  memset(msg, 'i', sizeof msg);
  for (int i = 0; i < n; i++) {
    fds[i] = open_conn(port, 0);
    if (fds[i] < 0) die("connect");
    if (write(fds[i], msg, MSG) != MSG) die("write");
    int got = 0;
    while (got < MSG) {
      ssize_t r = read(fds[i], buf, MSG - got);
      if (r <= 0) die("read");
      got += r;
    }
  }
  printf("IDLE_READY %d\n", n);
  fflush(stdout);
  struct pollfd in = {.fd = 0, .events = POLLIN};
  poll(&in, 1, (int)(seconds * 1000));
  for (int i = 0; i < n; i++) close(fds[i]);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 4 && strcmp(argv[1], "serve") == 0) serve(argv[2], atoi(argv[3]));
  if (argc >= 6 && strcmp(argv[1], "bulk") == 0) return bulk(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atof(argv[5]));
  if (argc >= 6 && strcmp(argv[1], "rate") == 0) return rate(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atof(argv[5]));
  if (argc >= 5 && strcmp(argv[1], "latency") == 0) return latency(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
  if (argc >= 5 && strcmp(argv[1], "idle") == 0) return idle(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
  fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
  return 1;
}

/*
 * The gdb connection: listening on tcp:HOST:PORT or unix:PATH (loopback
 * unless asked otherwise), one accepted connection served on its own
 * thread -- bytes through the framer, packets through gdb_packets.c, acks
 * and retransmission (GDB manual E.11 "Packet Acknowledgment"), and while
 * the target runs, its wait() multiplexed with the socket so that a 0x03
 * from gdb interrupts it (E.12 "Interrupts").
 */
#include "gdb_packets.h"
#include "gdb_target.h"
#include "log.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

static int listen_unix(const char *path, char *err, size_t errsz)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	if (!path[0] || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errsz, "--gdb unix:%s: the path must be 1 to %zu bytes", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	/* A stale socket from an earlier run is replaced; any other file is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errsz, "--gdb unix:%s: exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	strcpy(sun.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 1) < 0) {
		snprintf(err, errsz, "--gdb unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int listen_tcp(const char *hostport, bool allow_remote, char *err, size_t errsz)
{
	/* HOST:PORT, [V6HOST]:PORT, or :PORT (loopback). */
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
		snprintf(err, errsz, "--gdb tcp:%s: expected tcp:HOST:PORT (e.g. tcp:127.0.0.1:1234)", hostport);
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = 0;
	char *h = host;
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		h[strlen(h) - 1] = 0;
		h++;
	}
	if (!h[0])
		h = "127.0.0.1";
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535) {
		snprintf(err, errsz, "--gdb tcp:%s: bad port %s", hostport, colon + 1);
		return -1;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
	int rc = getaddrinfo(h, colon + 1, &hints, &ai);
	if (rc) {
		snprintf(err, errsz, "--gdb tcp:%s: %s", hostport, gai_strerror(rc));
		return -1;
	}
	if (!allow_remote && !is_loopback(ai->ai_addr)) {
		snprintf(err, errsz, "--gdb tcp:%s: %s is not a loopback address; anyone who can reach it "
			 "controls the VM -- add --gdb-allow-remote to listen there anyway", hostport, h);
		freeaddrinfo(ai);
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
		snprintf(err, errsz, "--gdb tcp:%s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int gdb_listen(const char *spec, bool allow_remote, char *err, size_t errsz)
{
	if (!strncmp(spec, "tcp:", 4))
		return listen_tcp(spec + 4, allow_remote, err, errsz);
	if (!strncmp(spec, "unix:", 5))
		return listen_unix(spec + 5, err, errsz);
	snprintf(err, errsz, "--gdb %s: expected tcp:HOST:PORT or unix:PATH", spec);
	return -1;
}

/* ---- one connection ------------------------------------------------------- */

struct gdb_conn {
	int fd;
	struct gdb_target *t;
	struct gdb_framer f;
	struct gdb_session s;
	struct gdb_reply r;
	bool no_ack;
	uint8_t in[4096];          /* received, not yet fed to the framer: [in_pos, in_len) */
	size_t in_pos, in_len;
	size_t out_len;
	char out[2 * GDB_PACKET_MAX + 8];  /* the last packet sent, for a NAK */
};

static bool send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

static bool send_reply(struct gdb_conn *c)
{
	c->out_len = gdb_frame_encode(c->r.buf, c->r.len, c->out);
	return send_all(c->fd, c->out, c->out_len);
}

enum { CONN_GO_ON, CONN_END, CONN_RUNNING };

/* One framer event while the target is stopped. */
static int on_event(struct gdb_conn *c, enum gdb_frame_event ev)
{
	switch (ev) {
	case GDB_FRAME_NONE:
	case GDB_FRAME_ACK:
	case GDB_FRAME_INTERRUPT:  /* nothing is running: nothing to interrupt */
		return CONN_GO_ON;
	case GDB_FRAME_NAK:
		/* Retransmit (E.11); a NAK before anything was sent is ignored. */
		if (c->out_len && !send_all(c->fd, c->out, c->out_len))
			return CONN_END;
		return CONN_GO_ON;
	case GDB_FRAME_BAD_CHECKSUM:
		if (!c->no_ack && !send_all(c->fd, "-", 1))
			return CONN_END;
		return CONN_GO_ON;
	case GDB_FRAME_OVERSIZED:
		/* Framed correctly but too long for us: accept it, refuse it. */
		if (!c->no_ack && !send_all(c->fd, "+", 1))
			return CONN_END;
		c->r.len = (size_t)snprintf(c->r.buf, sizeof(c->r.buf), "E%02x", 7 /* E2BIG */);
		return send_reply(c) ? CONN_GO_ON : CONN_END;
	case GDB_FRAME_PACKET:
		break;
	}
	if (!c->no_ack && !send_all(c->fd, "+", 1))
		return CONN_END;
	enum gdb_action a = gdb_handle_packet(&c->s, c->f.buf, c->f.len, &c->r);
	if (c->s.no_ack)
		c->no_ack = true;  /* the OK to QStartNoAckMode was the last acked exchange */
	switch (a) {
	case GDB_SEND_REPLY:
		return send_reply(c) ? CONN_GO_ON : CONN_END;
	case GDB_SEND_AND_CLOSE:
		send_reply(c);
		return CONN_END;
	case GDB_CLOSE:
		return CONN_END;
	case GDB_RESUMED:
		return CONN_RUNNING;
	}
	return CONN_END;
}

/*
 * The target runs: wait for its stop, reading what gdb sends meanwhile
 * (0x03 interrupts; acks; anything else is ignored in all-stop mode).
 * Returns CONN_GO_ON after the stop reply, CONN_END when the session is over.
 */
static int run_until_stop(struct gdb_conn *c, bool *hung_up)
{
	struct gdb_stop st;
	bool interrupted = false;
	for (;;) {
		/* What came with the resume packet first (gdb may send 0x03 right after it). */
		if (c->in_pos == c->in_len) {
			int rc = c->t->ops->wait(c->t->ctx, &st, *hung_up ? -1 : c->fd);
			if (rc > 0)
				break;
			if (rc < 0) {
				warn("gdb: waiting for the target failed: %s", strerror(-rc));
				return CONN_END;
			}
			ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* gdb went away: stop the target, then detach from it (below). */
				*hung_up = true;
				if (!interrupted)
					c->t->ops->interrupt(c->t->ctx);
				interrupted = true;
				continue;
			}
			c->in_pos = 0;
			c->in_len = (size_t)n;
		}
		while (c->in_pos < c->in_len) {
			enum gdb_frame_event ev = gdb_framer_feed(&c->f, c->in[c->in_pos++]);
			if (ev == GDB_FRAME_INTERRUPT && !interrupted) {
				c->t->ops->interrupt(c->t->ctx);
				interrupted = true;
			} else if (ev == GDB_FRAME_PACKET || ev == GDB_FRAME_OVERSIZED) {
				if (!c->no_ack)
					send_all(c->fd, "+", 1);
				if (!strcmp(c->f.buf, "vCtrlC") && !interrupted) {
					c->t->ops->interrupt(c->t->ctx);
					interrupted = true;
				}
			} else if (ev == GDB_FRAME_BAD_CHECKSUM && !c->no_ack) {
				send_all(c->fd, "-", 1);
			}
		}
	}
	if (*hung_up)
		return CONN_END;
	enum gdb_action a = gdb_stop_reply(&c->s, &st, &c->r);
	if (!send_reply(c))
		return CONN_END;
	return a == GDB_SEND_AND_CLOSE ? CONN_END : CONN_GO_ON;
}

static void *conn_main(void *arg)
{
	struct gdb_conn *c = arg;
	bool hung_up = false;
	gdb_framer_init(&c->f);
	gdb_session_init(&c->s, c->t);
	for (;;) {
		if (c->in_pos == c->in_len) {
			ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				hung_up = true;
				break;
			}
			c->in_pos = 0;
			c->in_len = (size_t)n;
		}
		int st = on_event(c, gdb_framer_feed(&c->f, c->in[c->in_pos++]));
		if (st == CONN_RUNNING)
			st = run_until_stop(c, &hung_up);
		if (st == CONN_END)
			break;
	}
	if (hung_up) {
		/* A disconnect detaches: the program runs on without its debugger. */
		info("gdb: the debugger disconnected; detaching");
		c->t->ops->detach(c->t->ctx, 0);
	}
	close(c->fd);
	c->t->ops->session_end(c->t->ctx);
	free(c);
	return NULL;
}

int gdb_serve(int listen_fd, struct gdb_target *t, char *err, size_t errsz)
{
	int fd;
	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		snprintf(err, errsz, "accepting the gdb connection: %s", strerror(errno));
		return -1;
	}
	close(listen_fd);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  /* fails harmlessly on unix sockets */
	struct gdb_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	c->fd = fd;
	c->t = t;
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, conn_main, c)) {
		close(fd);
		free(c);
		snprintf(err, errsz, "cannot start the gdb thread");
		return -1;
	}
	pthread_attr_destroy(&attr);
	return 0;
}

/*
 * gdb remote protocol commands (GDB manual, appendix E "Packets",
 * "General Query Packets", "Stop Reply Packets"): one call per received
 * packet, the reply built into a buffer, the target driven through
 * gdb_target.h. No I/O here: gdb_listen.c moves the bytes, so this file can
 * be fuzzed against a fake target.
 */
#ifndef VMM_GDB_PACKETS_H
#define VMM_GDB_PACKETS_H
#include <stdbool.h>
#include "gdb_framing.h"
#include "gdb_target.h"

struct gdb_reply {
	size_t len;
	bool overflow;            /* the reply did not fit: sent as E reply instead */
	char buf[GDB_PACKET_MAX + 1];
};

#define GDB_MAX_THREADS 1024
#define GDB_MAX_VFILES 8

struct gdb_session {
	struct gdb_target *t;
	unsigned caps;            /* GDB_CAP_* of the target */
	bool multiprocess;        /* both sides said multiprocess+ */
	bool no_ack;              /* QStartNoAckMode accepted */
	bool swbreak, hwbreak;    /* gdb understands the swbreak/hwbreak stop reasons */
	bool fork_events, vfork_events, exec_events;
	bool started;             /* resumed at least once */
	struct gdb_tid g_thread;  /* Hg: registers, memory, breakpoints (0 = any, -1 = all) */
	struct gdb_tid c_thread;  /* Hc: legacy c/s */
	struct gdb_stop last;     /* the last stop reported ('?') */
	bool have_last;
	int nthreads, thread_iter;/* qfThreadInfo/qsThreadInfo snapshot */
	struct gdb_tid threads[GDB_MAX_THREADS];
	int64_t vfile_pid;        /* vFile:setfs */
	bool vfile_used[GDB_MAX_VFILES];
	int64_t vfile_fd_pid[GDB_MAX_VFILES];
	char vfile_path[GDB_MAX_VFILES][256];
};

enum gdb_action {
	GDB_SEND_REPLY,           /* send r (possibly empty: "not supported") */
	GDB_RESUMED,              /* no reply now: wait for the target to stop */
	GDB_SEND_AND_CLOSE,       /* send r, then end the session (D, k, final W/X) */
	GDB_CLOSE,                /* end without a reply (k: gdb expects none) */
};

void gdb_session_init(struct gdb_session *s, struct gdb_target *t);

/* Handle one packet (payload without framing; modified in place). */
enum gdb_action gdb_handle_packet(struct gdb_session *s, char *pkt, size_t len, struct gdb_reply *r);

/* Build the stop reply for a stop from wait(); GDB_SEND_AND_CLOSE when it
   is the exit of the last process. Records it for '?'. */
enum gdb_action gdb_stop_reply(struct gdb_session *s, const struct gdb_stop *st, struct gdb_reply *r);

/* Linux signal number <-> gdb's (gdb/signals.def); unknown ones map to 143 / 0. */
int gdb_signal_from_linux(int sig);
int gdb_signal_to_linux(int gsig);
#endif

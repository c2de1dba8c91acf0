/* SPDX-License-Identifier: MIT */
/*
 * Reference FastCGI responder for bench/api.sh: the cheapest possible
 * worker behind the same nginx, to measure the API against. Pre-forks
 * WORKERS processes on one socket like wgpilot-api.fcgi does; each answers
 * every request with a fixed body: "hello" or SIZE bytes of JSON.
 *
 *   ref-fcgi SOCKET WORKERS (hello | SIZE)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcgiapp.h>

static void serve(int sock, const char *body, size_t len)
{
	FCGX_Request r;
	char head[256];
	int n;

	FCGX_InitRequest(&r, sock, 0);
	n = snprintf(head, sizeof head, "Status: 200 OK\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n", len);
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(head, n, r.out);
		FCGX_PutStr(body, (int)len, r.out);
		FCGX_Finish_r(&r);
	}
}

int main(int argc, char **argv)
{
	char *body;
	size_t len;
	int sock, workers;

	if (argc != 4 || (workers = atoi(argv[2])) < 1) {
		fputs("usage: ref-fcgi SOCKET WORKERS (hello | SIZE)\n", stderr);
		return 2;
	}
	if (strcmp(argv[3], "hello") == 0) {
		body = strdup("{\"hello\":\"world\"}");
		len = strlen(body);
	} else {
		len = strtoul(argv[3], NULL, 10);
		body = malloc(len + 1);
		if (!body || len < 2)
			return 1;
		memset(body, 'x', len);
		body[0] = '"';
		body[len - 1] = '"';
	}
	FCGX_Init();
	unlink(argv[1]);
	umask(0111);
	sock = FCGX_OpenSocket(argv[1], 128);
	if (sock < 0)
		return 1;
	for (int i = 0; i < workers; i++)
		if (fork() == 0) {
			serve(sock, body, len);
			_exit(0);
		}
	signal(SIGTERM, SIG_DFL);
	while (wait(NULL) > 0)
		;
	return 0;
}

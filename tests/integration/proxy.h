/* A TCP-to-Unix-socket proxy in front of the test PostgreSQL, so that a test can take the
 * database away from one server (and give it back) without stopping the cluster that other
 * tests share. Down = every connection closed, and new ones closed as soon as accepted. */
#ifndef TEST_PROXY_H
#define TEST_PROXY_H

#include <stdbool.h>

typedef struct test_proxy test_proxy_t;

/* Listens on 127.0.0.1:<free port> and forwards to unix_path. */
test_proxy_t *test_proxy_start(const char *unix_path);
int test_proxy_port(const test_proxy_t *p);
void test_proxy_set_up(test_proxy_t *p, bool up);
/* Paused: connections stay open but nothing is forwarded either way (the kernel buffers
 * it) until unpaused. Once this returns, nothing more is forwarded. */
void test_proxy_set_paused(test_proxy_t *p, bool paused);
void test_proxy_stop(test_proxy_t *p);

#endif

/* The proxy: one thread, poll() over the listener and every pair of sockets. */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_PAIRS 64

struct test_proxy {
    char path[108];
    int port;
    int lfd;
    int pairs[MAX_PAIRS][2]; /* client, upstream; -1 = free */
    pthread_t thread;
    pthread_mutex_t mu;
    atomic_bool stop;
    bool up;
    bool paused; /* test_proxy_set_paused */
};

static int listen_on(int port)
{
    struct sockaddr_in a = {0};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void close_all(test_proxy_t *p)
{
    for (int i = 0; i < MAX_PAIRS; i++) {
        if (p->pairs[i][0] >= 0) {
            close(p->pairs[i][0]);
            close(p->pairs[i][1]);
            p->pairs[i][0] = p->pairs[i][1] = -1;
        }
    }
}

static void *proxy_main(void *arg)
{
    test_proxy_t *p = arg;
    char buf[65536];

    while (!atomic_load(&p->stop)) {
        struct pollfd fds[1 + 2 * MAX_PAIRS];
        int map[1 + 2 * MAX_PAIRS][2];
        int n = 0;

        pthread_mutex_lock(&p->mu);
        if (p->lfd >= 0) {
            fds[n].fd = p->lfd;
            fds[n].events = POLLIN;
            map[n][0] = -1;
            n++;
        }
        for (int i = 0; i < MAX_PAIRS; i++) {
            if (p->pairs[i][0] < 0 || p->paused)
                continue;
            for (int side = 0; side < 2; side++) {
                fds[n].fd = p->pairs[i][side];
                fds[n].events = POLLIN;
                map[n][0] = i;
                map[n][1] = side;
                n++;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (poll(fds, (nfds_t)n, 50) <= 0)
            continue;
        pthread_mutex_lock(&p->mu);
        for (int k = 0; k < n; k++) {
            if (!fds[k].revents)
                continue;
            if (map[k][0] < 0) {
                int c = p->lfd >= 0 ? accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
                struct sockaddr_un u = {0};
                int up, slot = -1;
                if (c < 0)
                    continue;
                if (!p->up) { /* down: the connection is closed at once */
                    close(c);
                    continue;
                }
                u.sun_family = AF_UNIX;
                snprintf(u.sun_path, sizeof(u.sun_path), "%s", p->path);
                up = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
                    if (p->pairs[i][0] < 0)
                        slot = i;
                if (slot < 0 || connect(up, (struct sockaddr *)&u, sizeof(u)) != 0) {
                    close(c);
                    close(up);
                    continue;
                }
                p->pairs[slot][0] = c;
                p->pairs[slot][1] = up;
                continue;
            }
            int i = map[k][0], side = map[k][1];
            if (p->pairs[i][side] != fds[k].fd || p->paused)
                continue; /* closed or paused meanwhile */
            ssize_t got = read(fds[k].fd, buf, sizeof(buf));
            if (got <= 0 || write(p->pairs[i][!side], buf, (size_t)got) != got) {
                close(p->pairs[i][0]);
                close(p->pairs[i][1]);
                p->pairs[i][0] = p->pairs[i][1] = -1;
            }
        }
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

test_proxy_t *test_proxy_start(const char *unix_path)
{
    test_proxy_t *p = calloc(1, sizeof(*p));
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);

    snprintf(p->path, sizeof(p->path), "%s", unix_path);
    for (int i = 0; i < MAX_PAIRS; i++)
        p->pairs[i][0] = p->pairs[i][1] = -1;
    p->lfd = listen_on(0);
    getsockname(p->lfd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    p->up = true;
    pthread_mutex_init(&p->mu, NULL);
    pthread_create(&p->thread, NULL, proxy_main, p);
    return p;
}

int test_proxy_port(const test_proxy_t *p)
{
    return p->port;
}

/* The listening socket stays open while down (new connections are closed at once): closed,
 * its port could be handed out meanwhile as another connection's local port on this busy
 * machine, and listening on it again would fail. */
void test_proxy_set_up(test_proxy_t *p, bool up)
{
    pthread_mutex_lock(&p->mu);
    if (!up && p->up)
        close_all(p);
    p->up = up;
    pthread_mutex_unlock(&p->mu);
}

void test_proxy_set_paused(test_proxy_t *p, bool paused)
{
    pthread_mutex_lock(&p->mu);
    p->paused = paused;
    pthread_mutex_unlock(&p->mu);
}

void test_proxy_stop(test_proxy_t *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->thread, NULL);
    if (p->lfd >= 0)
        close(p->lfd);
    close_all(p);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

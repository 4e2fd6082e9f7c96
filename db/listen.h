/* LISTEN/NOTIFY: one dedicated connection per replica that listens on named channels and
 * calls back when a notification arrives. Notifications are wake-up hints only: after a
 * reconnect every callback is called once, since notifications sent meanwhile are lost. */
#ifndef DB_LISTEN_H
#define DB_LISTEN_H

#include "base/errors.h"

typedef struct db_listener db_listener_t;

/* Called on the listener's thread; must not block for long. payload: the notification's
 * payload ("" = none), NULL after a reconnect (anything may have happened). */
typedef void (*db_listen_fn)(void *arg, const char *channel, const char *payload);

/* What a payload subscriber hears: a notification (with its payload), the connection lost
 * (notifications may be missed from now on), or the connection (re)established with every
 * LISTEN in place (notifications from now on arrive; the ones sent while away were lost). */
typedef enum { DB_LISTEN_NOTIFY, DB_LISTEN_LOST, DB_LISTEN_CONNECTED } db_listen_event_t;
/* Called on the listener's thread; must not block for long. payload: NULL unless NOTIFY. */
typedef void (*db_listen_payload_fn)(void *arg, db_listen_event_t ev, const char *payload);

/* conninfo is copied. Nothing happens until db_listener_start. */
db_listener_t *db_listener_new(const char *conninfo);
/* Before start only. channel: a plain identifier. */
void db_listener_subscribe(db_listener_t *l, const char *channel, db_listen_fn fn, void *arg);
/* The same, for a subscriber that needs the payload and the connection's state (a cache
 * that may only serve while it hears every change). */
void db_listener_subscribe_payload(db_listener_t *l, const char *channel, db_listen_payload_fn fn,
                                   void *arg);
/* Starts the listener's thread. INTERNAL (logged) when the thread cannot be created: no
 * notification will arrive, and db_listener_free still only frees. */
orch_err_t db_listener_start(db_listener_t *l);
/* Stops the thread and frees; NULL ok. */
void db_listener_free(db_listener_t *l);

#endif

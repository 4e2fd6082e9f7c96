/* LISTEN/NOTIFY: one dedicated connection per replica that listens on named channels and
 * calls back when a notification arrives. Notifications are wake-up hints only: after a
 * reconnect every callback is called once, since notifications sent meanwhile are lost. */
#ifndef DB_LISTEN_H
#define DB_LISTEN_H

typedef struct db_listener db_listener_t;

/* Called on the listener's thread; must not block for long. */
typedef void (*db_listen_fn)(void *arg, const char *channel);

/* conninfo is copied. Nothing happens until db_listener_start. */
db_listener_t *db_listener_new(const char *conninfo);
/* Before start only. channel: a plain identifier. */
void db_listener_subscribe(db_listener_t *l, const char *channel, db_listen_fn fn, void *arg);
/* The same for a callback that wants the NOTIFY's payload (NULL after a reconnect: anything
 * may have happened). */
typedef void (*db_listen_payload_fn)(void *arg, const char *channel, const char *payload);
void db_listener_subscribe_payload(db_listener_t *l, const char *channel, db_listen_payload_fn fn,
                                   void *arg);
void db_listener_start(db_listener_t *l);
/* Stops the thread and frees; NULL ok. */
void db_listener_free(db_listener_t *l);

#endif

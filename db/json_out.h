/* JSON text for statements' parameters, written in one pass into a growing buffer.
 *
 * json_dumps walks every string code point by code point through a callback: in a workflow
 * whose steps return a kilobyte each (bench_grow_100) that was 17% of the server's CPU, in
 * the text of the step commit. Here a string is copied in runs between the characters JSON
 * escapes. The text of a value is json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)'s, byte for
 * byte (tests/unit/test_json_out.c holds them equal). */
#ifndef DB_JSON_OUT_H
#define DB_JSON_OUT_H

#include <jansson.h>
#include <stddef.h>

typedef struct db_json_out {
    char *s; /* owned; NUL-terminated after every write */
    size_t len, cap;
} db_json_out_t;

/* Appends n bytes as they are (JSON the caller wrote: punctuation, a number). */
void db_json_out_raw(db_json_out_t *o, const char *s, size_t n);
/* Appends s (n bytes of UTF-8) as a JSON string, quoted and escaped. */
void db_json_out_str(db_json_out_t *o, const char *s, size_t n);
/* Appends v as JSON (NULL as null). */
void db_json_out_value(db_json_out_t *o, const json_t *v);
/* Gives the text to the caller (free it) and leaves o empty. */
char *db_json_out_take(db_json_out_t *o);

#endif

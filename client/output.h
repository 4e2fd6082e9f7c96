/* orchctl's output formats: aligned text tables, and JSON built from any protobuf-c message
 * through its descriptor (field names as in the .proto, enums as lower-case short names). */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdio.h>

/* A text table: a header row and rows of cells, printed with columns padded to their widest
 * cell (measured in UTF-8 characters) and two spaces between columns. */
typedef struct cli_table cli_table_t;

/* headers: ncols column titles, copied. Caller frees with cli_table_free. */
cli_table_t *cli_table_new(size_t ncols, const char *const *headers);
/* Appends a row of ncols cells, copied; a NULL cell prints as "". */
void cli_table_add_row(cli_table_t *t, const char *const *cells);
size_t cli_table_rows(const cli_table_t *t);
/* Prints header and rows; each line is indented by indent spaces; empty trailing cells and
 * the last column are not padded, so lines carry no trailing blanks. */
void cli_table_print(const cli_table_t *t, FILE *out, int indent);
void cli_table_free(cli_table_t *t); /* NULL ok */
/* The detail view of one record: n rows of a label ("Status:") and its value, in two
 * aligned columns, to out. Every "get" command prints its record so, the first row (the
 * record's id or name) standing where a table's header would. */
void cli_print_fields(const char *rows[][2], size_t n, FILE *out);

/* The short name of an enum value, lower-cased: PRODUCT_STATUS_PHASE_OUT of enum
 * ProductStatus gives "phase_out"; SERVING of ServingStatus gives "serving". A value the
 * descriptor does not know prints as its number. Writes into buf (always NUL-terminated)
 * and returns buf. */
char *cli_enum_name(const ProtobufCEnumDescriptor *desc, int value, char *buf, size_t size);

/* A google.protobuf.Timestamp (seconds, nanos) as RFC 3339 in UTC,
 * "2024-05-01T12:00:00Z" or with fractional seconds "…:00.250Z". Returns buf. */
char *cli_format_timestamp(long long seconds, int nanos, char *buf, size_t size);

/* A JSON object for a message: every field under its .proto name, including fields at their
 * default value; unset oneof members are left out; an unset message field is null;
 * repeated fields are arrays; map fields are objects; enums are cli_enum_name strings;
 * bytes are base64; google.protobuf.Timestamp is an RFC 3339 string and
 * google.protobuf.Duration a string like "1.500s". Strings that are not valid UTF-8 get
 * U+FFFD for each bad byte. Caller owns the reference (json_decref). */
json_t *cli_json_from_message(const ProtobufCMessage *msg);

/* Prints a JSON value indented by two, with a newline. Returns 0, or -1 on a write error. */
int cli_json_print(const json_t *json, FILE *out);

/* Prints a message as cli_json_from_message's object on one compact line, with a newline: the
 * --json form of a watched stream, one event a line, for scripts that read line by line. */
void cli_json_print_line(const ProtobufCMessage *msg, FILE *out);

/* The enum value named text: the short name cli_enum_name prints ("phase_out") or the full
 * value name ("PRODUCT_STATUS_PHASE_OUT"), any case, '-' or ' ' for '_'. 0 and *value set,
 * or -1 when no value matches. */
int cli_enum_parse(const ProtobufCEnumDescriptor *desc, const char *text, int *value);
/* The short names of every value but 0, comma-separated, for error messages; caller frees. */
char *cli_enum_choices(const ProtobufCEnumDescriptor *desc);

/* A JSON object as indented "key: value" lines for people (the detail views): nested
 * objects indented by two more, arrays of scalars joined with ", ", arrays of objects as
 * "- [i]" items; null, "", [] and {} are left out. */
void cli_print_json_text(const json_t *v, FILE *out, int indent);

#endif

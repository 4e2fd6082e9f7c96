/* Subscriptions: what a customer holds. A subscription is an instance of a catalogue
 * product, made of a tree of product-block instances with typed field values, living
 * through a lifecycle (initial -> provisioning -> active -> ... -> terminated).
 *
 * Workflow code reads and changes it by path ("node_name", "saps[1].vlan",
 * "ports[0].node"); the store saves it from a flat view (orch_sub_flatten) and loads it
 * through a builder fed with rows in any order (orch_sub_builder_*). A block owned by another
 * subscription (a port's node, an L2VPN's SAP port) is held as a read-only reference and is
 * never changed or saved through this one.
 *
 * Not thread-safe: one owner (a workflow step, an RPC) at a time. Every catalogue pointer is
 * borrowed for the catalogue's life, which must outlast the subscription. */
#ifndef ORCH_SUBSCRIPTION_H
#define ORCH_SUBSCRIPTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../catalog/catalog.h"
#include "../ids.h"
#include "base/errors.h"

/* Limits (the database's CHECKs, docs/SCHEMA.md). */
#define ORCH_SUB_CUSTOMER_ID_MAX 255
#define ORCH_SUB_DESCRIPTION_MAX 2000
#define ORCH_SUB_NOTE_MAX 5000
#define ORCH_SUB_LABEL_MAX 255
#define ORCH_SUB_VALUE_MAX 10000
#define ORCH_SUB_LIST_VALUES_MAX 1000 /* values of one list field */
#define ORCH_SUB_DEPTH_MAX 32         /* blocks nested, as in the catalogue */

typedef enum {
    ORCH_SUB_STATUS_UNSPECIFIED = 0, /* not known (a parse failure); never stored */
    ORCH_SUB_INITIAL,
    ORCH_SUB_PROVISIONING,
    ORCH_SUB_ACTIVE,
    ORCH_SUB_MIGRATING,
    ORCH_SUB_DISABLED,
    ORCH_SUB_TERMINATED,
} orch_sub_status_t;

/* "initial", "provisioning", "active", "migrating", "disabled", "terminated";
 * "unspecified" for anything else. */
const char *orch_sub_status_name(orch_sub_status_t s);
/* The inverse, case-sensitive; ORCH_SUB_STATUS_UNSPECIFIED if unknown or NULL. */
orch_sub_status_t orch_sub_status_parse(const char *s);
/* Is from -> to a lifecycle transition? (initial -> provisioning/active/terminated;
 * provisioning -> active/terminated; active -> migrating/disabled/terminated;
 * migrating -> active/terminated; disabled -> active/terminated; terminated -> none.) */
bool orch_sub_transition_allowed(orch_sub_status_t from, orch_sub_status_t to);

/* One field's values as canonical text (integers in decimal, booleans "true"/"false",
 * lower-case UUIDs), exactly as stored. n == 0: unset; a scalar field has n <= 1. */
typedef struct orch_values {
    char **items; /* owned by the instance */
    size_t n;
} orch_values_t;

typedef struct orch_instance orch_instance_t;

/* The instances under one child attribute, in order. */
typedef struct orch_children {
    orch_instance_t **items; /* owned by the parent instance */
    size_t n;
} orch_children_t;

/* One product-block instance. Read freely; change only through the orch_sub_* functions,
 * which keep the tree consistent with the catalogue. */
struct orch_instance {
    char id[ORCH_UUID_LEN + 1];              /* subscription_instance_id */
    char subscription_id[ORCH_UUID_LEN + 1]; /* the owner */
    const orch_block_t *block;               /* borrowed from the catalogue */
    char *label;                             /* owned; NULL = none */
    /* Owned by another subscription: a reference, never changed or saved through this
     * one. Then loaded tells whether its fields and children were loaded (read-only). */
    bool foreign, loaded;
    orch_values_t *values;     /* [block->nfields], parallel to block->def->fields */
    orch_children_t *children; /* [block->nchildren], parallel to block->def->children */
};

/* A subscription that uses (in_use_by) or is used by (depends_on) this one. */
typedef struct orch_sub_link {
    char subscription_id[ORCH_UUID_LEN + 1];
    orch_sub_status_t status; /* UNSPECIFIED = not known: treated as live */
} orch_sub_link_t;

/* A customer's own description of the subscription (one per customer). */
typedef struct orch_customer_description {
    char id[ORCH_UUID_LEN + 1]; /* customer_description_id */
    char *customer_id;          /* owned */
    char *description;          /* owned */
    int64_t version, create_time_us, update_time_us;
} orch_customer_description_t;

/* Frees the strings of *cd (not cd itself) and zeroes it; NULL does nothing. */
void orch_customer_description_cleanup(orch_customer_description_t *cd);

/* A subscription. Plain struct: read any field; change the tree, status and texts only
 * through the functions below. All pointers are owned by the subscription unless noted. */
typedef struct orch_subscription {
    char id[ORCH_UUID_LEN + 1];
    const orch_product_t *product; /* borrowed from the catalogue */
    char *customer_id;
    char *description; /* "" when none */
    char *note;        /* NULL = none */
    orch_sub_status_t status;
    bool in_sync;
    /* Microseconds since the epoch; 0 = not set. start: first time active; end: terminated. */
    int64_t start_time_us, end_time_us, create_time_us, update_time_us;
    int64_t version;  /* optimistic lock, bumped by the store on save; 0 = never saved */
    json_t *metadata; /* a JSON object, never NULL */
    int64_t metadata_version;
    orch_customer_description_t *customer_descriptions;
    size_t ncustomer_descriptions;
    /* Subscriptions whose blocks point at this one's, with their statuses: filled by the
     * store on load (or orch_sub_set_in_use_by); consulted when terminating. */
    orch_sub_link_t *in_use_by;
    size_t nin_use_by;
    orch_instance_t *root; /* the product's root block, never NULL */
} orch_subscription_t;

/* ---- Creating and freeing ---------------------------------------------------------------- */

/* A new subscription of product for customer_id: status initial, not in sync, version 0,
 * new ids, create/update time now, empty metadata. Its tree holds the root block and,
 * recursively, min_count empty instances of every child that is not foreign (so that
 * "ports[1].port_name" exists at once); references to other subscriptions are set later
 * with orch_sub_set_reference. *out: caller frees with orch_subscription_free.
 * INVALID_ARGUMENT naming "customer_id" (empty, too long) or "product" (NULL). */
orch_err_t orch_subscription_new_from_product(const orch_product_t *product,
                                              const char *customer_id, orch_subscription_t **out,
                                              orch_error_t *err);

/* Frees the subscription and its whole tree; NULL does nothing. */
void orch_subscription_free(orch_subscription_t *sub);

/* ---- Fields by path ---------------------------------------------------------------------- *
 * A path names a field of the root block ("node_name"), or descends through child attributes
 * separated by dots: "ports[0].port_name", "saps[2].port.node". An index is required for
 * children that may be several (max_count > 1) and optional (0) for single ones; a list field
 * takes an index too ("dns[1]"). Errors always name the path:
 *   - INVALID_ARGUMENT: malformed path, unknown field or child, index out of range, a value
 *     of the wrong type, format or choice, too long;
 *   - FAILED_PRECONDITION, reason BLOCK_OWNED_BY_OTHER_SUBSCRIPTION: changing anything in a
 *     block owned by another subscription; reading one whose content was not loaded;
 *   - NOT_FOUND: reading a field that is not set. */

/* Sets a string, uuid or ip_prefix field (value is checked against the type and choices).
 * On a list field, "name[i]" replaces value i and "name[n]" appends. value is copied. */
orch_err_t orch_sub_set_str(orch_subscription_t *sub, const char *path, const char *value,
                            orch_error_t *err);
orch_err_t orch_sub_set_int(orch_subscription_t *sub, const char *path, int64_t value,
                            orch_error_t *err); /* integer fields, |value| <= 2^53 */
orch_err_t orch_sub_set_bool(orch_subscription_t *sub, const char *path, bool value,
                             orch_error_t *err);
/* Unsets a field (a whole list without index; one list value with "name[i]"). */
orch_err_t orch_sub_clear(orch_subscription_t *sub, const char *path, orch_error_t *err);

/* *out is borrowed until the field changes or the subscription is freed. */
orch_err_t orch_sub_get_str(const orch_subscription_t *sub, const char *path, const char **out,
                            orch_error_t *err);
orch_err_t orch_sub_get_int(const orch_subscription_t *sub, const char *path, int64_t *out,
                            orch_error_t *err);
orch_err_t orch_sub_get_bool(const orch_subscription_t *sub, const char *path, bool *out,
                             orch_error_t *err);
/* Whether a field has a value (a list: at least one). Same path errors. */
orch_err_t orch_sub_is_set(const orch_subscription_t *sub, const char *path, bool *out,
                           orch_error_t *err);
/* Number of instances under a child attribute ("saps", "saps[0].port") or of values of a
 * list field. */
orch_err_t orch_sub_count(const orch_subscription_t *sub, const char *path, size_t *out,
                          orch_error_t *err);
/* The block instance at path ("" = the root); borrowed until the tree changes. */
orch_err_t orch_sub_get_instance(const orch_subscription_t *sub, const char *path,
                                 const orch_instance_t **out, orch_error_t *err);

/* ---- Children ---------------------------------------------------------------------------- */

/* Appends a new empty instance (new id, its own required children created as by
 * orch_subscription_new_from_product) under the child attribute at path ("saps",
 * "ports[0].something"); *index (may be NULL) receives its position, so that its path is
 * "saps[<index>]". INVALID_ARGUMENT naming the path beyond max_count, or for a foreign
 * child (use orch_sub_set_reference). */
orch_err_t orch_sub_add_child(orch_subscription_t *sub, const char *path, size_t *index,
                              orch_error_t *err);

/* Removes the instance (with its subtree) or the reference at path ("saps[1]"); later ones
 * move up. Allowed below min_count in any status, so that a modify workflow can replace a
 * block; orch_sub_validate / orch_sub_set_status catch a count left too low. The store
 * deletes the removed instances on save (orphans). */
orch_err_t orch_sub_remove_child(orch_subscription_t *sub, const char *path, orch_error_t *err);

/* Points the foreign child at path ("saps[0].port", "node") at instance_id owned by
 * owner_subscription_id, replacing a previous reference; on a foreign child that may be
 * several, "name[n]" appends. The reference is not loaded; the store checks on save that the
 * instance exists, belongs to that owner and is of the expected block. INVALID_ARGUMENT
 * naming the path for a child that is not foreign, a malformed id, or an owner equal to this
 * subscription. */
orch_err_t orch_sub_set_reference(orch_subscription_t *sub, const char *path,
                                  const char *owner_subscription_id, const char *instance_id,
                                  orch_error_t *err);

/* ---- Top-level attributes ---------------------------------------------------------------- */

/* Copy the text; INVALID_ARGUMENT naming "customer_id" / "description" / "note" when empty
 * (customer_id) or too long. note NULL clears it; description NULL sets "". */
orch_err_t orch_sub_set_customer_id(orch_subscription_t *sub, const char *customer_id,
                                    orch_error_t *err);
orch_err_t orch_sub_set_description(orch_subscription_t *sub, const char *description,
                                    orch_error_t *err);
orch_err_t orch_sub_set_note(orch_subscription_t *sub, const char *note, orch_error_t *err);
/* Copies n links into sub->in_use_by, replacing the previous ones (the store, tests). */
void orch_sub_set_in_use_by(orch_subscription_t *sub, const orch_sub_link_t *links, size_t n);
/* The subscriptions this one's references point at, each once, in tree order (derived from
 * the tree, so always current; status UNSPECIFIED). Caller frees with free(); NULL if none. */
orch_sub_link_t *orch_sub_depends_on(const orch_subscription_t *sub, size_t *n);

/* ---- Lifecycle --------------------------------------------------------------------------- */

/* Checks the tree against what the current status requires: nothing in initial,
 * provisioning, migrating and terminated beyond max counts; in active and disabled every
 * field the catalogue marks required is set and every child count is within min..max
 * (blocks owned by other subscriptions are not inspected). FAILED_PRECONDITION, reason
 * INVALID_LIFECYCLE_TRANSITION, naming the first problem by path, with one violation per
 * problem (path, "required when active"). */
orch_err_t orch_sub_validate(const orch_subscription_t *sub, orch_error_t *err);

/* Moves to status `to` (setting the current status again only re-validates). Refused with
 * FAILED_PRECONDITION, reason INVALID_LIFECYCLE_TRANSITION, for a transition not in the
 * table above or a tree the new status does not accept (as orch_sub_validate); ->terminated
 * is refused with reason IN_USE_BY_OTHER_SUBSCRIPTIONS while a subscription in in_use_by is
 * not terminated. ->active sets start_time_us the first time, ->terminated end_time_us. On
 * error nothing changes. */
orch_err_t orch_sub_set_status(orch_subscription_t *sub, orch_sub_status_t to, orch_error_t *err);

/* ---- JSON -------------------------------------------------------------------------------- */

/* The whole subscription as a new JSON object (caller json_decref's it), as GetSubscription
 * returns it and process state holds it:
 *   {"subscription_id", "product": {"product_id", "name", "product_type", "tag"},
 *    "customer_id", "description", "note" (or null), "status", "in_sync",
 *    "start_time", "end_time", "create_time", "update_time" (RFC 3339 UTC with microseconds,
 *    or null), "version", "metadata", "metadata_version",
 *    "customer_descriptions": [{"customer_description_id", "customer_id", "description",
 *                               "version", "create_time", "update_time"}],
 *    "in_use_by_ids": [...], "depends_on_ids": [...],
 *    "block": <instance>}
 * An instance is {"subscription_instance_id", "owner_subscription_id", "name" (block name),
 * "label" (or null), then each field by name (typed JSON value or null; a list field an
 * array) and each child attribute by name (an instance or null; an array when max_count >
 * 1)}. A reference to another subscription's block shows only the first three keys unless it
 * was loaded. Field names of blocks must therefore avoid those four keys. */
json_t *orch_sub_to_json(const orch_subscription_t *sub);

/* The same document as a stream of events, in the same order, so that another encoder (the
 * server writes it straight into protobuf bytes) needs no JSON tree: orch_sub_to_json is one
 * sink of it. Keys and strings are borrowed for the call only. Objects and arrays nest as
 * begin/end pairs; inside an object each value follows its key. `json` gives the metadata, a
 * JSON value of any shape. */
typedef struct orch_sub_model_sink {
    void (*begin_object)(void *ud);
    void (*end_object)(void *ud);
    void (*begin_array)(void *ud);
    void (*end_array)(void *ud);
    void (*key)(void *ud, const char *key);
    void (*string)(void *ud, const char *s); /* never NULL: a missing text is null() */
    void (*integer)(void *ud, int64_t v);
    void (*boolean)(void *ud, bool v);
    void (*null)(void *ud);
    void (*json)(void *ud, const json_t *v);
} orch_sub_model_sink_t;

void orch_sub_model_walk(const orch_subscription_t *sub, const orch_sub_model_sink_t *sink,
                         void *ud);

/* Whether every instance object of the document has distinct keys (a block whose field or
 * child is named like one of the four fixed keys, or a field and a child of the same name,
 * breaks it). When false, only a real JSON object (orch_sub_to_json) gives the document: a
 * repeated key keeps its first place and its last value. */
bool orch_sub_model_keys_unique(const orch_subscription_t *sub);

/* The inverse, through the builder below (statuses of in_use_by become UNSPECIFIED).
 * INVALID_ARGUMENT naming the JSON member for a malformed document; INTERNAL (from the
 * builder) for one that does not fit the catalogue. *out: caller frees. */
orch_err_t orch_sub_from_json(const orch_catalog_t *cat, const json_t *json,
                              orch_subscription_t **out, orch_error_t *err);

/* ---- Flat view for the store ------------------------------------------------------------- *
 * Saving: one row per OWNED instance, per value and per relation leaving an owned instance
 * (also towards other subscriptions' blocks), so that the store can write them with a fixed
 * number of set-based statements (unnest of arrays) and delete the owned instances whose ids
 * are not in `instances` (removed blocks). All pointers are borrowed from sub until it
 * changes or is freed. */
typedef struct orch_sub_flat_instance {
    const char *id;            /* subscription_instance_id */
    const orch_block_t *block; /* block->id is product_block_id */
    const char *label;         /* NULL = none */
} orch_sub_flat_instance_t;

typedef struct orch_sub_flat_value {
    const char *instance_id;
    const char *resource_type; /* the field name = resource_types.resource_type */
    int position;              /* list_order: 0 for a scalar */
    const char *value;         /* canonical text */
} orch_sub_flat_value_t;

typedef struct orch_sub_flat_relation {
    const char *parent_id;             /* in_use_by_id (always owned) */
    const char *attribute;             /* child attribute name */
    int position;                      /* order_id */
    const char *child_id;              /* depends_on_id */
    const char *child_subscription_id; /* its owner (this subscription or another) */
    const orch_block_t *child_block;   /* the block the catalogue expects there */
} orch_sub_flat_relation_t;

/* Caller-owned; filled by orch_sub_flatten, emptied by orch_sub_flat_cleanup. */
typedef struct orch_sub_flat {
    orch_sub_flat_instance_t *instances; /* depth first, root first */
    size_t ninstances;
    orch_sub_flat_value_t *values;
    size_t nvalues;
    orch_sub_flat_relation_t *relations;
    size_t nrelations;
} orch_sub_flat_t;

void orch_sub_flatten(const orch_subscription_t *sub, orch_sub_flat_t *out);
void orch_sub_flat_cleanup(orch_sub_flat_t *flat); /* frees the arrays; zeroes *flat */

/* ---- Assembling from rows (the store's load) --------------------------------------------- *
 * Feed the rows of one subscription in any order, then finish. Adding never fails; every
 * check happens in orch_sub_builder_finish, which reports the first problem as INTERNAL
 * (stored data that does not fit the catalogue: unknown product, block or field, a value that
 * does not parse, a broken tree) with a message naming the instance. Instance rows of other
 * subscriptions' blocks may be added too: references to them are then loaded (read-only);
 * references without such a row stay unloaded. All strings are copied. */
typedef struct orch_sub_builder orch_sub_builder_t;

/* The subscriptions row. product_id may also be the product's name; status is its name;
 * note NULL = none; times in microseconds since the epoch, 0 = NULL. */
typedef struct orch_sub_row {
    const char *subscription_id, *product_id, *customer_id, *description, *note, *status;
    bool in_sync;
    int64_t version, start_time_us, end_time_us, create_time_us, update_time_us;
} orch_sub_row_t;

/* cat is borrowed until the builder is freed (and for the subscription's life). */
orch_sub_builder_t *orch_sub_builder_new(const orch_catalog_t *cat);
void orch_sub_builder_free(orch_sub_builder_t *b); /* NULL does nothing */

void orch_sub_builder_subscription(orch_sub_builder_t *b, const orch_sub_row_t *row);
/* block: product_block_id (or the block's name); label NULL = none. */
void orch_sub_builder_instance(orch_sub_builder_t *b, const char *instance_id,
                               const char *subscription_id, const char *block, const char *label);
void orch_sub_builder_value(orch_sub_builder_t *b, const char *instance_id,
                            const char *resource_type, int position, const char *value);
void orch_sub_builder_relation(orch_sub_builder_t *b, const char *parent_id, const char *attribute,
                               int position, const char *child_id,
                               const char *child_subscription_id);
/* metadata is copied (NULL = {}). */
void orch_sub_builder_metadata(orch_sub_builder_t *b, const json_t *metadata, int64_t version);
/* The same, taking the caller's reference to metadata instead of a copy (the store's load
 * parses it for the builder alone). */
void orch_sub_builder_metadata_take(orch_sub_builder_t *b, json_t *metadata, int64_t version);
void orch_sub_builder_customer_description(orch_sub_builder_t *b,
                                           const orch_customer_description_t *cd);
/* status: its name, or NULL when not known (treated as live). */
void orch_sub_builder_in_use_by(orch_sub_builder_t *b, const char *subscription_id,
                                const char *status);

/* Assembles the subscription, once per builder (a second call is INTERNAL). *out: caller
 * frees with orch_subscription_free. The builder may be freed afterwards (it does not own
 * the result). */
orch_err_t orch_sub_builder_finish(orch_sub_builder_t *b, orch_subscription_t **out,
                                   orch_error_t *err);

#endif

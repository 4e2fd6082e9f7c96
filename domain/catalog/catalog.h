/* The product catalogue: resource types, product blocks and products, defined in code
 * (see example.c) and given their database ids by the store's st->catalog->sync.
 *
 * A catalogue is built once at start-up (orch_catalog_add_*), checked with
 * orch_catalog_validate, synchronised, and then read by many threads. The only field that
 * may change later is a product's status, guarded by the catalogue's lock. */
#ifndef ORCH_CATALOG_H
#define ORCH_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"

typedef enum {
    ORCH_PRODUCT_STATUS_UNSPECIFIED = 0,
    ORCH_PRODUCT_ACTIVE,
    ORCH_PRODUCT_PRE_PRODUCTION,
    ORCH_PRODUCT_PHASE_OUT,
    ORCH_PRODUCT_END_OF_LIFE,
} orch_product_status_t;

typedef enum {
    ORCH_FIELD_UNSPECIFIED = 0,
    ORCH_FIELD_STRING,
    ORCH_FIELD_INTEGER,
    ORCH_FIELD_BOOLEAN,
    ORCH_FIELD_UUID,
    ORCH_FIELD_IP_PREFIX,
} orch_field_type_t;

typedef enum {
    ORCH_TARGET_UNSPECIFIED = 0,
    ORCH_TARGET_CREATE,
    ORCH_TARGET_MODIFY,
    ORCH_TARGET_TERMINATE,
    ORCH_TARGET_VALIDATE,
    ORCH_TARGET_RECONCILE,
    ORCH_TARGET_SYSTEM,
} orch_workflow_target_t;

/* Definitions: plain structs of static strings, as written in example.c. */
typedef struct orch_field_def {
    const char *name; /* resource type name, e.g. "node_name" */
    orch_field_type_t type;
    bool required; /* required once the subscription is active */
    bool is_list;
    const char *description;
    const char *const *choices; /* NULL-terminated, or NULL */
} orch_field_def_t;

typedef struct orch_child_def {
    const char *name;  /* attribute in the parent */
    const char *block; /* child block name */
    int min_count, max_count;
    bool foreign; /* owned by another subscription */
} orch_child_def_t;

typedef struct orch_block_def {
    const char *name, *description, *tag;
    const orch_field_def_t *fields;   /* terminated by {NULL} */
    const orch_child_def_t *children; /* terminated by {NULL} */
} orch_block_def_t;

typedef struct orch_fixed_input {
    const char *name, *value;
} orch_fixed_input_t;

typedef struct orch_workflow_ref {
    const char *name;
    orch_workflow_target_t target;
    const char *description;
} orch_workflow_ref_t;

/* A block's children and a product's fixed inputs written in place, {0}-terminated for the
 * author, so a catalogue entry needs no separate table for one child or one fixed input:
 *     {"PortBlock", "A port", "PORT", port_fields, ORCH_CHILDREN({"node", "NodeBlock", 1, 1,
 * true})} (file-scope compound literals: static storage, as a named table would have). */
#define ORCH_CHILDREN(...) ((const orch_child_def_t[]){__VA_ARGS__, {0}})
#define ORCH_FIXED_INPUTS(...) ((const orch_fixed_input_t[]){__VA_ARGS__, {0}})

typedef struct orch_product_def {
    const char *name, *description, *product_type, *tag;
    orch_product_status_t status;
    const char *root_block;
    const orch_fixed_input_t *fixed_inputs; /* terminated by {NULL} */
    const orch_workflow_ref_t *workflows;   /* terminated by {NULL} */
} orch_product_def_t;

/* Runtime records, owned by the catalogue. def is borrowed for the catalogue's life. */
typedef struct orch_block {
    const orch_block_def_t *def;
    char id[37]; /* set by the store */
    orch_product_status_t status;
    int64_t create_time_us; /* microseconds since the epoch, from the database */
    size_t nfields, nchildren;
    const struct orch_block **child_blocks; /* resolved children, parallel to def->children */
    /* Where def is written, for messages: "blocks[0]" and its __FILE__ ("" / NULL when
     * added without orch_catalog_add_block_from). */
    char symbol[64];
    const char *file;
} orch_block_t;

typedef struct orch_product {
    const orch_product_def_t *def;
    char id[37];
    orch_product_status_t status; /* read through orch_catalog_product_attrs() */
    char *description; /* run-time value, owned; read through orch_catalog_product_attrs() */
    int64_t create_time_us, end_time_us; /* end 0 = none */
    const orch_block_t *root;
    size_t nfixed, nworkflows;
    /* The root block and every block reachable from it, each once, depth first. */
    const orch_block_t **blocks;
    size_t nblocks;
    char symbol[64];  /* where def is written, e.g. "products[4]" ("" when not given) */
    const char *file; /* its __FILE__, or NULL */
} orch_product_t;

/* A resource type: a field name used by one or more blocks (the first definition's
 * description is its description). */
typedef struct orch_resource_type {
    const char *name;
    const char *description;
    orch_field_type_t type;
    char id[37]; /* set by the store */
} orch_resource_type_t;

typedef struct orch_catalog orch_catalog_t; /* opaque */

orch_catalog_t *orch_catalog_new(void);
void orch_catalog_free(orch_catalog_t *cat);

/* Registration; def must outlive the catalogue (static data). Duplicates are caught by
 * orch_catalog_validate, which also resolves block references. */
void orch_catalog_add_block(orch_catalog_t *cat, const orch_block_def_t *def);
void orch_catalog_add_product(orch_catalog_t *cat, const orch_product_def_t *def);
/* The same, remembering the C symbol and file of def so that start-up checks and drift
 * messages can name it (symbol is copied; file must be static, e.g. __FILE__). */
void orch_catalog_add_block_from(orch_catalog_t *cat, const orch_block_def_t *def,
                                 const char *symbol, const char *file);
void orch_catalog_add_product_from(orch_catalog_t *cat, const orch_product_def_t *def,
                                   const char *symbol, const char *file);
#define ORCH_CATALOG_ADD_BLOCK(cat, def) orch_catalog_add_block_from((cat), &(def), #def, __FILE__)
#define ORCH_CATALOG_ADD_PRODUCT(cat, def)                                                         \
    orch_catalog_add_product_from((cat), &(def), #def, __FILE__)

/* Checks names (unique, non-empty), references (root and child blocks exist), counts
 * (0 <= min <= max, max >= 1), block cycles; resolves them. FAILED_PRECONDITION naming the
 * product/block/field on the first problem. */
orch_err_t orch_catalog_validate(orch_catalog_t *cat, orch_error_t *err);

/* The example catalogue of docs/ (node, port, core link, l2vpn). */
void orch_catalog_load_example(orch_catalog_t *cat);

size_t orch_catalog_nproducts(const orch_catalog_t *cat);
size_t orch_catalog_nblocks(const orch_catalog_t *cat);
/* i-th product / block in name order; borrowed for the catalogue's life. */
orch_product_t *orch_catalog_product_at(orch_catalog_t *cat, size_t i);
orch_block_t *orch_catalog_block_at(orch_catalog_t *cat, size_t i);

const orch_product_t *orch_catalog_find_product(const orch_catalog_t *cat, const char *name);
const orch_product_t *orch_catalog_find_product_id(const orch_catalog_t *cat, const char *id);
const orch_block_t *orch_catalog_find_block(const orch_catalog_t *cat, const char *name);
const orch_block_t *orch_catalog_find_block_id(const orch_catalog_t *cat, const char *id);
size_t orch_catalog_nresource_types(const orch_catalog_t *cat);
orch_resource_type_t *orch_catalog_resource_type_at(orch_catalog_t *cat, size_t i);
orch_resource_type_t *orch_catalog_find_resource_type(orch_catalog_t *cat, const char *name);

/* Status and description under the catalogue lock: desc gets a copy (desclen bytes). */
void orch_catalog_product_attrs(const orch_catalog_t *cat, const orch_product_t *p,
                                orch_product_status_t *status, char *desc, size_t desclen);

/* Applies values read from the database (sync, refresh, update): status, description (NULL
 * = keep) and end time. Thread-safe. */
void orch_catalog_product_apply(orch_catalog_t *cat, const orch_product_t *p,
                                orch_product_status_t status, const char *description,
                                int64_t end_time_us);

/* Serialises run-time changes of products (an update applied and committed by this replica)
 * with refreshes from the database (another replica's changes), so that a refresh that
 * read the database before a local commit never overwrites that commit's newer values. */
void orch_catalog_change_lock(orch_catalog_t *cat);
void orch_catalog_change_unlock(orch_catalog_t *cat);

/* Names used on the wire and in filters: "active", "pre production", ... */
const char *orch_product_status_name(orch_product_status_t s);
orch_product_status_t orch_product_status_parse(const char *s);  /* UNSPECIFIED if unknown */
const char *orch_workflow_target_name(orch_workflow_target_t t); /* "CREATE" ... */
const char *orch_field_type_name(orch_field_type_t t);           /* "string" ... */

/* One page of products. filter: AIP-160 subset over name, description, product_type, tag,
 * status (see filter.h); page_token from a previous page. Fills out (borrowed pointers,
 * caller frees the array with free()), *n, *total, and *next_token (caller frees; NULL on
 * the last page). INVALID_ARGUMENT naming "filter", "page_size" or "page_token". */
orch_err_t orch_catalog_list_products(orch_catalog_t *cat, const char *filter, int page_size,
                                      const char *page_token, const orch_product_t ***out,
                                      size_t *n, size_t *total, char **next_token,
                                      orch_error_t *err);

/* The same for product blocks (filter fields: name, description, tag, status,
 * product_block_id) and resource types (resource_type, description, resource_type_id). */
orch_err_t orch_catalog_list_blocks(orch_catalog_t *cat, const char *filter, int page_size,
                                    const char *page_token, const orch_block_t ***out, size_t *n,
                                    size_t *total, char **next_token, orch_error_t *err);
orch_err_t orch_catalog_list_resource_types(orch_catalog_t *cat, const char *filter, int page_size,
                                            const char *page_token,
                                            const orch_resource_type_t ***out, size_t *n,
                                            size_t *total, char **next_token, orch_error_t *err);
/* A block by id (lower-case UUID, INVALID_ARGUMENT naming id_field otherwise) or name. */
orch_err_t orch_catalog_get_block(const orch_catalog_t *cat, const char *id, const char *name,
                                  const char *id_field, const orch_block_t **out,
                                  orch_error_t *err);

/* Looks a product up by id (must be a lower-case UUID: INVALID_ARGUMENT naming id_field
 * otherwise) or by name; NOT_FOUND if absent. */
orch_err_t orch_catalog_get_product(const orch_catalog_t *cat, const char *id, const char *name,
                                    const char *id_field, const orch_product_t **out,
                                    orch_error_t *err);

/* UpdateProduct's rules, inside the caller's unit of work tx (struct orch_store from
 * store.h): description (NULL = keep; at most 2000 characters) and status (UNSPECIFIED =
 * keep). Moving to end of life is FAILED_PRECONDITION (PRODUCT_IN_USE) while subscriptions
 * that are not terminated exist. The in-memory catalogue changes only after commit:
 * call orch_catalog_product_apply then. */
struct orch_store;
struct orch_tx;
orch_err_t orch_catalog_update_product(const orch_catalog_t *cat, struct orch_store *st,
                                       struct orch_tx *tx, const orch_product_t *p,
                                       const char *description, orch_product_status_t status,
                                       int64_t *end_time_us, orch_error_t *err);

#endif

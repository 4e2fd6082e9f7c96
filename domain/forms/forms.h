/* Forms: what a workflow asks people, as typed fields in C, one or more pages, rendered as
 * JSON Schema (docs/FORMS.md) and validated field by field.
 *
 *     static const orch_form_field_t node_page[] = {
 *         {.name = "node_id", .title = "Node", .type = ORCH_FORM_CHOICE, .required = true,
 *          .choices_fn = active_nodes},
 *         {0},
 *     };
 *     static const orch_form_field_t port_page[] = {
 *         {.name = "port_name", .title = "Port", .type = ORCH_FORM_CHOICE, .required = true,
 *          .choices_fn = free_ports_of_chosen_node},   // sees answers["node_id"]
 *         {.name = "vlan", .type = ORCH_FORM_INTEGER, .has_min = true, .min = 0,
 *          .has_max = true, .max = 4095, .default_json = "0"},
 *         {0},
 *     };
 *     static const orch_form_page_t port_pages[] = {{"Choose the node", node_page},
 *                                                   {"Choose the port", port_page}, {0}};
 *     static const orch_form_t port_form = {.pages = port_pages};
 *
 * A page may also come from a generator (orch_form_t.next) that sees the answers so far
 * and decides which page (if any) comes next. */
#ifndef ORCH_FORMS_H
#define ORCH_FORMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/ctx.h"
#include "base/errors.h"
#include "domain/catalog/catalog.h"
#include "domain/store.h"

typedef enum {
    ORCH_FORM_STRING = 1, /* min/max: length in characters; pattern: POSIX ERE, anchored */
    ORCH_FORM_INTEGER,    /* min/max: bounds; |value| <= 2^53, no fraction */
    ORCH_FORM_BOOLEAN,
    ORCH_FORM_UUID,         /* lower-case UUID text */
    ORCH_FORM_CHOICE,       /* one of choices / choices_fn() */
    ORCH_FORM_MULTI_CHOICE, /* distinct values of the choices; min/max: how many */
    ORCH_FORM_OBJECT,       /* nested object of fields */
    ORCH_FORM_LIST,         /* list of fields[0]; min/max: how many */
    ORCH_FORM_LABEL,        /* text for people only: no value */
} orch_form_type_t;

/* What choice callbacks and page generators may use. All members may be NULL (unit tests). */
typedef struct orch_form_env {
    orch_store_t *store;
    orch_tx_t *tx; /* NULL = outside a unit of work */
    const orch_ctx_t *ctx;
    const orch_catalog_t *catalog;
    /* Facts about the start or the process: product_id, subscription_id, the process state
     * of an input step. A JSON object or NULL. */
    const json_t *context;
} orch_form_env_t;

/* Choices computed at run time: a JSON array (new reference) of strings, integers, or
 * objects {"value": v, "label": "..."}; answers: the validated answers so far (earlier
 * pages, merged). NULL = no choices. */
typedef json_t *(*orch_form_choices_fn)(const orch_form_env_t *env, const json_t *answers);

typedef struct orch_form_field {
    const char *name; /* the answer's key: [a-z0-9_]+ */
    const char *title;
    const char *description;
    orch_form_type_t type;
    bool required;            /* missing and no default: "is required" */
    bool read_only;           /* shows default_json; an answer differing from it is refused */
    bool secret;              /* masked ("***") wherever the answer is stored or shown */
    const char *default_json; /* JSON text of the default, e.g. "true", "\"tagged\"" */
    bool has_min, has_max;
    long long min, max;
    const char *pattern;
    const char *const *choices; /* NULL-terminated static choices */
    orch_form_choices_fn choices_fn;
    const struct orch_form_field *fields; /* OBJECT: {0}-terminated; LIST: fields[0] = item */
    const char *widget;                   /* x-orch-widget, e.g. "textarea", "divider" (optional) */
} orch_form_field_t;

typedef struct orch_form_page {
    const char *title;
    const orch_form_field_t *fields; /* {0}-terminated */
} orch_form_page_t;

/* Page generator: the page at index given the answers so far, or NULL when the form is
 * complete. */
typedef const orch_form_page_t *(*orch_form_page_fn)(const orch_form_env_t *env, size_t index,
                                                     const json_t *answers);

/* A rule across the fields of page index (e.g. "node B differs from node A"), run by
 * orch_form_run once every field of that page is valid. answers: the earlier pages' answers
 * merged with this page's typed answers; path: the page's path ("user_inputs[0]"). Adds one
 * violation per wrong field to err, its path "<path>.<field>" (does not set its code);
 * returns how many. */
typedef size_t (*orch_form_check_fn)(const orch_form_env_t *env, size_t index,
                                     const json_t *answers, const char *path, orch_error_t *err);

typedef struct orch_form {
    const orch_form_page_t *pages; /* {0}-terminated static pages, used when next is NULL */
    orch_form_page_fn next;
    orch_form_check_fn check; /* optional */
} orch_form_t;

/* A static form's pages written in place, {0}-terminated for the author:
 *     static const orch_form_t modify_port_form = {
 *         .pages = ORCH_FORM_PAGES({"Change the port", modify_port_fields})};
 * (a file-scope compound literal: static storage, as a named page table would have). */
#define ORCH_FORM_PAGES(...) ((const orch_form_page_t[]){__VA_ARGS__, {0}})

/* The page at index, or NULL when there is none (the form is complete). */
const orch_form_page_t *orch_form_page_at(const orch_form_t *form, const orch_form_env_t *env,
                                          size_t index, const json_t *answers);

/* The page as JSON Schema (new reference); answers: earlier pages' answers (choices). */
json_t *orch_form_page_schema(const orch_form_page_t *page, const orch_form_env_t *env,
                              size_t index, const json_t *answers);

/* Validates one page's answers. path: "user_inputs[1]" (violations read
 * "user_inputs[1].port_id"). Adds one violation per wrong field to err (does not set its
 * code); returns the number of violations added. *clean: the typed answers with defaults
 * (new reference); *masked: the same with secret values "***". */
size_t orch_form_validate_page(const orch_form_page_t *page, const orch_form_env_t *env,
                               const json_t *answers, const json_t *input, const char *path,
                               json_t **clean, json_t **masked, orch_error_t *err);

typedef struct orch_form_result {
    bool complete;
    json_t *answers;   /* every page's validated answers, merged (owned) */
    json_t *masked;    /* the same, secrets "***" (owned) */
    json_t *next_page; /* !complete: the next page's schema (owned) */
    size_t page_index; /* !complete: its index */
    const char *page_title;
} orch_form_result_t;

/* Runs a form over inputs[0..n) (one object per page): INVALID_ARGUMENT with one violation
 * per wrong field ("<name>[i].field"), or a result that is complete or names the next page.
 * name: "user_inputs". */
orch_err_t orch_form_run(const orch_form_t *form, const orch_form_env_t *env,
                         const json_t *const *inputs, size_t n, const char *name,
                         orch_form_result_t *out, orch_error_t *err);
void orch_form_result_cleanup(orch_form_result_t *r);

/* Deep merge: objects merge key by key (recursively), anything else from b wins. New
 * reference. */
json_t *orch_json_deep_merge(const json_t *a, const json_t *b);

/* ---- Secret answers ----------------------------------------------------------------------
 * A secret field's answer is "***" in the audit log, the events and every RPC. Its value is
 * kept apart (the store's process_secrets) as an overlay: an object holding the secret
 * values at their paths, which orch_json_deep_merge(masked state, overlay) turns back into
 * the state a step needs. */

/* The value stored in place of a secret. */
#define ORCH_SECRET_MASK "***"

/* The overlay of one form result: where masked has the mask and answers has something
 * else, the answer (a list holding a mask anywhere is taken whole, as deep merge replaces
 * lists). New reference, or NULL when the answers hold no secret. */
json_t *orch_form_secrets(const json_t *answers, const json_t *masked);

/* True when j holds the mask string anywhere (a cheap test before loading secrets). */
bool orch_json_has_mask(const json_t *j);

/* Masks in target (an object, changed in place) every key the overlay holds: objects on
 * both sides recursively, anything else replaced by the mask. What a step returns is masked
 * this way before it is committed, so a step that copies a secret to its own key name
 * cannot leak it into the audit log. */
void orch_json_mask_like(json_t *target, const json_t *overlay);

#endif

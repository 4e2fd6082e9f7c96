/* Shared inside domain/subscription/ only: instance construction, value checking and times,
 * used by the model (subscription.c), the store's views (flat.c) and JSON (json.c). */
#ifndef ORCH_SUBSCRIPTION_INTERNAL_H
#define ORCH_SUBSCRIPTION_INTERNAL_H

#include "subscription.h"

/* A new instance of block owned by owner_id, with id (NULL = a new one). Empty values and
 * children. Caller frees with orch__inst_free. */
orch_instance_t *orch__inst_new(const orch_block_t *block, const char *owner_id, const char *id,
                                bool foreign);
void orch__inst_free(orch_instance_t *in);
orch_instance_t *orch__inst_clone(const orch_instance_t *in);
/* Creates min_count empty owned instances under every non-foreign child, recursively. */
void orch__inst_fill_required(orch_instance_t *in, int depth);
void orch__children_push(orch_children_t *c, orch_instance_t *in);
void orch__values_push(orch_values_t *v, char *text); /* takes text */

/* The index of block b's field (child) whose name is the len bytes at name, or -1: the one
 * lookup of a name in a block's declaration that paths (subscription.c), stored rows
 * (flat.c) and JSON (json.c) all make. */
int orch__field_index(const orch_block_t *b, const char *name, size_t len);
int orch__child_index(const orch_block_t *b, const char *name, size_t len);

/* A subscription of product with defaults and no root: the builder's and new's start. */
orch_subscription_t *orch__sub_alloc(const orch_product_t *product);

/* Checks text against the field's type, choices and length; on success *out is the
 * canonical text (caller frees). On failure writes why (a phrase) and returns false. */
bool orch__value_canon(const orch_field_def_t *f, const char *text, char **out, char *why,
                       size_t whylen);

int64_t orch__now_us(void);
/* "2024-05-01T12:00:00.000123Z" into buf (>= 32 bytes). */
void orch__time_format(int64_t us, char *buf, size_t len);
/* The inverse (only that exact shape, 'Z' or fractional digits optional); false if bad. */
bool orch__time_parse(const char *s, int64_t *us);

#endif

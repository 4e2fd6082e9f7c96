/* The start-up checks (lint.h). Each workflow is registered into a scratch registry, so that
 * the structural rules stay in one place (orch_registry_add) and the checks below see the
 * expanded step list, standard steps of the lifecycle included. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "domain/engine/lint.h"
#include "domain/forms/forms.h"

/* ---- report --------------------------------------------------------------------------------- */

const char *orch_lint_source_path(const char *file)
{
    /* This file is <root>/domain/engine/lint.c: its own __FILE__ gives the root prefix. */
    static const char self[] = __FILE__, tail[] = "domain/engine/lint.c";
    size_t root;
    const char *p;
    if (!file)
        return "";
    if (strlen(self) >= sizeof(tail) - 1) {
        root = strlen(self) - (sizeof(tail) - 1);
        if (strcmp(self + root, tail) == 0 && strncmp(file, self, root) == 0)
            return file + root;
    }
    p = strstr(file, "/domain/");
    return p ? p + 1 : file;
}

static void add(orch_lint_report_t *r, orch_lint_severity_t sev, const char *check,
                const char *symbol, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void add(orch_lint_report_t *r, orch_lint_severity_t sev, const char *check,
                const char *symbol, const char *file, const char *fmt, ...)
{
    orch_lint_problem_t *p;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    r->items = orch_realloc(r->items, (r->n + 1) * sizeof(*r->items));
    p = &r->items[r->n++];
    p->severity = sev;
    p->check = check;
    p->symbol = orch_strdup(symbol);
    p->file = orch_strdup(orch_lint_source_path(file));
    p->message = orch_strdup(buf);
    if (sev == ORCH_LINT_ERROR)
        r->nerrors++;
    else
        r->nwarnings++;
}

void orch_lint_report_cleanup(orch_lint_report_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].symbol);
        free(r->items[i].file);
        free(r->items[i].message);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}

char *orch_lint_format(const orch_lint_problem_t *p)
{
    return orch_asprintf("%s (%s): %s [%s]", p->symbol, *p->file ? p->file : "?", p->message,
                         p->check);
}

/* ---- a set of names ------------------------------------------------------------------------- */

typedef struct names {
    const char **v; /* borrowed strings */
    size_t n;
} names_t;

static bool names_has(const names_t *s, const char *k)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], k) == 0)
            return true;
    return false;
}

static void names_add(names_t *s, const char *k)
{
    if (!k || names_has(s, k))
        return;
    s->v = orch_realloc(s->v, (s->n + 1) * sizeof(*s->v));
    s->v[s->n++] = k;
}

static void names_add_all(names_t *s, const char *const *keys)
{
    for (; keys && *keys; keys++)
        names_add(s, *keys);
}

/* The top-level answer keys of a form with static pages (labels carry no value). false when
 * the pages come from a generator: its fields cannot be known before it runs. */
static bool form_fields(const struct orch_form *f, names_t *out)
{
    if (!f)
        return true;
    if (f->next || !f->pages)
        return false;
    for (const orch_form_page_t *pg = f->pages; pg->fields; pg++)
        for (const orch_form_field_t *fl = pg->fields; fl->name; fl++)
            if (fl->type != ORCH_FORM_LABEL)
                names_add(out, fl->name);
    return true;
}

/* ---- one workflow --------------------------------------------------------------------------- */

typedef struct wf_ctx {
    orch_lint_report_t *rep;
    const orch_wf_entry_t *e;
    const char *sym;
} wf_ctx_t;

/* The keys the lifecycle adds around the author's steps (workflow.c expand_lifecycle). */
static const char *const *standard_keys(orch_lifecycle_t lc)
{
    static const char *const create[] = {"set_status_active", "resync", "done", NULL};
    static const char *const modify[] = {"unsync", "resync", "done", NULL};
    static const char *const terminate[] = {"unsync", "set_status_terminated", "resync", "done",
                                            NULL};
    static const char *const task[] = {"done", NULL};
    static const char *const none[] = {NULL};
    switch (lc) {
    case ORCH_LC_CREATE:
        return create;
    case ORCH_LC_MODIFY:
    case ORCH_LC_VALIDATE:
    case ORCH_LC_RECONCILE:
        return modify;
    case ORCH_LC_TERMINATE:
        return terminate;
    case ORCH_LC_TASK:
        return task;
    case ORCH_LC_NONE:
        break;
    }
    return none;
}

static bool is_standard_key(const orch_workflow_def_t *d, const char *key)
{
    for (const char *const *k = standard_keys(d->lifecycle); *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

/* Missing and duplicate keys, all of them (the registry stops at the first). true = clean. */
static bool check_keys(wf_ctx_t *c)
{
    const orch_workflow_def_t *d = c->e->def;
    names_t seen = {0};
    char **owned = NULL;
    size_t nowned = 0, i = 0;
    bool ok = true;

    if (!d->steps)
        return true; /* the registry names this */
    for (const char *const *k = standard_keys(d->lifecycle); *k; k++)
        names_add(&seen, *k);
    for (const orch_step_def_t *s = d->steps; s->key || s->name; s++, i++) {
        if (!s->key || !*s->key) {
            add(c->rep, ORCH_LINT_ERROR, "step-key-missing", c->sym, c->e->file,
                "workflow %s v%d: step %zu (\"%s\") has no key", d->name ? d->name : "?",
                d->version, i + 1, s->name ? s->name : "");
            ok = false;
            continue;
        }
        if (s->kind == ORCH_KIND_GROUP && s->children) {
            size_t j = 0;
            for (const orch_step_def_t *ch = s->children; ch->key || ch->name; ch++, j++) {
                char *full;
                if (!ch->key || !*ch->key) {
                    add(c->rep, ORCH_LINT_ERROR, "step-key-missing", c->sym, c->e->file,
                        "workflow %s v%d: step %zu (\"%s\") of group %s has no key", d->name,
                        d->version, j + 1, ch->name ? ch->name : "", s->key);
                    ok = false;
                    continue;
                }
                full = orch_asprintf("%s.%s", s->key, ch->key);
                owned = orch_realloc(owned, (nowned + 1) * sizeof(*owned));
                owned[nowned++] = full;
                if (names_has(&seen, full)) {
                    add(c->rep, ORCH_LINT_ERROR, "step-key-duplicate", c->sym, c->e->file,
                        "workflow %s v%d: step key %s is used twice", d->name, d->version, full);
                    ok = false;
                }
                names_add(&seen, full);
            }
            continue;
        }
        if (names_has(&seen, s->key)) {
            add(c->rep, ORCH_LINT_ERROR, "step-key-duplicate", c->sym, c->e->file,
                "workflow %s v%d: step key %s is used twice%s", d->name, d->version, s->key,
                is_standard_key(d, s->key) ? " (the lifecycle adds a step of that key)" : "");
            ok = false;
        }
        names_add(&seen, s->key);
    }
    for (size_t k = 0; k < nowned; k++)
        free(owned[k]);
    free(owned);
    free(seen.v);
    return ok;
}

/* A leaf's declared keys: from the workflow's io table, or known for the standard steps.
 * *declared = false when the step may touch keys nobody declared. */
typedef struct leaf_io {
    const char *const *reads, *const *writes; /* NULL = not declared */
    bool standard;
} leaf_io_t;

static leaf_io_t io_of(const orch_workflow_def_t *d, const orch_leaf_t *l)
{
    static const char *const sub_id[] = {"subscription_id", NULL};
    static const char *const none[] = {NULL};
    leaf_io_t io = {NULL, NULL, false};
    if (l->def->kind == ORCH_KIND_DONE || l->def->kind == ORCH_KIND_ABORT) {
        io.reads = io.writes = none;
        io.standard = true;
        return io;
    }
    if (!l->parent && d->lifecycle != ORCH_LC_NONE && d->lifecycle != ORCH_LC_TASK &&
        is_standard_key(d, l->key)) {
        io.reads = sub_id;
        io.writes = none;
        io.standard = true;
        return io;
    }
    for (const orch_step_io_t *x = d->io; x && x->key; x++)
        if (strcmp(x->key, l->key) == 0) {
            io.reads = x->reads;
            io.writes = x->writes;
        }
    if (l->def->kind == ORCH_KIND_INPUT && !io.reads)
        io.reads = none; /* an input step reads nothing of the state itself */
    return io;
}

static void check_io(wf_ctx_t *c, const orch_workflow_t *w)
{
    const orch_workflow_def_t *d = w->def;
    names_t known = {0};
    bool complete = true;

    /* Declarations of steps that do not exist (a typo or a renamed step). */
    for (const orch_step_io_t *x = d->io; x && x->key; x++) {
        bool found = false;
        for (size_t i = 0; i < w->nleaves && !found; i++)
            found = strcmp(w->leaves[i].key, x->key) == 0;
        if (!found)
            add(c->rep, ORCH_LINT_ERROR, "io-unknown-step", c->sym, c->e->file,
                "workflow %s v%d declares the state keys of step %s, which it does not have",
                d->name, d->version, x->key);
    }

    if (!d->io)
        goto out; /* nothing declared: nothing can be known */
    /* What the state holds before the first step. */
    if (!d->is_task && d->target == ORCH_TARGET_CREATE)
        names_add(&known, "product_id");
    else if (!d->is_task && d->target != ORCH_TARGET_SYSTEM)
        names_add(&known, "subscription_id");
    if (!form_fields(d->form, &known))
        complete = false;

    for (size_t i = 0; i < w->nleaves; i++) {
        const orch_leaf_t *l = &w->leaves[i];
        leaf_io_t io = io_of(d, l);
        /* An input step's answers are in the state once it resumes; the keys it reads are
         * answers it keeps for the record. */
        if (l->def->kind == ORCH_KIND_INPUT && !form_fields(l->def->form, &known))
            complete = false;
        if (complete && io.reads)
            for (const char *const *k = io.reads; *k; k++)
                if (!names_has(&known, *k))
                    add(c->rep, ORCH_LINT_ERROR, "state-key-unwritten", c->sym, c->e->file,
                        "workflow %s v%d: step %s%s reads state key '%s', which no earlier "
                        "step, form field or start input writes",
                        d->name, d->version, l->key,
                        io.standard ? " (a standard step of the lifecycle)" : "", *k);
        if (io.writes)
            names_add_all(&known, io.writes);
        else if (l->def->kind != ORCH_KIND_INPUT)
            complete = false;
    }
out:
    free(known.v);
}

/* Every field of form (asked before leaf index from) is read by a later step. */
static void check_form_read(wf_ctx_t *c, const orch_workflow_t *w, const struct orch_form *form,
                            size_t from, const char *where)
{
    const orch_workflow_def_t *d = w->def;
    names_t fields = {0}, reads = {0};
    bool known = true;

    /* Only a workflow that declares its steps' keys is checked: without io nothing is known. */
    if (!d->io || !form || !form_fields(form, &fields))
        goto out;
    for (size_t i = from; i < w->nleaves; i++) {
        leaf_io_t io = io_of(d, &w->leaves[i]);
        if (!io.reads) {
            known = false;
            break;
        }
        names_add_all(&reads, io.reads);
    }
    if (!known)
        goto out;
    for (size_t i = 0; i < fields.n; i++)
        if (!names_has(&reads, fields.v[i]))
            add(c->rep, ORCH_LINT_ERROR, "form-field-unread", c->sym, c->e->file,
                "workflow %s v%d: field '%s' of %s is read by no step", d->name, d->version,
                fields.v[i], where);
out:
    free(fields.v);
    free(reads.v);
}

static bool catalog_has_type(orch_catalog_t *cat, const char *type)
{
    for (size_t i = 0; i < orch_catalog_nproducts(cat); i++)
        if (strcmp(orch_catalog_product_at(cat, i)->def->product_type, type) == 0)
            return true;
    return false;
}

static void check_workflow(orch_lint_report_t *rep, orch_registry_t *scratch,
                           const orch_wf_entry_t *e, orch_catalog_t *cat)
{
    wf_ctx_t c = {rep, e, e->symbol ? e->symbol : (e->def->name ? e->def->name : "?")};
    const orch_workflow_def_t *d = e->def;
    const orch_workflow_t *w;
    orch_error_t err;

    if (!check_keys(&c))
        return;
    orch_error_init(&err);
    if (orch_registry_add(scratch, d, &err)) {
        add(rep, ORCH_LINT_ERROR, "workflow-invalid", c.sym, e->file, "%s", err.message);
        return;
    }
    w = orch_registry_find(scratch, d->name, d->version);
    check_io(&c, w);
    check_form_read(&c, w, d->form, 0, "the start form");
    for (size_t i = 0; i < w->nleaves; i++)
        if (w->leaves[i].def->kind == ORCH_KIND_INPUT) {
            char where[160];
            snprintf(where, sizeof(where), "the form of input step %s", w->leaves[i].key);
            check_form_read(&c, w, w->leaves[i].def->form, i, where);
        }
    if (!cat)
        return;
    if (d->product_type && !catalog_has_type(cat, d->product_type))
        add(rep, ORCH_LINT_ERROR, "workflow-unknown-product", c.sym, e->file,
            "workflow %s v%d is for product type '%s', which no product of the catalogue has",
            d->name, d->version, d->product_type);
    for (const char *const *b = d->blocks; b && *b; b++)
        if (!orch_catalog_find_block(cat, *b))
            add(rep, ORCH_LINT_ERROR, "workflow-unknown-block", c.sym, e->file,
                "workflow %s v%d changes product block '%s', which the catalogue does not "
                "define",
                d->name, d->version, *b);
}

/* ---- products ------------------------------------------------------------------------------- */

/* The latest version of name among the entries, or NULL. */
static const orch_wf_entry_t *find_entry(const orch_wf_entry_t *wfs, size_t n, const char *name)
{
    const orch_wf_entry_t *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (wfs[i].def->name && strcmp(wfs[i].def->name, name) == 0 &&
            (!best || wfs[i].def->version > best->def->version))
            best = &wfs[i];
    return best;
}

static void check_product(orch_lint_report_t *rep, const orch_product_t *p,
                          const orch_wf_entry_t *wfs, size_t n)
{
    static const orch_workflow_target_t needed[] = {ORCH_TARGET_CREATE, ORCH_TARGET_MODIFY,
                                                    ORCH_TARGET_TERMINATE, ORCH_TARGET_VALIDATE};
    const char *sym = p->symbol[0] ? p->symbol : p->def->name;
    char missing[128] = "";
    for (size_t t = 0; t < sizeof(needed) / sizeof(needed[0]); t++) {
        bool found = false;
        for (const orch_workflow_ref_t *r = p->def->workflows; r && r->name && !found; r++)
            found = r->target == needed[t];
        if (!found)
            snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
                     *missing ? ", " : "", orch_workflow_target_name(needed[t]));
    }
    if (*missing)
        add(rep, ORCH_LINT_ERROR, "product-missing-workflow", sym, p->file,
            "product '%s' has no %s workflow (every product needs create, modify, terminate "
            "and validate)",
            p->def->name, missing);
    for (const orch_workflow_ref_t *r = p->def->workflows; r && r->name; r++) {
        const orch_wf_entry_t *e = find_entry(wfs, n, r->name);
        if (!e) {
            add(rep, ORCH_LINT_ERROR, "product-unknown-workflow", sym, p->file,
                "product '%s' lists workflow '%s', which is not registered", p->def->name, r->name);
            continue;
        }
        if (e->def->target != r->target)
            add(rep, ORCH_LINT_ERROR, "product-workflow-mismatch", sym, p->file,
                "product '%s' lists workflow '%s' as %s, but %s defines it as %s", p->def->name,
                r->name, orch_workflow_target_name(r->target), e->symbol ? e->symbol : r->name,
                orch_workflow_target_name(e->def->target));
        if (e->def->product_type && strcmp(e->def->product_type, p->def->product_type) != 0)
            add(rep, ORCH_LINT_ERROR, "product-workflow-mismatch", sym, p->file,
                "product '%s' (type %s) lists workflow '%s', which %s declares for product "
                "type %s",
                p->def->name, p->def->product_type, r->name, e->symbol ? e->symbol : r->name,
                e->def->product_type);
    }
}

static bool offered(orch_catalog_t *cat, const char *name)
{
    for (size_t i = 0; i < orch_catalog_nproducts(cat); i++)
        for (const orch_workflow_ref_t *r = orch_catalog_product_at(cat, i)->def->workflows;
             r && r->name; r++)
            if (strcmp(r->name, name) == 0)
                return true;
    return false;
}

void orch_lint(const orch_wf_entry_t *wfs, size_t n, orch_catalog_t *cat, orch_lint_report_t *out)
{
    orch_registry_t *scratch = orch_registry_new();
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        check_workflow(out, scratch, &wfs[i], cat);
    orch_registry_free(scratch);
    if (!cat)
        return;
    for (size_t i = 0; i < orch_catalog_nproducts(cat); i++)
        check_product(out, orch_catalog_product_at(cat, i), wfs, n);
    for (size_t i = 0; i < n; i++) {
        const orch_workflow_def_t *d = wfs[i].def;
        if (d->is_task || !d->name || d->target == ORCH_TARGET_SYSTEM ||
            d->target == ORCH_TARGET_UNSPECIFIED || offered(cat, d->name))
            continue;
        if (find_entry(wfs, n, d->name) != &wfs[i])
            continue; /* one warning per name */
        add(out, ORCH_LINT_WARNING, "workflow-unoffered", wfs[i].symbol ? wfs[i].symbol : d->name,
            wfs[i].file,
            "workflow %s (%s) is registered but no product lists it: nobody can start it", d->name,
            orch_workflow_target_name(d->target));
    }
}

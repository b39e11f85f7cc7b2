/* YAML -> node tree, from libyaml's event stream. Building our own small
 * tree (instead of yaml_document_t) keeps 1-based marks on every node,
 * lets us reject anchors/aliases and duplicate keys with positions, and
 * bounds depth and node count so that no input costs unbounded work. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "cfg_int.h"
#include "util.h"

struct ynode *ynode_free(struct ynode *n) {
  if (!n)
    return NULL;
  for (size_t i = 0; i < n->n_items; i++)
    ynode_free(n->items[i]);
  free(n->items);
  free(n->str);
  free(n);
  return NULL;
}

bool ynode_is_null(const struct ynode *n) {
  if (!n)
    return true;
  if (n->type != YNODE_SCALAR || !n->plain)
    return false;
  return !n->str[0] || strcmp(n->str, "~") == 0 || strcasecmp(n->str, "null") == 0;
}

const char *ynode_kind(const struct ynode *n) {
  if (ynode_is_null(n))
    return "nothing";
  switch (n->type) {
  case YNODE_SEQ:
    return "a list";
  case YNODE_MAP:
    return "a mapping";
  case YNODE_SCALAR:
    break;
  }
  return "a scalar";
}

const struct ynode *ynode_map_get(const struct ynode *map, const char *key) {
  if (!map || map->type != YNODE_MAP)
    return NULL;
  for (size_t i = 0; i + 1 < map->n_items; i += 2)
    if (strcmp(map->items[i]->str, key) == 0)
      return map->items[i + 1];
  return NULL;
}

const struct ynode *ynode_map_key(const struct ynode *map, const char *key) {
  if (!map || map->type != YNODE_MAP)
    return NULL;
  for (size_t i = 0; i + 1 < map->n_items; i += 2)
    if (strcmp(map->items[i]->str, key) == 0)
      return map->items[i];
  return NULL;
}

static struct ynode *node_new(struct cfg_ctx *ctx, enum ynode_type type, yaml_mark_t mark) {
  struct ynode *n;

  if (++ctx->n_nodes > CFG_MAX_NODES) {
    cfg_error_at(ctx, (int)mark.line + 1, (int)mark.column + 1,
                 "too many YAML nodes (more than %d)", CFG_MAX_NODES);
    return NULL;
  }
  n = xcalloc(1, sizeof(*n));
  n->type = type;
  n->line = (int)mark.line + 1;
  n->column = (int)mark.column + 1;
  return n;
}

/* Attaches child to the open container parent (which owns it from now on,
 * even on error). */
static int node_attach(struct cfg_ctx *ctx, struct ynode *parent, struct ynode *child) {
  if (parent->type == YNODE_MAP && parent->n_items % 2 == 0) {
    if (child->type != YNODE_SCALAR) {
      cfg_error(ctx, child, "mapping keys must be plain names, not %s", ynode_kind(child));
      ynode_free(child);
      return -EINVAL;
    }
    if (parent->n_items / 2 >= CFG_MAX_MAP_PAIRS) {
      cfg_error(ctx, child, "too many keys in one mapping (more than %d)", CFG_MAX_MAP_PAIRS);
      ynode_free(child);
      return -EINVAL;
    }
    for (size_t i = 0; i < parent->n_items; i += 2) {
      if (strcmp(parent->items[i]->str, child->str) == 0) {
        cfg_error(ctx, child, "duplicate key '%s' (first defined at line %d)", child->str,
                  parent->items[i]->line);
        ynode_free(child);
        return -EINVAL;
      }
    }
  }
  if (parent->n_items == parent->cap) {
    parent->cap = parent->cap ? parent->cap * 2 : 8;
    parent->items = xreallocarray(parent->items, parent->cap, sizeof(*parent->items));
  }
  parent->items[parent->n_items++] = child;
  return 0;
}

/* libyaml reports reader errors (bad encoding, control characters) by byte
 * offset only; turn the offset into a line and column. */
static void offset_to_mark(const char *data, size_t len, size_t off, int *ret_line, int *ret_col) {
  int line = 1, col = 1;
  for (size_t i = 0; i < off && i < len; i++) {
    if (data[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  *ret_line = line;
  *ret_col = col;
}

static int syntax_error(struct cfg_ctx *ctx, const yaml_parser_t *p, const char *data, size_t len) {
  int line, col;
  const char *problem = p->problem ? p->problem : "unknown error";

  if (p->error == YAML_MEMORY_ERROR)
    return cfg_error_at(ctx, 1, 1, "out of memory while parsing YAML");
  if (p->error == YAML_READER_ERROR) {
    offset_to_mark(data, len, p->problem_offset, &line, &col);
    if (p->problem_value >= 0)
      return cfg_error_at(ctx, line, col, "YAML syntax error: %s (byte 0x%02x)", problem,
                          (unsigned)p->problem_value & 0xff);
    return cfg_error_at(ctx, line, col, "YAML syntax error: %s", problem);
  }
  line = (int)p->problem_mark.line + 1;
  col = (int)p->problem_mark.column + 1;
  if (p->context)
    return cfg_error_at(ctx, line, col, "YAML syntax error: %s (%s at line %d, column %d)", problem,
                        p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
  return cfg_error_at(ctx, line, col, "YAML syntax error: %s", problem);
}

static const char *event_anchor(const yaml_event_t *ev) {
  switch (ev->type) {
  case YAML_SCALAR_EVENT:
    return (const char *)ev->data.scalar.anchor;
  case YAML_SEQUENCE_START_EVENT:
    return (const char *)ev->data.sequence_start.anchor;
  case YAML_MAPPING_START_EVENT:
    return (const char *)ev->data.mapping_start.anchor;
  default:
    return NULL;
  }
}

/* Turns one event into tree changes. *stack holds the open containers. */
static int handle_event(struct cfg_ctx *ctx, const yaml_event_t *ev, struct ynode **stack,
                        size_t *depth, struct ynode **root, int *n_docs) {
  struct ynode *n = NULL;
  const char *anchor = event_anchor(ev);
  int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;

  if (anchor)
    return cfg_error_at(ctx, line, col,
                        "YAML anchors are not supported ('&%s'); use 'defaults:' for settings "
                        "shared by targets",
                        anchor);
  switch (ev->type) {
  case YAML_ALIAS_EVENT:
    return cfg_error_at(ctx, line, col,
                        "YAML aliases are not supported ('*%s'); use 'defaults:' for settings "
                        "shared by targets",
                        (const char *)ev->data.alias.anchor);
  case YAML_DOCUMENT_START_EVENT:
    if (++*n_docs > 1)
      return cfg_error_at(ctx, line, col, "multiple YAML documents are not supported");
    return 0;
  case YAML_SCALAR_EVENT:
    if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
      return cfg_error_at(ctx, line, col, "string contains a NUL character");
    n = node_new(ctx, YNODE_SCALAR, ev->start_mark);
    if (!n)
      return -EINVAL;
    n->str = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    break;
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT:
    if (*depth >= CFG_MAX_DEPTH)
      return cfg_error_at(ctx, line, col, "YAML nesting is too deep (more than %d levels)",
                          CFG_MAX_DEPTH);
    n = node_new(ctx, ev->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQ : YNODE_MAP,
                 ev->start_mark);
    if (!n)
      return -EINVAL;
    break;
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT:
    if (*depth > 0)
      (*depth)--;
    return 0;
  default:
    return 0;
  }

  if (*depth == 0) {
    /* The document root; a second one cannot happen (one document). */
    ynode_free(*root);
    *root = n;
  } else {
    int r = node_attach(ctx, stack[*depth - 1], n);
    if (r < 0)
      return r;
  }
  if (n->type != YNODE_SCALAR)
    stack[(*depth)++] = n;
  return 0;
}

int ynode_parse(struct cfg_ctx *ctx, const char *data, size_t len, struct ynode **ret_root) {
  yaml_parser_t parser;
  struct ynode *stack[CFG_MAX_DEPTH];
  struct ynode *root = NULL;
  size_t depth = 0;
  int n_docs = 0, r = 0;
  bool done = false;

  if (!yaml_parser_initialize(&parser))
    return cfg_error_at(ctx, 1, 1, "out of memory while parsing YAML");
  yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
  while (!done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      r = syntax_error(ctx, &parser, data, len);
      goto fail;
    }
    done = ev.type == YAML_STREAM_END_EVENT;
    r = handle_event(ctx, &ev, stack, &depth, &root, &n_docs);
    yaml_event_delete(&ev);
    if (r < 0)
      goto fail;
  }
  yaml_parser_delete(&parser);
  if (ynode_is_null(root))
    root = ynode_free(root);
  *ret_root = root;
  return 0;

fail:
  yaml_parser_delete(&parser);
  ynode_free(root);
  return r;
}

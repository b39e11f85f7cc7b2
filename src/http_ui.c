/* The web view at "/": one self-contained page (HTML, CSS and script
 * inline, no external assets, so it works offline) compiled in from
 * src/http_ui.html. The page reads everything from the JSON API. */
#include "config.h"

#include <string.h>

#include "http_int.h"
#include "http_ui_page.h"

void http_ui_handle(struct http_req *rq, struct http_resp *rs) {
  rs->handler = "ui";
  http_reply_bytes(rs, 200, "text/html; charset=utf-8", http_ui_page, sizeof(http_ui_page) - 1);
  rs->cache_control = "no-cache";
  (void)rq;
}

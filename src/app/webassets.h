/*
 * Files from assets/, compiled in by kodev (asset_<name>_<ext>).
 */

#ifndef __H_WEBASSETS_H
#define __H_WEBASSETS_H

#include <sys/types.h>

#define WEBASSET(n)						\
	extern const u_int8_t	asset_##n[];			\
	extern const u_int32_t	asset_len_##n;			\
	extern const char	*asset_sha256_##n

WEBASSET(index_html);
WEBASSET(app_js);
WEBASSET(style_css);
WEBASSET(xkcd_js);
WEBASSET(favicon_svg);
WEBASSET(xkcd_html);
WEBASSET(xkcd_card_html);
WEBASSET(xkcd_error_html);
WEBASSET(stats_html);
WEBASSET(stats_row_html);
WEBASSET(stats_cell_html);
WEBASSET(stats_na_html);
WEBASSET(stats_js);
WEBASSET(error_html);
WEBASSET(jquery_min_js);
WEBASSET(jquery_dataTables_min_js);
WEBASSET(jquery_dataTables_min_css);
WEBASSET(sort_asc_png);
WEBASSET(sort_desc_png);
WEBASSET(sort_both_png);
WEBASSET(sort_asc_disabled_png);
WEBASSET(sort_desc_disabled_png);

#endif
